# Closures and higher-order functions: adders, composition, counters, folds.
def make_adder(n):
    return lambda x: x + n

def compose(f, g):
    return lambda x: f(g(x))

def make_counter():
    count = 0
    def step():
        nonlocal count
        count += 1
        return count
    return step

def fold(xs, init, f):
    acc = init
    for x in xs:
        acc = f(acc, x)
    return acc

total = 0
double = lambda x: x * 2
for i in range(500000):
    add = make_adder(i % 100)
    twice = compose(add, double)
    total = (total + twice(i)) % 1000000007

counter = make_counter()
for i in range(500000):
    counter()

xs = list(range(1000))
folded = 0
for r in range(150):
    folded = (folded + fold(xs, r, lambda acc, x: (acc * 31 + x) % 1000003)) % 1000000007
print(f"{total} {counter()} {folded}")
