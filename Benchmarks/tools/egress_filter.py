#!/usr/bin/env python3
"""What Porthole's egress filter costs a sandbox's TCP: new connections/s and bulk throughput.

  egress_filter.py --porthole .build/release/porthole --sandboxes 10000 --seconds 10 --rounds 3

Builds a lab of network namespaces (egresslab.py: host, internet, two sandboxes), `porthole serve`
with N sandbox records (the two of the lab, the rest fillers copied in SQLite: open, allow list of
networks, allow list of names, in turn), nginx (one worker, access log off, `return 204`) and an
iperf3 server on 198.51.100.10 in the internet namespace.

Each round measures, in alternating order (no filter first in odd rounds, filter first in even):
- nofilter: the agent stopped and the table deleted (`nft delete table inet porthole` in the host
  namespace): the sandbox's packets are only routed;
- conntrack (unless --no-conntrack-baseline): still no Porthole table, but a table of the
  benchmark's own with one `ct state` rule and an empty NAT prerouting chain: what connection
  tracking and NAT cost by themselves, which Porthole's table brings along (`ct direction reply`,
  the DNS DNAT); the rest of the gap to open/allow_list is Porthole's rules;
- open: `porthole egress` running (with --resolver-address, as deployed, so the table has its DNS
  redirect and conntrack/NAT are in the path), from the sandbox whose record is open (tier 3);
- allow_list: the same, from the sandbox whose record has networkAllowList 198.51.100.0/24 (its
  class chain also looks the destination up in the allow_cidr_v4 set of every allow-list source).

Per path: `wrk -t1 -c --connections -H 'Connection: close'` against http://198.51.100.10/ (a new TCP
connection per request: requests/s = connections/s, with p50/p99 latency), then `iperf3 -c -t
--seconds -O 1 -J` (Gbit/s received, retransmits). Before measuring, the table is checked to be
in force (the allow-list sandbox is refused 203.0.113.10, the open one is not) or absent, and
the host namespace's connection tracking table is flushed before each wrk and iperf3 run (closed
connections stay in it for 120 s; host_conntrack_entries is its size after the wrk run).

Output: one JSON line per round, then one summary line (medians over the rounds; ratios path ÷
nofilter). Progress on stderr. Nothing is asserted. Run as root; needs nginx, wrk, iperf3, nft
(apt-get install -y nginx-light wrk iperf3 nftables).
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from egresslab import (  # noqa: E402
    exit_on_sigterm, OTHER_SERVER, RESOLVER, SERVER, UPSTREAM_DNS, Agent, Lab, Porthole, Processes, clean_up, median,
    wait_until,
)

HTTP_PORT = 80
CONNTRACK_TABLE = (
    "add table inet bench_conntrack; "
    "add chain inet bench_conntrack filter { type filter hook prerouting priority -150; policy accept; }; "
    "add rule inet bench_conntrack filter ct state established,related accept; "
    "add chain inet bench_conntrack nat { type nat hook prerouting priority dstnat; policy accept; }"
)
IPERF_PORT = 5201


def log(message):
    print(f"[egress_filter] {message}", file=sys.stderr, flush=True)


def milliseconds(text):
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return None
    value, unit = float(match.group(1)), match.group(2)
    return value * {"us": 0.001, "ms": 1, "s": 1000, "m": 60000}[unit]


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    if not rps:
        raise RuntimeError(f"wrk output not understood:\n{text[-2000:]}")
    result = {"rps": float(rps.group(1))}
    requests = re.search(r"(\d+) requests in", text)
    result["requests"] = int(requests.group(1)) if requests else None
    for percent in ("50", "90", "99"):
        match = re.search(rf"^\s+{percent}%\s+(\S+)", text, re.MULTILINE)
        result[f"p{percent}_ms"] = milliseconds(match.group(1)) if match else None
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    result["socket_errors"] = sum(int(n) for n in errors.groups()) if errors else 0
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    result["non_2xx"] = int(non2xx.group(1)) if non2xx else 0
    return result


def parse_iperf(text):
    data = json.loads(text)
    if "error" in data:
        raise RuntimeError(f"iperf3: {data['error']}")
    end = data["end"]
    return {
        "gbps": end["sum_received"]["bits_per_second"] / 1e9,
        "retransmits": end["sum_sent"].get("retransmits"),
        "sender_cpu_percent": end.get("cpu_utilization_percent", {}).get("host_total"),
        "receiver_cpu_percent": end.get("cpu_utilization_percent", {}).get("remote_total"),
    }


def rounded(value, digits=3):
    return round(value, digits) if isinstance(value, float) else value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--porthole", required=True, help="the porthole binary")
    ap.add_argument("--sandboxes", type=int, default=10000, help="sandbox records in the store, the lab's included")
    ap.add_argument("--seconds", type=float, default=10, help="seconds of wrk, and of iperf3, per path and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16, help="wrk -c: connections in flight")
    ap.add_argument("--streams", type=int, default=1, help="iperf3 -P: parallel streams")
    ap.add_argument("--no-conntrack-baseline", action="store_true",
                    help="skip the conntrack path (no Porthole table, only conntrack and an empty NAT chain)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs, configs)")
    args = ap.parse_args()
    if args.sandboxes < 2:
        ap.error("--sandboxes must be at least 2 (the lab's two sandboxes)")
    if args.seconds < 2:
        ap.error("--seconds must be at least 2 (iperf3 omits the first second)")
    binary = os.path.abspath(args.porthole)
    for tool in ("nginx", "wrk", "iperf3", "nft", "ip", "ss"):
        if not shutil.which(tool):
            ap.error(f"{tool} is not installed")

    exit_on_sigterm()
    work = tempfile.mkdtemp(prefix="porthole-egress-filter-")
    processes = Processes()
    lab = Lab(f"pbf{os.getpid():x}", 2)
    agent = None
    try:
        log(f"work directory {work}; lab namespaces {lab.prefix}*")
        lab.set_up()
        open_ns, allow_ns = lab.sandbox(1), lab.sandbox(2)

        temp = os.path.join(work, "nginx-temp")
        os.makedirs(temp)
        conf = os.path.join(work, "nginx.conf")
        with open(conf, "w") as f:
            f.write(f"""worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen {SERVER}:{HTTP_PORT};
        location / {{ return 204; }}
    }}
}}
""")
        nginx = processes.start(["ip", "netns", "exec", lab.internet, "nginx", "-c", conf, "-e", f"{work}/nginx-error.log"],
                                stdout=open(os.path.join(work, "nginx.out"), "w"), stderr=open(os.path.join(work, "nginx.out"), "a"))
        iperf = processes.start(["ip", "netns", "exec", lab.internet, "iperf3", "-s", "-B", SERVER, "-p", str(IPERF_PORT)],
                                stdout=open(os.path.join(work, "iperf3-server.log"), "w"), stderr=open(os.path.join(work, "iperf3-server.log"), "a"))

        def servers_ready():
            for name, process in (("nginx", nginx), ("iperf3", iperf)):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited ({process.returncode}); see {work}")
            return lab.listening(lab.internet, "tcp", HTTP_PORT) and lab.listening(lab.internet, "tcp", IPERF_PORT)
        wait_until(servers_ready, 15, "nginx and iperf3 to listen", interval=0.1)

        porthole = Porthole(binary, work, processes)
        porthole.start()
        porthole.create({"id": "bench-open", "target": lab.sandbox_ipv4(1), "tier": 3})
        porthole.create({"id": "bench-allow", "target": lab.sandbox_ipv4(2), "tier": 3, "networkAllowList": "198.51.100.0/24"})
        porthole.add_fillers(args.sandboxes - 2)
        log(f"{args.sandboxes} sandbox records in the store")

        agent_arguments = ["--resolver-address", RESOLVER, "--upstream-dns", UPSTREAM_DNS, "--log-level", "info"]

        def probe(namespace, address):
            return lab.helper(namespace, ["_probe", address, str(HTTP_PORT)])

        def flush_conntrack():
            return int(lab.helper(lab.host, ["_ctflush"]))

        def measure(namespace, path):
            # Every run starts with an empty connection tracking table in the host namespace:
            # closed connections stay there (TIME_WAIT, 120 s), and a table filled by the run
            # before would be a handicap, or at 262,144 entries drop new connections.
            flush_conntrack()
            wrk = lab.run(namespace, ["wrk", "-t1", f"-c{args.connections}", f"-d{args.seconds:g}s", "--latency",
                                      "-H", "Connection: close", f"http://{SERVER}:{HTTP_PORT}/"], timeout=args.seconds + 60)
            result = parse_wrk(wrk.stdout)
            conntrack = lab.run(lab.host, ["cat", "/proc/sys/net/netfilter/nf_conntrack_count"], check=False).stdout.strip()
            result["host_conntrack_entries"] = int(conntrack) if conntrack.isdigit() else None
            flush_conntrack()
            iperf3 = lab.run(namespace, ["iperf3", "-c", SERVER, "-p", str(IPERF_PORT), "-t", f"{args.seconds:g}", "-O", "1",
                                         "-P", str(args.streams), "-J"], check=False, timeout=args.seconds + 60)
            result.update(parse_iperf(iperf3.stdout))
            log(f"{path}: {result['rps']:.0f} connections/s (p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms), "
                f"{result['gbps']:.2f} Gbit/s")
            return {key: rounded(value) for key, value in result.items()}

        def nofilter_phase():
            lab.delete_table()
            for namespace in (open_ns, allow_ns):
                got = probe(namespace, SERVER)
                if got != "reached":
                    raise RuntimeError(f"no filter: {namespace} → {SERVER}: {got}")
            result = {"nofilter": measure(open_ns, "nofilter")}
            if not args.no_conntrack_baseline:
                # What connection tracking and a NAT hook cost alone, with no rule of Porthole's:
                # the part of the filter's cost that any stateful firewall with a DNAT would have.
                lab.run(lab.host, ["nft", CONNTRACK_TABLE])
                try:
                    result["conntrack"] = measure(open_ns, "conntrack")
                finally:
                    lab.run(lab.host, ["nft", "delete table inet bench_conntrack"], check=False)
            return result

        def filter_phase():
            nonlocal agent
            agent = Agent(lab, porthole, processes, agent_arguments, os.path.join(work, "egress.log"))
            rebuilt = agent.wait_for(["egress table rebuilt"])
            checks = {(open_ns, SERVER): "reached", (open_ns, OTHER_SERVER): "refused",
                      (allow_ns, SERVER): "reached", (allow_ns, OTHER_SERVER): "rejected"}
            for (namespace, address), wanted in checks.items():
                got = probe(namespace, address)
                if got != wanted:
                    raise RuntimeError(f"filter: {namespace} → {address}:{HTTP_PORT} is {got}, expected {wanted}")
            result = {"rebuild_s": round(rebuilt, 3)}
            result["open"] = measure(open_ns, "open")
            result["allow_list"] = measure(allow_ns, "allow_list")
            errors = agent.errors()
            if errors:
                result["agent_errors"] = errors[:5]
            agent.stop()
            agent = None
            lab.delete_table()
            return result

        conntrack_max = lab.run(lab.host, ["cat", "/proc/sys/net/netfilter/nf_conntrack_max"], check=False).stdout.strip()
        rounds = []
        for number in range(1, args.rounds + 1):
            log(f"round {number}/{args.rounds}")
            result = {"round": number, "sandboxes": args.sandboxes, "seconds": args.seconds, "connections": args.connections,
                      "streams": args.streams}
            phases = (nofilter_phase, filter_phase) if number % 2 else (filter_phase, nofilter_phase)
            for phase in phases:
                result.update(phase())
            rounds.append(result)
            print(json.dumps(result), flush=True)

        def m(path, key):
            return median([r[path].get(key) for r in rounds])

        summary = {
            "sandboxes": args.sandboxes, "rounds": args.rounds, "seconds": args.seconds, "connections": args.connections,
            "streams": args.streams, "rebuild_s": median([r["rebuild_s"] for r in rounds]),
            "conntrack_max": int(conntrack_max) if conntrack_max.isdigit() else None,
            "nofilter_rps": m("nofilter", "rps"), "nofilter_gbps": m("nofilter", "gbps"),
            "nofilter_p50_ms": m("nofilter", "p50_ms"), "nofilter_p99_ms": m("nofilter", "p99_ms"),
        }
        for path in ("conntrack", "open", "allow_list"):
            if path not in rounds[0]:
                continue
            for key in ("rps", "gbps"):
                ours, theirs = m(path, key), summary[f"nofilter_{key}"]
                summary[f"{path}_{key}"] = ours
                summary[f"{path}_{key}_ratio"] = round(ours / theirs, 3) if ours and theirs else None
            summary[f"{path}_p50_ms"] = m(path, "p50_ms")
            summary[f"{path}_p99_ms"] = m(path, "p99_ms")
            summary[f"{path}_socket_errors"] = sum(r[path]["socket_errors"] for r in rounds)
            summary[f"{path}_max_conntrack_entries_after_wrk"] = max((r[path]["host_conntrack_entries"] or 0) for r in rounds)
        print(json.dumps({"summary": {k: rounded(v) for k, v in summary.items()}}), flush=True)
        return 0
    finally:
        clean_up(agent, processes, lab, work, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
