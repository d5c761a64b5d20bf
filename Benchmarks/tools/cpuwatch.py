#!/usr/bin/env python3
"""Samples, once a second, how much CPU the processes *outside* the benchmark use.

The machine is shared: a build or test run of someone else's lands on the same two cores and
skews whatever is being measured at that moment. run.sh starts this sampler, and the report
shows, per proxy and round, how many cores other processes used meanwhile, so a slot measured
under foreign load can be recognised (and rerun) instead of trusted.

  cpuwatch.py --root RUN_SH_PID --out timeline.jsonl

Each line: {"t": epoch seconds, "other_cores": cores used by non-descendants of --root (and not
by this sampler or the kernel's own threads) since the previous line, "top": [[name, cores], …]}.
"""
import argparse
import json
import os
import signal
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def snapshot():
    procs = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        close = stat.rindex(")")
        comm = stat[stat.index("(") + 1:close]
        fields = stat[close + 2:].split()
        ppid = int(fields[1])
        flags = int(fields[6])
        ticks = int(fields[11]) + int(fields[12])
        procs[int(entry)] = (ppid, comm, ticks, flags)
    return procs


def descendants(procs, root):
    children = {}
    for pid, (ppid, *_rest) in procs.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid in out:
            continue
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=1.0)
    args = ap.parse_args()

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    me = os.getpid()
    prev = snapshot()
    prev_t = time.time()
    with open(args.out, "a") as out:
        while running:
            time.sleep(args.interval)
            now = snapshot()
            t = time.time()
            ours = descendants(now, args.root) | {me}
            by_name = {}
            for pid, (ppid, comm, ticks, flags) in now.items():
                if pid in ours or flags & 0x00200000:  # PF_KTHREAD: kernel threads
                    continue
                before = prev.get(pid)
                delta = ticks - (before[2] if before and before[1] == comm else 0)
                if before is None and delta > 0:
                    # A process that started since the last sample: count only what it used since.
                    delta = min(delta, int((t - prev_t) * TICK * os.cpu_count()))
                if delta > 0:
                    by_name[comm] = by_name.get(comm, 0) + delta
            span = max(t - prev_t, 1e-3)
            cores = {name: ticks / TICK / span for name, ticks in by_name.items()}
            top = sorted(cores.items(), key=lambda kv: -kv[1])[:3]
            out.write(json.dumps({"t": round(t, 2), "other_cores": round(sum(cores.values()), 3),
                                  "top": [[n, round(c, 2)] for n, c in top]}) + "\n")
            out.flush()
            prev, prev_t = now, t
    return 0


if __name__ == "__main__":
    sys.exit(main())
