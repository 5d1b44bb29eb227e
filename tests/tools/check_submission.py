#!/usr/bin/python3
"""Check a Kaggle submission against the graphs of a truth stream: one row
per graph, layout rows a full permutation of 0..c-1, tile rows at least
min(5, c) distinct configs in range.

usage: check_submission.py TRUTH.mp submission.csv   -> "ok N rows" or exit 1
"""
import csv
import sys

import msgpack

n = {}
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False, max_buffer_size=2**31):
    if r["t"] == "graph":
        n[r["id"]] = r["n_configs"]
rows = {}
for r in csv.DictReader(open(sys.argv[2])):
    if r["ID"] in rows:
        sys.exit("duplicate row " + r["ID"])
    rows[r["ID"]] = [int(x) for x in r["TopConfigs"].split(";")]
if set(rows) != set(n):
    sys.exit("rows and graphs differ: %s" % sorted(set(rows) ^ set(n))[:5])
for k, v in rows.items():
    if k.startswith("layout:"):
        if sorted(v) != list(range(n[k])):
            sys.exit("%s: not a permutation of 0..%d" % (k, n[k] - 1))
    elif len(v) < min(5, n[k]) or len(set(v)) != len(v) or min(v) < 0 or max(v) >= n[k]:
        sys.exit("%s: bad tile row" % k)
print("ok %d rows" % len(rows))
