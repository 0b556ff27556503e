-- For each job, the run that owns it and whether a cancel was asked for, in one command (a watcher asks
-- this ten times a second for every member of a stack).
-- KEYS: per job, its hash then its cancel flag.
-- Returns per job two values: the hash's `run` field (nil when none) and 1 or 0 (the cancel flag).
local out = {}
for i = 1, #KEYS, 2 do
  out[#out + 1] = redis.call('HGET', KEYS[i], 'run')
  out[#out + 1] = redis.call('EXISTS', KEYS[i + 1])
end
return out
