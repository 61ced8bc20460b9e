"""Headless Chromium for tests, through Playwright, with the system's browser.

Use the ``page`` fixture (import it into a conftest: ``from browser import page  # noqa``)
or ``open_browser()`` directly. The browser is the Debian ``chromium`` package (or
``$ATTNPRED_CHROMIUM``); Playwright never downloads one. Networking is cut off: every request
that is not for a ``file:`` or ``data:`` URL is aborted and recorded in ``page.blocked``;
console errors and page errors are recorded in ``page.errors``. Where Playwright or the browser
is missing, the tests skip and say why and how to install them.
"""
from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from typing import Iterator

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def chromium_path() -> str | None:
    """The browser executable: $ATTNPRED_CHROMIUM, else the first Chromium on PATH."""
    env = os.environ.get("ATTNPRED_CHROMIUM")
    if env:
        return env if os.path.exists(env) else None
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def skip_reason() -> str | None:
    """Why browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright; no browser download needed)"
    if chromium_path() is None:
        return ("no Chromium found (apt-get install -y chromium, or set ATTNPRED_CHROMIUM to "
                "a Chromium executable)")
    return None


@contextmanager
def open_browser(offline: bool = True) -> Iterator["object"]:
    """A Playwright browser context; ``offline`` cuts every network request."""
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True,
                                     args=["--no-sandbox", "--disable-gpu",
                                           "--disable-dev-shm-usage"])
        try:
            context = browser.new_context(offline=offline, java_script_enabled=True,
                                          viewport={"width": 1100, "height": 900})
            yield context
        finally:
            browser.close()


def new_page(context, offline: bool = True):
    """A page that records console errors, page errors, dialogs and blocked requests."""
    page = context.new_page()
    page.errors, page.blocked, page.dialogs = [], [], []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))

    def on_dialog(dialog):
        page.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    if offline:
        def guard(route):
            url = route.request.url
            if url.startswith(("file:", "data:", "about:")):
                route.continue_()
            else:
                page.blocked.append(url)
                route.abort()
        page.route("**/*", guard)
    return page


@pytest.fixture(scope="module")
def browser_context():
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    with open_browser() as context:
        yield context


@pytest.fixture
def page(browser_context):
    """A fresh offline headless page; see the module docstring for what it records."""
    p = new_page(browser_context)
    yield p
    p.close()
