"""The board's web page in a real, headless Chromium, against the real stack.

Chromium is Debian's (`/usr/bin/chromium`, installed by deploy/browser.sh, which `make test` runs);
Playwright drives it through `executable_path`, never with a browser build of its own. Playwright's
async API runs in pytest-asyncio's session loop, like the stack client.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.support.client import StackClient

CHROMIUM = Path(os.environ.get("SAMORDNA_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
]
WAIT_MS = 30_000  # a shared two-core machine: Playwright waits this long for what should appear

expect.set_options(timeout=WAIT_MS)

LogIn = Callable[[str, str], Awaitable[Page]]


@pytest.fixture(scope="session")
def board_url(running_stack) -> str:
    return running_stack.url("board")


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: run deploy/browser.sh (as root; `make test` runs it) "
            "to install Debian's chromium package for the browser tests",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        await browser.close()


@pytest.fixture
async def log_in(browser: Browser, client: StackClient, board_url: str) -> AsyncIterator[LogIn]:
    """Opens the board in a fresh browser context and logs in with a principal's token of a role."""
    contexts = []

    async def open_as(principal: str, role: str) -> Page:
        context = await browser.new_context(locale="sv-SE")
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = await context.new_page()
        await page.goto(f"{board_url}/")
        await page.get_by_label("Din nyckel (token)").fill(client.info["tokens"][principal][role])
        await page.get_by_role("button", name="Logga in").click()
        await page.wait_for_load_state()
        return page

    yield open_as
    for context in contexts:
        await context.close()
