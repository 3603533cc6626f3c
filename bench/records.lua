-- Records in a list, passed to a function that changes several fields and returns the
-- record, stored back: balls[j] = step(balls[j]).
local function step(b)
  b.x = b.x + b.dx
  b.y = b.y + b.dy
  if b.x < 0 or b.x > 10000 then
    b.dx = -b.dx
    b.hits = b.hits + 1
  end
  if b.y < 0 or b.y > 10000 then
    b.dy = -b.dy
    b.hits = b.hits + 1
  end
  b.age = b.age + 1
  return b
end

local balls = {}
local x = 11
for i = 0, 499 do
  x = (x * 1103515245 + 12345) % 2147483648
  balls[#balls + 1] = {x = x % 10000, y = (x // 10000) % 10000, dx = x % 97 - 48, dy = x % 89 - 44,
                       hits = 0, age = 0}
end
for tick = 1, 2000 do
  for j = 1, #balls do
    balls[j] = step(balls[j])
  end
end

local check = 0
local hits = 0
for _, b in ipairs(balls) do
  check = (check * 31 + b.x * 7 + b.y) % 1000000007
  hits = hits + b.hits + b.age
end
print(check .. " " .. hits)
