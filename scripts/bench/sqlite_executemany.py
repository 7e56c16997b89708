#!/usr/bin/env python3
"""Baseline for `okno-bench foundation`: the naive embedded import, Python's sqlite3
executemany of the St. Petersburg appeals and events into two plain tables in one transaction.
Prints one JSON object: {"rows": N, "seconds": S, "rows_per_s": R}."""
import csv
import gzip
import json
import os
import sqlite3
import sys
import tempfile
import time


def rows(path):
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)


def main():
    appeals, events = sys.argv[1], sys.argv[2]
    started = time.perf_counter()
    a_head, a_rows = rows(appeals)
    e_head, e_rows = rows(events)
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "baseline.db"))
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute(f"CREATE TABLE appeals ({', '.join(f'c{i}' for i in range(len(a_head)))})")
        db.execute(f"CREATE TABLE events ({', '.join(f'c{i}' for i in range(len(e_head)))})")
        with db:
            db.executemany(f"INSERT INTO appeals VALUES ({', '.join('?' * len(a_head))})", a_rows)
            db.executemany(f"INSERT INTO events VALUES ({', '.join('?' * len(e_head))})", e_rows)
        db.close()
    seconds = time.perf_counter() - started
    n = len(a_rows) + len(e_rows)
    print(json.dumps({"rows": n, "seconds": seconds, "rows_per_s": n / seconds}))


if __name__ == "__main__":
    main()
