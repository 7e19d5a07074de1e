#!/usr/bin/env bash
# History in constant time: how long uptime, latency and the dashboard summary take through the
# API when one monitor has a thousand stored checks and another CHECKS (a hundred million by
# default, one a second for over three years), beside 1,000 monitors with a day of history.
# Prints one line per query and writes bench/results/history.json.
#
#   bench/history.sh [CHECKS]      (default 100000000; needs about 35 bytes of disk per check)
#
# Needs curl, python3 and wrk (installed with apt-get when missing); builds upbeat in release
# mode. The history is written straight into the database while upbeat is stopped, in the form
# upbeat writes it: checks, and their roll-ups per minute, hour and day.
source "$(dirname "$0")/lib.sh"
checks=${1:-100000000}
bench_tools curl=curl python3=python3 wrk=wrk
mkdir -p "$root/bench/results"
# Checks are kept as long as the history goes back.
export UPBEAT_RETENTION__CHECKS="$((checks / 86400 + 2))d"
bench_start
UPBEAT_LOG="$dir/upbeat.log" UPBEAT_DB="$dir/upbeat.db" \
UPBEAT_START=$(printf '["%s", "serve", "--listen", "127.0.0.1:%s", "--database", "sqlite:%s"]' \
    "$root/target/release/upbeat" "$api" "$dir/upbeat.db") \
    python3 "$root/bench/history.py" "$api" "$pid" "$checks" "$root/bench/results/history.json"
