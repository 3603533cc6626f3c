# Permutations by swapping list elements through helper functions (Heap's algorithm),
# each permutation scored as it is made.
def swap(xs, i, j):
    xs[i], xs[j] = xs[j], xs[i]


def score(xs):
    s = 0
    for i in range(len(xs)):
        s = s * 7 + xs[i] * (i + 1)
    return s % 1000003


items = [3, 1, 4, 5, 9, 2, 6, 8]
n = len(items)
check = score(items)
count = 1
for rnd in range(3):
    c = [0] * n
    i = 1
    while i < n:
        if c[i] < i:
            if i % 2 == 0:
                swap(items, 0, i)
            else:
                swap(items, c[i], i)
            check = (check * 31 + score(items)) % 1000000007
            count += 1
            c[i] += 1
            i = 1
        else:
            c[i] = 0
            i += 1
print(f"{count} {check} {items[0]}{items[1]}{items[2]}{items[7]}")
