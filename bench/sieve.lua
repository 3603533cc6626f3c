-- A list filled, then written by index inside the functions it is passed to: a sieve of
-- primes whose crossing-out is a helper, and a histogram updated through another.
-- Index 1 of a table holds the flag of 0.
local function cross_out(flags, p)
  local k = p * p
  local n = #flags
  while k < n do
    flags[k + 1] = false
    k = k + p
  end
end

local function tally(counts, values)
  for _, v in ipairs(values) do
    local d = v % 10 + 1
    counts[d] = counts[d] + 1
  end
end

local limit = 1000000
local flags = {}
for i = 1, limit do flags[i] = true end
flags[1] = false
flags[2] = false
local p = 2
while p * p < limit do
  if flags[p + 1] then cross_out(flags, p) end
  p = p + 1
end
local primes = {}
for i = 0, limit - 1 do
  if flags[i + 1] then primes[#primes + 1] = i end
end
local counts = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
for round = 1, 5 do tally(counts, primes) end
local check = 0
for _, q in ipairs(primes) do check = (check * 31 + q) % 1000000007 end
print(#primes .. " " .. check .. " " .. counts[2] .. " " .. counts[4] .. " " .. counts[8] .. " " .. counts[10])
