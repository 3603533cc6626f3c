# The python3 equivalent of dns_plan_10k.furrow: a 10,000-name zone kept in SQLite (one row
# per name and type, the values as JSON), planned against a desired set that differs in 5%
# of names (250 changed values, 250 names gone, 250 new). A plan reads the zone, then diffs
# two dicts keyed by (name, type): creates, updates (ttl or values differ) and deletes.
# Usage: python3 bench/domain/dns_plan_10k.py
import json
import os
import sqlite3
import tempfile
import time

ZONE = "bench.example.com"
db = sqlite3.connect(os.path.join(tempfile.mkdtemp(), "state.db"))
db.execute("""CREATE TABLE records (zone TEXT NOT NULL, name TEXT NOT NULL, type TEXT NOT NULL,
    ttl INTEGER NOT NULL, vals TEXT NOT NULL, PRIMARY KEY (zone, name, type))""")


def address(i):
    return f"10.{i // 65536}.{(i // 256) % 256}.{i % 256}"


with db:
    db.executemany("INSERT INTO records VALUES (?, ?, 'A', 10, ?)",
                   [(ZONE, f"svc{i}.env{i % 100}", json.dumps([address(i)])) for i in range(10000)])

desired = []
added = 0
for i in range(10000):
    if i % 40 == 0:
        desired.append({"name": f"svc{i}.env{i % 100}", "type": "A", "ttl": 10, "values": ["192.168.0.1"]})
    elif i % 40 == 1:
        desired.append({"name": f"new{added}", "type": "A", "ttl": 10, "values": [f"10.9.{added // 256}.{added % 256}"]})
        added += 1
    else:
        desired.append({"name": f"svc{i}.env{i % 100}", "type": "A", "ttl": 10, "values": [address(i)]})


def plan(desired):
    current = {}
    for name, rtype, ttl, vals in db.execute(
            "SELECT name, type, ttl, vals FROM records WHERE zone = ? ORDER BY name, type", (ZONE,)):
        current[(name, rtype)] = {"name": name, "type": rtype, "ttl": ttl, "values": json.loads(vals)}
    wanted = {(r["name"], r["type"]): r for r in desired}
    creates, updates, deletes = [], [], []
    for key, record in wanted.items():
        have = current.get(key)
        if have is None:
            creates.append(record)
        elif have["ttl"] != record["ttl"] or sorted(have["values"]) != sorted(record["values"]):
            updates.append({"from": have, "to": record})
    for key, record in current.items():
        if key not in wanted:
            deletes.append(record)
    return creates, updates, deletes


best = None
for run in range(5):
    started = time.perf_counter()
    creates, updates, deletes = plan(desired)
    took = time.perf_counter() - started
    assert len(creates) == 250 and len(updates) == 250 and len(deletes) == 250
    best = took if best is None else min(best, took)
print(f"plan of a 10,000-name zone, 5% of names differing: best of 5 {best * 1000:.1f}ms")
