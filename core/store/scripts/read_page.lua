-- A page of an owner's jobs, newest first, in one call (a listing). KEYS: the index (the owner's jobs, or
-- one status's). ARGV: ZREVRANGE's start and stop; then the key names of a job's hash and of its cancel
-- flag, each as the text before the job's id and the text after it (core.keys builds them: the keys
-- depend on the ids read here, so they cannot be KEYS).
-- Returns the index's size, the page's ids, then per id the hash's fields and values (HGETALL; none for
-- a job that expired) and 1 if its cancel flag is set, else 0.
local ids = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2])
local out = {redis.call('ZCARD', KEYS[1]), ids}
for _, id in ipairs(ids) do
  out[#out + 1] = redis.call('HGETALL', ARGV[3] .. id .. ARGV[4])
  out[#out + 1] = redis.call('EXISTS', ARGV[5] .. id .. ARGV[6])
end
return out
