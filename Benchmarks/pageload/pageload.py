"""Loads a page in headless Chromium (Debian's, through Playwright) several times, each in a fresh
browser context (cold cache, new connections), and prints one JSON line: the median time to the
`load` event after the page's script ran, the median bytes on the wire and the protocol used.

usage: pageload.py URL --loads 5 [--resolve-to ADDRESS] [--rtt-ms 40 --mbit 50]

The link is emulated by Chromium itself (DevTools `Network.emulateNetworkConditions`: each request
waits one round trip before its response starts, and bytes flow at the given rate), because the
kernels here have no netem qdisc. Request-level, as Lighthouse's DevTools throttling: it models
what differs between the proxies (requests queued on six HTTP/1.1 connections or multiplexed on
one h2 connection, compressed or not) but not TCP's slow start or packet-level effects.
"""
import argparse
import json
import os
import statistics

from playwright.sync_api import sync_playwright

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("--loads", type=int, default=5)
parser.add_argument("--resolve-to", default="")
parser.add_argument("--rtt-ms", type=float, default=0)
parser.add_argument("--mbit", type=float, default=0)
args = parser.parse_args()

flags = ["--no-sandbox", "--ignore-certificate-errors"]
if args.resolve_to:
    flags.append(f"--host-resolver-rules=MAP * {args.resolve_to}")

MEASURE = """() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const resources = performance.getEntriesByType('resource');
    const bytes = nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0);
    return {loadMs: nav.loadEventEnd - nav.startTime, bytes, protocol: nav.nextHopProtocol,
            resources: resources.length, title: document.title};
}"""

results = []
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"), args=flags)
    try:
        for _ in range(args.loads + 1):
            context = browser.new_context(ignore_https_errors=True)
            page = context.new_page()
            # The default buffer holds 250 entries; the app loads more than 300 resources.
            page.add_init_script("performance.setResourceTimingBufferSize(5000)")
            if args.rtt_ms or args.mbit:
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                rate = args.mbit * 1_000_000 / 8 if args.mbit else -1
                cdp.send("Network.emulateNetworkConditions",
                         {"offline": False, "latency": args.rtt_ms, "downloadThroughput": rate, "uploadThroughput": rate})
            page.goto(args.url, wait_until="load", timeout=120000)
            page.wait_for_function("document.title.startsWith('loaded')", timeout=120000)
            results.append(page.evaluate(MEASURE))
            context.close()
    finally:
        browser.close()
# The first load also pays for the browser's own start-up work: not counted.
measured = results[1:]
print(json.dumps({
    "loadMs": statistics.median(r["loadMs"] for r in measured),
    "loadsMs": [round(r["loadMs"]) for r in measured],
    "bytes": statistics.median(r["bytes"] for r in measured),
    "protocol": measured[0]["protocol"],
    "resources": measured[0]["resources"],
    "title": measured[0]["title"],
}))
