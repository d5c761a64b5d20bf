#!/usr/bin/env python3
"""Opens many idle TLS keep-alive connections to a proxy and reports its RSS growth per connection.

Each connection completes the TLS handshake, sends one `GET /` and reads the whole response, then
stays open and silent (an idle keep-alive connection, as a browser leaves them). The RSS of the
proxy's process tree (the process and its descendants, e.g. nginx's master and worker) is read
from /proc before the first connection and again once all are open and the proxy has settled.

  idleconns.py --port 18443 --host 3000-bench.preview.localhost --pid 1234 --count 10000

Several client processes share the work (--procs, default one per core): the reading is of memory,
not speed, so the client may use every core. Prints one JSON line. Needs `ulimit -n` above --count.
"""
import argparse
import asyncio
import json
import multiprocessing
import os
import ssl
import sys
import time

try:
    import uvloop  # type: ignore
except ImportError:  # pragma: no cover
    uvloop = None


def tree_rss_kib(root: int) -> int:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    total = 0
    todo = [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


class IdleClient(asyncio.Protocol):
    def __init__(self, request: bytes, done: asyncio.Future):
        self.request = request
        self.done = done
        self.buf = bytearray()
        self.lost = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        if self.done.done():
            return
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if len(self.buf) >= end + 4 + length:
            status = head.split(" ", 2)[1] if " " in head else "?"
            self.done.set_result(status)

    def connection_lost(self, exc):
        self.lost = True
        if not self.done.done():
            self.done.set_exception(ConnectionError(f"closed before the response: {exc}"))


async def open_and_hold(args, count: int, conn) -> None:
    """One worker: opens `count` connections, reports, keeps them until told to close."""
    loop = asyncio.get_running_loop()
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    request = f"GET / HTTP/1.1\r\nHost: {args.host}\r\n\r\n".encode()
    protocols: list[IdleClient] = []
    statuses: dict[str, int] = {}
    errors: list[str] = []
    sem = asyncio.Semaphore(args.parallel)

    async def open_one():
        async with sem:
            done = loop.create_future()
            try:
                _, proto = await loop.create_connection(
                    lambda: IdleClient(request, done), args.connect, args.port,
                    ssl=ctx, server_hostname=args.host, ssl_handshake_timeout=30)
                status = await asyncio.wait_for(done, 30)
                statuses[status] = statuses.get(status, 0) + 1
                protocols.append(proto)
            except Exception as exc:  # noqa: BLE001 - counted and reported
                errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(open_one() for _ in range(count)))
    conn.send({"opened": len(protocols), "statuses": statuses, "errors": errors})
    # Keep the loop running (so closes by the proxy are noticed) while waiting for the parent.
    await loop.run_in_executor(None, conn.recv)
    conn.send(sum(1 for p in protocols if not p.lost))
    await loop.run_in_executor(None, conn.recv)
    for p in protocols:
        p.transport.abort()
    await asyncio.sleep(0.1)


def worker(args, count: int, conn) -> None:
    runner = uvloop.run if uvloop is not None else asyncio.run
    runner(open_and_hold(args, count, conn))


def run(args) -> int:
    ctx = multiprocessing.get_context("fork")
    rss_before = tree_rss_kib(args.pid)
    t0 = time.monotonic()
    shares = [args.count // args.procs + (1 if i < args.count % args.procs else 0) for i in range(args.procs)]
    pipes, procs = [], []
    for share in shares:
        parent_end, child_end = ctx.Pipe()
        proc = ctx.Process(target=worker, args=(args, share, child_end), daemon=True)
        proc.start()
        pipes.append(parent_end)
        procs.append(proc)
    opened, statuses, errors = 0, {}, []
    deadline = t0 + args.deadline
    finished = []
    for pipe in pipes:
        if pipe.poll(max(deadline - time.monotonic(), 0)):
            report = pipe.recv()
            opened += report["opened"]
            for k, v in report["statuses"].items():
                statuses[k] = statuses.get(k, 0) + v
            errors += report["errors"]
            finished.append(pipe)
    timed_out = len(finished) < len(pipes)
    if timed_out:
        errors.append(f"not all {args.count} connections were open with a response after {args.deadline:.0f} s")
    open_s = time.monotonic() - t0
    time.sleep(args.settle)
    rss_after = tree_rss_kib(args.pid)
    still_open = 0
    for pipe in finished:
        pipe.send("report")
    for pipe in finished:
        still_open += pipe.recv() if pipe.poll(10) else 0
    for pipe in finished:
        pipe.send("close")
    for proc in procs:
        proc.join(0 if timed_out else 10)
        if proc.is_alive():
            proc.kill()
    growth = rss_after - rss_before
    result = {
        "count": args.count, "opened": opened, "open_at_measure": still_open, "timed_out": timed_out,
        "open_s": round(open_s, 2), "rss_before_kib": rss_before, "rss_after_kib": rss_after,
        "kib_per_conn": round(growth / max(still_open, 1), 2), "statuses": statuses,
        "connect_failures": len(errors), "errors": sorted(set(errors))[:5],
    }
    print(json.dumps(result))
    return 0 if not errors and still_open == args.count and set(statuses) <= {"200"} else 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connect", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", required=True, help="Host header and TLS SNI")
    ap.add_argument("--pid", type=int, required=True, help="proxy process whose tree RSS is measured")
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--parallel", type=int, default=128, help="handshakes in flight")
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between the last open and the RSS reading")
    ap.add_argument("--deadline", type=float, default=60.0,
                    help="seconds allowed for opening every connection before reporting what was reached")
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1,
                    help="client processes (the proxy's RSS does not depend on who gets CPU time)")
    args = ap.parse_args()
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
