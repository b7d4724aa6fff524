"""Loggutdrag in the browser, on the real stack, signed in through Keycloak: the region's coordinator
asks for a person's log extract, sees it as a page, downloads its PDF, and the PDF's text (read back
with poppler's `pdftotext`, deploy/pdf.sh) lists what crossed, to whom and on which consent, what was
withheld and why in the person's words, the consent, and who looked; producing it is itself logged."""

from playwright.async_api import expect

from services.board.log_extract_words import REASONS
from tests.support.client import event, eventually
from tests.support.pdf import pdf_text

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"


def words(text: str) -> str:
    return " ".join(text.split())


async def test_the_log_extract_as_a_page_and_as_a_pdf(client, log_in, person, tmp_path):
    consent = await client.grant(REGION, person, [REGION, ALINGSAS], excluded_categories=["test_results"])
    crossed, withheld = event(VISIT_MISSED, person), event(SAMPLE_POSITIVE, person)
    for body in (crossed, withheld):
        assert (await client.post_event(REGION, body)).status_code == 202
    decided = await eventually(lambda: client.audit(REGION, person), lambda entries: len(entries) >= 2)
    assert {(e["event_id"], e["forwarded"]) for e in decided} == {(crossed["id"], True), (withheld["id"], False)}

    page = await log_in(REGION, "coordinator")
    await page.get_by_role("link", name="Loggutdrag").click()
    await page.get_by_label("Personnummer eller samordningsnummer").fill("19121212-1213")
    await page.get_by_role("button", name="Visa utdrag").click()
    field = page.get_by_label("Personnummer eller samordningsnummer")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#person-fel")).to_contain_text("giltigt personnummer")

    await field.fill(person)
    await page.get_by_role("button", name="Visa utdrag").click()
    await expect(page.get_by_role("heading", level=2)).to_have_text(f"Loggutdrag för {person}")
    assert person not in page.url and person.replace("-", "") not in page.url
    await expect(page.locator("table.utdrag").nth(0).locator("tbody th")).to_have_text(["Uteblivet besök"])
    await expect(page.locator("table.utdrag").nth(1).locator("tbody th")).to_have_text(["Positivt prov"])
    await expect(page.locator("table.utdrag").nth(1)).to_contain_text(words(REASONS["excluded_by_person"]))

    async with page.expect_download() as download_info:
        await page.get_by_role("button", name="Ladda ner som PDF").click()
    download = await download_info.value
    assert download.suggested_filename == "loggutdrag.pdf"
    path = tmp_path / "loggutdrag.pdf"
    await download.save_as(path)
    text = words(pdf_text(path))

    assert f"Loggutdrag för {person}" in text
    assert "Uteblivet besök" in text and "Alingsås" in text and "Västra Götalandsregionen" in text
    assert consent["id"].replace("-", "") in text.replace("-", "").replace(" ", "")
    assert "Positivt prov" in text and words(REASONS["excluded_by_person"]) in text
    assert "Samtycke lämnat" in text
    assert "Tog fram ett loggutdrag om dig" in text  # the page's extract, before the PDF, was logged
    assert "Hämtade uppgifter till ett loggutdrag om dig" in text  # and the consent service's part of it
