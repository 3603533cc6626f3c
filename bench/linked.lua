-- A linked list built from tables ({value = v, next = rest}), walked and rebuilt.
local function build(n, seed)
  local list = nil
  local x = seed
  for i = 1, n do
    x = (x * 1103515245 + 12345) % 2147483648
    list = {value = x % 1000, next = list}
  end
  return list
end

local function total(list)
  local sum = 0
  local node = list
  while node ~= nil do
    sum = sum + node.value
    node = node.next
  end
  return sum
end

-- A new list with every value changed, in reverse order.
local function rebuild(list, k)
  local out = nil
  local node = list
  while node ~= nil do
    out = {value = (node.value * k + 1) % 1000, next = out}
    node = node.next
  end
  return out
end

local list = build(20000, 5)
local check = total(list)
for round = 0, 14 do
  list = rebuild(list, round + 2)
  check = (check * 31 + total(list)) % 1000000007
end
print(check .. " " .. list.value .. " " .. list.next.value)
