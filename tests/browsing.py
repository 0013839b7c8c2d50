"""What the browser tests share: Debian's Chromium, signing in, a page's script errors, screenshots.

The fixtures `browser` and `base_url` (a real server on a free port) are in conftest.py.
"""
import os
from pathlib import Path

from playwright.sync_api import expect

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}


def sign_in(browser, base_url, username, phone=False, locale=None):
    """A new browser context signed in as `username` (password `demo`), on a phone-sized screen if asked."""
    context = browser.new_context(viewport=PHONE if phone else None, locale=locale)
    page = context.new_page()
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.locator("main").get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("current-user")).to_contain_text(username)
    return page


def problems_of(page) -> list[str]:
    """Script errors and CSP refusals the page reports from now on (an empty list while all is well)."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def screenshot(page, name: str) -> None:
    """Keeps a full-page screenshot under test-artifacts/ for people to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
