"""Every page of the board, checked with axe-core (WCAG 2.1 AA and axe's best practices) in the
real Chromium: signed in through Keycloak as a coordinator of the region, of a municipality and as
ops, the test crawls every page the navigation links to (so a page added to the nav is covered by
itself), the person page, the statistics of a chosen period and one refused, and the pages of no
session: sign-in, logged out, a refused sign-in, a refused form, not found, for ops only. Any
serious or critical violation fails the test, and every one found is printed.

axe-core is npm's (deploy/axe.sh, pinned by deploy/axe/package-lock.json; `make test` installs it).
It is evaluated in the page through the DevTools protocol, which the pages' Content-Security-Policy
(no inline script) does not govern, so the pages are checked as they are served.
"""

import subprocess
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from playwright.async_api import Page, expect

from contracts.principals import display_name
from deploy.stack import REPO
from tests.browser.conftest import through_keycloak
from tests.support.client import event

REGION, ALINGSAS = "region-14", "kommun-1489"
FAILING_IMPACTS = ("serious", "critical")
TYPES = [  # a row with alerts, an ongoing treatment and a planned meeting
    "se.samordna.region.treatment.started.v1",
    "se.samordna.region.sample.positive.v1",
    "se.samordna.region.visit.missed.v1",
    "se.samordna.joint.sip.requested.v1",
]


@cache
def axe_source() -> str:
    path = subprocess.run([REPO / "deploy" / "axe.sh", "path"], check=True, capture_output=True, text=True)
    return Path(path.stdout.strip()).read_text()


async def violations(page: Page) -> list[dict]:
    """axe's serious and critical violations on the page as it is now."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_source() + "\n;void 0")
    found = await page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + " — " + n.failureSummary.split("\\n").slice(1, 3).join(" "))
        }))"""
    )
    return [v for v in found if v["impact"] in FAILING_IMPACTS]


class Audit:
    """What axe found on every page visited, by page."""

    def __init__(self, board_url: str) -> None:
        self.board_url = board_url
        self.found: dict[str, list[dict]] = {}
        self.visited: list[str] = []

    async def check(self, page: Page, name: str) -> None:
        await page.wait_for_load_state("load")
        await expect(page.locator("html")).to_have_attribute("lang", "sv")
        self.visited.append(name)
        if problems := await violations(page):
            self.found[name] = problems

    async def crawl(self, page: Page, who: str, extra: list[str] = ()) -> None:
        """Every page the navigation links to, then `extra`, each once."""
        seen: set[str] = set()
        queue = [urlsplit(page.url).path or "/"]
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            seen.add(path)
            await page.goto(urljoin(self.board_url, path))
            await self.check(page, f"{who} {path} ({urlsplit(page.url).path})")
            for href in await page.locator("nav a[href]").evaluate_all("links => links.map(a => a.href)"):
                if urlsplit(href).netloc == urlsplit(self.board_url).netloc and urlsplit(href).path not in seen:
                    queue.append(urlsplit(href).path + (f"?{urlsplit(href).query}" if urlsplit(href).query else ""))
        for path in extra:
            await page.goto(urljoin(self.board_url, path))
            await self.check(page, f"{who} {path}")

    def report(self) -> str:
        lines = []
        for name, problems in self.found.items():
            for v in problems:
                lines.append(f"{name}: [{v['impact']}] {v['id']}: {v['help']}")
                lines += [f"    {node}" for node in v["nodes"][:5]]
        return "\n".join(lines)


async def test_no_page_has_a_serious_or_critical_accessibility_violation(
    client, browser, board_url, identity_provider, sign_in, person
):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    for event_type in TYPES:
        assert (await client.post_event(REGION, event(event_type, person))).is_success
    audit = Audit(board_url)

    # no session: the sign-in page, a page that needs one, a refused sign-in
    anonymous = await browser.new_context(locale="sv-SE")
    page = await anonymous.new_page()
    await page.goto(f"{board_url}/")
    await audit.check(page, "sign-in /")
    await page.goto(f"{board_url}/statistik")
    await audit.check(page, "sign-in /statistik (401)")
    refused = identity_provider[(ALINGSAS, "obehorig-drift")]
    await through_keycloak(page, board_url, display_name(ALINGSAS), "obehorig-drift", refused["password"])
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inloggningen nekades")
    await audit.check(page, "refused sign-in")
    await anonymous.close()

    for realm in (ALINGSAS, REGION):
        page = await sign_in(realm, "samordnare")
        row = page.locator("#rader tr", has_text=person)
        await expect(row).to_have_count(1)
        handle = await row.get_attribute("data-handle")
        await audit.crawl(
            page,
            f"coordinator {realm}",
            [f"/person/{handle}", "/statistik?from=2026-01&to=2026-06", "/statistik?from=2026-13", "/person/ingen"],
        )
        await page.goto(f"{board_url}/")
        await page.get_by_role("link", name=person).focus()  # focus visible: checked by axe on the page as it is
        await audit.check(page, f"coordinator {realm} / (a link focused)")

    ops = await sign_in(REGION, "drift")
    await audit.crawl(ops, "ops", [f"/person/{handle}", "/statistik?from=2026-03&to=2026-05"])
    # the dashboard reloads itself, and can be told not to (WCAG 2.2.1: no meta refresh)
    await ops.goto(f"{board_url}/drift")
    pause = ops.get_by_role("button", name="Pausa automatisk uppdatering")
    await pause.click()
    await expect(pause).to_have_attribute("aria-pressed", "true")
    await expect(ops.get_by_role("status").filter(has_text="pausad")).to_have_count(1)
    # a refused form (a CSRF token that is not the session's), then signed out
    await ops.evaluate("document.querySelector('form.logga-ut input[name=csrf]').value = 'gissad'")
    await ops.get_by_role("button", name="Logga ut").click()
    await expect(ops.get_by_role("heading", level=1)).to_have_text("Formuläret nekades")
    await audit.check(ops, "refused form")
    await ops.goto(f"{board_url}/drift")
    await ops.get_by_role("button", name="Logga ut").click()
    await expect(ops.get_by_role("heading", level=1)).to_have_text("Du är utloggad")
    await audit.check(ops, "logged out")

    print(f"\naxe-core on {len(audit.visited)} pages: " + "; ".join(audit.visited))
    assert not audit.found, "serious or critical accessibility violations:\n" + audit.report()
