"""Shared by the benchmarks: upbeat's API, the clock of its process, and check timing."""
import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime


class Api:
    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.token = None

    def call(self, method, path, body=None, tries=10):
        """The answer's JSON. A 503 (the database was busy for longer than upbeat lets a request
        wait, as when it writes more results than the disk keeps up with) is tried again after
        its Retry-After, up to `tries` times in all."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        req = urllib.request.Request(self.base + path, method=method, headers=headers,
                                     data=None if body is None else json.dumps(body).encode())
        try:
            with urllib.request.urlopen(req) as r:
                return json.load(r) if r.status != 204 else None
        except urllib.error.HTTPError as e:
            if e.code != 503 or tries <= 1:
                raise
            time.sleep(int(e.headers.get("Retry-After", "1")))
            return self.call(method, path, body, tries - 1)

    def register(self):
        self.token = self.call("POST", "/api/auth/register",
                               {"email": "ops@example.com", "password": "correct horse"})["token"]

    def create_monitors(self, count, body):
        """Creates `count` monitors, `body(i)` describing the i-th, eight requests at a time."""
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: self.call("POST", "/api/monitors", body(i)), range(count)))

    def print_check_gaps(self, monitors, interval_s, sample=50):
        """Prints the gaps between consecutive checks of `sample` monitors spread over the ids.
        Each monitor's first check comes at its creation, off its slots: gaps start from its
        second."""
        ids = range(1, monitors + 1, max(1, monitors // sample))
        gaps = []
        for m in ids:
            at = [ms(c["at"]) for c in self.call("GET", f"/api/monitors/{m}/checks?limit=1000")]
            gaps += [a - b for a, b in zip(at, at[1:])][:-1]
        print(f"gaps between checks on {len(ids)} monitors (interval {interval_s * 1000} ms): "
              f"min {min(gaps):.0f} ms, max {max(gaps):.0f} ms over {len(gaps)} gaps")


def wait_until(what, done, timeout_s=600, every=0.2):
    """Polls `done` every `every` seconds until it holds; gives up after `timeout_s`."""
    deadline = time.time() + timeout_s
    while not done():
        if time.time() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        time.sleep(every)


def cpu_seconds(pid):
    """User and system CPU time the process has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_times():
    """(steal, total) CPU time of the whole machine so far, in clock ticks, from /proc/stat."""
    with open("/proc/stat") as f:
        ticks = [int(t) for t in f.readline().split()[1:9]]
    return ticks[7], sum(ticks)


def steal_percent(before, after):
    """The share of the machine's CPU time between two `cpu_times()` that the hypervisor gave to
    other machines: on a shared virtual machine, time that slows everything timed meanwhile."""
    total = after[1] - before[1]
    return round(100 * (after[0] - before[0]) / total, 1) if total else 0.0


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def ms(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp() * 1000
