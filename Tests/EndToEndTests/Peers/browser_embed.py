"""Chromium (Debian's, driven by Playwright) opens a dashboard page of one site that shows a
private preview in an iframe, the way platforms embed previews: the frame is given the preview
URL with ?preview_token=, must render, keep its session across a reload, and open a WebSocket.

usage: browser_embed.py DASHBOARD_URL PREVIEW_ORIGIN TOKEN SCREENSHOT_PATH
The preview is the upstream's WebSocket port, whose page opens a WebSocket to its own host and
puts the echo into its title. Prints one JSON object: the frame's title after the first load
and after a reload (or what stopped it).
"""
import json
import sys
import urllib.parse

from playwright.sync_api import sync_playwright

from chromium import launch

dashboard, origin, token, screenshot = sys.argv[1:5]
src = origin + "/?preview_token=" + urllib.parse.quote(token)


def frame_title(page, timeout=10000):
    """The preview frame's title once its page has its WebSocket answer (or refusal)."""
    try:
        # The app's own element inside the frame: present only if the frame rendered the app.
        page.frame_locator("#preview").locator("#state").wait_for(timeout=timeout)
    except Exception as error:  # blocked by frame-ancestors, a 401 page, …
        return {"error": str(error).splitlines()[0]}
    frame = page.frame(url=lambda url: url.startswith(origin))
    if frame is None:
        return {"error": "no frame of the preview's origin"}
    frame.wait_for_function("document.title !== 'connecting'", timeout=timeout)
    return {"title": frame.title(), "url": frame.url}


with sync_playwright() as playwright:
    browser = launch(playwright)
    try:
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(dashboard + "?src=" + urllib.parse.quote(src, safe=""))
        first = frame_title(page)
        page.screenshot(path=screenshot)
        # Reload the frame on its own (the token is gone from its URL): the session must hold.
        reloaded = {"error": "not reloaded"}
        frame = page.frame(url=lambda url: url.startswith(origin))
        if frame is not None:
            with frame.expect_navigation():
                frame.evaluate("location.reload()")
            reloaded = frame_title(page)
        print(json.dumps({"first": first, "reloaded": reloaded}))
    finally:
        browser.close()
