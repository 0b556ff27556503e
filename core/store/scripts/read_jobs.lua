-- Jobs read in one call (a poll, a listing's page). KEYS: per job, its hash then its cancel flag.
-- Returns per job the hash's fields and values (HGETALL; none for an unknown job), then 1 if the cancel
-- flag is set, else 0.
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('HGETALL', KEYS[i])
  out[#out + 1] = redis.call('EXISTS', KEYS[i + 1])
end
return out
