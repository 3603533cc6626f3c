-- A binary tree of tables built recursively, then counted and summed recursively.
local function make(depth, value)
  if depth == 0 then return {value = value} end
  return {value = value, left = make(depth - 1, value * 2 % 1000),
          right = make(depth - 1, (value * 2 + 1) % 1000)}
end

local function count(node)
  if node == nil then return 0 end
  return 1 + count(node.left) + count(node.right)
end

local function weigh(node)
  if node == nil then return 0 end
  return (node.value + 3 * weigh(node.left) + 7 * weigh(node.right)) % 1000003
end

local nodes = 0
local check = 0
for round = 0, 11 do
  local tree = make(14, round + 1)
  nodes = nodes + count(tree)
  check = (check * 31 + weigh(tree)) % 1000000007
end
print(nodes .. " " .. check)
