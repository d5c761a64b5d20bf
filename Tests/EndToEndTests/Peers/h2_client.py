"""A deliberately impolite HTTP/2 client for the end-to-end tests, built on the `h2` package with
its own checks turned off, so it can send what browsers never would. It connects over TLS with
ALPN h2, runs one scenario and prints its outcome as one JSON object.

Usage: h2_client.py SCENARIO CA_FILE PORT HOST [ARG]
  request PATH           GET (or POST with the body in $H2_BODY, sent without a length) and print
                         status, headers and body; extra fields from $H2_HEADERS (JSON pairs);
                         with $H2_WAIT_FOR_SETTINGS, only once the server's SETTINGS are acknowledged.
  malformed              send each header block of $H2_BLOCKS (JSON list of lists of pairs) on a
                         stream of its own; print for each the status or the reset code.
  concurrent N           open N streams to PATH $H2_PATH at once and hold them; print statuses and
                         refused streams.
  rapid-reset N          open and at once reset N streams (CVE-2023-44487); print how it ended.
  continuation-flood N   one HEADERS without END_HEADERS and N CONTINUATION frames.
  ping-flood N           N PING frames.
  settings-flood N       N SETTINGS frames.
  idle [no-streams]      one request (or none), then wait for the server to end the connection.
  hpack-table SIZE       a request whose header block resizes the HPACK table to SIZE.
  stall PATH             GET PATH on a connection that grants no flow-control window; print how
                         the stream ended and when.
  websocket PATH         a WebSocket over HTTP/2 (RFC 8441 extended CONNECT): send each message of
                         $H2_MESSAGES (JSON list) as a text frame, print the status and the echoes;
                         extra fields from $H2_HEADERS.
"""
import json
import os
import socket
import ssl
import sys
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from hyperframe.frame import ContinuationFrame, HeadersFrame, PingFrame, SettingsFrame


class Client:
    def __init__(self, ca_file, port, host, initial_window=None):
        context = ssl.create_default_context(cafile=ca_file)
        context.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
        self.sock = context.wrap_socket(raw, server_hostname=host)
        if self.sock.selected_alpn_protocol() != "h2":
            raise SystemExit(json.dumps({"error": "no h2", "alpn": self.sock.selected_alpn_protocol()}))
        config = h2.config.H2Configuration(
            client_side=True, validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False, header_encoding="utf-8",
        )
        self.conn = h2.connection.H2Connection(config=config)
        if initial_window is not None:
            # A client that grants no window: nothing of any response body may be sent to it.
            self.conn.local_settings = h2.settings.Settings(
                client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: initial_window})
        self.conn.initiate_connection()
        self.flush()
        self.host = host
        self.port = port
        self.goaway = None
        self.closed = False
        self.streams = {}
        self.settings_received = False

    def authority(self):
        return f"{self.host}:{self.port}"

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def send_raw(self, data):
        try:
            self.sock.sendall(data)
        except OSError:
            self.closed = True

    def stream(self, stream_id):
        return self.streams.setdefault(stream_id, {"status": None, "headers": [], "body": b"", "reset": None, "ended": False})

    def pump(self, until, timeout=20):
        """Reads and handles events until `until()` is true, the connection ends or the time is up."""
        deadline = time.monotonic() + timeout
        while not until() and not self.closed and time.monotonic() < deadline:
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except OSError:
                self.closed = True
                break
            if not data:
                self.closed = True
                break
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as error:
                self.closed = True
                self.goaway = self.goaway or f"client-side protocol error: {error}"
                break
            for event in events:
                self.handle(event)
            self.flush()

    def handle(self, event):
        if isinstance(event, h2.events.ResponseReceived) or isinstance(event, h2.events.InformationalResponseReceived):
            stream = self.stream(event.stream_id)
            headers = [(name, value) for name, value in event.headers]
            status = dict(headers).get(":status")
            if isinstance(event, h2.events.ResponseReceived):
                stream["status"] = int(status)
                stream["headers"] = headers
            else:
                stream.setdefault("interim", []).append(int(status))
        elif isinstance(event, h2.events.DataReceived):
            self.stream(event.stream_id)["body"] += event.data
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.stream(event.stream_id)["ended"] = True
        elif isinstance(event, h2.events.StreamReset):
            self.stream(event.stream_id)["reset"] = int(event.error_code)
        elif isinstance(event, h2.events.RemoteSettingsChanged):
            self.settings_received = True
        elif isinstance(event, h2.events.ConnectionTerminated):
            self.goaway = int(event.error_code)
            self.closed = True

    def request(self, path, method="GET", extra=(), body=None):
        stream_id = self.conn.get_next_available_stream_id()
        headers = [(":method", method), (":scheme", "https"), (":authority", self.authority()), (":path", path)] + list(extra)
        self.conn.send_headers(stream_id, headers, end_stream=body is None)
        self.flush()
        self.stream(stream_id)
        if body is not None:
            self.send_body(stream_id, body)
        return stream_id

    def send_body(self, stream_id, body):
        """Sends `body` as the window allows, reading the server's WINDOW_UPDATEs in between."""
        offset = 0
        while offset < len(body) and not self.closed:
            window = min(self.conn.local_flow_control_window(stream_id), self.conn.max_outbound_frame_size)
            if window == 0:
                self.pump(lambda: self.conn.local_flow_control_window(stream_id) > 0 or self.done(stream_id))
                if self.done(stream_id):
                    return
                continue
            self.conn.send_data(stream_id, body[offset:offset + window])
            offset += window
            self.flush()
        self.conn.end_stream(stream_id)
        self.flush()

    def done(self, stream_id):
        stream = self.streams[stream_id]
        return stream["ended"] or stream["reset"] is not None

    def report(self, stream_id):
        stream = self.streams[stream_id]
        return {
            "status": stream["status"],
            "headers": stream["headers"],
            "body": stream["body"].decode("utf-8", "replace"),
            "reset": stream["reset"],
            "ended": stream["ended"],
            "interim": stream.get("interim", []),
        }

    def still_serves(self):
        """After an attack: does a fresh connection still get an answer?"""
        fresh = Client(CA_FILE, self.port, self.host)
        stream_id = fresh.request("/echo")
        fresh.pump(lambda: fresh.done(stream_id))
        return fresh.streams[stream_id]["status"]


