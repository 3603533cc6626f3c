-- Object-like maps mutated in place: bank transfers and bouncing particles.
local accounts = {}
for i = 0, 999 do
  accounts[#accounts + 1] = {id = i, balance = 1000, tx = 0}
end
local x = 7
for step = 0, 399999 do
  x = (x * 1103515245 + 12345) % 2147483648
  local src = accounts[x % 1000 + 1]
  local dst = accounts[(x // 1000) % 1000 + 1]
  local amount = (x // 1000000) % 100
  if src.balance >= amount then
    src.balance = src.balance - amount
    dst.balance = dst.balance + amount
    src.tx = src.tx + 1
    dst.tx = dst.tx + 1
  end
end

local particles = {}
for i = 0, 99 do
  particles[#particles + 1] = {x = i * 10, y = i * 7 % 1000, dx = i % 7 + 1, dy = i % 5 + 1}
end
for tick = 0, 1999 do
  for _, p in ipairs(particles) do
    p.x = p.x + p.dx
    p.y = p.y + p.dy
    if p.x < 0 or p.x > 1000 then p.dx = -p.dx end
    if p.y < 0 or p.y > 1000 then p.dy = -p.dy end
  end
end

local weighted = 0
local transfers = 0
for _, a in ipairs(accounts) do
  weighted = (weighted + a.id * a.balance) % 1000000007
  transfers = transfers + a.tx
end
local position = 0
for _, p in ipairs(particles) do
  position = (position + p.x * 3 + p.y) % 1000000007
end
print(weighted .. " " .. transfers .. " " .. position)
