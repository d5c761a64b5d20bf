"""A real upstream for the end-to-end tests: an HTTP/1.1 keep-alive server and a WebSocket echo
server on 127.0.0.1, ephemeral ports. Prints `ready <http_port> <ws_port>` once both listen.

Endpoints (any method):
  /echo           JSON of what arrived: method, target, version, headers, body length and sha256
  /big?bytes=N    N deterministic bytes with Content-Length
  /chunked?n=N    N chunks of "chunk-<i>\n", chunked transfer coding
  /sse            text/event-stream: one event, then waits for /sse-release, then one more and ends
  /sse-release    lets the waiting /sse stream finish
  /slow           waits 30 s before answering (response-timeout and connection-cap tests)
  /slow-count     JSON {"waiting": N}: how many /slow requests are being held right now
  /close          body delimited by closing the connection (no Content-Length)
  /status?code=N  answers with that status and no body
  /keepalive-close answers, then closes the idle connection right away (retry tests)
  /cors-echo      like /echo, with Access-Control-Allow-Origin set to the request's Origin (an app
                  that lets other origins read its answers)
  /bighead?bytes=N a 200 whose head carries N bytes of extra header fields, sent in one write
  /plant          an HTML page whose Set-Cookie fields name the base domain (Domain=preview.localhost)
  /embed?src=URL  an HTML page (a platform's dashboard) that shows URL in an iframe
  /seen?path=P    JSON {"count": N}: how many requests for path P arrived (any endpoint, any method),
                  so a test can prove that something never reached the sandbox

The WebSocket port echoes every message, and behaves like a dev server (Jupyter, Streamlit): a
handshake whose Origin does not name the Host it was sent to is refused with 403, and plain
GETs get a page that opens a WebSocket to its own host (`/`), or a redirect built from Host
(`/redirect` -> `http://<Host>/landed`).
"""
import asyncio
import hashlib
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

