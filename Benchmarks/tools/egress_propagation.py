#!/usr/bin/env python3
"""How long a policy change takes from the admin API's answer to the rule in the kernel.

Starts `porthole serve` (the API) and `porthole egress` (in a network namespace of its own, so the
machine's firewall is never touched), registers N sandboxes with distinct addresses, then flips
one sandbox's networkBlockAll through the API per round and times, with `nft monitor` in the
namespace, the moment the kernel's map holds the new verdict. Also reports the time of the
agent's first full table build for N sandboxes. Run as root.

  egress_propagation.py --porthole .build/release/porthole --sandboxes 10000 --rounds 100
"""
import argparse
import http.client
import json
import os
import queue
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--porthole", required=True)
    ap.add_argument("--sandboxes", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=50)
    args = ap.parse_args()

    work = tempfile.mkdtemp(prefix="porthole-egress-bench-")
    namespace = f"pbench{os.getpid()}"
    processes = []
    try:
        data = os.path.join(work, "data")
        serve = subprocess.Popen(
            [args.porthole, "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0",
             "--http-mode", "proxy", "--admin-port", "0", "--data-dir", data, "--cert-dir", os.path.join(work, "certs"),
             "--log-level", "warning", "--access-log", "off"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append(serve)
        for _ in range(600):
            if os.path.exists(os.path.join(data, "admin-url")) and os.path.getsize(os.path.join(data, "admin-url")) > 0:
                break
            time.sleep(0.05)
        url = open(os.path.join(data, "admin-url")).read().strip()
        token = open(os.path.join(data, "admin-token")).read().strip()
        host, port = url.removeprefix("http://").split(":")
        api = http.client.HTTPConnection(host, int(port))
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

        def call(method, path, body=None):
            api.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
            response = api.getresponse()
            payload = response.read()
            if response.status >= 300:
                raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
            return payload

        def address(index):
            return f"10.{64 + index // 65536}.{(index // 256) % 256}.{index % 256}"

        call("POST", "/v1/sandboxes", {"id": "sb00000", "target": address(0)})
        if args.sandboxes > 1:
            # The rest copied in one SQLite transaction (the API writes each with an fsync).
            con = sqlite3.connect(os.path.join(data, "porthole.sqlite"), timeout=10)
            columns = [row[1] for row in con.execute("PRAGMA table_info(sandboxes)") if row[1] not in ("id", "target")]
            with con:
                con.executemany(
                    f"INSERT INTO sandboxes (id, target, {', '.join(columns)}) SELECT ?, ?, {', '.join(columns)} FROM sandboxes WHERE id = 'sb00000'",
                    ((f"sb{i:05d}", address(i)) for i in range(1, args.sandboxes)))
            con.close()
        targets = {"sb00000": address(0)}
        targets.update({f"sb{i:05d}": address(i) for i in range(1, args.sandboxes)})

        subprocess.run(["ip", "netns", "add", namespace], check=True)
        monitor = subprocess.Popen(["ip", "netns", "exec", namespace, "nft", "monitor", "elements"],
                                   stdout=subprocess.PIPE, text=True, bufsize=1)
        processes.append(monitor)
        lines: "queue.Queue[tuple[float, str]]" = queue.Queue()
        threading.Thread(target=lambda: [lines.put((time.monotonic(), line)) for line in monitor.stdout], daemon=True).start()

        started = time.monotonic()
        agent = subprocess.Popen(["ip", "netns", "exec", namespace, args.porthole, "egress", "--data-dir", data,
                                  "--sandbox-interface", "psb*"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        processes.append(agent)
        for line in agent.stderr:
            if "egress table rebuilt" in line:
                break
        rebuilt = time.monotonic() - started
        threading.Thread(target=lambda: [None for _ in agent.stderr], daemon=True).start()

        delays = []
        blocked = {}
        rng = random.Random(7)
        for _ in range(args.rounds):
            sandbox = rng.choice(list(targets))
            block = not blocked.get(sandbox, False)
            blocked[sandbox] = block
            # A random pause, so changes land anywhere in the agent's 250 ms poll (back-to-back
            # rounds would lock onto its phase and always measure the worst case).
            time.sleep(rng.uniform(0, 0.3))
            while not lines.empty():
                lines.get_nowait()
            call("POST", f"/v1/sandboxes/{sandbox}/network-settings", {"networkBlockAll": block})
            answered = time.monotonic()
            wanted = f"{targets[sandbox]} : jump {'block_all' if block else 'open'}"
            while True:
                stamp, line = lines.get(timeout=10)
                if "add element" in line and wanted in line:
                    delays.append((stamp - answered) * 1000)
                    break
        print(json.dumps({
            "sandboxes": args.sandboxes,
            "rounds": args.rounds,
            "rebuild_ms": round(rebuilt * 1000, 1),
            "p50_ms": round(statistics.median(delays), 1),
            "p99_ms": round(percentile(delays, 0.99), 1),
            "max_ms": round(max(delays), 1),
            "mean_ms": round(statistics.mean(delays), 1),
        }))
        return 0
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["ip", "netns", "del", namespace], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
