"""Asks a DNS server for a name's A records from inside a sandbox namespace and prints, in one
line, `NOERROR 198.51.100.10,...`, `REFUSED`, `SERVFAIL`, ... or `silent` (no answer in time).

usage: dnsprobe.py NAME SERVER [--tcp] [--timeout SECONDS]
"""
import argparse
import random
import socket
import struct

parser = argparse.ArgumentParser()
parser.add_argument("name")
parser.add_argument("server")
parser.add_argument("--tcp", action="store_true")
parser.add_argument("--timeout", type=float, default=2)
arguments = parser.parse_args()

identifier = random.randrange(65536)
question = b"".join(bytes([len(label)]) + label.encode() for label in arguments.name.rstrip(".").split(".")) + b"\0"
query = struct.pack("!HHHHHH", identifier, 0x0100, 1, 0, 0, 0) + question + struct.pack("!HH", 1, 1)
family = socket.AF_INET6 if ":" in arguments.server else socket.AF_INET

try:
    if arguments.tcp:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(arguments.timeout)
            sock.connect((arguments.server, 53))
            sock.sendall(struct.pack("!H", len(query)) + query)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
            answer = data[2:]
    else:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(arguments.timeout)
            sock.sendto(query, (arguments.server, 53))
            answer, _ = sock.recvfrom(4096)
except (socket.timeout, ConnectionRefusedError, OSError):
    print("silent")
    raise SystemExit(0)


def skip_name(data, offset):
    while True:
        length = data[offset]
        if length & 0xC0 == 0xC0:
            return offset + 2
        if length == 0:
            return offset + 1
        offset += 1 + length


ident, flags, qd, an, _, _ = struct.unpack("!HHHHHH", answer[:12])
codes = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
code = codes.get(flags & 0xF, str(flags & 0xF))
offset = 12
for _ in range(qd):
    offset = skip_name(answer, offset) + 4
addresses = []
for _ in range(an):
    offset = skip_name(answer, offset)
    rtype, _, _, length = struct.unpack("!HHIH", answer[offset:offset + 10])
    offset += 10
    if rtype == 1 and length == 4:
        addresses.append(socket.inet_ntoa(answer[offset:offset + 4]))
    offset += length
print(code + (" TC" if flags & 0x0200 else "") + (" " + ",".join(addresses) if addresses else ""))
