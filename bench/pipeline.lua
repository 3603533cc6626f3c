-- A 100k-record query: filter, project, sort, take, sum.
local departments = {"ops", "dev", "qa", "sales", "hr"}
local rows = {}
local x = 7
for i = 0, 99999 do
  x = (x * 1103515245 + 12345) % 2147483648
  rows[#rows + 1] = {id = i, age = 18 + x % 50, active = x % 3 ~= 0,
                     dept = departments[x % 5 + 1], score = (i * 7919) % 100003}
end

local result = {}
for _, threshold in ipairs({20, 25, 30, 35, 40, 45, 50, 55}) do
  local matching = {}
  for _, r in ipairs(rows) do
    if r.age > threshold and r.active then matching[#matching + 1] = r end
  end
  table.sort(matching, function(a, b) return a.score > b.score end)
  local total = 0
  for i = 1, math.min(1000, #matching) do
    total = total + matching[i].score * 2
  end
  local ops = 0
  for _, r in ipairs(rows) do
    if r.dept == "ops" and r.age > threshold then ops = ops + 1 end
  end
  result[#result + 1] = #matching .. "/" .. total .. "/" .. ops
end
print(table.concat(result, " "))
