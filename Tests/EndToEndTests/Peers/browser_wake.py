"""Chromium (Debian's, driven by Playwright) opens the preview of a stopped sandbox that Porthole
wakes through the platform's webhook: the first answer is Porthole's "starting" page, which reloads
itself until the app answers.

usage: browser_wake.py PREVIEW_ORIGIN SCREENSHOT_PATH
Prints one JSON object: the first answer's status and title, and the title the page ended on.
"""
import json
import sys

from playwright.sync_api import sync_playwright

from chromium import launch

origin, screenshot = sys.argv[1:3]

with sync_playwright() as playwright:
    browser = launch(playwright)
    try:
        page = browser.new_context(ignore_https_errors=True).new_page()
        response = page.goto(origin + "/")
        first = {"status": response.status, "title": page.title()}
        page.screenshot(path=screenshot)
        # The page's own Refresh brings the app once the sandbox runs; the app's page then opens
        # its WebSocket and puts the echo into the title.
        page.wait_for_function("document.title.startsWith('echo:')", timeout=30000)
        print(json.dumps({"first": first, "final": page.title()}))
    finally:
        browser.close()
