#!/usr/bin/env python3
"""Load for `furrow serve std/intake`, from a process of its own, over mutual TLS.

Each worker is one client identity reporting builds of its repository into its own
environment, one request after the other (its own sequence); several workers of different
repositories share each environment, so their conditional writes race. Afterwards it reads
every environment back and checks that no build was lost: the row's `version` rose once per
accepted report, and each repository's attribute holds the last sha its worker sent.

    bench/intake/load.py --url https://127.0.0.1:8443 --ca ca.pem \
        --client tyk=ci-tyk.pem,ci-tyk.key --client tyk-analytics=ci-ta.pem,ci-ta.key \
        --workers 20 --requests 2000

Prints requests/s and p50/p99 latency; exits 1 when a request failed or a build was lost.
"""
import argparse
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse


def connect(url, ca, cert, key, timeout):
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    return http.client.HTTPSConnection(parts.hostname, parts.port, context=context, timeout=timeout)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--client", action="append", required=True, help="REPO=CERT,KEY (one per identity)")
    parser.add_argument("--workers", type=int, default=20)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--prefix", default="load-%d" % int(time.time()))
    parser.add_argument("--timeout", type=float, default=30)
    args = parser.parse_args()

    clients = []
    for spec in args.client:
        repo, files = spec.split("=", 1)
        cert, key = files.split(",", 1)
        clients.append((repo, cert, key))
    per_worker = max(1, args.requests // args.workers)
    # Worker i reports repository i % R into environment i // R: each (repository,
    # environment) pair has one worker, and each environment has R racing workers.
    workers = []
    for i in range(args.workers):
        repo, cert, key = clients[i % len(clients)]
        workers.append({"repo": repo, "cert": cert, "key": key, "env": "%s-%d" % (args.prefix, i // len(clients)),
                        "accepted": 0, "last": None, "latencies": [], "failures": []})

    def run(w):
        conn = connect(args.url, args.ca, w["cert"], w["key"], args.timeout)
        for n in range(per_worker):
            sha = "%s-%s-%d" % (w["repo"], w["env"], n)
            body = json.dumps({"repo": w["repo"], "ref": "refs/heads/" + w["env"], "sha": sha})
            start = time.perf_counter()
            try:
                conn.request("POST", "/newbuild", body, {"content-type": "application/json"})
                response = conn.getresponse()
                text = response.read()
            except (OSError, http.client.HTTPException) as error:
                w["failures"].append("request %d: %s" % (n, error))
                conn.close()
                conn = connect(args.url, args.ca, w["cert"], w["key"], args.timeout)
                continue
            w["latencies"].append(time.perf_counter() - start)
            if response.status == 200:
                w["accepted"] += 1
                w["last"] = sha
            else:
                w["failures"].append("request %d: %d %s" % (n, response.status, text[:200]))
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started

    latencies = sorted(l for w in workers for l in w["latencies"])
    sent = per_worker * len(workers)
    failures = [f for w in workers for f in w["failures"]]
    problems = list(failures[:10])

    # Read every environment back.
    repo, cert, key = clients[0]
    conn = connect(args.url, args.ca, cert, key, args.timeout)
    for env in sorted({w["env"] for w in workers}):
        conn.request("GET", "/environments/" + env)
        response = conn.getresponse()
        row = json.loads(response.read() or b"null")
        if response.status != 200:
            problems.append("%s: GET answered %d" % (env, response.status))
            continue
        mine = [w for w in workers if w["env"] == env]
        accepted = sum(w["accepted"] for w in mine)
        if row.get("version") != accepted:
            problems.append("%s: version %s after %d accepted reports" % (env, row.get("version"), accepted))
        for w in mine:
            if w["last"] is not None and row.get(w["repo"]) != w["last"]:
                problems.append("%s: %s is %s, its client last sent %s" % (env, w["repo"], row.get(w["repo"]), w["last"]))
    conn.close()

    def percentile(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else float("nan")

    print("requests %d answered %d failed %d in %.2fs: %.0f requests/s, p50 %.1f ms, p99 %.1f ms" % (
        sent, len(latencies), len(failures), elapsed, len(latencies) / elapsed, percentile(0.50), percentile(0.99)))
    for p in problems:
        print("problem: " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
