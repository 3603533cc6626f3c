# Records in a list, passed to a function that changes several fields and returns the
# record, stored back: balls[j] = step(balls[j]).
class Ball:
    __slots__ = ("x", "y", "dx", "dy", "hits", "age")

    def __init__(self, x, y, dx, dy):
        self.x, self.y, self.dx, self.dy = x, y, dx, dy
        self.hits = 0
        self.age = 0


def step(b):
    b.x += b.dx
    b.y += b.dy
    if b.x < 0 or b.x > 10000:
        b.dx = -b.dx
        b.hits += 1
    if b.y < 0 or b.y > 10000:
        b.dy = -b.dy
        b.hits += 1
    b.age += 1
    return b


balls = []
x = 11
for i in range(500):
    x = (x * 1103515245 + 12345) % 2147483648
    balls.append(Ball(x % 10000, (x // 10000) % 10000, x % 97 - 48, x % 89 - 44))
for tick in range(2000):
    for j in range(len(balls)):
        balls[j] = step(balls[j])

check = 0
hits = 0
for b in balls:
    check = (check * 31 + b.x * 7 + b.y) % 1000000007
    hits += b.hits + b.age
print(f"{check} {hits}")
