#!/usr/bin/env bash
# Scale: how many checks upbeat sustains, whether they run on time at 10,000 and 100,000
# monitors, and how fast it is back after a restart. Each part starts upbeat (release build) on
# a fresh database against a loopback nginx, prints one line per target and writes its figures
# to bench/results/scale-PART.json.
#
#   bench/scale.sh throughput   rate of checks kept up with, against ab -c 32 on the same target
#   bench/scale.sh 10k          10,000 monitors every 10 s: p99 lag, CPU, memory
#   bench/scale.sh 100k         100,000 monitors every 60 s: p99 lag, memory; then a restart
#   bench/scale.sh locked       5,000 monitors every second while another process holds the
#                               database's write lock for 30 s: lag, queue, drops, no monitor down
#   bench/scale.sh              all four
#
# Needs nginx, ab, curl and python3 (installed with apt-get when missing). Raises the open-file
# limit: every check in flight holds a socket.
source "$(dirname "$0")/lib.sh"
bench_tools nginx=nginx-light ab=apache2-utils curl=curl python3=python3
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)"
mkdir -p "$root/bench/results"

run_part() {
    (
        bench_start
        target=$(bench_nginx target 'return 200 "ok\n";')
        UPBEAT_LOG="$dir/upbeat.log" UPBEAT_DB="$dir/upbeat.db" \
        UPBEAT_START=$(printf '["%s", "serve", "--listen", "127.0.0.1:%s", "--database", "sqlite:%s"]' \
            "$root/target/release/upbeat" "$api" "$dir/upbeat.db") \
            python3 "$root/bench/scale.py" "$1" "$api" "$target" "$pid" "$root/bench/results/scale-$1.json"
    )
}

for part in "${@:-throughput 10k 100k locked}"; do
    for p in $part; do run_part "$p"; done
done
