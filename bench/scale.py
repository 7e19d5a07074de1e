"""The scale benchmark's measurements, driven by bench/scale.sh: see that script for the parts.

Each part prints one summary line and adds its figures to a JSON file. Lag percentiles come from
upbeat's own histogram (GET /metrics), CPU and memory from /proc, bytes per check from the
database file, query times from the API.
"""
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from common import Api, cpu_seconds, cpu_times, rss_mb, steal_percent, wait_until  # noqa: E402


def metrics(api):
    """The samples of GET /metrics: {name{labels}: value}."""
    with urllib.request.urlopen(api.base + "/metrics") as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def checks_total(m):
    return sum(v for k, v in m.items() if k.startswith("upbeat_checks_total{"))


def checks_ok(m):
    return sum(v for k, v in m.items() if k.startswith("upbeat_checks_total{") and 'result="ok"' in k)


def lag_buckets(m):
    """(upper bound in seconds, cumulative count) of the schedule lag histogram."""
    out = []
    for k, v in m.items():
        found = re.fullmatch(r'upbeat_schedule_lag_seconds_bucket\{le="([^"]+)"\}', k)
        if found:
            out.append((float(found.group(1)), v))
    return sorted(out)


def quantile(q, before, after):
    """The q-quantile of the lag between two scrapes, interpolated within its bucket as
    Prometheus' histogram_quantile does; inf when it lies past the last finite bucket."""
    b0 = dict(lag_buckets(before))
    buckets = [(le, c - b0.get(le, 0)) for le, c in lag_buckets(after)]
    total = buckets[-1][1]
    if total == 0:
        return float("nan")
    rank, low, below = q * total, 0.0, 0.0
    for le, count in buckets:
        if count >= rank:
            if le == float("inf"):
                return float("inf")
            return low + (le - low) * (rank - below) / max(count - below, 1e-9)
        low, below = le, count
    return float("inf")


def measure(api, pid, seconds):
    """Checks per second (all and ok), lag percentiles, CPU and memory over `seconds`."""
    m0, c0, t0, s0 = metrics(api), cpu_seconds(pid), time.time(), cpu_times()
    time.sleep(seconds)
    m1, c1, t1, s1 = metrics(api), cpu_seconds(pid), time.time(), cpu_times()
    wall = t1 - t0
    return {
        "seconds": round(wall, 1),
        "checks_per_s": round((checks_total(m1) - checks_total(m0)) / wall, 1),
        "ok_per_s": round((checks_ok(m1) - checks_ok(m0)) / wall, 1),
        "dropped": m1.get("upbeat_results_dropped_total", 0) - m0.get("upbeat_results_dropped_total", 0),
        "lag_p50_ms": round(1000 * quantile(0.50, m0, m1), 2),
        "lag_p99_ms": round(1000 * quantile(0.99, m0, m1), 2),
        "cpu_percent_of_one_core": round(100 * (c1 - c0) / wall, 1),
        "rss_mb": round(rss_mb(pid), 1),
        "steal_percent": steal_percent(s0, s1),
    }


def create(api, target, first, count, interval):
    api.create_monitors(count, lambda i: {
        "name": f"site {first + i}", "url": f"http://127.0.0.1:{target}/{first + i}",
        "interval": interval, "failure_threshold": 1})


def verdict(ok):
    return "meets the target" if ok else "MISSES the target"


def ab_rate(target):
    """Requests per second `ab -c 32` (no keep-alive) gets from the target: the median of three
    runs, as one run alone varies by a quarter on this kind of machine."""
    rates = []
    for _ in range(3):
        out = subprocess.run(["ab", "-q", "-c", "32", "-n", "50000", f"http://127.0.0.1:{target}/ab"],
                             check=True, capture_output=True, text=True).stdout
        rates.append(float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1)))
    return sorted(rates)[1]


