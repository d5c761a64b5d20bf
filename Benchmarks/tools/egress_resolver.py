#!/usr/bin/env python3
"""What Porthole's DNS resolver costs a sandbox: queries/s, added latency, CPU per query.

  egress_resolver.py --porthole .build/release/porthole --sandboxes 10000 --seconds 10 --rounds 3

Builds a lab of network namespaces (egresslab.py: host, internet, two sandboxes), `porthole serve`
with N sandbox records (the two of the lab, the rest fillers copied in SQLite), and dnsmasq in the
internet namespace as the authoritative server of bench.example and *.bench.example
(198.51.100.7, TTL 300, answered from its own config: no cache, no forwarding, no query log).

Each round measures, in alternating order (direct first in odd rounds, Porthole first in even):
- direct: the sandbox asks dnsmasq (192.0.2.53) with no egress table at all (agent stopped, table
  deleted): routing only;
- allow_list: `porthole egress --resolver-address 10.77.255.53 --upstream-dns 192.0.2.53` running,
  the sandbox (record with domainAllowList "bench.example,*.bench.example") asks the same address,
  which the table DNATs to Porthole's resolver: each query's name is checked, forwarded, and the
  answered address inserted into the sandbox's nftables set (one transaction) before the answer
  goes back. The expensive path;
- open (unless --no-open): a second sandbox with an open record, through the resolver: forwarded
  and passed back, no set insertion.

Per path: dnsperf for --seconds (queries/s at saturation with --outstanding queries in flight,
average/min/max/stddev latency under that load, response codes), then a one-at-a-time Python
client (--latency-samples queries, no queueing anywhere) for p50/p90/p99 latency. CPU seconds per
1,000 queries of porthole egress and of dnsmasq are read from /proc over the dnsperf run, and
their share of a core (1.0 = one core busy): a path is bound by whichever is near 1.0, or by
dnsperf and the kernel. The direct path is usually bound by dnsmasq's single core, so the qps
ratio is Porthole's rate over dnsmasq's capacity.

Porthole's per-sandbox DNS rate limit is set to --dns-rate-limit (default 1,000,000 queries/s, the
most it accepts), so the limiter is not what is measured; the resolver's own counters (/metrics)
are read before and after each run and any rate_limited or upstream_failed outcome is reported.

Output: one JSON line per round, then one summary line (medians over the rounds; ratios Porthole
÷ direct; added latency Porthole − direct in ms). Progress on stderr. Nothing is asserted.
Run as root; needs dnsperf, dnsmasq, nft (apt-get install -y dnsperf dnsmasq nftables).
"""
import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from egresslab import (  # noqa: E402
    exit_on_sigterm, RESOLVER, UPSTREAM_DNS, Agent, Lab, Porthole, Processes, clean_up, cpu_seconds, median, metrics,
    wait_until,
)

ANSWER = "198.51.100.7"
METRICS = "127.0.0.1:9464"


def log(message):
    print(f"[egress_resolver] {message}", file=sys.stderr, flush=True)


def parse_dnsperf(text):
    def number(pattern):
        match = re.search(pattern, text)
        return float(match.group(1)) if match else None
    result = {
        "sent": number(r"Queries sent:\s+(\d+)"),
        "completed": number(r"Queries completed:\s+(\d+)"),
        "lost": number(r"Queries lost:\s+(\d+)"),
        "qps": number(r"Queries per second:\s+([\d.]+)"),
        "run_s": number(r"Run time \(s\):\s+([\d.]+)"),
    }
    latency = re.search(r"Average Latency \(s\):\s+([\d.]+) \(min ([\d.]+), max ([\d.]+)\)", text)
    if latency:
        result.update({"avg_ms": float(latency.group(1)) * 1000, "min_ms": float(latency.group(2)) * 1000,
                       "max_ms": float(latency.group(3)) * 1000})
    stddev = number(r"Latency StdDev \(s\):\s+([\d.]+)")
    result["stddev_ms"] = stddev * 1000 if stddev is not None else None
    codes = re.search(r"Response codes:\s+(.*)", text)
    result["rcodes"] = {code: int(count) for code, count in re.findall(r"([A-Z]+) (\d+)", codes.group(1))} if codes else {}
    if result["qps"] is None:
        raise RuntimeError(f"dnsperf output not understood:\n{text[-2000:]}")
    return result


