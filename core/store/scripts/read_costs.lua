-- Pages of jobs' costs with their status and progress, each job's read atomically with its status (a
-- finished status comes with every point); one job (``JobStore.costs_page``) or many (``costs_pages``: an
-- experiment's members, for a dashboard's poll). KEYS: per job, its hash then its cost points.
-- ARGV: since, limit (0: no limit).
-- Returns per job two values: the job's owner, status, epoch and epochs (nil each for an unknown job), then
-- the members of the points with epoch > since, oldest first.
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('HMGET', KEYS[i], 'owner', 'status', 'epoch', 'epochs')
  if tonumber(ARGV[2]) > 0 then
    out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[i + 1], '(' .. ARGV[1], '+inf', 'LIMIT', 0, ARGV[2])
  else
    out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[i + 1], '(' .. ARGV[1], '+inf')
  end
end
return out
