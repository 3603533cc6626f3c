# A list filled, then written by index inside the functions it is passed to: a sieve of
# primes whose crossing-out is a helper, and a histogram updated through another.
def cross_out(flags, p):
    k = p * p
    n = len(flags)
    while k < n:
        flags[k] = False
        k += p


def tally(counts, values):
    for v in values:
        counts[v % 10] += 1


limit = 1000000
flags = []
for i in range(limit):
    flags.append(True)
flags[0] = False
flags[1] = False
p = 2
while p * p < limit:
    if flags[p]:
        cross_out(flags, p)
    p += 1
primes = []
for i in range(limit):
    if flags[i]:
        primes.append(i)
counts = [0] * 10
for rnd in range(5):
    tally(counts, primes)
check = 0
for q in primes:
    check = (check * 31 + q) % 1000000007
print(f"{len(primes)} {check} {counts[1]} {counts[3]} {counts[7]} {counts[9]}")
