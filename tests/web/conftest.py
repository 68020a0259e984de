"""Browser fixtures: the console built (make web), Debian's Chromium driven by Playwright,
and pages signed in to a real Ingot server (tests/conftest.py's ``server``: the demo lab)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots of the main pages (gitignored)
CHROMIUM = "/usr/bin/chromium"  # Debian's (make system-deps); Playwright's own download cannot work here
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT = 90_000  # ms: generous, so a loaded machine only makes the tests slower, never red


@pytest.fixture(scope="session")
def console_built() -> None:
    """The console's assets, built when their sources changed (as make test does first)."""
    subprocess.run(["make", "--no-print-directory", "web"], cwd=ROOT, check=True)


@pytest.fixture(scope="session")
def browser(console_built) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make system-deps` (Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


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


@pytest.fixture
def console(browser, server, request) -> Console:
    c = Console(browser, server, request.node.name)
    yield c
    c.close()
