#!/usr/bin/env bash
# The pages at size: MONITORS monitors with 90 days of hourly history each, checked every 30 s.
# Reports how long the dashboard and a monitor's page take to render (one request at a time, so
# the time is the server's), their size, and what keeping dashboards open live costs.
#
#   bench/dashboard.sh [MONITORS] [VIEWERS]      (defaults: 1000 monitors, 5 open dashboards)
#
# Needs nginx, curl, python3 and wrk (installed with apt-get when missing); builds upbeat in
# release mode.
source "$(dirname "$0")/lib.sh"
monitors=${1:-1000}
viewers=${2:-5}
bench_tools nginx=nginx-light curl=curl python3=python3 wrk=wrk
bench_start
target=$(bench_nginx target 'return 200 "ok\n";')

python3 - "$root/bench" "$api" "$target" "$monitors" "$viewers" "$pid" "$dir" <<'PY'
import sqlite3, subprocess, sys, time, urllib.parse
sys.path.insert(0, sys.argv[1])
from common import Api, cpu_seconds
port, target, monitors, viewers, pid, scratch = sys.argv[2:]
monitors, viewers = int(monitors), int(viewers)
api = Api(port)
api.register()

# 90 days of hourly roll-ups for each monitor about to be made (ids start at 1 in a fresh
# database), as if it had been checked every 30 s all along, and the daily ones they add up to,
# as upbeat writes both.
hour = 3_600_000
now_hour = int(time.time() * 1000) // hour * hour
db = sqlite3.connect(f"{scratch}/upbeat.db", timeout=60)
t0 = time.time()
for m in range(1, monitors + 1):
    db.executemany("INSERT INTO check_hours (monitor_id, hour, checks, up, latency_sum, latency_min, latency_max) "
                   "VALUES (?, ?, 120, ?, ?, ?, ?)",
                   [(m, now_hour - h * hour, 120 - (h % 97 == 0), 119 * (40 + h % 30), 20, 90 + h % 50)
                    for h in range(1, 90 * 24 + 1)])
db.execute("INSERT INTO check_days (monitor_id, day, checks, up, latency_sum, latency_min, latency_max) "
           "SELECT monitor_id, hour - hour % 86400000, sum(checks), sum(up), sum(latency_sum), "
           "min(latency_min), max(latency_max) FROM check_hours GROUP BY 1, 2")
db.commit()
rows = db.execute("SELECT COUNT(*) FROM check_hours").fetchone()[0]
print(f"{rows:,} hourly roll-up rows written in {time.time() - t0:.0f} s")

api.create_monitors(monitors, lambda i: {"name": f"site {i:05}", "url": f"http://127.0.0.1:{target}/{i}",
                    "interval": 30})
time.sleep(35)  # every monitor checked at least once

out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-c", f"{scratch}/cookies", "-w", "%{http_code}",
                      "--data-urlencode", "email=ops@example.com", "--data-urlencode", "password=correct horse",
                      f"{api.base}/signin"], check=True, capture_output=True, text=True).stdout
assert out == "303", f"sign-in answered {out}"
cookie = next(l.split("\t")[6].strip() for l in open(f"{scratch}/cookies") if "upbeat_session" in l)
header = f"Cookie: upbeat_session={cookie}"

def page(path, label):
    size = len(subprocess.run(["curl", "-sf", "-H", header, api.base + path],
                              check=True, capture_output=True).stdout)
    gzipped = int(subprocess.run(["curl", "-sf", "-o", "/dev/null", "-w", "%{size_download}", "-H", header,
                                  "-H", "Accept-Encoding: gzip", api.base + path],
                                 check=True, capture_output=True, text=True).stdout)
    out = subprocess.run(["wrk", "-t1", "-c1", "-d10s", "--latency", "-H", header, api.base + path],
                         check=True, capture_output=True, text=True).stdout
    lat = {l.split()[0]: l.split()[1] for l in out.splitlines() if l.strip().startswith(("50%", "99%"))}
    rps = next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec"))
    print(f"{label} ({size / 1024:.0f} KB, {gzipped / 1024:.0f} KB gzipped): p50 {lat['50%']}, p99 {lat['99%']}, {rps} pages/s "
          f"(wrk -t1 -c1 -d10s {path})")

page("/", f"dashboard, {monitors} monitors")
page("/?q=" + urllib.parse.quote("site 00042"), "dashboard searched down to one monitor")
page(f"/monitors/{monitors // 2}", "monitor page, 90 days of history")
page(f"/monitors/{monitors // 2}?range=30d", "monitor page, 30-day chart")

def cpu_over(seconds):
    c0, t0 = cpu_seconds(pid), time.time()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.time() - t0)

idle = cpu_over(30)
streams = [subprocess.Popen(["curl", "-sN", "-H", header, "-H", "Accept: text/event-stream",
                             "-o", f"{scratch}/live{i}", api.base + "/"]) for i in range(viewers)]
time.sleep(5)
sizes0 = [len(open(f"{scratch}/live{i}", "rb").read()) for i in range(viewers)]
watched = cpu_over(30)
sizes = [len(open(f"{scratch}/live{i}", "rb").read()) for i in range(viewers)]
for s in streams:
    s.terminate()
events = open(f"{scratch}/live0").read().count("event: pieces")
rate = sum(b - a for a, b in zip(sizes0, sizes)) / viewers / 30 / 1024
print(f"upbeat CPU with no page open: {idle:.1f} % of one core; with {viewers} live dashboards: "
      f"{watched:.1f} %; each dashboard received {rate:.1f} KB/s ({events} row updates in {35} s)")
PY
