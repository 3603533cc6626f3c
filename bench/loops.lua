-- Nested loops with integer arithmetic.
local total = 0
for i = 0, 3999 do
  for j = 0, 999 do
    total = (total + i * j + j % 7) % 1000003
  end
end
print(total)