def throughput(api, pid, target, report):
    """Raises the rate of checks (monitors every second) in steps until upbeat no longer keeps
    up: fewer ok results than scheduled, or p99 lag over a second. The last rate kept up with
    is compared with ab's."""
    ab = ab_rate(target)
    steps, kept, have = [], 0, 0
    for share in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 1.0):
        rate = int(ab * share)
        create(api, target, have, rate - have, 1)
        have = rate
        time.sleep(5)  # every new monitor past its first check, on its slot
        got = measure(api, pid, 15)
        got["scheduled_per_s"] = rate
        steps.append(got)
        if got["ok_per_s"] < 0.97 * rate or got["lag_p99_ms"] > 1000 or got["dropped"] > 0:
            break
        kept = rate
    share = kept / ab
    print(f"throughput: upbeat kept up with {kept} checks/s, every result stored "
          f"({100 * share:.0f} % of ab's {ab:.0f} requests/s, -c 32, no keep-alive; target 60 %): "
          f"{verdict(share >= 0.6)}")
    report["throughput"] = {"ab_requests_per_s": ab, "sustained_checks_per_s": kept,
                            "share_of_ab": round(share, 3), "steps": steps}


def stored_bytes_per_check(db):
    """Bytes on disk per stored check: the checks table's pages (it is its own index), and the
    whole database's, over the number of checks."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    checks = con.execute("SELECT count(*) FROM checks").fetchone()[0]
    table = con.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                        "(SELECT name FROM sqlite_schema WHERE tbl_name = 'checks')").fetchone()[0]
    whole = con.execute("SELECT sum(pgsize) FROM dbstat").fetchone()[0]
    con.close()
    return {"checks": checks, "checks_table_bytes_per_check": round(table / checks, 1),
            "database_bytes_per_check": round(whole / checks, 1)}


def on_time(api, pid, target, report, monitors, interval, lag_ms, cpu, rss):
    create(api, target, 0, monitors, interval)
    time.sleep(interval + 5)
    got = measure(api, pid, max(30, 3 * interval))
    got.update(stored_bytes_per_check(os.environ["UPBEAT_DB"]))
    ok = got["lag_p99_ms"] < lag_ms and got["rss_mb"] < rss and (cpu is None or got["cpu_percent_of_one_core"] < cpu)
    cpu_text = f", CPU {got['cpu_percent_of_one_core']} % of one core" + (f" (target < {cpu})" if cpu else "")
    print(f"{monitors} monitors every {interval} s: {got['checks_per_s']} checks/s, "
          f"p99 lag {got['lag_p99_ms']} ms (target < {lag_ms}){cpu_text}, "
          f"RSS {got['rss_mb']} MB (target < {rss}), CPU steal {got['steal_percent']} %: {verdict(ok)}")
    report[f"on_time_{monitors}_every_{interval}s"] = got
    print(f"storage after {got['checks']} checks: {got['checks_table_bytes_per_check']} bytes per check "
          f"in the checks table (target at most 40), {got['database_bytes_per_check']} for the whole "
          f"database: {verdict(got['checks_table_bytes_per_check'] <= 40)}")


def restart(api, pid, report, monitors, interval, start_cmd):
    """Stops upbeat, starts it again on the same database, and times how long until it serves
    (every monitor is scheduled before it listens), then how the first interval's checks
    spread."""
    before = checks_total(metrics(api))
    os.kill(pid, 15)
    wait_until("upbeat to stop", lambda: not os.path.exists(f"/proc/{pid}"), 60)
    t0 = time.time()
    proc = subprocess.Popen(start_cmd, stderr=open(os.environ["UPBEAT_LOG"], "a"))
    wait_until("upbeat to serve", lambda: ping(api), 120, every=0.01)
    ready = time.time() - t0
    per_second = []
    last = 0.0
    for _ in range(interval):
        time.sleep(1)
        now = checks_total(metrics(api))
        per_second.append(now - last if last else now)
        last = now
    total = sum(per_second)
    peak = max(per_second)
    even = monitors / interval
    ok = ready < 2 and total >= 0.99 * monitors and peak < 3 * even
    print(f"restart with {monitors} monitors: serving and every monitor scheduled {ready:.2f} s after "
          f"start (target < 2 s); {total:.0f} checks in the first {interval} s, at most {peak:.0f} in "
          f"one second ({even:.0f}/s when spread evenly): {verdict(ok)}")
    report["restart"] = {"monitors": monitors, "ready_s": round(ready, 2),
                         "checks_first_interval": total, "peak_per_s": peak,
                         "checks_before_restart": before}
    proc.terminate()
    proc.wait()


def locked(api, pid, target, report, monitors, interval, lock_s):
    """Holds the database's write lock from another process for `lock_s` seconds while
    `monitors` monitors are checked every `interval` s: checks must stay on time, results queue
    in bounded memory and then are dropped (counted and logged), no monitor goes down, and
    every result that was not dropped is stored once the lock is gone."""
    create(api, target, 0, monitors, interval)
    time.sleep(interval + 5)
    before = measure(api, pid, 10)
    db = sqlite3.connect(os.environ["UPBEAT_DB"], isolation_level=None, timeout=60)
    m0, t0 = metrics(api), time.time()
    db.execute("BEGIN EXCLUSIVE")
    queued, rss = [], []
    while time.time() - t0 < lock_s:
        time.sleep(1)
        queued.append(metrics(api)["upbeat_results_queued"])
        rss.append(rss_mb(pid))
    m1 = metrics(api)
    db.execute("COMMIT")
    unlocked = time.time()
    wait_until("the queued results to be written", lambda: metrics(api)["upbeat_results_queued"] < 1000, 120)
    drained = time.time() - unlocked
    time.sleep(2)
    m2 = metrics(api)
    stored = db.execute("SELECT count(*) FROM checks").fetchone()[0]
    m3 = metrics(api)
    downs = db.execute("SELECT count(*) FROM events WHERE to_status = 'down'").fetchone()[0]
    dropped = m3["upbeat_results_dropped_total"]
    # Made minus dropped, less what was still queued or being written (at most a batch of
    # 2,000) when the database was counted; and never more than made minus dropped.
    low = checks_total(m2) - m2["upbeat_results_dropped_total"] - m2["upbeat_results_queued"] - 2000
    high = checks_total(m3) - dropped
    with open(os.environ["UPBEAT_LOG"]) as f:
        logged = sum("results are being dropped" in line for line in f)
    got = {
        "monitors": monitors, "interval_s": interval, "locked_s": round(unlocked - t0, 1),
        "before": before,
        "checks_per_s_while_locked": round((checks_total(m1) - checks_total(m0)) / (unlocked - t0), 1),
        "lag_p99_ms_while_locked": round(1000 * quantile(0.99, m0, m1), 2),
        "queued_max": max(queued), "rss_mb_max": round(max(rss), 1),
        "dropped": dropped, "drop_warnings_logged": logged, "drained_s": round(drained, 1),
        "stored": stored, "made_minus_dropped": [low, high],
        "down_events": downs, "monitors_down": m3['upbeat_monitors{status="down"}'],
    }
    ok = (got["lag_p99_ms_while_locked"] < 50 and got["queued_max"] <= 65536 and low <= stored <= high
          and downs == 0 and got["monitors_down"] == 0 and (dropped == 0 or logged > 0))
    print(f"database locked for {got['locked_s']} s with {monitors} monitors every {interval} s: "
          f"{got['checks_per_s_while_locked']} checks/s while locked, p99 lag {got['lag_p99_ms_while_locked']} ms "
          f"(before: {before['lag_p99_ms']} ms); at most {got['queued_max']:.0f} results queued (bound 65,536), "
          f"RSS at most {got['rss_mb_max']} MB; {dropped:.0f} dropped, counted and logged ({logged} warnings); "
          f"written {drained:.1f} s after the lock went; {stored} checks stored (made minus dropped: "
          f"{low:.0f} to {high:.0f}); {downs} monitors marked down: {verdict(ok)}")
    report["locked"] = got


def ping(api):
    try:
        urllib.request.urlopen(api.base + "/healthz", timeout=1)
        return True
    except OSError:
        return False


def main():
    part, port, target, pid, out = sys.argv[1:6]
    pid = int(pid)
    api = Api(port)
    api.register()
    report = {"part": part, "machine": {"cores": os.cpu_count(), "kernel": os.uname().release}}
    if part == "throughput":
        throughput(api, pid, target, report)
    elif part == "10k":
        on_time(api, pid, target, report, 10_000, 10, lag_ms=50, cpu=10, rss=100)
    elif part == "100k":
        on_time(api, pid, target, report, 100_000, 60, lag_ms=1000, cpu=None, rss=1024)
        restart(api, pid, report, 100_000, 60, json.loads(os.environ["UPBEAT_START"]))
    elif part == "locked":
        locked(api, pid, target, report, 5_000, 1, lock_s=30)
    with open(out, "w") as f:
        json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
