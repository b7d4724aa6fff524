"""Inkorg och kvittens in the browser, on the real stack, signed in through Keycloak: Alingsås'
coordinator acknowledges an admission notice before its deadline and a SIP request after it (the
test stack gives SIP requests a deadline of 3 s), with the gateway's own receipt; the region's
coordinator sees both receipts come back on its Skickat list."""

import re

from playwright.async_api import Page, expect

from tests.support.client import event, eventually

REGION, ALINGSAS = "region-14", "kommun-1489"
ADMISSION = "se.samordna.region.admission.notified.v1"
SIP_REQUESTED = "se.samordna.joint.sip.requested.v1"


async def reload_until(page: Page, row_selector: str, text: str) -> None:
    """The inbox page is not live: reload until the row says `text` (each reload waits on the page)."""

    async def look() -> str:
        await page.reload()
        row = page.locator(row_selector)
        return " ".join(await row.all_inner_texts())

    seen = await eventually(look, lambda seen: text in seen, timeout=60)
    assert text in seen, seen


async def test_a_receipt_acknowledged_before_and_one_after_its_deadline(client, log_in, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    admission, sip = event(ADMISSION, person), event(SIP_REQUESTED, person)
    for body in (admission, sip):
        assert (await client.post_event(REGION, body)).status_code == 202
    await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: {admission["id"], sip["id"]} <= set(ids))

    page = await log_in(ALINGSAS, "coordinator")
    await page.get_by_role("link", name="Inkorg").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Inkorg och kvittens – Alingsås")
    assert person not in page.url and person.replace("-", "") not in page.url
    received = f'table.inkorg tr[data-event-id="{admission["id"]}"]'
    late = f'table.inkorg tr[data-event-id="{sip["id"]}"]'
    await expect(page.locator(received)).to_contain_text("Väntar på kvittens")
    await expect(page.locator(received)).to_contain_text(person)

    # before its deadline
    await page.locator(received).get_by_role("button", name="Kvittera").click()
    await expect(page.get_by_role("status")).to_have_text("Kvittensen är registrerad och skickas till avsändaren.")
    await expect(page.locator(received).locator(".kvittens")).to_have_text(re.compile(r"^Kvitterad \d{4}-"))
    await expect(page.locator(received).get_by_role("button", name="Kvittera")).to_have_count(0)

    # after its deadline: it is overdue, and among the overdue at the top of the list (other tests
    # of the session may have left overdue events in Alingsås' inbox too), before the acknowledged
    await reload_until(page, late, "Ej kvitterat i tid")
    rows = page.locator("table.inkorg").first.locator("tbody tr")
    order = [await row.get_attribute("data-event-id") for row in await rows.all()]
    texts = await rows.all_inner_texts()
    above = texts[: order.index(sip["id"])]
    assert all("Ej kvitterat i tid" in text for text in above), above
    assert order.index(sip["id"]) < order.index(admission["id"])
    await page.locator(late).get_by_role("button", name="Kvittera").click()
    await expect(page.locator(late)).to_contain_text("Kvitterad efter tidsfristen")

    items = {i["event"]["id"]: i for i in await client.inbox_items(ALINGSAS)}
    assert items[admission["id"]]["acknowledged_at"] < items[admission["id"]]["receipt_due_at"]
    assert items[sip["id"]]["acknowledged_at"] > items[sip["id"]]["receipt_due_at"]

    # the sender sees both receipts, as they came back through the gate
    region = await log_in(REGION, "coordinator")
    await region.get_by_role("link", name="Inkorg").click()
    await reload_until(region, f'tr[data-event-id="{admission["id"]}"]', "Alingsås: Kvitterad")
    await reload_until(region, f'tr[data-event-id="{sip["id"]}"]', "Alingsås: Kvitterad efter tidsfristen")
