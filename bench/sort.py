# Sorting 100k records (maps) by a field, ascending and descending.
records = []
x = 42
for i in range(100000):
    x = (x * 1103515245 + 12345) % 2147483648
    records.append({"id": i, "score": (i * 7919) % 100003,
                    "rank": (i * 104729) % 100019, "name": f"n{x % 1000}"})

by_score = sorted(records, key=lambda r: r["score"])
by_rank = sorted(records, key=lambda r: r["rank"], reverse=True)
by_score_desc = sorted(records, key=lambda r: r["score"], reverse=True)
by_rank_asc = sorted(by_score_desc, key=lambda r: r["rank"])
check = 0
for i in range(1000):
    check = (check + (i + 1) * by_score[i]["id"] + (i + 7) * by_rank[i]["id"]
             + (i + 3) * by_score_desc[i]["id"] + (i + 5) * by_rank_asc[i]["id"]) % 1000000007
print(f"{check} {by_score[0]['name']} {by_rank[0]['name']} {by_score[-1]['id']}")
