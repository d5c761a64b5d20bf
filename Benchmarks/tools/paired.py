#!/usr/bin/env python3
"""Porthole and nginx side by side, measured in alternating pairs, for a noisy shared machine.

run.sh measures each proxy for seconds at a time, one after the other, so a neighbour's load that
comes and goes lands on one proxy and not the other and moves a round's ratio by ±25 %. Here both
proxies run at once (pinned to the same CPU, only one under load at a time) and each pair is two
short wrk runs back to back, in alternating order; the figure is the median of the pairs' own
ratios. With --calls it also counts the Swift runtime calls Porthole makes per response (uprobes
on the binary's swift_retain, swift_release, …): a count does not depend on the machine's speed,
so it shows a change of a few percent that timing cannot.

  Benchmarks/tools/paired.py [--binary .build/release/porthole] [--pairs 10] [--seconds 2]
                             [--conns 64,512] [--calls]

Needs root (taskset, perf probe for --calls), nginx and wrk (as run.sh installs them); the binary
should be built as run.sh builds it (`swift build -c release --static-swift-stdlib`): --calls
finds the runtime's entry points in it by name. Prints a table; writes nothing else.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(BENCH_DIR)
SANDBOX = "bench"
BASE_DOMAIN = "preview.localhost"
RUNTIME_CALLS = ("swift_retain", "swift_release", "swift_beginAccess", "swift_bridgeObjectRetain",
                 "swift_allocObject")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(template: str, out: str, values: dict) -> None:
    text = open(template).read()
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", str(value))
    leftover = re.search(r"@@[A-Z_]+@@", text)
    if leftover:
        sys.exit(f"paired.py: unrendered placeholder {leftover.group(0)} in {template}")
    open(out, "w").write(text)


def wait_https(port: int, host: str, proc: subprocess.Popen, name: str) -> None:
    for _ in range(100):
        if proc.poll() is not None:
            sys.exit(f"paired.py: {name} exited with {proc.returncode}")
        result = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "1",
                                 "--connect-to", f"::127.0.0.1:{port}", f"https://{host}/"],
                                capture_output=True, text=True)
        if result.stdout == "200":
            return
        time.sleep(0.1)
    sys.exit(f"paired.py: {name} did not answer 200 on port {port}")


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wrk(port: int, host: str, conns: int, seconds: int) -> float:
    env = dict(os.environ, BENCH_CONNECT="127.0.0.1")
    out = subprocess.run(["taskset", "-c", LOAD_CPUS, "wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--timeout", "5s",
                          "-s", os.path.join(BENCH_DIR, "tools", "bench.lua"), f"https://{host}:{port}/"],
                         env=env, capture_output=True, text=True).stdout
    match = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", out)
    if not match or errors:
        sys.exit(f"paired.py: wrk failed against port {port}:\n{out}")
    return int(match.group(1))


def measure(port: int, pid: int, host: str, conns: int, seconds: int) -> tuple[float, float]:
    """Requests per second and CPU microseconds per request of the process serving `port`."""
    before = cpu_ticks(pid)
    started = time.monotonic()
    requests = wrk(port, host, conns, seconds)
    elapsed = time.monotonic() - started
    ticks = cpu_ticks(pid) - before
    return requests / elapsed, ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(requests, 1)


def libssl_path(binary: str) -> str:
    for line in subprocess.run(["ldd", binary], capture_output=True, text=True).stdout.splitlines():
        match = re.match(r"\s*libssl\.so\S* => (\S+)", line)
        if match:
            return match.group(1)
    sys.exit("paired.py: the binary does not link libssl")


def count_calls(binary: str, pid: int, port: int, host: str) -> dict:
    """Runtime calls per response in a 3 s window of a 7 s wrk run at 64 connections. The responses
    are counted as OpenSSL's `SSL_write_ex` calls in the same window: one per small HTTP/1.1
    response (about 4 system calls each confirms it). The probes slow the proxy tenfold, so
    counting requests outside the window (wrk's total, the metrics) would not match."""
    symbols = {}
    for line in subprocess.run(["nm", binary], capture_output=True, text=True).stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in RUNTIME_CALLS:
            symbols[parts[2]] = parts[0]
    if not symbols:
        sys.exit("paired.py: --calls needs the Swift runtime linked in (--static-swift-stdlib)")
    group = f"paired{os.getpid()}"
    events = []
    try:
        for name, address in symbols.items():
            event = f"{group}_{name.removeprefix('swift_')}"
            subprocess.run(["perf", "probe", "-q", "-x", binary, "-a", f"{group}:{event}=0x{address}"], check=True,
                           capture_output=True)
            events.append(f"{group}:{event}")
        subprocess.run(["perf", "probe", "-q", "-x", libssl_path(binary), "-a", f"{group}:{group}_tlswrite=SSL_write_ex"],
                       check=True, capture_output=True)
        events.append(f"{group}:{group}_tlswrite")
        load = subprocess.Popen(["taskset", "-c", LOAD_CPUS, "wrk", "-t1", "-c64", "-d7s", "--timeout", "5s",
                                 "-s", os.path.join(BENCH_DIR, "tools", "bench.lua"), f"https://{host}:{port}/"],
                                env=dict(os.environ, BENCH_CONNECT="127.0.0.1"), stdout=subprocess.DEVNULL)
        time.sleep(2)
        stat = subprocess.run(["perf", "stat", "-x,", "-e", ",".join(events + ["raw_syscalls:sys_enter"]), "-p", str(pid),
                               "--", "sleep", "3"],
                              capture_output=True, text=True).stderr
        load.wait()
        raw = {}
        for row in stat.splitlines():
            cells = row.split(",")
            if len(cells) > 2 and cells[0].strip().isdigit():
                raw[cells[2].split(":")[-1].removeprefix(f"{group}_").replace("sys_enter", "system calls")] = int(cells[0])
        responses = raw.pop("tlswrite", 0)
        counts = {name: value / max(responses, 1) for name, value in raw.items()}
        counts["responses"] = responses
        return counts
    finally:
        subprocess.run(["perf", "probe", "-q", "-d", f"{group}:*"], capture_output=True)


def main() -> None:
    global LOAD_CPUS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=os.path.join(REPO_DIR, ".build", "release", "porthole"))
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--seconds", type=int, default=2)
    parser.add_argument("--conns", default="64,512")
    parser.add_argument("--calls", action="store_true", help="also count runtime calls per response (uprobes)")
    args = parser.parse_args()
    proxy_cpus = os.environ.get("PROXY_CPUS", "1")
    LOAD_CPUS = os.environ.get("LOAD_CPUS", "0")

    work = tempfile.mkdtemp(prefix="porthole-paired-")
    processes: list[subprocess.Popen] = []
    try:
        for sub in ("conf", "www", "data", "certs", "logs"):
            os.makedirs(os.path.join(work, sub))
        binary = os.path.join(work, "porthole")
        shutil.copy(args.binary, binary)  # a rebuild by someone else does not change what is measured
        upstream_port, porthole_port, nginx_port = free_port(), free_port(), free_port()
        host = f"{upstream_port}-{SANDBOX}.{BASE_DOMAIN}"
        subprocess.run([binary, "certs", "dev", "--cert-dir", f"{work}/certs"], check=True, capture_output=True)
        subprocess.run([binary, "sandbox", "create", "--data-dir", f"{work}/data", "--id", SANDBOX,
                        "--target", "127.0.0.1", "--public"], check=True, capture_output=True)
        open(f"{work}/www/index.html", "w").write("Hello, world!")
        values = {"RUN": f"{work}/conf", "WWW": f"{work}/www", "UPSTREAM_PORT": upstream_port, "ECHO_PORT": free_port(),
                  "PROXY_PORT": nginx_port, "SANDBOX": SANDBOX, "CERT": f"{work}/certs/dev-cert.pem",
                  "KEY": f"{work}/certs/dev-key.pem", "NOFILE": 4096, "MAXCONN": 4096}
        for name in ("upstream-nginx", "nginx"):
            render(os.path.join(BENCH_DIR, "configs", f"{name}.conf"), f"{work}/conf/{name}.conf", values)

        def start(name: str, cpus: str, command: list[str]) -> subprocess.Popen:
            log = open(f"{work}/logs/{name}.log", "w")
            proc = subprocess.Popen(["taskset", "-c", cpus] + command, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            processes.append(proc)
            return proc

        start("upstream-nginx", LOAD_CPUS, ["nginx", "-e", "stderr", "-c", f"{work}/conf/upstream-nginx.conf", "-p", f"{work}/conf"])
        porthole = start("porthole", proxy_cpus, [binary, "serve", "--data-dir", f"{work}/data", "--cert-dir", f"{work}/certs",
                                                  "--bind-address", "127.0.0.1", "--https-port", str(porthole_port),
                                                  "--http-port", "0", "--http-mode", "off", "--admin-port", "0",
                                                  "--threads", "1", "--log-level", "warning", "--access-log", "off"])
        nginx = start("nginx", proxy_cpus, ["nginx", "-e", "stderr", "-c", f"{work}/conf/nginx.conf", "-p", f"{work}/conf",
                                            "-g", "master_process off;"])
        wait_https(porthole_port, host, porthole, "porthole")
        wait_https(nginx_port, host, nginx, "nginx")
        targets = {"Porthole": (porthole_port, porthole.pid), "nginx": (nginx_port, nginx.pid)}
        for port, _ in targets.values():
            wrk(port, host, 64, 1)  # warm: handshakes, upstream connections, caches

        print(f"binary {args.binary}; {args.pairs} pairs of {args.seconds:g} s per connection count; "
              f"proxies on CPU {proxy_cpus}, upstream and wrk on CPU {LOAD_CPUS}")
        print("| conns | pair | Porthole req/s | nginx req/s | req/s ratio | Porthole µs/req | nginx µs/req | CPU ratio |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        summary = []
        for conns in (int(c) for c in args.conns.split(",")):
            ratios, cpu_ratios = [], []
            for pair in range(1, args.pairs + 1):
                order = ["Porthole", "nginx"] if pair % 2 else ["nginx", "Porthole"]
                figures = {name: measure(*targets[name], host, conns, args.seconds) for name in order}
                (p_rps, p_cpu), (n_rps, n_cpu) = figures["Porthole"], figures["nginx"]
                ratios.append(p_rps / n_rps)
                cpu_ratios.append(p_cpu / n_cpu)
                print(f"| {conns} | {pair} | {p_rps:,.0f} | {n_rps:,.0f} | {ratios[-1]:.2f} | {p_cpu:.1f} | {n_cpu:.1f} | {cpu_ratios[-1]:.2f} |")
            summary.append((conns, statistics.median(ratios), min(ratios), max(ratios), statistics.median(cpu_ratios)))
        print()
        for conns, median, low, high, cpu in summary:
            print(f"c{conns}: Porthole / nginx req/s median {median:.2f} (pairs {low:.2f}–{high:.2f}); "
                  f"CPU per request median {cpu:.2f}")
        if args.calls:
            counts = count_calls(binary, porthole.pid, porthole_port, host)
            print("runtime calls per response (c64, " + f"{counts.pop('responses')} responses counted): "
                  + ", ".join(f"{name} {value:.1f}" for name, value in sorted(counts.items())))
    finally:
        for proc in processes:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


LOAD_CPUS = "0"
if __name__ == "__main__":
    main()
