-- String building, interpolation, joining, replacing and splitting.
local function split(s, sep)
  local fields = {}
  local start = 1
  while true do
    local at = string.find(s, sep, start, true)
    if not at then
      fields[#fields + 1] = string.sub(s, start)
      return fields
    end
    fields[#fields + 1] = string.sub(s, start, at - 1)
    start = at + #sep
  end
end

local total = 0
local built = ""
for r = 0, 999 do
  local parts = {}
  for i = 0, 999 do
    parts[#parts + 1] = "k" .. i .. "=v" .. (i * r)
  end
  local line = table.concat(parts, ";")
  local replaced = string.gsub(line, "=", ":")
  local fields = split(replaced, ";")
  for _, field in ipairs(fields) do
    total = total + #field
  end
  local key_value = split(fields[r + 1], ":")
  built = built .. key_value[1]
  total = total % 1000000007
end
print(total .. " " .. #built .. " " .. string.sub(built, -8))
