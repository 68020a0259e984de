"""Browser fixtures: the console built (make web), Debian's Chromium driven by Playwright,
and pages signed in to a real Ingot server (the ``server`` fixture: the demo lab)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, Console


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


@pytest.fixture
def console(browser, server, request) -> Console:
    c = Console(browser, server, request.node.name)
    yield c
    c.close()
