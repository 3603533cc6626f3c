-- Permutations by swapping list elements through helper functions (Heap's algorithm),
-- each permutation scored as it is made. Lua tables count from 1.
local function swap(xs, i, j)
  xs[i], xs[j] = xs[j], xs[i]
end

local function score(xs)
  local s = 0
  for i = 1, #xs do s = s * 7 + xs[i] * i end
  return s % 1000003
end

local items = {3, 1, 4, 5, 9, 2, 6, 8}
local n = #items
local check = score(items)
local count = 1
for round = 1, 3 do
  local c = {}
  for k = 1, n do c[k] = 0 end
  local i = 1
  while i < n do
    if c[i + 1] < i then
      if i % 2 == 0 then swap(items, 1, i + 1) else swap(items, c[i + 1] + 1, i + 1) end
      check = (check * 31 + score(items)) % 1000000007
      count = count + 1
      c[i + 1] = c[i + 1] + 1
      i = 1
    else
      c[i + 1] = 0
      i = i + 1
    end
  end
end
print(count .. " " .. check .. " " .. items[1] .. items[2] .. items[3] .. items[8])
