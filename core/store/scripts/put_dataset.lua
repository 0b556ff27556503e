-- Publish an uploaded dataset: its data, its record and its place in the owner's index together, or
-- nothing at all.
-- KEYS: the data, the record (a hash), the owner's index, the dataset's "abandoned" mark, then the record
-- of each id the caller read from the index (ARGV's ids, in the same order).
-- ARGV: 1 deadline (unix microseconds on Redis' clock), 2 ttl (seconds), 3 created_at (the index score),
-- 4 max_count, 5 max_bytes (the owner's quota), 6 the new id, 7 n (ids the caller read), 8..7+n those
-- ids, 8+n the .npz bytes, then the record's field/value pairs.
-- Returns {'late'}: Redis runs this after the deadline, or after the caller marked it abandoned (its
-- client timed out and answered 503), so nothing is written; {'retry'}: the index changed since the caller read it;
-- {'count', n} or {'bytes', b}: the owner's datasets (live ones; expired ids are dropped from the index
-- here) would pass the quota; {'ok'}.
local t = redis.call('TIME')
if tonumber(t[1]) * 1000000 + tonumber(t[2]) > tonumber(ARGV[1]) then return {'late'} end
if redis.call('EXISTS', KEYS[4]) == 1 then return {'late'} end
local data, record, index = KEYS[1], KEYS[2], KEYS[3]
local n = tonumber(ARGV[7])
if redis.call('ZCARD', index) ~= n then return {'retry'} end
for i = 1, n do
  if not redis.call('ZSCORE', index, ARGV[7 + i]) then return {'retry'} end
end
local count, bytes = 0, 0
for i = 1, n do
  if redis.call('EXISTS', KEYS[4 + i]) == 1 then
    count = count + 1
    bytes = bytes + (tonumber(redis.call('HGET', KEYS[4 + i], 'bytes')) or 0)
  else
    redis.call('ZREM', index, ARGV[7 + i])
  end
end
local payload = ARGV[8 + n]
if count + 1 > tonumber(ARGV[4]) then return {'count', count} end
if bytes + #payload > tonumber(ARGV[5]) then return {'bytes', bytes} end
local ttl = ARGV[2]
redis.call('SET', data, payload, 'EX', ttl)
local fields = {}
for i = 9 + n, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', record, unpack(fields))
redis.call('EXPIRE', record, ttl)
redis.call('ZADD', index, ARGV[3], ARGV[6])
redis.call('EXPIRE', index, ttl)
return {'ok'}
