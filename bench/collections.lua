-- Lists and maps: word counts, appends, lookups by string key.
local words = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
               "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho",
               "sigma", "tau", "upsilon"}
local counts = {}
local seq = {}
local x = 1
for i = 0, 599999 do
  x = (x * 1103515245 + 12345) % 2147483648
  local w = words[x % #words + 1]
  counts[w] = (counts[w] or 0) + 1
  seq[#seq + 1] = x % 1000
end
local lookup = {}
for i = 0, 999 do
  lookup["k" .. i] = i * 3
end
local hits = 0
for _, v in ipairs(seq) do
  hits = (hits + lookup["k" .. v]) % 1000000007
end
local summary = {}
for _, w in ipairs(words) do
  summary[#summary + 1] = w .. ":" .. counts[w]
end
print(hits .. " " .. #seq .. " " .. table.concat(summary, ","))
