"""Creates COUNT sandboxes many0000… through the admin API on one keep-alive connection: every third
with an allow list, every third block-all, the rest open; targets 10.78.x.y.

usage: create_many.py ADMIN_URL TOKEN COUNT
"""
import http.client
import json
import sys

url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = url.removeprefix("http://").split(":")
api = http.client.HTTPConnection(host, int(port))
headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
for i in range(count):
    body = {"id": f"many{i:04d}", "target": f"10.78.{i // 250}.{i % 250 + 1}"}
    if i % 3 == 0:
        body["networkAllowList"] = "198.51.100.0/24"
    if i % 3 == 1:
        body["networkBlockAll"] = True
    api.request("POST", "/v1/sandboxes", json.dumps(body), headers)
    response = api.getresponse()
    response.read()
    if response.status != 201:
        sys.exit(f"{body['id']}: {response.status}")
print("created")
