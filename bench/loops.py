# Nested loops with integer arithmetic.
total = 0
for i in range(4000):
    for j in range(1000):
        total = (total + i * j + j % 7) % 1000003
print(total)
