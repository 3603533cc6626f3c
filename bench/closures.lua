-- Closures and higher-order functions: adders, composition, counters, folds.
local function make_adder(n)
  return function(x) return x + n end
end

local function compose(f, g)
  return function(x) return f(g(x)) end
end

local function make_counter()
  local count = 0
  return function()
    count = count + 1
    return count
  end
end

local function fold(xs, init, f)
  local acc = init
  for _, x in ipairs(xs) do
    acc = f(acc, x)
  end
  return acc
end

local total = 0
local double = function(x) return x * 2 end
for i = 0, 499999 do
  local add = make_adder(i % 100)
  local twice = compose(add, double)
  total = (total + twice(i)) % 1000000007
end

local counter = make_counter()
for i = 0, 499999 do
  counter()
end

local xs = {}
for i = 0, 999 do xs[#xs + 1] = i end
local folded = 0
for r = 0, 149 do
  folded = (folded + fold(xs, r, function(acc, x) return (acc * 31 + x) % 1000003 end)) % 1000000007
end
print(total .. " " .. counter() .. " " .. folded)
