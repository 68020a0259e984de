"""Debian's Chromium driven by Playwright for the browser tests (the console, the API docs page):
its launch arguments, the generous wait, and ``Console``, pages signed in to a real Ingot server."""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "web" / "artifacts"  # screenshots of the main pages (gitignored)
CHROMIUM = "/usr/bin/chromium"  # Debian's (make system-deps); Playwright's own download cannot work here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT = 90_000  # ms: generous, so a loaded machine only makes the tests slower, never red


class Console:
    """Browser pages on one server; records every JavaScript dialog (none may open)."""

    def __init__(self, browser: Browser, server, name: str):
        self.browser, self.server, self.name = browser, server, name
        self.dialogs: list[str] = []
        self.contexts = []

    def page(self, width: int = 1280, height: int = 860) -> Page:
        context = self.browser.new_context(viewport={"width": width, "height": height}, base_url=self.server.url)
        context.set_default_timeout(30_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("dialog", self._dialog)
        return page

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def sign_in(self, page: Page, email: str, password: str) -> None:
        page.goto("/")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible(timeout=WAIT)

    def sign_in_member(self, page: Page) -> None:
        t = self.server.demo_tokens
        self.sign_in(page, t["member_email"], t["member_password"])

    def sign_in_operator(self, page: Page) -> None:
        t = self.server.demo_tokens
        self.sign_in(page, t["operator_email"], t["operator_password"])

    def shot(self, page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def close(self) -> None:
        for c in self.contexts:
            c.close()
