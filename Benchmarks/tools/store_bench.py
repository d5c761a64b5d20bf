#!/usr/bin/env python3
"""The policy store beyond one machine: propagation across instances, and the policy path on
SQLite against PostgreSQL.

  store_bench.py --porthole .build/release/porthole [--sandboxes 10000] [--changes 1000]

Starts a throwaway PostgreSQL cluster (initdb as nobody into a temporary directory, a free port on
127.0.0.1; fsync off: reads and notifications are measured, not disk flushes), nginx as the
upstream (`return 200`), and three `porthole serve` instances (one thread each, access log off):
A and B on the PostgreSQL store, S on its own SQLite file. Each store gets --sandboxes public
sandboxes (copied from one created through the admin API, in one SQL statement).

1. propagation: --changes times, make a sandbox public or private through A's admin API, then
   poll B (one keep-alive connection, requests back to back) until B's answer follows (200 when
   public, 401 when private). The time from A's answer to B's first changed answer, p50/p99/max,
   while wrk drives B at --load-connections over random sandboxes ("under load").
2. cold: on a fresh instance, wrk walks the sandboxes in order once (each request a cache miss);
   policy loads per second from the instance's own porthole_policy_cache_loads_total, S vs A.
3. warm: wrk on random sandboxes after the walk (the cache answers; the store is not involved),
   requests/s and CPU per request, S vs A.

Prints one JSON line per measurement and a summary; asserts nothing. Run as root (initdb runs as
nobody through setpriv). Needs postgresql, nginx, wrk (Debian packages).
"""
import argparse
import glob
import http.client
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log(message):
    print(f"[store_bench] {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


class Processes:
    def __init__(self):
        self.started = []

    def add(self, process):
        self.started.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.started):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in reversed(self.started):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def as_nobody(command):
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + command


