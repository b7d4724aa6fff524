"""Registrera händelse and SIP in the workspace, in Chromium on the real stack, signed in through
Keycloak: an event registered by hand (posted to the region's gateway with the coordinator's own
token) that reaches the municipality's inbox and board, the gateway's field errors shown next to
the field, and a SIP plan that clears a "SIP-uppföljning försenad" alert."""

from datetime import UTC, date, datetime, timedelta

from dateutil.relativedelta import relativedelta
from playwright.async_api import expect

from contracts.examples import EXAMPLE_DATA
from tests.support.client import event, eventually

REGION, ALINGSAS = "region-14", "kommun-1489"
TREATMENT_STARTED = "se.samordna.region.treatment.started.v1"


def row_of(page, person):
    return page.locator("#rader tr", has_text=person)


async def test_an_event_registered_by_hand_reaches_the_other_principal_and_shows_on_its_board(client, log_in, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    page = await log_in(REGION, "coordinator")
    await page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Registrera händelse").click()
    await page.get_by_role("link", name="Uteblivet besök").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uteblivet besök")

    subject = page.get_by_label("Personnummer eller samordningsnummer")
    await subject.fill(person[:-1] + str((int(person[-1]) + 1) % 10))  # a wrong check digit
    await page.get_by_label("Enhet").fill("SE2321000131-E000000011111")
    when = (datetime.now(UTC) - timedelta(hours=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    await page.get_by_label("Planerad tid").fill(when)
    await page.get_by_role("button", name="Skicka").click()

    await expect(subject).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-subject-fel")).to_be_visible()
    assert "f-subject-fel" in (await subject.get_attribute("aria-describedby")).split()
    await expect(page.get_by_label("Enhet")).to_have_value("SE2321000131-E000000011111")  # kept

    await subject.fill(person)
    await page.get_by_role("button", name="Skicka").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Uteblivet besök: skickad")
    event_id = (await page.locator(".hjalp", has_text="Händelsens id").text_content()).split(": ")[1].strip()

    items = await eventually(
        lambda: client.inbox_items(ALINGSAS), lambda got: any(i["event"]["id"] == event_id for i in got)
    )
    [item] = [i for i in items if i["event"]["id"] == event_id]
    assert item["event"]["source"].startswith("samordna-arbetsyta/SE2321000")
    assert item["event"]["principal"] == REGION and item["event"]["subject"] == person.replace("-", "")

    municipality = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(municipality, person).locator(".varning")).to_contain_text(["Uteblivet besök"])


async def test_a_sip_plan_registered_by_hand_clears_the_overdue_follow_up_alert(client, log_in, person):
    await client.grant(REGION, person, [REGION, ALINGSAS])
    started = (date.today() - relativedelta(months=4)).isoformat()
    data = {**EXAMPLE_DATA[TREATMENT_STARTED], "started_on": started}
    assert (await client.post_event(REGION, event(TREATMENT_STARTED, person, data=data))).status_code == 202
    page = await log_in(ALINGSAS, "coordinator")
    await expect(row_of(page, person).locator(".varning")).to_contain_text(["SIP-uppföljning försenad"])

    await page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="SIP").click()
    await page.get_by_role("link", name="SIP upprättad/reviderad").click()
    await page.get_by_label("Personnummer eller samordningsnummer").fill(person)
    await page.get_by_label("Mål").fill("Drogfrihet\nEget boende")
    await page.get_by_role("button", name="Lägg till rad").click()  # nothing sent: one row more
    rows = page.get_by_role("group", name="Vem gör vad").get_by_role("group")
    await expect(rows).to_have_count(4)
    await expect(page.get_by_label("Mål")).to_have_value("Drogfrihet\nEget boende")
    await rows.nth(0).get_by_label("Huvudman").select_option(REGION)
    await rows.nth(0).get_by_label("Uppgift").fill("LARO-behandling och provtagning")
    await rows.nth(3).get_by_label("Huvudman").select_option(ALINGSAS)
    await rows.nth(3).get_by_label("Uppgift").fill("Boendestöd")
    follow_up = date.today() + relativedelta(months=1)
    await page.get_by_label("Nästa uppföljning").fill(follow_up.isoformat())
    await page.get_by_role("button", name="Skicka").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("SIP upprättad/reviderad: skickad")

    await page.get_by_role("link", name="Till tavlan").click()
    row = row_of(page, person)
    await expect(row).to_contain_text("Drogfrihet; Eget boende")
    await expect(row.locator(".varning", has_text="SIP-uppföljning försenad")).to_have_count(0)
    await expect(row).to_contain_text(follow_up.isoformat())
