"""The baseline of `okno-bench analytics`: the issue's four queries in DuckDB, in memory, with
two threads, on the very rows Okno counted (the CSV the bench exports). Prints JSON: the load
time, each query's median and 90th-percentile milliseconds, and the answers to compare."""

import argparse
import json
import statistics
import sys
import time

import duckdb


def timed(con, sql, params, repeat):
    runs, rows = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        rows = con.execute(sql, params).fetchall()
        runs.append((time.perf_counter() - started) * 1000.0)
    runs.sort()
    return {
        "median_ms": statistics.median(runs),
        "p90_ms": runs[min(len(runs) - 1, round((len(runs) - 1) * 0.9))],
        "rows": len(rows),
    }, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("csv")
    parser.add_argument("--municipality", required=True)
    parser.add_argument("--category", required=True)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()

    con = duckdb.connect(":memory:")
    con.execute("SET threads = 2")
    started = time.perf_counter()
    con.execute(
        "CREATE TABLE r AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'id': 'BIGINT', 'created_at': 'TIMESTAMP', 'category': 'VARCHAR', 'agency': 'VARCHAR', "
        "'municipality': 'VARCHAR', 'lat': 'DOUBLE', 'lon': 'DOUBLE', 'status': 'VARCHAR', 'closed_at': 'TIMESTAMP'})",
        [args.csv],
    )
    load_seconds = time.perf_counter() - started
    (count,) = con.execute("SELECT count(*) FROM r").fetchone()

    bbox = "lat BETWEEN 59.90 AND 59.97 AND lon BETWEEN 30.25 AND 30.40"
    cells = "floor(lat / 0.0045) AS y, floor(lon / 0.009) AS x, count(*) AS n"
    queries = {
        "a": (f"SELECT {cells} FROM r WHERE category = ? AND created_at >= '2021-01-15' AND created_at < '2021-02-14' "
              f"AND {bbox} GROUP BY 1, 2", [args.category]),
        "b": (f"SELECT {cells} FROM r WHERE created_at >= '2021-01-01' AND created_at < '2022-01-01' AND {bbox} GROUP BY 1, 2", []),
        "c": ("SELECT category, CAST(created_at AS DATE) AS day, count(*) AS n FROM r WHERE municipality = ? "
              "AND created_at >= '2021-01-01' AND created_at < '2022-01-01' GROUP BY 1, 2", [args.municipality]),
        "d": ("SELECT agency, count(*) AS n FROM r WHERE created_at < '2021-11-01' "
              "AND (closed_at IS NULL OR closed_at >= '2021-12-01') GROUP BY 1", []),
    }
    figures, answers = {}, {}
    for name, (sql, params) in queries.items():
        figures[name], rows = timed(con, sql, params, args.repeat)
        answers[name] = rows
    json.dump({
        "engine": f"DuckDB {duckdb.__version__}, in memory, 2 threads",
        "rows": count,
        "load_seconds": load_seconds,
        "queries": figures,
        "answers": {
            "a_total": sum(n for _, _, n in answers["a"]),
            "b_total": sum(n for _, _, n in answers["b"]),
            "c_by_category": {c or "": n for c, n in con.execute(
                "SELECT category, count(*) FROM r WHERE municipality = ? AND created_at >= '2021-01-01' "
                "AND created_at < '2022-01-01' GROUP BY 1", [args.municipality]).fetchall()},
            "c_days": len(answers["c"]),
            "d_by_agency": {a or "": n for a, n in answers["d"]},
        },
    }, sys.stdout)


if __name__ == "__main__":
    main()
