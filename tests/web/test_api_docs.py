"""The browsable API docs work with no network: Swagger UI's assets come from Ingot itself."""
from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.support.browser import WAIT

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def test_docs_page_renders_the_operations_offline(browser, server):
    context = browser.new_context(base_url=server.url)
    blocked: list[str] = []

    def only_loopback(route):
        host = urlsplit(route.request.url).hostname or ""
        if host in LOOPBACK or host.startswith("127."):
            route.continue_()
        else:  # what a control plane without internet would see: nothing answers
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_loopback)
    try:
        page = context.new_page()
        page.goto("/metal/v1/docs")
        actions = page.locator(".opblock-summary-path", has_text="/metal/v1/devices/{device_id}/actions")
        expect(actions.first).to_be_visible(timeout=WAIT)
        assert page.locator(".opblock").count() > 50
        # an operation's description and a request field's description are shown too
        actions.first.click()
        expect(page.get_by_text("the engine then drives the machine step by step")).to_be_visible(timeout=WAIT)
        assert blocked == [], blocked  # nothing was even asked of the internet
    finally:
        context.close()
