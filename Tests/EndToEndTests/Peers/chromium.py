"""The one way the browser tests start Chromium: Debian's build (or $CHROMIUM) driven by
Playwright, since Playwright's own browser download does not work here."""
import os


def launch(playwright):
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