def start_postgres(work, processes):
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not versions:
        sys.exit("PostgreSQL is not installed (apt-get install -y postgresql)")
    bin_dir = versions[-1]
    directory = os.path.join(work, "pg")
    os.makedirs(directory)
    password = os.urandom(12).hex()
    with open(os.path.join(directory, "password"), "w") as f:
        f.write(password)
    nobody = pwd.getpwnam("nobody")
    for root, dirs, files in os.walk(directory):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.chown(name, nobody.pw_uid, nobody.pw_gid)
    subprocess.run(as_nobody([f"{bin_dir}/initdb", "-D", f"{directory}/data", "-U", "porthole", "--pwfile",
                              f"{directory}/password", "--auth-local=trust", "--auth-host=scram-sha-256",
                              "--no-sync", "-E", "UTF8", "--locale=C"]),
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    server_log = open(os.path.join(work, "postgres.log"), "w")
    server = processes.add(subprocess.Popen(
        as_nobody([f"{bin_dir}/postgres", "-D", f"{directory}/data", "-p", str(port), "-k", directory,
                   "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off",
                   "-c", "max_connections=200"]),
        stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True))
    for _ in range(300):
        if "ready to accept connections" in open(os.path.join(work, "postgres.log")).read():
            break
        if server.poll() is not None:
            sys.exit("postgres exited: " + open(os.path.join(work, "postgres.log")).read())
        time.sleep(0.1)
    psql = [f"{bin_dir}/psql", "-h", directory, "-p", str(port), "-U", "porthole", "-v", "ON_ERROR_STOP=1", "-Atq"]
    subprocess.run(psql + ["-d", "postgres", "-c", "CREATE DATABASE porthole"], check=True)
    url = f"postgresql://porthole:{password}@127.0.0.1:{port}/porthole?sslmode=disable"
    return url, psql + ["-d", "porthole"]


def start_nginx(work, processes):
    port = free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.log;
events {{ worker_connections 4096; }}
http {{ access_log off; server {{ listen 127.0.0.1:{port}; location / {{ return 200 "ok"; }} }} }}
""")
    processes.add(subprocess.Popen(["nginx", "-c", conf, "-p", work], start_new_session=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return port
        except OSError:
            time.sleep(0.05)
    sys.exit("nginx did not start")


class Instance:
    def __init__(self, name, porthole, work, processes, store=None):
        self.name = name
        self.directory = os.path.join(work, name)
        os.makedirs(self.directory)
        env = dict(os.environ)
        env.pop("PORTHOLE_STORE", None)
        if store:
            env["PORTHOLE_STORE"] = store
        self.process = processes.add(subprocess.Popen(
            [porthole, "serve", "--bind-address", "127.0.0.1", "--https-port", "0", "--http-port", "0",
             "--http-mode", "proxy", "--admin-port", "0", "--data-dir", f"{self.directory}/data",
             "--cert-dir", f"{self.directory}/certs", "--threads", "1", "--access-log", "off", "--log-level", "info"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True))
        lines = []
        for line in self.process.stderr:
            lines.append(line)
            if "porthole is ready" in line:
                break
        else:
            sys.exit(f"{name} did not start:\n{''.join(lines)}")
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        text = "".join(lines)
        self.http_port = self._port(text, "plainProxy")
        self.admin_port = self._port(text, "admin")
        self.token = open(f"{self.directory}/data/admin-token").read().strip()

    @staticmethod
    def _port(text, mode):
        for line in text.splitlines():
            if "listening" in line and f"mode={mode}" in line:
                return int(re.search(r"address=\S+:(\d+)", line).group(1))
        sys.exit(f"no listening line for {mode}")

    def api(self, method, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        connection.request(method, path, body=json.dumps(body) if body is not None else None,
                           headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {payload[:200]!r}")
        return json.loads(payload) if payload else None

    def metric(self, name):
        connection = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        connection.request("GET", "/metrics")
        text = connection.getresponse().read().decode()
        connection.close()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0


def wrk(port, hosts_file, mode, seconds, connections, out):
    env = dict(os.environ, BENCH_MODE=mode, BENCH_CONNECT="127.0.0.1", BENCH_HOSTS=hosts_file, BENCH_OUT=out)
    if os.path.exists(out):
        os.remove(out)
    subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s",
                    os.path.join(HERE, "bench.lua"), f"http://preview.localhost:{port}/"],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--porthole", required=True)
    ap.add_argument("--sandboxes", type=int, default=10000)
    ap.add_argument("--changes", type=int, default=1000)
    ap.add_argument("--load-connections", type=int, default=16)
    ap.add_argument("--seconds", type=int, default=5)
    args = ap.parse_args()
    porthole = os.path.abspath(args.porthole)

    work = tempfile.mkdtemp(prefix="porthole-store-bench-")
    os.chmod(work, 0o755)
    processes = Processes()
    try:
        store, psql = start_postgres(work, processes)
        upstream = start_nginx(work, processes)
        log("postgres and nginx up; starting instances")
        a = Instance("a", porthole, work, processes, store=store)
        b = Instance("b", porthole, work, processes, store=store)
        s = Instance("s", porthole, work, processes)
        # The sandboxes: one through the admin API, the rest copied in one statement per store.
        for instance in (a, s):
            instance.api("POST", "/v1/sandboxes", {"id": "bench", "target": "127.0.0.1", "public": True})
        a.api("POST", "/v1/sandboxes", {"id": "flip", "target": "127.0.0.1", "public": True})
        columns = "target, is_public, preview_token, token_generation, network_block_all, network_allow_list, tier, labels, host_rewrite, state, created_at, updated_at, revoked_grants, domain_allow_list"
        subprocess.run(psql + ["-c", f"INSERT INTO sandboxes (id, {columns}) SELECT 'sb' || lpad(i::text, 6, '0'), {columns} "
                               f"FROM sandboxes, generate_series(1, {args.sandboxes}) AS i WHERE id = 'bench'"], check=True)
        subprocess.run([sys.executable, os.path.join(HERE, "seed_sandboxes.py"), "--db", f"{s.directory}/data/porthole.sqlite",
                        "--template", "bench", "--count", str(args.sandboxes), "--prefix", "sb",
                        "--hosts-out", os.path.join(work, "hosts-sqlite.txt"), "--port", str(upstream)],
                       check=True, stdout=subprocess.DEVNULL)
        hosts = os.path.join(work, "hosts.txt")
        with open(hosts, "w") as f:
            for i in range(1, args.sandboxes + 1):
                f.write(f"{upstream}-sb{i:06d}.preview.localhost\n")
        # seed_sandboxes numbers its copies its own way: use its hosts file for S.
        hosts_s = os.path.join(work, "hosts-sqlite.txt")

        # 2. cold: each request a miss, loads counted by the instance itself.
        results = {}
        for name, instance, host_file in (("sqlite", s, hosts_s), ("postgresql", a, hosts)):
            before = instance.metric("porthole_policy_cache_loads_total")
            started = time.monotonic()
            summary = wrk(instance.http_port, host_file, "warm", 2, 64, os.path.join(work, f"cold-{name}.json"))
            elapsed = time.monotonic() - started
            loads = instance.metric("porthole_policy_cache_loads_total") - before
            cold = {"measure": "cold", "store": name, "loads": int(loads), "seconds": round(elapsed, 2),
                    "loads_per_s": round(loads / elapsed), "requests": summary.get("requests"),
                    # The walk ended inside the run: the rate is then a lower bound.
                    "lower_bound": loads >= args.sandboxes}
            print(json.dumps(cold), flush=True)
            results[f"cold_{name}"] = cold
            # Finish the walk so the warm measurement hits the cache everywhere.
            wrk(instance.http_port, host_file, "warm", 4, 64, os.path.join(work, f"walk-{name}.json"))

        # 3. warm: random sandboxes from the cache, with CPU per request.
        for round_number in range(3):
            for name, instance, host_file in (("sqlite", s, hosts_s), ("postgresql", a, hosts)):
                cpu = proc_cpu_seconds(instance.process.pid)
                summary = wrk(instance.http_port, host_file, "hosts", args.seconds, 64, os.path.join(work, f"warm-{name}.json"))
                used = proc_cpu_seconds(instance.process.pid) - cpu
                requests = summary.get("requests", 0)
                warm = {"measure": "warm", "round": round_number + 1, "store": name,
                        "requests_per_s": round(requests / args.seconds),
                        "cpu_us_per_request": round(used / max(requests, 1) * 1e6, 1),
                        "errors": summary.get("errors", {})}
                print(json.dumps(warm), flush=True)
                results.setdefault(f"warm_{name}", []).append(warm)

        # 1. propagation A → B under load on B.
        load = subprocess.Popen(
            ["wrk", "-t1", f"-c{args.load_connections}", f"-d{args.changes}s", "--timeout", "5s", "-s",
             os.path.join(HERE, "bench.lua"), f"http://preview.localhost:{b.http_port}/"],
            env=dict(os.environ, BENCH_MODE="hosts", BENCH_CONNECT="127.0.0.1", BENCH_HOSTS=hosts,
                     BENCH_OUT=os.path.join(work, "load.json")),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        processes.add(load)
        poll = http.client.HTTPConnection("127.0.0.1", b.http_port, timeout=5)
        flip_host = f"{upstream}-flip.preview.localhost"

        def status_on_b():
            poll.request("GET", "/", headers={"Host": flip_host})
            response = poll.getresponse()
            response.read()
            return response.status

        delays = []
        polls = []
        public = True
        rng = random.Random(11)
        for _ in range(args.changes):
            public = not public
            time.sleep(rng.uniform(0, 0.02))
            a.api("POST", f"/v1/sandboxes/flip/public/{'true' if public else 'false'}")
            answered = time.monotonic()
            wanted = 200 if public else 401
            count = 0
            while True:
                count += 1
                if status_on_b() == wanted:
                    delays.append((time.monotonic() - answered) * 1000)
                    polls.append(count)
                    break
                if time.monotonic() - answered > 5:
                    raise RuntimeError("B never saw the change within 5 s")
        os.killpg(load.pid, signal.SIGTERM)
        propagation = {"measure": "propagation", "changes": len(delays),
                       "p50_ms": round(statistics.median(delays), 2), "p99_ms": round(percentile(delays, 0.99), 2),
                       "max_ms": round(max(delays), 2), "mean_ms": round(statistics.mean(delays), 2),
                       "first_request_already_changed": sum(1 for c in polls if c == 1),
                       "load_connections": args.load_connections}
        print(json.dumps(propagation), flush=True)

        sqlite_rps = statistics.median(r["requests_per_s"] for r in results["warm_sqlite"])
        pg_rps = statistics.median(r["requests_per_s"] for r in results["warm_postgresql"])
        print(json.dumps({
            "summary": True, "sandboxes": args.sandboxes,
            "propagation_p50_ms": propagation["p50_ms"], "propagation_p99_ms": propagation["p99_ms"],
            "propagation_max_ms": propagation["max_ms"],
            "cold_loads_per_s": {"sqlite": results["cold_sqlite"]["loads_per_s"], "postgresql": results["cold_postgresql"]["loads_per_s"]},
            "warm_requests_per_s_median": {"sqlite": sqlite_rps, "postgresql": pg_rps},
            "warm_ratio_postgresql_over_sqlite": round(pg_rps / sqlite_rps, 3) if sqlite_rps else None,
        }), flush=True)
        return 0
    finally:
        processes.stop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
