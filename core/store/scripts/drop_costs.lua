-- Drop a job's cost points after an epoch (a job resumed from its checkpoint records them again).
-- KEYS: the job's costs sorted set, then its curve levels (block 1 first).
-- ARGV: the epoch, the levels' block sizes (comma-separated).
-- Each level keeps the blocks of the points left; a block cut in two is summarized again from the points.
local blocks = {}
for b in string.gmatch(ARGV[2], '[^,]+') do blocks[#blocks + 1] = tonumber(b) end
local keep = redis.call('ZCOUNT', KEYS[1], '-inf', ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '(' .. ARGV[1], '+inf')
truncate(KEYS[2], keep * 16)
for j = 2, #blocks do
  local b = blocks[j]
  local whole = math.floor(keep / b)
  truncate(KEYS[1 + j], whole * 32)
  if keep % b ~= 0 then
    local raw = redis.call('GETRANGE', KEYS[2], whole * b * 16, keep * 16 - 1)
    local points = {}
    for i = 1, #raw, 16 do points[#points + 1] = string.sub(raw, i, i + 15) end
    fold_into_level(KEYS[1 + j], b, whole * b, points)
  end
end
return keep
