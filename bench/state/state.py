# The python3 equivalent of the SQLite part of state.furrow: the same table layout (one JSON
# text per item, keyed by table and key), filled with the same items, then timed:
#   SELECT the items whose state is "deployed" (the filter in SQL, as Furrow pushes it down),
#   page by page in key order, json.loads per row, sorted by `updated`.
# Usage: python3 bench/state/state.py [--items N] [--db PATH]
import argparse
import datetime
import json
import os
import sqlite3
import tempfile
import time

parser = argparse.ArgumentParser()
parser.add_argument("--items", type=int, default=100000)
parser.add_argument("--db", default=None)
args = parser.parse_args()

path = args.db or os.path.join(tempfile.mkdtemp(), "state.db")
db = sqlite3.connect(path)
db.execute("""CREATE TABLE IF NOT EXISTS items (
    table_name TEXT NOT NULL, key TEXT NOT NULL, item TEXT NOT NULL,
    PRIMARY KEY (table_name, key)) WITHOUT ROWID""")
have = db.execute("SELECT count(*) FROM items WHERE table_name = 'bench_x'").fetchone()[0]
if have < args.items:
    states = ["new", "deployed", "deployed", "reaping"]
    base = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    started = time.perf_counter()
    rows = []
    for n in range(have, args.items):
        updated = base + datetime.timedelta(seconds=(n * 7919) % args.items)
        item = {"name": f"env-{n:06d}", "state": states[n % 4], "owner": f"owner-{n % 97}",
                "updated": updated.strftime("%Y-%m-%dT%H:%M:%SZ"), "version": n % 13}
        rows.append(("bench_x", item["name"], json.dumps(item)))
    with db:
        db.executemany("INSERT INTO items VALUES (?, ?, ?)", rows)
    print(f"load: {args.items - have} rows in {time.perf_counter() - started:.3f}s (one transaction)")


def timed_scan(pushdown):
    started = time.perf_counter()
    rows = []
    after = ""
    where = "AND json_extract(item, '$.state') = 'deployed'" if pushdown else ""
    read = 0
    while True:
        page = db.execute(f"""SELECT key, item FROM items WHERE table_name = 'bench_x' AND key > ? {where}
                              ORDER BY key LIMIT 1000""", (after,)).fetchall()
        if not page:
            break
        after = page[-1][0]
        read += len(page)
        for _, text in page:
            item = json.loads(text)
            if item["state"] == "deployed":
                rows.append(item)
    rows.sort(key=lambda item: item["updated"])
    took = time.perf_counter() - started
    print(f"scan+filter+sort (pushdown {str(pushdown).lower()}): {len(rows)} rows, {read} items read, {took:.3f}s")
    return rows


pushed = timed_scan(True)
plain = timed_scan(False)
assert len(pushed) == len(plain) and pushed[0]["name"] == plain[0]["name"], "pushdown changed the result"