release_sse = threading.Event()
connections = {"count": 0}
slow_waiting = {"count": 0}
slow_lock = threading.Lock()
lock = threading.Lock()
seen = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with lock:
            connections["count"] += 1

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            digest = hashlib.sha256()
            total = 0
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return total, digest.hexdigest()
                remaining = size
                while remaining:
                    piece = self.rfile.read(min(remaining, 1 << 16))
                    digest.update(piece)
                    remaining -= len(piece)
                total += size
                self.rfile.readline()
        length = int(self.headers.get("Content-Length", "0"))
        digest = hashlib.sha256()
        remaining = length
        while remaining:
            piece = self.rfile.read(min(remaining, 1 << 16))
            if not piece:
                break
            digest.update(piece)
            remaining -= len(piece)
        return length, digest.hexdigest()

    def send_bytes(self, status, body, content_type="application/octet-stream", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path != "/seen":
            with lock:
                seen[url.path] = seen.get(url.path, 0) + 1
        if url.path == "/seen":
            self.read_body()
            with lock:
                count = seen.get(query.get("path", [""])[0], 0)
            self.send_bytes(200, json.dumps({"count": count}).encode(), "application/json")
        elif url.path in ("/echo", "/cors-echo"):
            length, digest = self.read_body()
            body = json.dumps({
                "method": self.command,
                "target": self.path,
                "version": self.request_version,
                "headers": [[k, v] for k, v in self.headers.items()],
                "bodyLength": length,
                "bodySHA256": digest,
                "connections": connections["count"],
            }).encode()
            extra = []
            if url.path == "/cors-echo" and self.headers.get("Origin"):
                extra = [("Access-Control-Allow-Origin", self.headers["Origin"]), ("Vary", "Origin")]
            self.send_bytes(200, body, "application/json", extra)
        elif url.path == "/plant":
            # An app that tries to set cookies for every sandbox under the base domain.
            extra = [
                ("Set-Cookie", "planted=1; Domain=preview.localhost; Path=/"),
                ("Set-Cookie", "porthole_session=forged; Domain=preview.localhost; Path=/"),
                ("Set-Cookie", "__Host-porthole_session=forged; Domain=preview.localhost; Path=/; Secure"),
            ]
            self.send_bytes(200, b"<!doctype html><title>planted</title><p>planted</p>", "text/html; charset=utf-8", extra)
        elif url.path == "/embed":
            # A dashboard of another site that shows a preview in a frame.
            src = parse_qs(url.query).get("src", [""])[0].replace('"', "%22")
            page = f'<!doctype html><title>dashboard</title><h1>dashboard</h1><iframe id="preview" src="{src}" width="600" height="200"></iframe>'
            self.send_bytes(200, page.encode(), "text/html; charset=utf-8")
        elif url.path == "/bighead":
            self.read_body()
            size = int(query.get("bytes", ["70000"])[0])
            fields = "".join(f"X-Filler-{i}: {'f' * 90}\r\n" for i in range(size // 104 + 1))
            head = f"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{fields}\r\n".encode()
            self.wfile.write(head + b"ok")
            self.wfile.flush()
        elif url.path == "/big":
            self.read_body()
            size = int(query.get("bytes", ["1048576"])[0])
            pattern = bytes(range(256))
            body = (pattern * (size // 256 + 1))[:size]
            self.send_bytes(200, body)
        elif url.path == "/chunked":
            self.read_body()
            count = int(query.get("n", ["3"])[0])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(count):
                data = f"chunk-{i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/sse":
            self.read_body()
            release_sse.clear()
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            first = b"data: first\n\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(first), first))
            self.wfile.flush()
            release_sse.wait(20)
            second = b"data: second\n\n"
            self.wfile.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(second), second))
        elif url.path == "/sse-release":
            self.read_body()
            release_sse.set()
            self.send_bytes(200, b"released", "text/plain")
        elif url.path == "/slow":
            self.read_body()
            with slow_lock:
                slow_waiting["count"] += 1
            try:
                time.sleep(30)
            finally:
                with slow_lock:
                    slow_waiting["count"] -= 1
            self.send_bytes(200, b"late", "text/plain")
        elif url.path == "/slow-count":
            self.read_body()
            with slow_lock:
                body = json.dumps({"waiting": slow_waiting["count"]}).encode()
            self.send_bytes(200, body, "application/json")
        elif url.path == "/close":
            self.read_body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until-close body")
            self.close_connection = True
        elif url.path == "/status":
            self.read_body()
            code = int(query.get("code", ["204"])[0])
            self.send_response(code)
            if code not in (204, 304):
                self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/keepalive-close":
            self.read_body()
            body = json.dumps({"connections": connections["count"]}).encode()
            self.send_bytes(200, body, "application/json")
            self.wfile.flush()
            # Close without saying so: the proxy's pooled connection dies while idle.
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
        else:
            self.send_bytes(404, b"no such test endpoint", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

    def do_HEAD(self):
        self.handle_any()


SOCKET_PAGE = """<!doctype html><title>connecting</title>
<p id="state">connecting</p>
<script>
const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/");
socket.onopen = () => socket.send("hello from the page");
socket.onmessage = (event) => { document.title = "echo: " + event.data; state.textContent = document.title; };
socket.onerror = () => { document.title = "refused"; state.textContent = "the WebSocket was refused"; };
</script>"""

LANDED_PAGE = "<!doctype html><title>landed</title><p>landed after the redirect</p>"


async def websocket_main(ready):
    import websockets

    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    def like_a_dev_server(connection, request):
        host = request.headers.get("Host", "")
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            if request.path.startswith("/redirect"):
                response = connection.respond(302, "moved\n")
                response.headers["Location"] = f"http://{host}/landed"
                return response
            response = connection.respond(200, LANDED_PAGE if request.path.startswith("/landed") else SOCKET_PAGE)
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "text/html; charset=utf-8"
            return response
        origin = request.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return connection.respond(403, f"Origin {origin} does not match Host {host}\n")
        return None

    server = await websockets.serve(echo, "127.0.0.1", 0, max_size=None, process_request=like_a_dev_server)
    ready.append(server.sockets[0].getsockname()[1])
    await asyncio.Future()


def main():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    ready = []
    loop = asyncio.new_event_loop()
    threading.Thread(target=lambda: loop.run_until_complete(websocket_main(ready)), daemon=True).start()
    while not ready:
        time.sleep(0.01)
    print(f"ready {httpd.server_address[1]} {ready[0]}", flush=True)
    # Exit when the test closes our stdin (or dies): never outlive the test.
    sys.stdin.read()


if __name__ == "__main__":
    main()
