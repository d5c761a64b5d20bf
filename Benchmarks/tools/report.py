#!/usr/bin/env python3
"""Turns run.sh's raw results (one JSON line per measurement) into the RESULTS.md table.

Each figure is the median over the rounds; the ratio columns are the median over the rounds of
Porthole's figure divided by the peer's in the same round (for "higher is better" rows a ratio above
1 means Porthole is ahead; for "lower is better" rows, below 1 does). Every wrk error count, non-2xx count, failed check and warning or error line
in a proxy's log is listed under "Errors and anomalies".
"""
import argparse
import glob
import json
import os
import statistics
import sys

TARGETS = ["direct", "porthole", "nginx", "haproxy", "caddy"]
LABELS = {"direct": "direct (ceiling)", "porthole": "Porthole", "nginx": "nginx", "haproxy": "HAProxy", "caddy": "Caddy"}
PEERS = ["nginx", "haproxy", "caddy"]
MIB = 1 << 20

# (key, scenario, label, unit, higher_is_better, extractor)

# The first heading that run.sh does not write: it and everything after it are carried over.
KEPT_HEADING = "## Manual measurements"

def top_names(samples):
    """The three foreign processes that used the most CPU over `samples`."""
    names = {}
    for x in samples:
        for name, cores in x["top"]:
            names[name] = names.get(name, 0) + cores / len(samples)
    return ", ".join(f"{n} {c:.2f}" for n, c in sorted(names.items(), key=lambda kv: -kv[1])[:3] if c >= 0.01)


def _wrk_rps(r):
    w = r["wrk"]
    return w["requests"] / (w["duration_us"] / 1e6) if w["duration_us"] else None


def _cpu_per_request(r):
    # The proxy's own CPU (its process tree, from /proc) over the requests wrk completed meanwhile.
    return (r["cpu_user"] + r["cpu_sys"]) / r["wrk"]["requests"] * 1e6 if r["wrk"]["requests"] else None


METRICS = [
    ("s1_rps", "small_c64", "1. keep-alive small, 64 conns", "req/s", True, _wrk_rps),
    ("s1_p50", "small_c64", "1. … p50 latency", "ms", False, lambda r: r["wrk"]["p50_us"] / 1000),
    ("s1_p99", "small_c64", "1. … p99 latency", "ms", False, lambda r: r["wrk"]["p99_us"] / 1000),
    ("s1_cpu", "small_c64", "1. … CPU per request (user + system)", "µs", False, _cpu_per_request),
    ("s2_rps", "small_c512", "2. many connections, 512 conns", "req/s", True, _wrk_rps),
    ("s2_p50", "small_c512", "2. … p50 latency", "ms", False, lambda r: r["wrk"]["p50_us"] / 1000),
    ("s2_p99", "small_c512", "2. … p99 latency", "ms", False, lambda r: r["wrk"]["p99_us"] / 1000),
    ("s2_cpu", "small_c512", "2. … CPU per request (user + system)", "µs", False, _cpu_per_request),
    ("s3_mbs", "large_1m", "3. large responses, GET /1m, 16 conns", "MiB/s", True,
     lambda r: r["wrk"]["bytes"] / MIB / (r["wrk"]["duration_us"] / 1e6)),
    ("s4_mbs", "upload_1m", "4. uploads, POST 1 MiB, 16 conns", "MiB/s", True,
     lambda r: r["wrk"]["requests"] / (r["wrk"]["duration_us"] / 1e6)),
    ("s5_hs", "new_conns", "5. new connections (Connection: close), 32 conns", "conn/s", True, _wrk_rps),
    ("s6_ws", "websocket", "6. WebSocket echo, 64 tunnels, 32 B messages", "round trips/s", True,
     lambda r: r["ws"]["rps"] if r["ws"].get("connections") else None),
    ("s7_mem", "idle_memory", "7. idle TLS keep-alive connections: RSS growth", "KiB/conn", False,
     lambda r: r["idle"]["kib_per_conn"] if r["idle"].get("open_at_measure") else None),
    ("s8_rps", "policy", "8. policy path, random one of N sandboxes, 64 conns", "req/s", True, _wrk_rps),
    ("s9_rps", "gzip_js", "9. gzip, GET a 16 KiB JavaScript module, 64 conns", "req/s", True, _wrk_rps),
    ("s9_cpu", "gzip_js", "9. … CPU per request (user + system)", "µs", False, _cpu_per_request),
    ("s9_bytes", "gzip_js", "9. … bytes per response (head + gzip body)", "B", False,
     lambda r: r["wrk"]["bytes"] / r["wrk"]["requests"] if r["wrk"]["requests"] else None),
    ("s10_rps", "h2_small", "10. HTTP/2, 16 conns x 16 streams, GET /", "req/s", True, _wrk_rps),
    ("s10_cpu", "h2_small", "10. … CPU per request (user + system)", "µs", False, _cpu_per_request),
]


