"""Samtycke in the workspace, in Chromium on the real stack, signed in through Keycloak: the consent
form with an exclusion, its preview (from the consent service's preview API, called with the
coordinator's own token) seen before saving, and a revocation with a reason and a confirmation."""

import re

from playwright.async_api import expect

from tests.support.client import event, eventually

REGION, ALINGSAS = "region-14", "kommun-1489"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


async def test_a_consent_recorded_with_an_exclusion_after_its_preview_then_revoked_with_a_reason(
    client, log_in, person
):
    for event_type in (SAMPLE_POSITIVE, VISIT_MISSED):  # withheld now: no consent yet
        assert (await client.post_event(REGION, event(event_type, person))).status_code == 202
    decided = await eventually(lambda: client.audit(REGION, person), lambda rows: len(rows) >= 2)
    assert len(decided) >= 2
    page = await log_in(REGION, "coordinator")

    await page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Samtycke").click()
    await page.get_by_role("link", name="Registrera ett nytt samtycke").click()
    await page.get_by_label("Personnummer eller samordningsnummer").fill(person)
    parties = page.get_by_role("group", name="Huvudmän som får dela uppgifter med varandra")
    await parties.get_by_label("Alingsås").check()
    excluded = page.get_by_role("group", name="Det personen inte vill dela: enskilda händelser")
    await excluded.get_by_label("Positivt prov").check()
    await page.get_by_label("Skriftligt").check()
    await page.get_by_role("button", name="Förhandsgranska").click()

    preview = page.locator("section.forhandsgranskning")
    await expect(preview.get_by_role("heading")).to_have_text(re.compile("Förhandsgranskning"))
    sample = preview.locator("tbody tr", has_text="Positivt prov")
    visit = preview.locator("tbody tr", has_text="Uteblivet besök")
    await expect(sample.locator("td").nth(2)).to_have_text("Ingen")
    await expect(sample.locator("td").nth(3)).to_have_text("Alingsås: personen har undantagit det")
    await expect(visit.locator("td").nth(2)).to_have_text("Alingsås")
    assert person not in page.url and person.replace("-", "") not in page.url

    await page.get_by_role("button", name="Spara samtycket").click()

    await expect(page.get_by_role("status")).to_have_text("Samtycket är sparat.")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Samtycken för {person}")
    consent = page.locator("section.samtycke")
    await expect(consent).to_have_count(1)
    await expect(consent.get_by_role("heading", level=2)).to_contain_text("Gäller")
    await expect(consent).to_contain_text("Positivt prov")
    await expect(consent.locator(".historik li")).to_have_text([re.compile("^Lämnat")])

    await consent.get_by_role("button", name="Återkalla samtycket…").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Återkalla samtycket för {person}?")
    await page.get_by_role("button", name="Ja, återkalla samtycket").click()
    reason = page.get_by_label("Anledning")
    await expect(reason).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#f-reason-fel")).to_have_text("Ange varför samtycket återkallas.")
    assert "f-reason-fel" in (await reason.get_attribute("aria-describedby")).split()
    await reason.fill("Personen återkallade samtycket muntligt vid besök.")
    await page.get_by_role("button", name="Ja, återkalla samtycket").click()

    await expect(page.get_by_role("status")).to_contain_text("Samtycket är återkallat")
    await expect(page.locator("section.samtycke h2")).to_contain_text("Återkallat")
    await expect(page.locator("section.samtycke .historik li")).to_have_text(
        [re.compile("^Lämnat"), re.compile("^Återkallat")]
    )
    [found] = (await client.http.post(
        client.url("consent", "/v1/consents/search"), json={"person": person},
        headers=client._auth(REGION, "coordinator"),
    )).json()["consents"]  # fmt: skip
    assert found["status"] == "revoked" and found["excluded_event_types"] == [SAMPLE_POSITIVE]
    assert found["recorded_by"].startswith("SE2321000")
