"""The Daytona SDK from PyPI (`pip install daytona`), unchanged, against Porthole's /api: the
network-limits and preview documentation's examples, each a scenario. Prints one JSON object of
what it observed; the Swift test decides what is right.

usage: daytona_sdk.py SCENARIO API_URL CA_FILE HTTPS_PORT UPSTREAM_PORT
The API key comes from DAYTONA_API_KEY, as in the documentation.
"""
import asyncio
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from daytona import (
    AsyncDaytona,
    CreateSandboxFromSnapshotParams,
    Daytona,
    DaytonaConfig,
    DaytonaError,
    ListSandboxesQuery,
)

scenario, api_url, ca_file, https_port, upstream_port = sys.argv[1:6]
https_port = int(https_port)
upstream_port = int(upstream_port)


def fetch(url, headers=None):
    """GET through Porthole's HTTPS listener: the preview URL's host goes in SNI and Host, the
    connection goes to 127.0.0.1 (no resolver needed for *.preview.localhost)."""
    parts = urlsplit(url)
    context = ssl.create_default_context(cafile=ca_file)
    with socket.create_connection(("127.0.0.1", https_port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname=parts.hostname) as tls:
            target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
            lines = [f"GET {target} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close", "Accept: application/json"]
            lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
            tls.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            data = b""
            while chunk := tls.recv(65536):
                data += chunk
    return int(data.split(b" ", 2)[1])


def error(call):
    """Runs `call`, which must fail: the SDK's exception class and status code."""
    try:
        call()
    except DaytonaError as exc:
        return {"class": type(exc).__name__, "status": exc.status_code, "message": str(exc)}
    return {"class": None}


def port_url(url, port):
    """The preview URL of `port` turned into the upstream's: the tests' sandbox serves one port."""
    return url.replace(f"https://{port}-", f"https://{upstream_port}-", 1)


def place(sandbox_id, seen):
    """The platform's orchestrator: once the sandbox exists, sets its address through /v1."""
    base = api_url.rsplit("/api", 1)[0] + "/v1/sandboxes/" + sandbox_id
    headers = {"Authorization": "Bearer " + os.environ["DAYTONA_API_KEY"], "Content-Type": "application/json"}
    for _ in range(300):
        try:
            with urllib.request.urlopen(urllib.request.Request(base, headers=headers), timeout=5) as response:
                seen["stateBefore"] = json.load(response)["state"]
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
        time.sleep(0.05)
    seen["fetchBefore"] = fetch(f"https://{upstream_port}-{sandbox_id}.preview.localhost:{https_port}/echo")
    patch = urllib.request.Request(base, data=b'{"target": "127.0.0.1"}', headers=headers, method="PATCH")
    with urllib.request.urlopen(patch, timeout=5) as response:
        seen["stateAfterPatch"] = json.load(response)["state"]


def network(sandbox):
    """`networkBlockAll networkAllowList state`, e.g. `true null started`."""
    block_all = "true" if sandbox.network_block_all else "false"
    allow_list = sandbox.network_allow_list if sandbox.network_allow_list is not None else "null"
    return f"{block_all} {allow_list} {sandbox.state.value}"


def run(daytona):
    out = {}
    if scenario == "network":
        # Network limits documentation: block all, an allow list, the defaults.
        blocked = daytona.create(CreateSandboxFromSnapshotParams(network_block_all=True))
        out["blockAll"] = network(blocked)
        allowed = daytona.create(CreateSandboxFromSnapshotParams(
            network_allow_list="208.80.154.232/32,199.16.156.103/32,192.168.1.0/24"))
        out["allowList"] = network(allowed)
        default = daytona.create()
        out["default"] = network(default)
        # Changing them later (Daytona's semantics: a list turns block-all off, "" clears it).
        blocked.update_network_settings(network_allow_list="10.0.0.0/8")
        blocked.refresh_data()
        out["updated"] = network(blocked)
        blocked.update_network_settings(network_allow_list="", network_block_all=True)
        blocked.refresh_data()
        out["blockedAgain"] = network(blocked)
        out["badCIDR"] = error(lambda: daytona.create(CreateSandboxFromSnapshotParams(network_allow_list="10.0.0.300/8")))
        six = ",".join(f"10.{i}.0.0/16" for i in range(6))
        out["sixCIDRs"] = error(lambda: daytona.create(CreateSandboxFromSnapshotParams(network_allow_list=six)))
        for sandbox in (blocked, allowed, default):
            daytona.delete(sandbox)
    elif scenario == "preview":
        private = daytona.create(CreateSandboxFromSnapshotParams(public=False))
        links = {port: private.get_preview_link(port) for port in (3000, 8000, 5050)}
        out["links"] = {str(port): link.url for port, link in links.items()}
        out["tokensEqual"] = len({link.token for link in links.values()}) == 1
        link = links[3000]
        url = port_url(link.url, 3000)
        out["withToken"] = fetch(url + "/echo", {"X-Daytona-Preview-Token": link.token})
        out["withPreviewTokenHeader"] = fetch(url + "/echo", {"X-Preview-Token": link.token})
        out["withoutToken"] = fetch(url + "/echo")
        out["queryAlias"] = fetch(url + "/echo?DAYTONA_SANDBOX_AUTH_KEY=" + link.token)
        # set_public + refresh_data.
        private.set_public(True)
        out["publicAfterSet"] = private.public
        private.refresh_data()
        out["publicAfterRefresh"] = private.public
        out["publicWithoutToken"] = fetch(url + "/echo")
        private.set_public(False)
        # Signed preview URLs: work until expired.
        signed = private.create_signed_preview_url(upstream_port, expires_in_seconds=120)
        out["signedPort"] = signed.port
        out["signedBefore"] = fetch(signed.url.replace("/?", "/echo?"))
        private.expire_signed_preview_url(upstream_port, signed.token)
        out["signedAfter"] = fetch(signed.url.replace("/?", "/echo?"))
        daytona.delete(private)
    elif scenario == "labels":
        first = daytona.create(CreateSandboxFromSnapshotParams(labels={"team": "docs", "env": "dev"}))
        second = daytona.create(CreateSandboxFromSnapshotParams(labels={"team": "docs", "env": "prod"}))
        out["setLabels"] = first.set_labels({"team": "docs", "env": "dev", "owner": "ada"})
        listed = [s.id for s in daytona.list(ListSandboxesQuery(labels={"team": "docs", "env": "dev"}))]
        out["listedDev"] = [first.id in listed, second.id in listed]
        out["listedTeam"] = sorted(s.id for s in daytona.list(ListSandboxesQuery(labels={"team": "docs"}))) == sorted([first.id, second.id])
        out["got"] = daytona.get(first.id).labels.get("owner")
        daytona.delete(first)
        daytona.delete(second)
        out["deletedState"] = str(daytona._sandbox_api.get_sandbox(first.id).state.value)
    elif scenario == "errors":
        out["unknownID"] = error(lambda: daytona.get("no-such-sandbox"))
        out["exec"] = None
        sandbox = daytona.create()
        try:
            sandbox.process.exec("echo hi")
        except DaytonaError as exc:
            out["exec"] = {"class": type(exc).__name__, "status": exc.status_code, "message": str(exc)}
        daytona.delete(sandbox)
    elif scenario == "wrong-key":
        out["wrongKey"] = error(lambda: daytona.create())
    elif scenario == "creating":
        # No target label and no --default-target: the sandbox waits in "creating" and the SDK
        # polls, until the orchestrator (here a thread) sets its target through /v1.
        seen = {}
        orchestrator = threading.Thread(target=place, args=("waits-for-target", seen))
        orchestrator.start()
        placed = daytona.create(CreateSandboxFromSnapshotParams(name="waits-for-target", public=True), timeout=30)
        orchestrator.join()
        out.update(seen)
        out["created"] = placed.state.value
        out["fetchAfter"] = fetch(f"https://{upstream_port}-waits-for-target.preview.localhost:{https_port}/echo")
        labelled = daytona.create(CreateSandboxFromSnapshotParams(labels={"porthole.dev/target": "127.0.0.1"}))
        out["labelled"] = labelled.state.value
        link = labelled.get_preview_link(upstream_port)
        out["labelledFetch"] = fetch(link.url + "/echo", {"X-Daytona-Preview-Token": link.token})
    elif scenario == "organization":
        # DAYTONA_API_KEY is a key of a tier-2 organisation: its network limits are the tier's.
        out["blockAll"] = error(lambda: daytona.create(CreateSandboxFromSnapshotParams(network_block_all=True)))
        out["allowList"] = error(lambda: daytona.create(CreateSandboxFromSnapshotParams(network_allow_list="10.0.0.0/8")))
        # Where previews go is the platform's to say, not a key's.
        out["targetLabel"] = error(lambda: daytona.create(CreateSandboxFromSnapshotParams(labels={"porthole.dev/target": "10.0.0.1"})))
        own = daytona.create()
        out["ownOrganization"] = own.organization_id
        out["update"] = error(lambda: own.update_network_settings(network_block_all=True))
        # It sees its organisation's sandboxes only: another's is "not found".
        out["listed"] = [sandbox.id == own.id for sandbox in daytona.list()]
        out["other"] = error(lambda: daytona.get(os.environ["OTHER_SANDBOX"]))
        link = own.get_preview_link(upstream_port)
        out["fetch"] = fetch(link.url + "/echo", {"X-Daytona-Preview-Token": link.token})
        revoked = Daytona(DaytonaConfig(api_url=api_url, api_key=os.environ["REVOKED_KEY"]))
        out["revoked"] = error(lambda: revoked.get(own.id))
        daytona.delete(own)
    print(json.dumps(out))


async def run_async():
    out = {}
    async with AsyncDaytona(DaytonaConfig(api_url=api_url, api_key=os.environ["DAYTONA_API_KEY"])) as daytona:
        sandbox = await daytona.create(CreateSandboxFromSnapshotParams(network_block_all=True))
        out["blockAll"] = sandbox.network_block_all
        link = await sandbox.get_preview_link(upstream_port)
        out["fetch"] = await asyncio.to_thread(fetch, link.url + "/echo", {"X-Daytona-Preview-Token": link.token})
        await sandbox.update_network_settings(network_allow_list="192.168.1.0/24")
        await sandbox.refresh_data()
        out["updated"] = network(sandbox)
        await daytona.delete(sandbox)
        # Older SDKs read a deleted sandbox again and wait for "destroyed".
        gone = await daytona.get(sandbox.id)
        out["afterDelete"] = str(gone.state.value)
    print(json.dumps(out))


if scenario == "async":
    asyncio.run(run_async())
else:
    # The documentation's way: DAYTONA_API_URL and DAYTONA_API_KEY in the environment.
    os.environ["DAYTONA_API_URL"] = api_url
    run(Daytona())
