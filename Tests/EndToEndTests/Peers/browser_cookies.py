"""Chromium (Debian's, driven by Playwright): one sandbox's app tries to plant cookies on the base
domain; another sandbox's private preview, opened in the same browser, must not notice.

usage: browser_cookies.py PLANTER_ORIGIN VICTIM_ORIGIN VICTIM_TOKEN
Prints one JSON object: the victim's /echo status before and after the planting, the Cookie field
its app received after, the cookies the browser stored for the planter's host, and the protocol
the last page was loaded over (h2 when Porthole offers it).
"""
import json
import sys
import urllib.parse

from playwright.sync_api import sync_playwright

from chromium import launch

planter, victim, token = sys.argv[1:4]


def echo(page):
    response = page.goto(victim + "/echo")
    body = json.loads(page.inner_text("body")) if response.status == 200 else {}
    cookie = [value for name, value in body.get("headers", []) if name.lower() == "cookie"]
    return response.status, cookie


with sync_playwright() as playwright:
    browser = launch(playwright)
    try:
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.goto(victim + "/echo?preview_token=" + urllib.parse.quote(token))
        before, _ = echo(page)
        page.goto(planter + "/plant")
        after, cookie = echo(page)
        stored = [{"name": c["name"], "domain": c["domain"]} for c in context.cookies()]
        protocol = page.evaluate("performance.getEntriesByType('navigation')[0].nextHopProtocol")
        print(json.dumps({"before": before, "after": after, "victimCookie": cookie, "stored": stored, "protocol": protocol}))
    finally:
        browser.close()
