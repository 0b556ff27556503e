-- Shared by the scripts that write a job's packed cost curve (prepended by core.store.scripts).
-- A point is 16 bytes: epoch and cost as little-endian float64. A level of block b keeps, per run of b
-- points, the minimum point then the maximum point (32 bytes); ties keep the earlier point; a NaN cost is
-- neither unless the whole block is NaN.

local function cost_of(point)
  return (struct.unpack('<d', point, 9))
end

local function better_min(a, b)
  return a == a and (b ~= b or a < b)
end

local function better_max(a, b)
  return a == a and (b ~= b or a > b)
end

-- Fold points (16-byte strings, the first at index first_index) into the level of block b stored at key,
-- merging with the block already there when the first point starts mid-block.
local function fold_into_level(key, b, first_index, points)
  local k = math.floor(first_index / b)
  local lo, hi
  if first_index % b ~= 0 then
    local old = redis.call('GETRANGE', key, k * 32, k * 32 + 31)
    lo, hi = string.sub(old, 1, 16), string.sub(old, 17, 32)
  end
  local out = {}
  local index = first_index
  for n = 1, #points do
    local p = points[n]
    if lo == nil then
      lo, hi = p, p
    else
      local c = cost_of(p)
      if better_min(c, cost_of(lo)) then lo = p end
      if better_max(c, cost_of(hi)) then hi = p end
    end
    index = index + 1
    if index % b == 0 then
      out[#out + 1] = lo .. hi
      lo = nil
    end
  end
  if lo ~= nil then out[#out + 1] = lo .. hi end
  if #out > 0 then redis.call('SETRANGE', key, k * 32, table.concat(out)) end
end

-- Shorten the string at key to n bytes (delete it at 0).
local function truncate(key, n)
  if n == 0 then
    redis.call('DEL', key)
  elseif redis.call('STRLEN', key) > n then
    redis.call('SET', key, redis.call('GETRANGE', key, 0, n - 1), 'KEEPTTL')
  end
end