def rounded(value, digits=3):
    return round(value, digits) if isinstance(value, float) else value


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--porthole", required=True, help="the porthole binary")
    ap.add_argument("--sandboxes", type=int, default=10000, help="sandbox records in the store, the lab's included")
    ap.add_argument("--seconds", type=float, default=10, help="seconds of dnsperf per path and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--outstanding", type=int, default=100, help="dnsperf -q: queries in flight")
    ap.add_argument("--clients", type=int, default=1, help="dnsperf -c: client sockets")
    ap.add_argument("--latency-samples", type=int, default=2000, help="one-at-a-time queries per path (at most --seconds long)")
    ap.add_argument("--dns-rate-limit", type=int, default=1_000_000, help="porthole egress --dns-rate-limit (queries/s per sandbox)")
    ap.add_argument("--no-open", action="store_true", help="skip the open sandbox's path")
    ap.add_argument("--agent-log-level", default="info", help="porthole egress --log-level (debug logs each refused or failed query)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    if args.sandboxes < 2:
        ap.error("--sandboxes must be at least 2 (the lab's two sandboxes)")
    binary = os.path.abspath(args.porthole)
    for tool in ("dnsperf", "dnsmasq", "nft", "ip", "ss"):
        if not shutil.which(tool):
            ap.error(f"{tool} is not installed")

    exit_on_sigterm()
    work = tempfile.mkdtemp(prefix="porthole-egress-resolver-")
    processes = Processes()
    lab = Lab(f"pbr{os.getpid():x}", 2)
    agent = None
    try:
        log(f"work directory {work}; lab namespaces {lab.prefix}*")
        lab.set_up()
        allow_ns, open_ns = lab.sandbox(1), lab.sandbox(2)

        # Names: 1,000 distinct names, all under bench.example (Porthole's resolver has no cache;
        # distinct names keep any cache on the way from mattering).
        names = os.path.join(work, "names.txt")
        with open(names, "w") as f:
            f.write("bench.example A\n")
            for n in range(1, 1000):
                f.write(f"q{n}.bench.example A\n")

        # dnsmasq: a daemon (-k would not be needed here, but this is how the tests run it), its
        # own config only, answering bench.example from --address (authoritative-style, no cache).
        pid_file = os.path.join(work, "dnsmasq.pid")
        processes.pid_files.append((pid_file, "dnsmasq"))
        lab.run(lab.internet, [
            "dnsmasq", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--bind-interfaces",
            f"--listen-address={UPSTREAM_DNS}", "--port=53", "--local-ttl=300", f"--address=/bench.example/{ANSWER}",
            "--cache-size=10000", "--dns-forward-max=10000", "--user=root", f"--pid-file={pid_file}",
            f"--log-facility={os.path.join(work, 'dnsmasq.log')}",
        ])
        wait_until(lambda: os.path.exists(pid_file) and os.path.getsize(pid_file) > 0, 10, "dnsmasq's pid file")
        dnsmasq_pid = int(open(pid_file).read().strip())
        wait_until(lambda: lab.helper(lab.host, ["_query", "bench.example", UPSTREAM_DNS]) == f"NOERROR {ANSWER}", 10,
                   "dnsmasq to answer", interval=0.1)

        porthole = Porthole(binary, work, processes)
        porthole.start()
        porthole.create({"id": "bench-allow", "target": lab.sandbox_ipv4(1), "tier": 3,
                         "domainAllowList": "bench.example,*.bench.example"})
        porthole.create({"id": "bench-open", "target": lab.sandbox_ipv4(2), "tier": 3})
        porthole.add_fillers(args.sandboxes - 2)
        log(f"{args.sandboxes} sandbox records in the store")

        agent_arguments = [
            "--resolver-address", RESOLVER, "--upstream-dns", UPSTREAM_DNS, "--dns-rate-limit", str(args.dns_rate_limit),
            "--metrics-address", METRICS, "--log-level", args.agent_log_level,
        ]

        def measure(namespace, path, agent_pid=None):
            """dnsperf, then the latency sampler, from `namespace` to 192.0.2.53."""
            before = {"dnsmasq": cpu_seconds(dnsmasq_pid)}
            if agent_pid:
                before["porthole"] = cpu_seconds(agent_pid)
                counters_before = metrics(lab, METRICS)
            started = time.monotonic()
            run = lab.run(namespace, ["dnsperf", "-s", UPSTREAM_DNS, "-d", names, "-l", f"{args.seconds:g}",
                                      "-q", str(args.outstanding), "-c", str(args.clients), "-t", "2"],
                          timeout=args.seconds + 60)
            wall = time.monotonic() - started
            result = parse_dnsperf(run.stdout)
            completed = result["completed"] or 0
            for process, pid in (("dnsmasq", dnsmasq_pid), ("porthole", agent_pid)):
                if pid is None:
                    continue
                spent = cpu_seconds(pid) - before[process]
                result[f"{process}_cpu_s_per_1k"] = spent / completed * 1000 if completed else None
                result[f"{process}_cores"] = spent / wall
            if agent_pid:
                counters_after = metrics(lab, METRICS)
                result["resolver_outcomes"] = {
                    key.split('"')[1]: int(counters_after[key] - counters_before.get(key, 0))
                    for key in counters_after if key.startswith("porthole_egress_dns_queries_total")
                    and counters_after[key] - counters_before.get(key, 0)
                }
            sample = json.loads(lab.helper(namespace, ["_sample", UPSTREAM_DNS, names, str(args.latency_samples), str(args.seconds)],
                                           timeout=args.seconds + 60))
            result["unloaded"] = sample
            log(f"{path}: {result['qps']:.0f} queries/s, avg {result.get('avg_ms', 0):.3f} ms under load; "
                f"one at a time p50 {sample.get('p50_ms')} ms p99 {sample.get('p99_ms')} ms")
            return {key: rounded(value) for key, value in result.items()}

        def direct_phase():
            lab.delete_table()
            got = lab.helper(allow_ns, ["_query", "bench.example", UPSTREAM_DNS])
            if got != f"NOERROR {ANSWER}":
                raise RuntimeError(f"direct: the sandbox's query got {got!r}")
            return {"direct": measure(allow_ns, "direct")}

        def porthole_phase():
            nonlocal agent
            agent = Agent(lab, porthole, processes, agent_arguments, os.path.join(work, "egress.log"))
            rebuilt = agent.wait_for(["egress table rebuilt"])
            listening = agent.wait_for(["egress table rebuilt", "resolver listening"])
            # The checks: allowed names answered and their address in the sandbox's set; other
            # names refused; the open sandbox answered.
            got = lab.helper(allow_ns, ["_query", "bench.example", UPSTREAM_DNS])
            if got != f"NOERROR {ANSWER}":
                raise RuntimeError(f"allow_list: bench.example through the resolver got {got!r}; agent log: {agent.errors()}")
            elements = lab.run(lab.host, ["nft", "list", "set", "inet", "porthole", "allow_dns_v4"]).stdout
            if f"{lab.sandbox_ipv4(1)} . {ANSWER}" not in elements:
                raise RuntimeError(f"allow_list: the answer is not in allow_dns_v4:\n{elements}")
            refused = lab.helper(allow_ns, ["_query", "not-listed.example", UPSTREAM_DNS])
            if refused != "REFUSED":
                raise RuntimeError(f"allow_list: a name off the list got {refused!r}, not REFUSED")
            result = {"rebuild_s": round(rebuilt, 3), "resolver_ready_s": round(listening, 3)}
            result["allow_list"] = measure(allow_ns, "allow_list", agent.pid)
            if not args.no_open:
                got = lab.helper(open_ns, ["_query", "bench.example", UPSTREAM_DNS])
                if got != f"NOERROR {ANSWER}":
                    raise RuntimeError(f"open: bench.example through the resolver got {got!r}")
                result["open"] = measure(open_ns, "open", agent.pid)
            errors = agent.errors()
            if errors:
                result["agent_errors"] = errors[:5]
            agent.stop()
            agent = None
            lab.delete_table()
            return result

        rounds = []
        for number in range(1, args.rounds + 1):
            log(f"round {number}/{args.rounds}")
            result = {"round": number, "sandboxes": args.sandboxes, "seconds": args.seconds, "outstanding": args.outstanding}
            phases = (direct_phase, porthole_phase) if number % 2 else (porthole_phase, direct_phase)
            for phase in phases:
                result.update(phase())
            rounds.append(result)
            print(json.dumps(result), flush=True)

        def m(path, key, sub=None):
            values = [(r[path].get(sub, {}) if sub else r[path]).get(key) for r in rounds if path in r]
            return median(values)

        summary = {
            "sandboxes": args.sandboxes, "rounds": args.rounds, "seconds": args.seconds, "outstanding": args.outstanding,
            "dns_rate_limit": args.dns_rate_limit,
            "note": f"porthole egress --dns-rate-limit {args.dns_rate_limit}: the per-sandbox limiter is not what is measured",
            "rebuild_s": median([r["rebuild_s"] for r in rounds]),
            "direct_qps": m("direct", "qps"),
        }
        for path in ["allow_list"] + ([] if args.no_open else ["open"]):
            qps = m(path, "qps")
            summary[f"{path}_qps"] = qps
            summary[f"{path}_qps_ratio"] = round(qps / summary["direct_qps"], 3) if qps and summary["direct_qps"] else None
            for key in ("p50_ms", "p99_ms"):
                ours, theirs = m(path, key, "unloaded"), m("direct", key, "unloaded")
                summary[f"{path}_added_{key.replace('_ms', '')}_ms"] = round(ours - theirs, 3) if ours is not None and theirs is not None else None
            ours, theirs = m(path, "avg_ms"), m("direct", "avg_ms")
            summary[f"{path}_added_avg_ms_under_load"] = round(ours - theirs, 3) if ours is not None and theirs is not None else None
            summary[f"{path}_porthole_cpu_s_per_1k_queries"] = m(path, "porthole_cpu_s_per_1k")
            summary[f"{path}_porthole_cores"] = m(path, "porthole_cores")
            limited = sum(r[path].get("resolver_outcomes", {}).get("rate_limited", 0) for r in rounds)
            failed = sum(r[path].get("resolver_outcomes", {}).get("upstream_failed", 0) for r in rounds)
            summary[f"{path}_rate_limited"] = limited
            summary[f"{path}_upstream_failed"] = failed
        summary["direct_dnsmasq_cores"] = m("direct", "dnsmasq_cores")
        summary["direct_p50_ms"] = m("direct", "p50_ms", "unloaded")
        summary["direct_p99_ms"] = m("direct", "p99_ms", "unloaded")
        print(json.dumps({"summary": {k: rounded(v) for k, v in summary.items()}}), flush=True)
        return 0
    finally:
        clean_up(agent, processes, lab, work, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
