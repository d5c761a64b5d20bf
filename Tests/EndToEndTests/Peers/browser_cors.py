"""Chromium (Debian's, driven by Playwright) on a page of one origin calls a private preview on
another origin with fetch() and the X-Preview-Token header, as a platform's dashboard does.

usage: browser_cors.py PAGE_URL PREVIEW_URL TOKEN [SCREENSHOT_DIR]
Prints one JSON object: what fetch() saw with the token, and without it. With SCREENSHOT_DIR, also
opens the private preview without a token as a person would and saves what they see there.
"""
import json
import os
import sys

from playwright.sync_api import sync_playwright

from chromium import launch

page_url, preview_url, token = sys.argv[1:4]

CALL = """async ([url, token]) => {
    const headers = {"Content-Type": "application/json"};
    if (token) headers["X-Preview-Token"] = token;
    try {
        const response = await fetch(url, {method: "POST", headers, body: JSON.stringify({hello: "world"})});
        return {status: response.status, body: await response.json()};
    } catch (error) {
        return {error: String(error)};
    }
}"""

with sync_playwright() as playwright:
    browser = launch(playwright)
    try:
        context = browser.new_context(ignore_https_errors=True)
        page = context.new_page()
        page.goto(page_url)
        with_token = page.evaluate(CALL, [preview_url, token])
        without_token = page.evaluate(CALL, [preview_url, ""])
        result = {"origin": page.evaluate("location.origin"), "withToken": with_token, "withoutToken": without_token}
        if len(sys.argv) > 4:
            response = page.goto(preview_url)
            path = os.path.join(sys.argv[4], "private-preview-without-token.png")
            page.screenshot(path=path)
            result["navigation"] = {"status": response.status, "title": page.title(), "screenshot": path}
        print(json.dumps(result))
    finally:
        browser.close()
