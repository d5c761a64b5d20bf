"""WebSocket client for the end-to-end tests: connects through the proxy over TLS, sends each
argument as a message, prints each echoed reply on its own line, then closes cleanly.
Usage: websocket_client.py URL CA_FILE HOST_IP PORT [messages...]  (headers from env WS_HEADERS as JSON)"""
import asyncio
import json
import os
import ssl
import sys


async def main():
    import websockets

    url, ca_file, ip, port = sys.argv[1:5]
    messages = sys.argv[5:]
    context = ssl.create_default_context(cafile=ca_file)
    headers = json.loads(os.environ.get("WS_HEADERS", "{}"))
    host = url.split("/")[2].split(":")[0]
    sock_args = {"host": ip, "port": int(port), "server_hostname": host}
    try:
        async with websockets.connect(url, ssl=context, additional_headers=headers, max_size=None, **sock_args) as ws:
            for message in messages:
                if message == "@hold":
                    # Stay open until the proxy closes the tunnel, then say how it ended.
                    print("holding", flush=True)
                    try:
                        await asyncio.wait_for(ws.recv(), 60)
                    except websockets.exceptions.ConnectionClosed as closed:
                        print(f"closed {closed.rcvd.code if closed.rcvd else 'abnormal'}", flush=True)
                    continue
                if message.startswith("@big:"):
                    payload = "x" * int(message[5:])
                    await ws.send(payload)
                    reply = await asyncio.wait_for(ws.recv(), 20)
                    print(f"big {len(reply)} {reply == payload}", flush=True)
                else:
                    await ws.send(message)
                    print(await asyncio.wait_for(ws.recv(), 20), flush=True)
    except websockets.exceptions.InvalidStatus as error:
        print(f"status {error.response.status_code}", flush=True)


asyncio.run(main())