def main():
    global CA_FILE
    scenario, CA_FILE, port, host = sys.argv[1:5]
    argument = sys.argv[5] if len(sys.argv) > 5 else None
    client = Client(CA_FILE, port, host, initial_window=0 if scenario == "stall" else None)
    result = {}
    if scenario == "request":
        if os.environ.get("H2_WAIT_FOR_SETTINGS"):
            # Like a client that waits for the server's SETTINGS: its ACK goes out before the request.
            client.pump(lambda: client.settings_received)
        extra = [tuple(pair) for pair in json.loads(os.environ.get("H2_HEADERS", "[]"))]
        body = os.environ.get("H2_BODY")
        stream_id = client.request(argument, "POST" if body is not None else "GET", extra, body.encode() if body is not None else None)
        client.pump(lambda: client.done(stream_id))
        result = client.report(stream_id)
    elif scenario == "malformed":
        outcomes = []
        for block in json.loads(os.environ["H2_BLOCKS"]):
            stream_id = client.conn.get_next_available_stream_id()
            client.conn.send_headers(stream_id, [tuple(pair) for pair in block], end_stream=True)
            client.flush()
            client.stream(stream_id)
            client.pump(lambda: client.done(stream_id))
            report = client.report(stream_id)
            outcomes.append({"status": report["status"], "reset": report["reset"], "body": report["body"]})
            if client.closed:
                break
        result = {"outcomes": outcomes, "goaway": client.goaway}
    elif scenario == "concurrent":
        count = int(argument)
        ids = [client.request(os.environ.get("H2_PATH", "/")) for _ in range(count)]
        client.pump(lambda: all(client.done(i) for i in ids), timeout=30)
        result = {
            "statuses": [client.streams[i]["status"] for i in ids],
            "resets": [client.streams[i]["reset"] for i in ids],
            "goaway": client.goaway,
        }
    elif scenario == "rapid-reset":
        sent = 0
        for _ in range(int(argument)):
            if client.closed:
                break
            stream_id = client.request("/")
            client.conn.reset_stream(stream_id)
            client.flush()
            sent += 1
            if sent % 50 == 0:
                client.pump(lambda: False, timeout=0.01)
        client.pump(lambda: False, timeout=5)
        result = {"sent": sent, "goaway": client.goaway, "closed": client.closed, "fresh": client.still_serves()}
    elif scenario in ("continuation-flood", "ping-flood", "settings-flood"):
        frames = []
        if scenario == "continuation-flood":
            block = client.conn.encoder.encode(
                [(":method", "GET"), (":scheme", "https"), (":authority", client.authority()), (":path", "/")]
            )
            frames.append(HeadersFrame(1, data=block, flags=[]))
            for index in range(int(argument)):
                frames.append(ContinuationFrame(1, data=client.conn.encoder.encode([(f"x-flood-{index}", "a" * 8)]), flags=[]))
        elif scenario == "ping-flood":
            frames = [PingFrame(0, opaque_data=index.to_bytes(8, "big")) for index in range(int(argument))]
        else:
            frames = [SettingsFrame(0, settings={h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 100}) for _ in range(int(argument))]
        # Written straight to the socket: the h2 state machine would refuse to produce them.
        sent = 0
        for frame in frames:
            client.send_raw(frame.serialize())
            if client.closed:
                break
            sent += 1
        # Whatever answer came is read raw: the client's own state machine would choke on it.
        result = {"sent": sent, "goaway": read_goaway(client.sock), "fresh": client.still_serves()}
    elif scenario == "hpack-table":
        # An HPACK dynamic table size update past the server's SETTINGS_HEADER_TABLE_SIZE (4096).
        client.conn.encoder.header_table_size = int(argument)
        client.request("/echo")
        result = {"goaway": read_goaway(client.sock), "fresh": client.still_serves()}
    elif scenario == "stall":
        stream_id = client.request(argument)
        started = time.monotonic()
        client.pump(lambda: client.done(stream_id), timeout=30)
        report = client.report(stream_id)
        result = {"status": report["status"], "reset": report["reset"], "ended": report["ended"],
                  "bodyBytes": len(client.streams[stream_id]["body"]), "seconds": round(time.monotonic() - started, 1)}
    elif scenario == "websocket":
        result = websocket(client, argument)
    elif scenario == "idle":
        status = None
        if argument != "no-streams":
            stream_id = client.request("/echo")
            client.pump(lambda: client.done(stream_id))
            status = client.streams[stream_id]["status"]
        started = time.monotonic()
        client.pump(lambda: False, timeout=30)
        result = {"status": status, "goaway": client.goaway, "closed": client.closed,
                  "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps(result), flush=True)


def websocket_frame(text):
    """A client's text frame, masked as RFC 6455 requires."""
    payload = text.encode()
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    if len(payload) < 126:
        header = bytes([0x81, 0x80 | len(payload)])
    else:
        header = bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    return header + mask + masked


def websocket_messages(data):
    """The server's (unmasked) text frames in `data`; returns (messages, rest)."""
    messages = []
    while len(data) >= 2:
        length = data[1] & 0x7F
        offset = 2
        if length == 126:
            if len(data) < 4:
                break
            length = int.from_bytes(data[2:4], "big")
            offset = 4
        if len(data) < offset + length:
            break
        messages.append(data[offset:offset + length].decode())
        data = data[offset + length:]
    return messages, data


def websocket(client, path):
    extra = [tuple(pair) for pair in json.loads(os.environ.get("H2_HEADERS", "[]"))]
    client.pump(lambda: client.settings_received)
    if not client.conn.remote_settings.enable_connect_protocol:
        return {"error": "the server does not offer extended CONNECT"}
    stream_id = client.conn.get_next_available_stream_id()
    headers = [(":method", "CONNECT"), (":protocol", "websocket"), (":scheme", "https"), (":authority", client.authority()),
               (":path", path), ("sec-websocket-version", "13"), ("origin", f"https://{client.authority()}")] + extra
    client.conn.send_headers(stream_id, headers, end_stream=False)
    client.flush()
    stream = client.stream(stream_id)
    client.pump(lambda: stream["status"] is not None or client.done(stream_id))
    result = {"status": stream["status"], "headers": stream["headers"], "echoes": []}
    if stream["status"] != 200:
        client.pump(lambda: client.done(stream_id))
        result["body"] = stream["body"].decode("utf-8", "replace")
        return result
    for message in json.loads(os.environ.get("H2_MESSAGES", "[]")):
        client.conn.send_data(stream_id, websocket_frame(message))
        client.flush()
        client.pump(lambda: len(websocket_messages(stream["body"])[0]) > len(result["echoes"]) or client.done(stream_id))
        result["echoes"], _ = websocket_messages(stream["body"])
    # Close the client's side; the sandbox's side ends the stream.
    client.conn.end_stream(stream_id)
    client.flush()
    client.pump(lambda: client.done(stream_id), timeout=10)
    result["ended"] = stream["ended"]
    result["reset"] = stream["reset"]
    return result


def read_goaway(sock):
    """Reads frames until the connection ends; returns the error code of the last GOAWAY, if any."""
    data = b""
    sock.settimeout(10)
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    code = None
    index = 0
    while index + 9 <= len(data):
        length = int.from_bytes(data[index:index + 3], "big")
        kind = data[index + 3]
        payload = data[index + 9:index + 9 + length]
        if kind == 7 and len(payload) >= 8:
            code = int.from_bytes(payload[4:8], "big")
        index += 9 + length
    return code


if __name__ == "__main__":
    main()
