"""A server of the egress tests' "internet": TCP and UDP echo, port and addresses given on the
command line (`netserver.py PORT ADDRESS...`). TCP listens on every address (dual-stack) and
answers "hello <local address>" at once, then echoes; UDP has one socket per address, so each
answer comes from the address that was asked (a wildcard socket would answer from the
interface's primary address, which a connected client ignores). Prints `ready` once all listen;
exits when its standard input closes (the test ended)."""
import socket
import sys
import threading

port = int(sys.argv[1])
addresses = sys.argv[2:]


def tcp_server():
    server = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("::", port))
    server.listen(64)
    while True:
        connection, _ = server.accept()
        threading.Thread(target=serve, args=(connection,), daemon=True).start()


def serve(connection):
    with connection:
        local = connection.getsockname()[0].removeprefix("::ffff:")
        connection.sendall(f"hello {local}\n".encode())
        connection.settimeout(5)
        try:
            while data := connection.recv(4096):
                connection.sendall(data)
        except OSError:
            pass


def udp_server(server):
    while True:
        data, peer = server.recvfrom(4096)
        server.sendto(data, peer)


for address in addresses:
    udp = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, port))
    threading.Thread(target=udp_server, args=(udp,), daemon=True).start()
threading.Thread(target=tcp_server, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
