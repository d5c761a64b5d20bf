"""Chromium (Debian's, driven by Playwright) opens a dev-server-like app through a preview: its
page opens a WebSocket to its own host, which the app refuses unless Origin names the Host it sees,
then follows a redirect the app builds from Host.

usage: browser_hostrewrite.py PREVIEW_ORIGIN SCREENSHOT_DIR
Prints one JSON object: the page's title once the WebSocket answered (or was refused), and where
the redirect landed.
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

from chromium import launch

origin, screenshots = sys.argv[1:3]

with sync_playwright() as playwright:
    browser = launch(playwright)
    try:
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(origin + "/")
        page.wait_for_function("document.title !== 'connecting'", timeout=15000)
        socket_title = page.title()
        page.screenshot(path=os.path.join(screenshots, "host-rewrite-websocket.png"))
        response = page.goto(origin + "/redirect")
        result = {"socket": socket_title, "redirectedTo": page.url, "status": response.status, "title": page.title()}
        print(json.dumps(result))
    finally:
        browser.close()
