# A 100k-record query: filter, project, sort, take, sum.
departments = ["ops", "dev", "qa", "sales", "hr"]
rows = []
x = 7
for i in range(100000):
    x = (x * 1103515245 + 12345) % 2147483648
    rows.append({"id": i, "age": 18 + x % 50, "active": x % 3 != 0,
                 "dept": departments[x % 5], "score": (i * 7919) % 100003})

result = []
for threshold in (20, 25, 30, 35, 40, 45, 50, 55):
    matching = [r for r in rows if r["age"] > threshold and r["active"]]
    top = sorted(matching, key=lambda r: r["score"], reverse=True)[:1000]
    total = sum(r["score"] * 2 for r in top)
    ops = len([r for r in rows if r["dept"] == "ops" and r["age"] > threshold])
    result.append(f"{len(matching)}/{total}/{ops}")
print(" ".join(result))
