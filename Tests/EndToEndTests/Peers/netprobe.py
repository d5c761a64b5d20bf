"""Tries to reach an address from inside a sandbox namespace and says what happened, in one word:
`reached` (an answer came back), `rejected` (the network said no at once: ICMP unreachable or a
reset) or `silent` (nothing within the timeout: dropped).

usage: netprobe.py tcp|udp|icmp ADDRESS [PORT] [--source ADDRESS] [--timeout SECONDS]
"""
import argparse
import errno
import os
import socket
import struct
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("protocol", choices=["tcp", "udp", "icmp"])
parser.add_argument("address")
parser.add_argument("port", nargs="?", type=int, default=7000)
parser.add_argument("--source")
parser.add_argument("--timeout", type=float, default=1.5)
arguments = parser.parse_args()
family = socket.AF_INET6 if ":" in arguments.address else socket.AF_INET


def bound(kind, protocol=0):
    sock = socket.socket(family, kind, protocol)
    if arguments.source:
        sock.bind((arguments.source, 0))
    sock.settimeout(arguments.timeout)
    return sock


REJECTIONS = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM)


def exchange(kind, talk):
    """Runs `talk(sock)` on a connected socket: reached if it says so, rejected if the network
    refused at once, silent on a timeout."""
    with bound(kind) as sock:
        try:
            sock.connect((arguments.address, arguments.port))
            return "reached" if talk(sock) else "silent"
        except socket.timeout:
            return "silent"
        except OSError as error:
            if error.errno in REJECTIONS:
                return "rejected"
            raise


def tcp():
    return exchange(socket.SOCK_STREAM, lambda sock: sock.recv(64).startswith(b"hello"))


def udp():
    return exchange(socket.SOCK_DGRAM, lambda sock: sock.send(b"probe") and sock.recv(64) == b"probe")


def icmp():
    protocol = socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP
    echo_request, echo_reply = (128, 129) if family == socket.AF_INET6 else (8, 0)
    with bound(socket.SOCK_RAW, protocol) as sock:
        identifier = os.getpid() & 0xFFFF
        header = struct.pack("!BBHHH", echo_request, 0, 0, identifier, 1)
        payload = b"porthole-probe"
        if family == socket.AF_INET:
            total = sum(struct.unpack("!%dH" % ((len(header) + len(payload)) // 2), header + payload))
            total = (total >> 16) + (total & 0xFFFF)
            total += total >> 16
            header = struct.pack("!BBHHH", echo_request, 0, ~total & 0xFFFF, identifier, 1)
        try:
            sock.sendto(header + payload, (arguments.address, 0))
        except OSError as error:
            if error.errno in REJECTIONS:
                return "rejected"
            raise
        deadline = time.monotonic() + arguments.timeout
        while time.monotonic() < deadline:
            sock.settimeout(max(deadline - time.monotonic(), 0.01))
            try:
                packet = sock.recv(2048)
            except socket.timeout:
                return "silent"
            message = packet[20:] if family == socket.AF_INET else packet
            if len(message) >= 8 and message[0] == echo_reply and struct.unpack("!H", message[4:6])[0] == identifier:
                return "reached"
            if len(message) >= 1 and message[0] in ((3,) if family == socket.AF_INET else (1,)):
                return "rejected"
        return "silent"


print({"tcp": tcp, "udp": udp, "icmp": icmp}[arguments.protocol]())
