-- A page of a job's costs with its status and progress, read atomically (a finished status comes with
-- every point). KEYS: the job's hash, its cost points. ARGV: since, limit (0: no limit).
-- Returns the job's owner, status, epoch and epochs (nil each for an unknown job), then the members of
-- the points with epoch > since, oldest first.
local job = redis.call('HMGET', KEYS[1], 'owner', 'status', 'epoch', 'epochs')
local points
if tonumber(ARGV[2]) > 0 then
  points = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
else
  points = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
end
return {job, points}
