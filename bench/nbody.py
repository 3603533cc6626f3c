# Small numeric records (x, y, z and a velocity) updated in nested loops, n-body-like:
# every pair pulls together by one unit per axis, then every body moves. Integers only.
class Body:
    __slots__ = ("x", "y", "z", "vx", "vy", "vz")

    def __init__(self, x, y, z):
        self.x, self.y, self.z = x, y, z
        self.vx = self.vy = self.vz = 0


def pull(a, b):
    if a < b:
        return 1
    if a > b:
        return -1
    return 0


bodies = []
seed = 3
for i in range(40):
    seed = (seed * 1103515245 + 12345) % 2147483648
    bodies.append(Body(seed % 2001 - 1000, (seed // 2001) % 2001 - 1000, (seed // 4004001) % 2001 - 1000))
for tick in range(400):
    for a in bodies:
        for b in bodies:
            a.vx += pull(a.x, b.x)
            a.vy += pull(a.y, b.y)
            a.vz += pull(a.z, b.z)
    for b in bodies:
        b.x += b.vx
        b.y += b.vy
        b.z += b.vz

check = 0
energy = 0
for b in bodies:
    check = (check * 31 + b.x * 5 + b.y * 3 + b.z) % 1000000007
    energy += b.vx * b.vx + b.vy * b.vy + b.vz * b.vz
print(f"{check} {energy}")
