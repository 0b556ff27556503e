-- A page of an owner's jobs, newest first, in one atomic call (GET /jobs). The ids of jobs that expired
-- are dropped from the owner's indexes first, so the total counts only jobs that exist.
-- KEYS: the index listed (the owner's jobs, or one status's), the owner's jobs, then its status indexes.
-- ARGV: 1 the cutoff (unix seconds: only an id created by then can have expired, so only those are
-- checked), 2 the offset, 3 the limit, 4-5 a job's hash key as the text before its id and the text after
-- it, 6-7 its cancel flag's likewise (core.keys builds them: they depend on the ids read here, so they
-- cannot be KEYS), 8 the fields to read, comma-separated, 'status' and 'spec_summary' among them.
-- Returns the index's size, then per job of the page its fields' values (HMGET, '' for a missing one,
-- followed by its full spec when it has no spec_summary: a job stored before summaries) and 1 if its
-- cancel flag is set, else 0.
local fields, status_at, summary_at = {}, 0, 0
for name in string.gmatch(ARGV[8], '[^,]+') do
  fields[#fields + 1] = name
  if name == 'status' then status_at = #fields end
  if name == 'spec_summary' then summary_at = #fields end
end

local function job_key(id)
  return ARGV[4] .. id .. ARGV[5]
end

local function drop(ids)
  for k = 2, #KEYS do
    for first = 1, #ids, 1000 do
      redis.call('ZREM', KEYS[k], unpack(ids, first, math.min(first + 999, #ids)))
    end
  end
end

local gone = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])) do
  if redis.call('EXISTS', job_key(id)) == 0 then gone[#gone + 1] = id end
end

local start = tonumber(ARGV[2])
local stop = start + tonumber(ARGV[3]) - 1
local out
repeat -- a job gone from the page without expiring (deleted) leaves the indexes too, and the page is read again
  drop(gone)
  gone, out = {}, {0}
  for _, id in ipairs(redis.call('ZREVRANGE', KEYS[1], start, stop)) do
    local values = redis.call('HMGET', job_key(id), unpack(fields))
    if not values[status_at] then
      gone[#gone + 1] = id
    else
      if not values[summary_at] then values[#fields + 1] = redis.call('HGET', job_key(id), 'spec') or '' end
      for i = 1, #fields do values[i] = values[i] or '' end
      out[#out + 1] = values
      out[#out + 1] = redis.call('EXISTS', ARGV[6] .. id .. ARGV[7])
    end
  end
until #gone == 0
out[1] = redis.call('ZCARD', KEYS[1])
return out
