# Shared by the benchmarks: tools, a release build, loopback nginx servers and a running upbeat
# in a scratch directory removed on exit. Sourced, not run.
#
# After `bench_start`, `$dir` is the scratch directory, `$api` upbeat's port and `$pid` its
# process; `bench_nginx NAME BODY` starts an nginx answering every request with BODY (an nginx
# location body) and prints its port.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

bench_tools() { # apt package names, one per missing command: command=package ...
    local missing=()
    for pair in "$@"; do
        command -v "${pair%%=*}" >/dev/null || missing+=("${pair#*=}")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

bench_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

bench_nginx() { # name body
    local port
    port=$(bench_port)
    cat >"$dir/$1.conf" <<CONF
worker_processes 1;
pid $dir/$1.pid;
error_log $dir/$1-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  server { listen 127.0.0.1:$port; location / { $2 } }
}
CONF
    nginx -c "$dir/$1.conf"
    echo "$port"
}

bench_cleanup() {
    if [ -n "${pid:-}" ]; then kill "$pid" 2>/dev/null || true; fi
    for conf in "$dir"/*.conf; do
        if [ -f "${conf%.conf}.pid" ]; then kill "$(cat "${conf%.conf}.pid")" 2>/dev/null || true; fi
    done
    rm -rf "$dir"
}

bench_start() { # builds upbeat in release mode and starts it on a fresh database
    cargo build --release --quiet --manifest-path "$root/Cargo.toml"
    dir=$(mktemp -d)
    trap bench_cleanup EXIT
    api=$(bench_port)
    "$root/target/release/upbeat" serve --listen "127.0.0.1:$api" --database "sqlite:$dir/upbeat.db" \
        2>"$dir/upbeat.log" &
    pid=$!
    local deadline=$((SECONDS + 30))
    until curl -sf "127.0.0.1:$api/healthz" >/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
            echo "upbeat did not start:" >&2
            cat "$dir/upbeat.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}
