#!/usr/bin/env python3
"""Prints the user and system CPU seconds a process and its descendants have used so far.

  proccpu.py PID   →   12.34 5.67

run.sh reads it before and after each wrk run, so the report can show what each proxy spends per
request (nginx's worker is a child of its master, hence the whole tree).
"""
import sys

from cpuwatch import TICK, descendants, snapshot


def tree_cpu_seconds(root: int) -> tuple[float, float]:
    user = system = 0
    for pid in descendants(snapshot(), root):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        user += int(fields[11])
        system += int(fields[12])
    return user / TICK, system / TICK


if __name__ == "__main__":
    user, system = tree_cpu_seconds(int(sys.argv[1]))
    print(f"{user:.2f} {system:.2f}")
