#!/usr/bin/env python3
"""WebSocket echo server and round-trip load client for the Porthole benchmarks.

Both sides speak just enough RFC 6455 for an echo benchmark (handshake, masked client frames,
unmasked server frames, ping, close) on plain asyncio protocols: a full WebSocket library spends
more CPU per message than the proxies under test, and the load generator shares the machine.

  wsecho.py server --port 3001
  wsecho.py client --port 18443 --host 3001-bench.preview.localhost --tls \
                   --connections 64 --duration 4 --size 32

The client keeps one message in flight per connection (a closed loop), checks every echo byte
for byte, and prints one JSON line: round trips, round trips/s, errors.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import ssl
import sys
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

try:  # optional: a faster event loop when installed
    import uvloop  # type: ignore
except ImportError:  # pragma: no cover
    uvloop = None


def frame(opcode_byte: int, payload: bytes, mask: bytes | None = None) -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([opcode_byte, (0x80 if mask else 0) | n])
    elif n < 65536:
        head = bytes([opcode_byte, (0x80 if mask else 0) | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([opcode_byte, (0x80 if mask else 0) | 127]) + n.to_bytes(8, "big")
    if mask:
        return head + mask + xor_mask(payload, mask)
    return head + payload


def xor_mask(payload: bytes, mask: bytes) -> bytes:
    n = len(payload)
    if n == 0:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


def parse_frames(buf: bytearray):
    """Yields (first byte, payload, masked) for each complete frame and removes it from buf."""
    while len(buf) >= 2:
        b0, b1 = buf[0], buf[1]
        masked = b1 & 0x80
        n = b1 & 0x7F
        pos = 2
        if n == 126:
            if len(buf) < 4:
                return
            n = int.from_bytes(buf[2:4], "big")
            pos = 4
        elif n == 127:
            if len(buf) < 10:
                return
            n = int.from_bytes(buf[2:10], "big")
            pos = 10
        if masked:
            if len(buf) < pos + 4 + n:
                return
            mask = bytes(buf[pos:pos + 4])
            payload = xor_mask(bytes(buf[pos + 4:pos + 4 + n]), mask)
            del buf[:pos + 4 + n]
        else:
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos:pos + n])
            del buf[:pos + n]
        yield b0, payload, masked


# MARK: - Server

class EchoServerProtocol(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = bytearray()
        self.upgraded = False

    def data_received(self, data):
        self.buf += data
        if not self.upgraded:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 16384:
                    self.transport.close()
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            key = None
            for line in head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "sec-websocket-key":
                    key = value.strip()
            if key is None:
                self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                self.transport.close()
                return
            accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.upgraded = True
        out = []
        for b0, payload, _ in parse_frames(self.buf):
            opcode = b0 & 0x0F
            if opcode == 0x8:  # close: answer and hang up
                out.append(frame(0x88, payload[:2]))
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            if opcode == 0x9:  # ping → pong
                out.append(frame(0x8A, payload))
            elif opcode in (0x0, 0x1, 0x2):
                out.append(frame(b0, payload))
        if out:
            self.transport.write(b"".join(out))


async def serve(args):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoServerProtocol, args.bind, args.port, backlog=4096, reuse_address=True)
    print(f"websocket echo listening on {args.bind}:{args.port}", file=sys.stderr, flush=True)
    async with server:
        await server.serve_forever()


# MARK: - Client

class EchoClientProtocol(asyncio.Protocol):
    def __init__(self, host: str, path: str, payload: bytes, stats: dict, deadline_box: list):
        self.host = host
        self.path = path
        mask = os.urandom(4)
        self.request_frame = frame(0x81, payload, mask)
        self.expected = frame(0x81, payload)
        self.stats = stats
        self.deadline_box = deadline_box
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.handshake_done = False
        self.running = False

    def connection_made(self, transport):
        self.transport = transport
        key = base64.b64encode(os.urandom(16))
        self.key = key
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ".encode() + key + b"\r\n\r\n")

    def start(self):
        self.running = True
        self.transport.write(self.request_frame)

    def data_received(self, data):
        self.buf += data
        if not self.handshake_done:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1")
            del self.buf[:end + 4]
            status = head.split("\r\n", 1)[0]
            accept = base64.b64encode(hashlib.sha1(self.key + GUID).digest()).decode()
            if " 101 " not in status + " " or accept not in head:
                self.stats["handshake_failures"] += 1
                self.stats.setdefault("bad_status", status)
                if not self.upgraded.done():
                    self.upgraded.set_exception(RuntimeError(f"upgrade refused: {status!r}"))
                self.transport.abort()
                return
            self.handshake_done = True
            if not self.upgraded.done():
                self.upgraded.set_result(None)
        n = len(self.expected)
        while len(self.buf) >= n:
            if self.buf[:n] != self.expected:
                self.stats["mismatches"] += 1
                self.transport.abort()
                return
            del self.buf[:n]
            if not self.running:
                continue
            if time.monotonic() < self.deadline_box[0]:
                self.stats["round_trips"] += 1
                self.transport.write(self.request_frame)
            else:
                self.stats["round_trips"] += 1
                self.running = False
                if not self.closed.done():
                    self.closed.set_result(None)

    def connection_lost(self, exc):
        if self.running:
            self.stats["dropped"] += 1
            self.running = False
        if not self.upgraded.done():
            self.upgraded.set_exception(RuntimeError(f"connection lost before upgrade: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)


async def run_client(args):
    loop = asyncio.get_running_loop()
    ctx = None
    if args.tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    payload = b"m" * args.size
    stats = {"round_trips": 0, "mismatches": 0, "handshake_failures": 0, "dropped": 0}
    deadline_box = [float("inf")]
    protocols = []
    errors = []
    t_open = time.monotonic()
    for _ in range(args.connections):
        try:
            _, proto = await loop.create_connection(
                lambda: EchoClientProtocol(args.host, args.path, payload, stats, deadline_box),
                args.connect, args.port, ssl=ctx, server_hostname=args.host if args.tls else None)
            await asyncio.wait_for(proto.upgraded, 10)
            protocols.append(proto)
        except Exception as exc:  # noqa: BLE001 - reported, not raised: the table shows it
            errors.append(str(exc))
    open_s = time.monotonic() - t_open
    if not protocols:
        print(json.dumps({"round_trips": 0, "duration_s": 0, "rps": 0, "connections": 0,
                          "errors": errors[:5], **stats}))
        return 1
    # Warm-up, then measure over a fixed window.
    for p in protocols:
        p.start()
    await asyncio.sleep(args.warmup)
    start_count = stats["round_trips"]
    t0 = time.monotonic()
    deadline_box[0] = t0 + args.duration
    await asyncio.sleep(args.duration)
    for p in protocols:
        try:
            await asyncio.wait_for(asyncio.shield(p.closed), 5)
        except asyncio.TimeoutError:
            stats["dropped"] += 1
    elapsed = time.monotonic() - t0
    count = stats["round_trips"] - start_count
    for p in protocols:
        p.transport.abort()
    print(json.dumps({"round_trips": count, "duration_s": round(elapsed, 3),
                      "rps": count / elapsed, "connections": len(protocols),
                      "open_s": round(open_s, 3), "errors": errors[:5], "connect_failures": len(errors),
                      **stats}))
    return 0 if not errors and not stats["mismatches"] and not stats["handshake_failures"] else 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("server")
    s.add_argument("--bind", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    c = sub.add_parser("client")
    c.add_argument("--connect", default="127.0.0.1", help="address to connect to")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--host", required=True, help="Host header and TLS SNI")
    c.add_argument("--path", default="/ws")
    c.add_argument("--tls", action="store_true")
    c.add_argument("--connections", type=int, default=64)
    c.add_argument("--duration", type=float, default=4)
    c.add_argument("--warmup", type=float, default=0.5)
    c.add_argument("--size", type=int, default=32, help="message payload bytes")
    args = ap.parse_args()
    runner = uvloop.run if uvloop is not None else asyncio.run
    if args.cmd == "server":
        try:
            runner(serve(args))
        except KeyboardInterrupt:
            pass
        return 0
    return runner(run_client(args))


if __name__ == "__main__":
    sys.exit(main())
