-- Append cost points to a job, with their events and its progress, in one atomic step.
-- KEYS: the job's hash, its costs sorted set, its events stream, P:stats, then its curve levels (block 1
--       first).
-- ARGV: TTL seconds, events MAXLEN, progress epoch ('' for none), updated_at, the levels' block sizes
--       (comma-separated), training steps to add to P:stats, then per point: epoch, costs member, point
--       event data (JSON), the point packed (16 bytes).
-- Only points after the last recorded epoch are added (a retried write adds nothing twice; a resumed job
-- drops the points after its checkpoint first). Nothing is written for a job that no longer exists.
-- Returns the number of points added.
if not redis.call('HGET', KEYS[1], 'status') then return 0 end
local ttl, maxlen = ARGV[1], ARGV[2]
local blocks = {}
for b in string.gmatch(ARGV[5], '[^,]+') do blocks[#blocks + 1] = tonumber(b) end

local top = redis.call('ZREVRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local last_epoch = -math.huge
if #top > 0 then last_epoch = tonumber(top[2]) end
local count = redis.call('ZCARD', KEYS[2])
local at = now_micros()
local seq = last_seq(KEYS[3])
local added = {}
for i = 7, #ARGV, 4 do
  local epoch = tonumber(ARGV[i])
  if epoch > last_epoch then
    redis.call('ZADD', KEYS[2], epoch, ARGV[i + 1])
    seq = seq + 1
    add_event(KEYS[3], maxlen, seq, 'point', ARGV[i + 2], at)
    added[#added + 1] = ARGV[i + 3]
    last_epoch = epoch
  end
end
if #added > 0 then
  redis.call('SETRANGE', KEYS[5], count * 16, table.concat(added))
  for j = 2, #blocks do fold_into_level(KEYS[4 + j], blocks[j], count, added) end
end

if ARGV[3] ~= '' then
  local job = redis.call('HMGET', KEYS[1], 'epoch', 'epochs')
  redis.call('HSET', KEYS[1], 'epoch', ARGV[3], 'updated_at', ARGV[4])
  if job[1] ~= ARGV[3] then
    seq = seq + 1
    add_event(KEYS[3], maxlen, seq, 'progress', '{"epoch":' .. ARGV[3] .. ',"epochs":' .. job[2] .. '}', at)
  end
end
for j = 2, 4 + #blocks do
  if j ~= 4 then redis.call('EXPIRE', KEYS[j], ttl) end
end
if tonumber(ARGV[6]) > 0 then redis.call('HINCRBY', KEYS[4], 'steps', ARGV[6]) end
return #added
