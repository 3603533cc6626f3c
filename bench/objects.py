# Object-like maps mutated in place: bank transfers and bouncing particles.
accounts = []
for i in range(1000):
    accounts.append({"id": i, "balance": 1000, "tx": 0})
x = 7
for step in range(400000):
    x = (x * 1103515245 + 12345) % 2147483648
    src = x % 1000
    dst = (x // 1000) % 1000
    amount = (x // 1000000) % 100
    if accounts[src]["balance"] >= amount:
        accounts[src]["balance"] -= amount
        accounts[dst]["balance"] += amount
        accounts[src]["tx"] += 1
        accounts[dst]["tx"] += 1

particles = []
for i in range(100):
    particles.append({"x": i * 10, "y": i * 7 % 1000, "dx": i % 7 + 1, "dy": i % 5 + 1})
for tick in range(2000):
    for p in particles:
        p["x"] += p["dx"]
        p["y"] += p["dy"]
        if p["x"] < 0 or p["x"] > 1000:
            p["dx"] = -p["dx"]
        if p["y"] < 0 or p["y"] > 1000:
            p["dy"] = -p["dy"]

weighted = 0
transfers = 0
for a in accounts:
    weighted = (weighted + a["id"] * a["balance"]) % 1000000007
    transfers += a["tx"]
position = 0
for p in particles:
    position = (position + p["x"] * 3 + p["y"]) % 1000000007
print(f"{weighted} {transfers} {position}")
