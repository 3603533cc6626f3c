-- Sorting 100k records (maps) by a field, ascending and descending.
local records = {}
local x = 42
for i = 0, 99999 do
  x = (x * 1103515245 + 12345) % 2147483648
  records[#records + 1] = {id = i, score = (i * 7919) % 100003,
                           rank = (i * 104729) % 100019, name = "n" .. (x % 1000)}
end

local function sorted(list, less)
  local copy = table.move(list, 1, #list, 1, {})
  table.sort(copy, less)
  return copy
end

local by_score = sorted(records, function(a, b) return a.score < b.score end)
local by_rank = sorted(records, function(a, b) return a.rank > b.rank end)
local by_score_desc = sorted(records, function(a, b) return a.score > b.score end)
local by_rank_asc = sorted(by_score_desc, function(a, b) return a.rank < b.rank end)
local check = 0
for i = 0, 999 do
  check = (check + (i + 1) * by_score[i + 1].id + (i + 7) * by_rank[i + 1].id
                 + (i + 3) * by_score_desc[i + 1].id + (i + 5) * by_rank_asc[i + 1].id) % 1000000007
end
print(check .. " " .. by_score[1].name .. " " .. by_rank[1].name .. " " .. by_score[#by_score].id)
