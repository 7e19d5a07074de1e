"""History in constant time, driven by bench/history.sh: writes a long history into upbeat's
database while it is stopped, starts it again, checks the answers against the database, then
times each query through the API with wrk, one request at a time.

    python3 history.py API_PORT UPBEAT_PID CHECKS REPORT_JSON

UPBEAT_DB, UPBEAT_LOG and UPBEAT_START (the command, as JSON) come from the environment."""
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Api, cpu_times, ms, steal_percent, wait_until  # noqa: E402

MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000
# Every minute of history has one check a second with these latencies; one minute in a
# thousand fails.
LATENCIES = [20 + 3 * s for s in range(60)]
SMALL, BIG = 1, 2
MONITORS = 1000


def bucket_of(ms):
    """The latency bucket upbeat counts `ms` in: exact under 16 ms, then 8 per power of two."""
    if ms < 16:
        return ms
    power = ms.bit_length() - 1
    return 16 + ((power - 4) << 3) + ((ms >> (power - 3)) & 7)


def spread(minutes_up):
    """The stored latency spread of `minutes_up` successful minutes: bucket, then LEB128 count."""
    out = bytearray()
    for bucket, n in sorted(Counter(bucket_of(ms) for ms in LATENCIES).items()):
        n *= minutes_up
        out.append(bucket)
        while n >= 0x80:
            out.append(n & 0x7F | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def rollup_row(monitor, start, up, down):
    return (monitor, start, 60 * (up + down), 60 * up, sum(LATENCIES) * up,
            min(LATENCIES) if up else None, max(LATENCIES) if up else None,
            spread(up) if up else None)


def insert_rollups(db, table, column, rows):
    db.executemany(f"INSERT INTO {table} (monitor_id, {column}, checks, up, latency_sum, latency_min, "
                   f"latency_max, latency_hist) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def fill(db, monitor, n, end):
    """`n` checks of `monitor` one second apart up to `end` (a whole minute), with their
    roll-ups, each kept as long as upbeat keeps it by default, then the checks after `end` that
    are not rolled up yet. Returns how many checks it wrote (n in whole minutes, and those)."""
    n -= n % 60
    t0 = end - n * 1000
    db.execute("""
        INSERT INTO checks (monitor_id, at, ok, status_code, latency_ms, error_kind, error_message)
        WITH RECURSIVE s(v) AS (SELECT 0 UNION ALL SELECT v + 1 FROM s WHERE v < ?1 - 1)
        SELECT ?2, ?3 + v * 1000, NOT down, CASE WHEN down THEN 500 ELSE 200 END, 20 + (v % 60) * 3,
               CASE WHEN down THEN 'status' END, CASE WHEN down THEN 'HTTP 500' END
        FROM (SELECT v, (v / 60) % 1000 = 999 AS down FROM s)""", (n, monitor, t0))
    periods = {MINUTE: {}, HOUR: {}, DAY: {}}
    for k in range(n // 60):
        start, down = t0 + k * MINUTE, k % 1000 == 999
        for ms, starts in periods.items():
            starts.setdefault(start - start % ms, [0, 0])[down] += 1
    for table, column, ms, kept in (("check_minutes", "minute", MINUTE, 2 * DAY),
                                    ("check_hours", "hour", HOUR, 365 * DAY),
                                    ("check_days", "day", DAY, None)):
        insert_rollups(db, table, column, [rollup_row(monitor, start, up, down)
                                           for start, (up, down) in periods[ms].items()
                                           if kept is None or start >= end - kept])
    return n + unrolled(db, monitor, end)


def unrolled(db, monitor, end):
    """The 15 checks from `end` on, one a second, not in the roll-ups: the most upbeat leaves a
    monitor (it rolls them up 16 at a time), which every read adds from the checks."""
    db.executemany("INSERT INTO checks (monitor_id, at, ok, status_code, latency_ms) VALUES (?, ?, 1, 200, ?)",
                   [(monitor, end + i * 1000, LATENCIES[i]) for i in range(15)])
    db.execute("UPDATE monitor_state SET rolled_until = ? WHERE monitor_id = ?",
               (end, monitor))
    return 15


def wrk(api, path, seconds=5):
    """p50 and p99 in milliseconds and requests per second, one connection, one request at a
    time, after a second of the same requests to warm the caches."""
    for warm in (True, False):
        before = cpu_times()
        out = subprocess.run(["wrk", "-t1", "-c1", "-d1s" if warm else f"-d{seconds}s", "--latency",
                              "-H", f"Authorization: Bearer {api.token}", api.base + path],
                             check=True, capture_output=True, text=True).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"{path} answered with errors:\n{out}")

    def millis(text):
        for unit, factor in (("us", 0.001), ("ms", 1), ("s", 1000)):
            if text.endswith(unit):
                return round(float(text[: -len(unit)]) * factor, 3)
        raise ValueError(text)

    lat = {l.split()[0]: millis(l.split()[1]) for l in out.splitlines() if l.strip().startswith(("50%", "99%"))}
    rps = float(next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec")))
    return {"p50_ms": lat["50%"], "p99_ms": lat["99%"], "requests_per_s": rps,
            "steal_percent": steal_percent(before, cpu_times())}


def main():
    port, pid, checks, report_path = sys.argv[1:]
    pid, checks = int(pid), int(checks)
    api = Api(port)
    api.register()
    api.create_monitors(MONITORS, lambda i: {"name": f"site {i:05}", "url": f"http://127.0.0.1:9/{i}",
                                             "interval": 60, "paused": True})
    os.kill(pid, 15)
    wait_until("upbeat to stop", lambda: not os.path.exists(f"/proc/{pid}"), 60)

    # A minute back, so that the checks not rolled up yet are in the past too.
    end = int(time.time() * 1000) // MINUTE * MINUTE - MINUTE
    db = sqlite3.connect(os.environ["UPBEAT_DB"], isolation_level=None)
    db.execute("PRAGMA journal_mode = DELETE")
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA cache_size = -1000000")
    t0 = time.time()
    db.execute("BEGIN")
    small = fill(db, SMALL, 1000, end)
    big = fill(db, BIG, checks, end)
    # The others: a day of hourly history each, which is what the summary reads, and the 15
    # checks not rolled up yet that it adds, the most upbeat leaves.
    for m in range(3, MONITORS + 1):
        insert_rollups(db, "check_hours", "hour",
                       [rollup_row(m, end - end % HOUR - h * HOUR, 60 - (h == m % 25), h == m % 25)
                        for h in range(25)])
        unrolled(db, m, end)
    db.execute("COMMIT")
    db.execute("PRAGMA journal_mode = WAL")
    # On disk before timing anything: writing gigabytes back in the background would be timed
    # with the queries.
    os.sync()
    written = time.time() - t0
    size = os.path.getsize(os.environ["UPBEAT_DB"])
    per_check = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name = 'checks'").fetchone()[0] / (big + small)
    print(f"history written in {written:.0f} s: monitor {SMALL} has {small:,} checks, monitor {BIG} "
          f"{big:,}; database {size / 1e9:.2f} GB, {per_check:.1f} bytes per check in the checks table")

    proc = subprocess.Popen(json.loads(os.environ["UPBEAT_START"]), stderr=open(os.environ["UPBEAT_LOG"], "a"))
    try:
        wait_until("upbeat to serve", lambda: serving(api), 120, every=0.1)
        measure(api, db, small, big, size, per_check, written, report_path)
    finally:
        proc.terminate()
        proc.wait()


def measure(api, db, small, big, size, per_check, written, report_path):
    # The answers first: each counts exactly the checks the database holds in its window.
    for path in ("uptime?window=90d&buckets=90", "uptime?window=24h&buckets=1440",
                 "uptime?window=7d", "uptime?window=1h&buckets=720"):
        u = api.call("GET", f"/api/monitors/{BIG}/{path}")
        held = db.execute("SELECT count(*) FROM checks WHERE monitor_id = ? AND at >= ? AND at < ?",
                          (BIG, int(ms(u["from"])), int(ms(u["to"])))).fetchone()[0]
        assert u["checks"] == held, f"{path}: {u['checks']} checks, the database holds {held}"
        assert min(LATENCIES) <= u["p50_latency_ms"] <= u["p99_latency_ms"] <= max(LATENCIES), u
    summary = api.call("GET", "/api/summary")
    assert len(summary["monitors"]) == MONITORS and all(len(m["hours"]) == 24 for m in summary["monitors"])

    report = {"checks_small": small, "checks_big": big, "database_bytes": size,
              "checks_table_bytes_per_check": round(per_check, 1), "written_s": round(written)}
    worst = 0.0
    timed_from = cpu_times()
    for window in ("24h", "7d", "30d", "90d"):
        got = {m: wrk(api, f"/api/monitors/{m}/uptime?window={window}") for m in (SMALL, BIG)}
        worst = max(worst, got[SMALL]["p99_ms"], got[BIG]["p99_ms"])
        report[f"uptime_{window}"] = {"small": got[SMALL], "big": got[BIG]}
        print(f"uptime and latency over {window} (24 buckets): {small:,} checks p50 {got[SMALL]['p50_ms']} ms, "
              f"p99 {got[SMALL]['p99_ms']} ms; {big:,} checks p50 {got[BIG]['p50_ms']} ms, "
              f"p99 {got[BIG]['p99_ms']} ms")
    print(f"uptime over 24 h / 7 d / 30 d / 90 d: slowest p99 {worst} ms (target < 5 ms): "
          f"{'met' if worst < 5 else 'MISSED'}")
    for path, what in (("uptime?window=90d&buckets=90", "90 days by day"),
                       ("uptime?window=24h&buckets=1440", "24 hours by minute"),
                       ("uptime?window=1h&buckets=720", "1 hour in 5 s buckets, from the checks"),
                       ("checks?limit=100", "the latest 100 checks")):
        got = wrk(api, f"/api/monitors/{BIG}/{path}")
        report[path] = got
        print(f"{what}, {big:,} checks: p50 {got['p50_ms']} ms, p99 {got['p99_ms']} ms (GET .../{path})")
    got = wrk(api, "/api/summary")
    report["summary"] = got
    print(f"summary of {MONITORS:,} monitors (status, 24 hourly buckets, 24 h uptime): p50 {got['p50_ms']} ms, "
          f"p99 {got['p99_ms']} ms (target < 50 ms): {'met' if got['p99_ms'] < 50 else 'MISSED'}")
    steals = [got["steal_percent"] for got in _timed(report)]
    report["steal_percent"] = steal_percent(timed_from, cpu_times())
    print(f"the hypervisor gave {report['steal_percent']} % of this machine's CPU time to others while "
          f"the queries were timed (up to {max(steals)} % during one): figures taken at more than a "
          f"few percent are slower than the machine alone")
    with open(report_path, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")


def _timed(report):
    """Every wrk result in the report."""
    for value in report.values():
        if isinstance(value, dict) and "p99_ms" in value:
            yield value
        elif isinstance(value, dict):
            yield from _timed(value)


def serving(api):
    try:
        return api.call("GET", "/healthz")
    except OSError:
        return False


if __name__ == "__main__":
    main()
