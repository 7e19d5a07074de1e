#!/usr/bin/env bash
# An outage that takes every monitor down at once, and its recovery: how long each alert waits
# between the change of status and its delivery, and whether checks stay on time meanwhile.
#
#   bench/alert-storm.sh [MONITORS] [CHANNELS]      (defaults: 1000 monitors, 1 channel)
#
# MONITORS HTTP monitors check a loopback nginx every 10 s; each alerts one of CHANNELS
# webhook channels (round robin), answered by a second nginx. The first nginx is stopped, then
# started again once every monitor is down. Needs nginx, curl and python3 (installed with
# apt-get when missing); builds upbeat in release mode.
source "$(dirname "$0")/lib.sh"
monitors=${1:-1000}
channels=${2:-1}
bench_tools nginx=nginx-light curl=curl python3=python3
bench_start
target=$(bench_nginx target 'return 200 "ok\n";')
hook=$(bench_nginx hook 'return 204;')

python3 - "$root/bench" "$api" "$target" "$hook" "$monitors" "$channels" "$pid" "$dir" <<'PY'
import sqlite3, subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from common import Api, cpu_seconds, ms, wait_until
api, target, hook, monitors, channels, pid, d = sys.argv[2:]
monitors, channels = int(monitors), int(channels)
INTERVAL = 10
api = Api(api)
api.register()
chans = [api.call("POST", "/api/channels", {"kind": "webhook", "name": f"hook {i}",
         "settings": {"url": f"http://127.0.0.1:{hook}/hook/{i}"}})["id"] for i in range(channels)]
api.create_monitors(monitors, lambda i: {"name": f"site {i}", "url": f"http://127.0.0.1:{target}/{i}",
                    "interval": INTERVAL, "failure_threshold": 1, "channels": [chans[i % channels]]})

# Progress is read from the database file (read-only, beside the running service) so that
# watching costs upbeat nothing; the figures come from the API once everything has settled.
db = sqlite3.connect(f"file:{d}/upbeat.db?mode=ro", uri=True)
def count(sql, arg):
    return db.execute(sql, (arg,)).fetchone()[0]
def wait_all(status):
    wait_until(f"every monitor {status}",
               lambda: count("SELECT count(*) FROM monitor_state WHERE status = ?", status) >= monitors)
def wait_delivered(kind):
    wait_until(f"every {kind} alert settled", lambda: count(
        "SELECT count(*) FROM deliveries WHERE kind = ? AND state <> 'pending'", kind) >= monitors)
def alerts(kind):
    rows, before = [], None
    while True:
        page = api.call("GET", "/api/alerts?limit=1000" + (f"&before={before}" if before else ""))
        rows += [a for a in page if a["kind"] == kind]
        if len(page) < 1000:
            return rows
        before = page[-1]["id"]
def report(kind, started, cpu0):
    wait_delivered(kind)
    wall, used = time.time() - started, cpu_seconds(pid) - cpu0
    rows = alerts(kind)
    waits = sorted(ms(a["sent_at"]) - ms(a["created_at"]) for a in rows if a["sent_at"])
    failed = sum(1 for a in rows if a["state"] != "sent")
    if not waits:
        raise SystemExit(f"{kind}: none of {len(rows)} alerts was sent")
    pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))]
    print(f"{kind}: {len(waits)} sent, {failed} not; wait from status change to delivery: "
          f"p50 {pick(0.5):.0f} ms, p99 {pick(0.99):.0f} ms, max {waits[-1]:.0f} ms; "
          f"upbeat used {used:.1f} s CPU in {wall:.1f} s")

wait_all("up")
print(f"{monitors} monitors up, alerting {channels} webhook channel(s)")
subprocess.run(["kill", open(f"{d}/target.pid").read().strip()], check=True)
started, cpu0 = time.time(), cpu_seconds(pid)
wait_all("down")
report("down", started, cpu0)
subprocess.run(["nginx", "-c", f"{d}/target.conf"], check=True)
started, cpu0 = time.time(), cpu_seconds(pid)
wait_all("up")
report("up", started, cpu0)
api.print_check_gaps(monitors, INTERVAL)
PY
