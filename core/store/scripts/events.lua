-- Shared by the scripts that write a job's events (prepended to each by core.store.scripts).
-- A job's events stream has the ids 0-1, 0-2, …: seq is the SSE id, so a gap is visible to any reader.

local function last_seq(stream)
  local top = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #top == 0 then return 0 end
  return tonumber(string.sub(top[1][1], 3))
end

-- Unix microseconds of this write (Redis' clock), the 'at' field of every event.
local function now_micros()
  local t = redis.call('TIME')
  return t[1] .. string.format('%06d', tonumber(t[2]))
end

-- XADD event seq, trimmed to about maxlen entries.
local function add_event(stream, maxlen, seq, event, data, at)
  redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '0-' .. seq, 'event', event, 'data', data, 'at', at)
end
