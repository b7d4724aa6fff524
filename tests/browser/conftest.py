"""The board's web page in a real, headless Chromium, against the real stack, signed in through
the real identity provider: Keycloak (deploy/keycloak.sh), one realm per organisation.

Chromium is Debian's (`/usr/bin/chromium`, installed by deploy/browser.sh, which `make test` runs);
Playwright drives it through `executable_path`, never with a browser build of its own. Playwright's
async API runs in pytest-asyncio's session loop, like the stack client.

Keycloak takes the better part of a minute to start, so it starts once per session, in a thread,
as soon as collection shows that browser tests will run: it comes up while the other layers' tests
run. Its start-up time is printed at the end of the session.
"""

import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from tests.conftest import _test_stack

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
SignIn = Callable[[str, str], Awaitable[Page]]
USERNAME_OF_ROLE = {"coordinator": "samordnare", "ops": "drift"}
REALM_OF_OPS = "region-14"

_keycloak: dict = {}


def _start_keycloak() -> float:
    began = time.monotonic()
    _test_stack().identity_provider.script("start")
    return time.monotonic() - began


def pytest_collection_modifyitems(session, config, items) -> None:
    if any("tests/browser/" in item.nodeid for item in items) and "start" not in _keycloak:
        _keycloak["start"] = ThreadPoolExecutor(1, thread_name_prefix="keycloak").submit(_start_keycloak)


def pytest_sessionfinish(session, exitstatus) -> None:
    """Keycloak stopped even when no browser test got as far as asking for it."""
    start: Future | None = _keycloak.get("start")
    if start is not None and "stopped" not in _keycloak:
        start.exception()  # wait for the start to end, whatever it did
        _test_stack().identity_provider.script("stop")
        _keycloak["stopped"] = True


def pytest_terminal_summary(terminalreporter) -> None:
    if {"seconds", "provisioned"} <= set(_keycloak):
        terminalreporter.write_line(
            f"Keycloak: ready {_keycloak['seconds']:.1f} s after its start began (in the background); "
            f"the browser tests waited {_keycloak['waited']:.1f} s for it; realms and users made in "
            f"{_keycloak['provisioned']:.1f} s"
        )


@pytest.fixture(scope="session")
def identity_provider(running_stack) -> dict:
    """Keycloak started (once) and provisioned: every demo user, with those made to be refused,
    by (realm, username)."""
    began = time.monotonic()
    start: Future = _keycloak.get("start") or ThreadPoolExecutor(1).submit(_start_keycloak)
    _keycloak["seconds"] = start.result()
    _keycloak["waited"] = time.monotonic() - began
    began = time.monotonic()
    users = running_stack.provision_identity_provider(with_refused=True)
    _keycloak["provisioned"] = time.monotonic() - began
    yield {(u["realm"], u["username"]): u for u in users}
    running_stack.identity_provider.script("stop")
    _keycloak["stopped"] = True


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


async def through_keycloak(page: Page, board_url: str, provider: str, username: str, password: str) -> None:
    """From the board's sign-in page, through the provider's own login page, and back."""
    await page.goto(f"{board_url}/")
    await page.get_by_role("link", name=f"Logga in via {provider}").click()
    await page.locator("#username").fill(username)
    await page.locator("#password").fill(password)
    await page.locator("#kc-login").click()
    await page.wait_for_load_state()


@pytest.fixture
async def sign_in(browser: Browser, board_url: str, identity_provider: dict) -> AsyncIterator[SignIn]:
    """Opens the board in a fresh browser context and signs in as a demo user of a realm."""
    from contracts.principals import display_name

    contexts = []

    async def open_as(realm: str, username: str) -> Page:
        context = await browser.new_context(locale="sv-SE")
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = await context.new_page()
        user = identity_provider[(realm, username)]
        await through_keycloak(page, board_url, display_name(realm), username, user["password"])
        return page

    yield open_as
    for context in contexts:
        await context.close()


@pytest.fixture
async def log_in(sign_in: SignIn) -> LogIn:
    """Signs in as a principal's demo user of a role (ops: the region's operations staff)."""

    async def open_as(principal: str, role: str) -> Page:
        realm = REALM_OF_OPS if role == "ops" else principal
        return await sign_in(realm, USERNAME_OF_ROLE[role])

    return open_as
