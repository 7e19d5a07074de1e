#!/usr/bin/env bash
# Steady load: MONITORS HTTP monitors checking a loopback nginx every INTERVAL seconds. Reports
# upbeat's CPU and memory over a minute, whether checks keep their slots, and how fast the API
# answers at that size.
#
#   bench/steady.sh [MONITORS] [INTERVAL]      (defaults: 1000 monitors, every 20 s)
#
# Needs nginx, curl, python3 and wrk (installed with apt-get when missing); builds upbeat in
# release mode.
source "$(dirname "$0")/lib.sh"
monitors=${1:-1000}
interval=${2:-20}
bench_tools nginx=nginx-light curl=curl python3=python3 wrk=wrk
bench_start
target=$(bench_nginx target 'return 200 "ok\n";')

python3 - "$root/bench" "$api" "$target" "$monitors" "$interval" "$pid" <<'PY'
import subprocess, sys, time
sys.path.insert(0, sys.argv[1])
from common import Api, cpu_seconds, rss_mb
port, target, monitors, interval, pid = sys.argv[2:]
monitors, interval = int(monitors), int(interval)
api = Api(port)
api.register()
api.create_monitors(monitors, lambda i: {"name": f"site {i}", "url": f"http://127.0.0.1:{target}/{i}",
                    "interval": interval})
time.sleep(interval + 5)  # every monitor past its first check, on its slots
cpu0, t0 = cpu_seconds(pid), time.time()
time.sleep(60)
used, wall = cpu_seconds(pid) - cpu0, time.time() - t0
print(f"{monitors} monitors every {interval} s ({monitors / interval:.0f} checks/s): "
      f"upbeat used {100 * used / wall:.1f} % of one core over {wall:.0f} s, RSS {rss_mb(pid):.0f} MB")
api.print_check_gaps(monitors, interval)
auth = f"Authorization: Bearer {api.token}"
for path in ["/api/monitors", f"/api/monitors/{monitors // 2}/uptime?window=24h",
             f"/api/monitors/{monitors // 2}/checks?limit=100"]:
    out = subprocess.run(["wrk", "-t2", "-c8", "-d10s", "--latency", "-H", auth, api.base + path],
                         check=True, capture_output=True, text=True).stdout
    lat = {l.split()[0]: l.split()[1] for l in out.splitlines() if l.strip().startswith(("50%", "99%"))}
    rps = next(l.split()[1] for l in out.splitlines() if l.startswith("Requests/sec"))
    print(f"GET {path}: p50 {lat['50%']}, p99 {lat['99%']}, {rps} requests/s (wrk -t2 -c8 -d10s)")
PY
