"""The log extract's PDF, made by WeasyPrint from the page's template and read back with poppler's
`pdftotext` (both from Debian: deploy/pdf.sh): what crossed, what was withheld and why, with every
Swedish letter as written. No service runs; the real-stack reading is tests/browser/test_log_extract.py."""

from datetime import UTC, datetime

from services.board.log_extract import ConsentChange, Decision, Look, extract
from services.board.log_extract_render import pdf_of
from services.board.log_extract_words import REASONS
from services.board.web import templates
from tests.support.pdf import pdf_text

T = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
PERSON = "p-alice"


async def test_the_pdf_says_what_crossed_and_what_was_withheld_in_swedish(tmp_path):
    consent_id = "6f1c2b9e-4d7a-4c1e-9a55-0b7e2f3d8c11"
    x = extract(
        "19620120-5835", PERSON, "region-14",
        [
            Decision(PERSON, "e1", "se.samordna.region.visit.missed.v1", "region-14", "kommun-1489", True, "consent",
                     "consent", consent_id, None, T, T),
            Decision(PERSON, "e2", "se.samordna.region.sample.positive.v1", "region-14", "kommun-1489", False,
                     "excluded_by_person", "none", consent_id, None, T, T),
        ],
        [ConsentChange(PERSON, consent_id, "granted", T, ("kommun-1489", "region-14"), ("attendance",),
                       ("test_results",), (), T, T.replace(year=2027), "written")],
        [Look(person=PERSON, source="board", at=T, principal="region-14", role="coordinator", user="u1",
              name="Åsa Öberg", hsa_id=None, unit="Beroendemottagningen", action="board.timeline")],
        T, "Åsa Öberg, Beroendemottagningen",
    )  # fmt: skip

    pdf = await pdf_of(templates, x)

    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "loggutdrag.pdf"
    path.write_bytes(pdf)
    text = " ".join(pdf_text(path, layout=True).split())
    assert "Loggutdrag för 19620120-5835" in text
    assert "Uppgifter som lämnades ut" in text and "Uppgifter som inte lämnades ut" in text
    assert "Uteblivet besök" in text and "Alingsås" in text
    assert f"Ditt samtycke ({consent_id})".replace(" ", "") in text.replace(" ", "")  # a long id may wrap
    assert " ".join(REASONS["excluded_by_person"].split()) in text
    assert "Samtycke lämnat" in text and "(skriftligt)" in text  # a narrow column may wrap the cell
    assert "Åsa Öberg" in text and "Öppnade dina händelser på samordningstavlan" in text