def fmt(value, unit):
    if value is None:
        return "–"
    if unit in ("ms",):
        return f"{value:.2f}"
    if unit == "KiB/conn":
        return f"{value:.1f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--results", required=True)
    ap.add_argument("--meta", required=True)
    ap.add_argument("--logs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--cpu-timeline", help="cpuwatch.py output: foreign CPU load per second")
    ap.add_argument("--foreign-threshold", type=float, default=0.15,
                    help="mean cores used by other processes above which a slot is flagged")
    args = ap.parse_args()

    meta = json.load(open(args.meta))
    records = [json.loads(line) for line in open(args.results) if line.strip()]
    targets = [t for t in TARGETS if t in meta["targets"].split(",")]
    rounds = meta["rounds"]

    # values[key][target] = [per-round values]
    values = {key: {t: {} for t in targets} for key, *_ in METRICS}
    anomalies = []
    timeline = []
    if args.cpu_timeline and os.path.exists(args.cpu_timeline):
        timeline = [json.loads(line) for line in open(args.cpu_timeline) if line.strip()]
    foreign = {}  # (target, round) -> (mean cores, max cores, top names), over all of its slots
    foreign_samples = {}  # (target, round) -> timeline samples of its slots
    for rec in records:
        target, rnd, scenario = rec["target"], rec["round"], rec["scenario"]
        if scenario == "slot":
            start, end = float(rec["start"]), float(rec["end"])
            samples = [x for x in timeline if start < x["t"] <= end + 1]
            if samples:
                foreign_samples.setdefault((target, rnd), []).extend(samples)
                mean = sum(x["other_cores"] for x in samples) / len(samples)
                if mean > args.foreign_threshold:
                    # A target runs in two processes per round: idle memory, then the rest.
                    part = "idle-memory process" if rec.get("slot", "").endswith("-idle") else "throughput process"
                    anomalies.append(
                        f"round {rnd}, {LABELS[target]} ({part}): measured while other processes on the machine used "
                        f"{mean:.2f} cores on average (peak {max(x['other_cores'] for x in samples):.2f}; "
                        f"{top_names(samples)}); this slot's figures are suspect")
            continue
        if scenario == "problem":
            anomalies.append(f"round {rnd}, {LABELS.get(target, target)}, {rec['at']}: {rec['text']}")
            continue
        if "wrk" in rec:
            e = rec["wrk"]["errors"]
            parts = [f"{k} {v}" for k, v in e.items() if v and k != "status"]
            if e.get("status"):
                parts.insert(0, f"non-2xx/3xx responses {e['status']}")
            if parts:
                anomalies.append(
                    f"round {rnd}, {LABELS[target]}, {scenario}: wrk counted {', '.join(parts)} "
                    f"out of {rec['wrk']['requests']} requests")
        if "ws" in rec:
            ws = rec["ws"]
            bad = {k: ws.get(k) for k in ("mismatches", "handshake_failures", "dropped", "connect_failures") if ws.get(k)}
            if bad:
                anomalies.append(f"round {rnd}, {LABELS[target]}, websocket: {bad} {ws.get('errors') or ''}")
        if "idle" in rec:
            idle = rec["idle"]
            if idle.get("open_at_measure") != idle.get("count") or set(idle.get("statuses", {})) - {"200"}:
                anomalies.append(
                    f"round {rnd}, {LABELS[target]}, idle_memory: {idle.get('open_at_measure')} of "
                    f"{idle.get('count')} still open at the reading, statuses {idle.get('statuses')}, "
                    f"errors {idle.get('errors')}")
        for key, sc, _label, _unit, _hib, extract in METRICS:
            if sc == scenario:
                try:
                    v = extract(rec)
                except (KeyError, ZeroDivisionError, TypeError):
                    v = None
                if v is not None:
                    values[key][target][rnd] = v

    for key, samples in foreign_samples.items():
        foreign[key] = (sum(x["other_cores"] for x in samples) / len(samples),
                        max(x["other_cores"] for x in samples), top_names(samples))

    def median(key, target):
        vs = list(values[key].get(target, {}).values())
        return statistics.median(vs) if vs else None

    def paired_ratio(key, peer):
        # Each round measures Porthole and the peer back to back, so the machine's drift between
        # rounds (this shared machine has slow and fast phases lasting minutes) cancels in the
        # round's own ratio; the median of those is the figure. Rounds where either side failed
        # are left out.
        mine, theirs = values[key].get("porthole", {}), values[key].get(peer, {})
        ratios = [mine[r] / theirs[r] for r in mine if r in theirs and theirs[r]]
        return statistics.median(ratios) if ratios else None

    caddy_note = meta.get("caddy_status", "ok")
    header = ["scenario", "unit", "better"] + [LABELS[t] for t in targets]
    ratio_peers = [p for p in PEERS if p in targets] if "porthole" in targets else []
    header += [f"Porthole / {LABELS[p]}" for p in ratio_peers]
    rows = []
    for key, sc, label, unit, hib, _ in METRICS:
        if all(median(key, t) is None for t in targets):
            continue
        row = [label, unit, "higher" if hib else "lower"]
        for t in targets:
            m = median(key, t)
            n = len(values[key][t])
            if m is None:
                if t == "caddy" and caddy_note != "ok":
                    cell = "not installable"
                elif t == "direct" and sc == "idle_memory":
                    cell = "n/a"
                elif sc == "policy" and t != "porthole":
                    cell = "n/a"
                else:
                    cell = "failed" if any(rec["target"] == t for rec in records) else "–"
            else:
                cell = fmt(m, unit) + ("" if n == rounds else f" ({n}/{rounds})")
            row.append(cell)
        for peer in ratio_peers:
            r = paired_ratio(key, peer)
            row.append(f"{r:.2f}" if r is not None else "–")
        rows.append(row)

    def md_table(header, rows, text_columns=3):
        out = ["| " + " | ".join(header) + " |",
               "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(out)

    summary = md_table(header, rows)

    # Per-round detail: every figure, so the spread behind each median is visible.
    detail_header = ["scenario", "unit"] + [LABELS[t] for t in targets]
    detail_rows = []
    for key, sc, label, unit, hib, _ in METRICS:
        if all(not values[key][t] for t in targets):
            continue
        cells = [label, unit]
        for t in targets:
            per = values[key][t]
            cells.append(" / ".join(fmt(per[r], unit) if r in per else "–" for r in range(1, rounds + 1)) if per else "–")
        detail_rows.append(cells)
    details = md_table(detail_header, detail_rows, text_columns=2)

    # Warning and error lines the proxies logged.
    # A load generator stopping at the end of a run drops connections mid-response; proxies that log
    # that (Caddy does, at error level) are not failing. Such lines are counted, not shown.
    benign = ("connection reset by peer", "broken pipe", "client disconnected", "context canceled")
    log_lines = []
    for path in sorted(glob.glob(os.path.join(args.logs, "*.errors"))):
        lines = [line.rstrip() for line in open(path, errors="replace") if line.strip()]
        serious = [line for line in lines if not any(b in line.lower() for b in benign)]
        name = os.path.basename(path)[: -len(".errors")]
        if serious:
            log_lines.append(f"- `{name}`: {len(serious)} warning/error line(s), e.g.:")
            log_lines += [f"  - `{line[:300]}`" for line in serious[:5]]
        if len(lines) > len(serious):
            log_lines.append(f"- `{name}`: {len(lines) - len(serious)} line(s) about clients that went away "
                             "mid-response (the load generators stop abruptly at the end of a run), not shown")

    foreign_md = []
    if foreign:
        fh = ["round"] + [LABELS[t] for t in targets]
        frows = []
        for r in range(1, rounds + 1):
            cells = [str(r)]
            for t in targets:
                f = foreign.get((t, r))
                cells.append("–" if f is None else f"{f[0]:.2f} (peak {f[1]:.2f})")
            frows.append(cells)
        foreign_md = [md_table(fh, frows, text_columns=1)]

    versions = meta["versions"]
    v = ", ".join(f"{k} {val}" for k, val in versions.items())
    md = []
    md.append("# Porthole benchmark results\n")
    md.append("Produced by `Benchmarks/run.sh`" + (" --quick" if meta.get("quick") else "")
              + "; see [README.md](README.md) for what each scenario does and how to read it.\n")
    md.append(f"- Date: {meta['date']}")
    md.append(f"- Commit: `{meta['commit']}` (binary sha256 `{meta['binary_sha256']}…`)")
    md.append(f"- Machine: `nproc` = {meta['nproc']}, CPU: {meta['cpu_model']}, kernel {meta['kernel']}")
    md.append(f"- Pinning: every proxy (one worker/thread) on CPU {meta['proxy_cpus']}; the upstream nginx, the "
              f"WebSocket echo server and the load generators (wrk, Python clients) share CPU {meta['load_cpus']}. "
              "The load generator runs alongside on the same machine, so the ceiling row is a ceiling of this "
              "harness, not of the upstream alone.")
    md.append(f"- Rounds: {rounds} (order each round: {', '.join(LABELS[t] for t in targets)}), "
              f"{meta['duration']} s per measurement; figures are medians over the rounds "
              "(\"(2/3)\" marks a figure with a failed round), ratios the medians of each round's own ratio.")
    md.append(f"- Idle connections: {meta['idle_conns']:,}; policy path: {meta['policy_sandboxes']:,} sandboxes.")
    md.append(f"- Versions: {v}")
    md.append(f"- Run time: {meta['total_seconds'] - meta['build_seconds']} s "
              f"(+ {meta['build_seconds']} s building Porthole first)")
    if caddy_note != "ok":
        md.append(f"- Caddy: {caddy_note}")
    md.append("")
    md.append("## Summary\n")
    md.append(summary)
    md.append("")
    md.append("The direct row talks plain HTTP/1.1 to the upstream (no TLS, no proxy), so it bounds what the "
              "harness can drive; a proxy close to it is limited by the load generator, not by itself.\n")
    md.append("## Errors and anomalies\n")
    if anomalies:
        md += [f"- {a}" for a in anomalies]
    else:
        md.append("- No failed measurement: every wrk run had zero socket errors and zero responses with "
                  "status ≥ 400, every answer check passed, every proxy survived every scenario and exited "
                  "cleanly on SIGTERM.")
    if log_lines:
        md.append("\nWarning and error lines in the proxies' own logs:\n")
        md += log_lines
    md.append("")
    if foreign_md:
        md.append("## Foreign CPU load\n")
        md.append("Mean cores used by processes outside the benchmark (other people's builds and tests) while "
                  f"each proxy was measured; above {args.foreign_threshold} the slot is listed under anomalies.\n")
        md += foreign_md
        md.append("")
    md.append("## Every round\n")
    md.append("Round 1 / round 2 / … for each figure.\n")
    md.append(details)
    md.append("")
    text = "\n".join(md) + "\n"
    # Hand-written sections at the end of the file (from KEPT_HEADING on) survive a new run.
    try:
        previous = open(args.out, errors="replace").read()
    except FileNotFoundError:
        previous = ""
    kept = previous.find(KEPT_HEADING)
    if kept >= 0:
        text += "\n" + previous[kept:]
    with open(args.out, "w") as f:
        f.write(text)

    print(summary)
    print()
    print("Errors and anomalies:")
    for a in anomalies or ["none"]:
        print(f"- {a}")
    for line in log_lines:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
