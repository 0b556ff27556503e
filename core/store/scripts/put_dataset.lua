-- Publish an uploaded dataset whose .npz was written to its pending key: the data, the record and the
-- owner's index entry together, or nothing at all.
-- KEYS: 1 the data, 2 the record (a hash), 3 the owner's index, 4 the dataset's "abandoned" mark, 5 its
-- pending key, then the record of each id the caller read from the index (ARGV's ids, in the same order).
-- ARGV: 1 deadline (unix microseconds on Redis' clock), 2 ttl (seconds), 3 created_at (the index score),
-- 4 max_count, 5 max_bytes (the owner's quota), 6 the new id, 7 the .npz's size, 8 n (ids the caller
-- read), 9..8+n those ids, then the record's field/value pairs.
-- Returns {'late'}: Redis runs this after the deadline, or after the caller marked it abandoned (its
-- client timed out and answered 503), or the pending data is not all there: nothing is written and the
-- pending data is deleted; {'retry'}: the index changed since the caller read it; {'count', n} or
-- {'bytes', b}: the owner's datasets (live ones; expired ids are dropped from the index here) would pass
-- the quota; {'ok'}.
local t = redis.call('TIME')
local late = tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1])
if late or redis.call('EXISTS', KEYS[4]) == 1 or redis.call('STRLEN', KEYS[5]) ~= tonumber(ARGV[7]) then
  redis.call('DEL', KEYS[5])
  return {'late'}
end
local data, record, index = KEYS[1], KEYS[2], KEYS[3]
local n = tonumber(ARGV[8])
if redis.call('ZCARD', index) ~= n then return {'retry'} end
for i = 1, n do
  if not redis.call('ZSCORE', index, ARGV[8 + i]) then return {'retry'} end
end
local count, bytes = 0, 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[5 + i]) == 1 then
    count = count + 1
    bytes = bytes + (tonumber(redis.call('HGET', KEYS[5 + i], 'bytes')) or 0)
  else
    redis.call('ZREM', index, ARGV[8 + i])
  end
end
if count + 1 > tonumber(ARGV[4]) or bytes + tonumber(ARGV[7]) > tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[5])
  if count + 1 > tonumber(ARGV[4]) then return {'count', count} end
  return {'bytes', bytes}
end
local ttl = ARGV[2]
redis.call('RENAME', KEYS[5], data)
redis.call('EXPIRE', data, ttl)
local fields = {}
for i = 9 + n, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', record, unpack(fields))
redis.call('EXPIRE', record, ttl)
redis.call('ZADD', index, ARGV[3], ARGV[6])
redis.call('EXPIRE', index, ttl)
return {'ok'}
