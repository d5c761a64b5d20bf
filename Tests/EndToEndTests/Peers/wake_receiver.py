"""The platform's side of Porthole's wake webhook, for the end-to-end tests: checks each call's
signature, answers 204, then starts the sandbox through Porthole's admin API, as an orchestrator
would once the sandbox is up. Prints `ready <port>`.

usage: wake_receiver.py SECRET
  POST /wake        the webhook: X-Porthole-Signature must be t=<unix>,v1=<hex HMAC-SHA256 of
                    "<t>.<body>"> with SECRET, t within 5 minutes; else 401
  POST /configure   {"adminUrl", "adminToken"}: where to start sandboxes (known once Porthole runs)
  GET /calls        JSON list of the verified calls' bodies
"""
import hashlib
import hmac
import json
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

secret = sys.argv[1].encode()
calls = []
admin = {}
lock = threading.Lock()


def start_sandbox(sandbox_id):
    request = urllib.request.Request(
        f"{admin['adminUrl']}/v1/sandboxes/{sandbox_id}",
        data=json.dumps({"state": "started"}).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {admin['adminToken']}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).read()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        with lock:
            self.answer(200, json.dumps(calls).encode())

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/configure":
            admin.update(json.loads(body))
            return self.answer(204)
        fields = dict(part.split("=", 1) for part in self.headers.get("X-Porthole-Signature", "").split(",") if "=" in part)
        expected = hmac.new(secret, fields.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = fields.get("t", "").isdigit() and abs(time.time() - int(fields["t"])) < 300
        if not fresh or not hmac.compare_digest(expected, fields.get("v1", "")):
            return self.answer(401)
        call = json.loads(body)
        with lock:
            calls.append(call)
        self.answer(204)
        # Start it a moment later, as an orchestrator would once the sandbox is up.
        threading.Timer(0.5, start_sandbox, [call["sandboxId"]]).start()


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
threading.Thread(target=server.serve_forever, daemon=True).start()
print(f"ready {server.server_address[1]}", flush=True)
sys.stdin.read()
