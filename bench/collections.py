# Lists and maps: word counts, appends, lookups by string key.
words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
         "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho",
         "sigma", "tau", "upsilon"]
counts = {}
seq = []
x = 1
for i in range(600000):
    x = (x * 1103515245 + 12345) % 2147483648
    w = words[x % len(words)]
    counts[w] = counts.get(w, 0) + 1
    seq.append(x % 1000)
lookup = {}
for i in range(1000):
    lookup[f"k{i}"] = i * 3
hits = 0
for v in seq:
    hits = (hits + lookup[f"k{v}"]) % 1000000007
summary = []
for w in words:
    summary.append(f"{w}:{counts[w]}")
print(f"{hits} {len(seq)} {','.join(summary)}")
