-- Small numeric records (x, y, z and a velocity) updated in nested loops, n-body-like:
-- every pair pulls together by one unit per axis, then every body moves. Integers only.
local function pull(a, b)
  if a < b then return 1 end
  if a > b then return -1 end
  return 0
end

local bodies = {}
local seed = 3
for i = 1, 40 do
  seed = (seed * 1103515245 + 12345) % 2147483648
  bodies[i] = {x = seed % 2001 - 1000, y = (seed // 2001) % 2001 - 1000, z = (seed // 4004001) % 2001 - 1000,
               vx = 0, vy = 0, vz = 0}
end
local n = #bodies
for tick = 1, 400 do
  for i = 1, n do
    local a = bodies[i]
    for j = 1, n do
      local b = bodies[j]
      a.vx = a.vx + pull(a.x, b.x)
      a.vy = a.vy + pull(a.y, b.y)
      a.vz = a.vz + pull(a.z, b.z)
    end
  end
  for i = 1, n do
    local b = bodies[i]
    b.x = b.x + b.vx
    b.y = b.y + b.vy
    b.z = b.z + b.vz
  end
end

local check = 0
local energy = 0
for _, b in ipairs(bodies) do
  check = (check * 31 + b.x * 5 + b.y * 3 + b.z) % 1000000007
  energy = energy + b.vx * b.vx + b.vy * b.vy + b.vz * b.vz
end
print(check .. " " .. energy)
