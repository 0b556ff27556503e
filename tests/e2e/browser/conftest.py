"""The page at ``/`` in a real browser: Playwright for Python driving Debian's chromium (Playwright cannot
download its own browsers here), against the end-to-end service (uvicorn, RQ workers, Redis).

Without ``/usr/bin/chromium`` every test here is skipped at collection with a reason naming the package;
``.ci/run`` installs it. Screenshots go to ``screenshots/`` beside this file (git-ignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
HERE = Path(__file__).parent
SCREENSHOTS = HERE / "screenshots"
MISSING = "the browser tests need Debian's chromium package (/usr/bin/chromium): apt-get install -y chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip this folder's tests when chromium is not installed."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=MISSING)
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def browser() -> Iterator:
    """One chromium per module (headless, Debian's binary). Not per session: Playwright's sync API keeps
    an event loop running in this thread while it is started, and a later test's ``asyncio.run`` fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, api_url: str, workers: list) -> Iterator:
    """A fresh browser tab on the page; the test fails on any script error the page raises or logs."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, base_url=api_url)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(  # a 4xx answer the test asks for is logged as "Failed to load resource": not a script error
        "console",
        lambda m: m.type == "error" and "Failed to load resource" not in m.text and errors.append(m.text),
    )
    tab.goto("/")
    yield tab
    context.close()
    assert not errors, f"the page logged errors: {errors}"


def shoot(page, name: str) -> Path:
    """Save a full-page screenshot as ``screenshots/{name}.png``."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
