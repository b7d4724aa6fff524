"""The samordningstavla as a coordinator sees it in the browser: sign-in, rows and alerts arriving
without a reload, filters, a revocation taking a row away, who sees whom, and ops' statistics."""

import re

from playwright.async_api import Page, expect

from tests.support.client import event

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
TREATMENT_STARTED = "se.samordna.region.treatment.started.v1"
COLUMNS = ["Patient", "Start", "Mål/syfte", "Nuläge", "Pågående insatser", "Planering"]


def row_of(page: Page, person: str):
    return page.locator("#rader tr", has_text=person)


async def mark_as_not_reloaded(page: Page) -> None:
    """A flag on the window that a reload would wipe."""
    await page.evaluate("window.stillTheSamePage = true")


async def assert_not_reloaded(page: Page) -> None:
    assert await page.evaluate("window.stillTheSamePage === true")


async def test_the_page_offers_each_organisations_sign_in_and_then_shows_the_board_in_swedish(
    browser, board_url, log_in
):
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{board_url}/")
        await expect(page.locator("html")).to_have_attribute("lang", "sv")
        await expect(page.get_by_role("link", name=re.compile("^Logga in via"))).to_have_text(
            ["Logga in via Västra Götalandsregionen", "Logga in via Alingsås", "Logga in via Lerum"]
        )
    finally:
        await context.close()

    page = await log_in(ALINGSAS, "coordinator")

    await expect(page).to_have_title("Samordningstavla – Samordna")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Samordningstavla – Alingsås")
    await expect(page.locator("#tavla thead th")).to_have_text([*COLUMNS, "Varningar"])

    await page.get_by_role("button", name="Logga ut").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Du är utloggad")


async def test_an_event_and_its_alert_appear_without_a_reload_and_the_alert_filter_narrows(client, log_in, person):
    page = await log_in(ALINGSAS, "coordinator")
    await mark_as_not_reloaded(page)

    await client.grant(REGION, person, [REGION, ALINGSAS])
    assert (await client.post_event(REGION, event(SAMPLE_POSITIVE, person))).status_code == 202

    row = row_of(page, person)
    await expect(row).to_have_count(1)
    await expect(row.locator(".varning")).to_contain_text(["Positivt prov"])
    await assert_not_reloaded(page)

    await page.get_by_label("Varning").select_option(label="Uteblivet besök")
    await page.get_by_role("button", name="Visa").click()
    await expect(page).to_have_url(re.compile(r"alert=missed_visit"))
    await expect(row_of(page, person)).to_have_count(0)

    await page.get_by_label("Varning").select_option(label="Positivt prov")
    await page.get_by_role("button", name="Visa").click()
    await expect(row_of(page, person)).to_have_count(1)
    for other in await page.locator("#rader tr").all():
        await expect(other.locator(".varning-positive_sample")).not_to_have_count(0)


async def test_a_persons_timeline_is_reached_by_handle_never_by_personnummer(client, log_in, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(TREATMENT_STARTED, person))
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    page = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(page, person).locator(".varning")).to_contain_text(["Positivt prov"])

    await row_of(page, person).get_by_role("link", name=person).click()

    await expect(page.get_by_role("heading", level=1)).to_have_text(person)
    assert person not in page.url and person.replace("-", "") not in page.url
    timeline = page.locator("table.tidslinje tbody tr")
    await expect(timeline).to_have_count(2)
    await expect(timeline.locator("th")).to_have_text(["Positivt prov", "Behandling påbörjad"])
    await expect(timeline.first.locator("td").nth(1)).to_have_text("Västra Götalandsregionen")


async def test_a_revocation_takes_the_row_away_without_a_reload(client, log_in, person):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(TREATMENT_STARTED, person))
    page = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(page, person)).to_have_count(1)
    await mark_as_not_reloaded(page)

    assert (await client.revoke(REGION, consent["id"])).status_code == 200

    await expect(row_of(page, person)).to_have_count(0)
    await assert_not_reloaded(page)


async def test_a_coordinator_of_another_municipality_does_not_see_the_person(client, log_in, board_url, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    alingsas = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(alingsas, person)).to_have_count(1)
    handle = await row_of(alingsas, person).get_attribute("data-handle")

    lerum = await log_in(LERUM, "coordinator")

    await expect(lerum.get_by_role("heading", level=1)).to_have_text("Samordningstavla – Lerum")
    await expect(row_of(lerum, person)).to_have_count(0)
    response = await lerum.goto(f"{board_url}/person/{handle}")
    assert response.status == 404
    await expect(lerum.get_by_role("heading", level=1)).to_have_text("Personen finns inte på din tavla")
    assert person not in await lerum.content()


async def test_ops_sees_the_dashboard_and_statistics_but_never_a_person(client, log_in, board_url, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    await client.post_event(REGION, event(SAMPLE_POSITIVE, person))
    alingsas = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(alingsas, person)).to_have_count(1)
    handle = await row_of(alingsas, person).get_attribute("data-handle")

    ops = await log_in("ops", "ops")

    await expect(ops).to_have_url(f"{board_url}/drift")
    await expect(ops.get_by_role("heading", level=1)).to_have_text("Drift")
    await expect(ops.locator("#tjanster tbody tr", has_text="consent")).to_contain_text("Uppe")
    await expect(ops.locator("#lag tbody tr", has_text="samordna-gate").first).to_be_visible()
    assert person not in await ops.content() and person.replace("-", "") not in await ops.content()
    await ops.get_by_role("link", name="Statistik").click()
    await expect(ops.get_by_role("heading", level=1)).to_have_text("Statistik för uppföljning")
    await expect(ops.get_by_text("Personer visas aldrig för drift")).to_be_visible()
    await expect(ops.locator("#personer-per-manad tbody tr")).to_have_count(12)
    counts = [c for c in await ops.locator("table.statistik td").all_inner_texts() if c.isdigit()]
    assert all(int(c) == 0 or int(c) >= 5 for c in counts)
    assert person not in await ops.content() and person.replace("-", "") not in await ops.content()
    # the CSV of the period shown (the default period: the last twelve months)
    await expect(ops.get_by_role("link", name="CSV")).to_have_attribute("href", re.compile(r"^/statistik\.csv(\?|$)"))

    response = await ops.goto(f"{board_url}/person/{handle}")
    assert response.status == 403
    assert person not in await ops.content()
    assert (await ops.request.get(f"{board_url}/rader")).status == 403
    await ops.goto(f"{board_url}/")
    await expect(ops).to_have_url(f"{board_url}/drift")
