"""The Loggutdrag and Inkorg pages over ASGI, with the board's in-memory stores and a recording
stand-in for the calls made with the user's token (what is sent where, what comes back): CSRF, the
personnummer only in bodies (never in a URL or the PDF's file name), no-store, the field's error,
the PDF, and each look in the access log. What the services answer is the browser tests' (tests/browser)."""

import dataclasses
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest

from services.board.app import create_app
from services.board.deps import COOKIE
from services.board.sessions import Kind
from services.board.settings import BoardSettings
from services.board.upstream import UpstreamAnswer
from services.runtime.pseudonym import Pseudonymizer
from tests.unit.fakes_board import (
    NOW,
    REGION,
    TOKENS,
    InMemoryAccessLog,
    InMemoryBoardStore,
    InMemorySessions,
    fake_deps,
    served,
    staff_of,
)

PERSON = "19121212-1212"
CONSENT = str(uuid.uuid4())
EXTRACT = {
    "principal": REGION,
    "decisions": [
        {"event_id": "e1", "event_type": "se.samordna.region.visit.missed.v1", "sender": REGION,
         "recipient": "kommun-1489", "forwarded": True, "reason": "consent", "basis": "consent",
         "consent_id": CONSENT, "legal_reference": None, "event_time": NOW.isoformat(), "decided_at": NOW.isoformat()},
        {"event_id": "e2", "event_type": "se.samordna.region.sample.positive.v1", "sender": REGION,
         "recipient": "kommun-1489", "forwarded": False, "reason": "excluded_by_person", "basis": "none",
         "consent_id": CONSENT, "legal_reference": None, "event_time": NOW.isoformat(), "decided_at": NOW.isoformat()},
    ],
    "consents": [],
    "accesses": [],
}  # fmt: skip


GATEWAY_LOOK = {
    "at": NOW.isoformat(), "principal": REGION, "role": "coordinator", "user": "SE2321000014-E00000000077",
    "name": None, "hsa_id": None, "unit": None, "action": "gateway.inbox.read", "detail": {},
    "person": Pseudonymizer(BoardSettings().pseudonym_key).of("191212121212"),
}  # fmt: skip


class RecordingUpstream:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, object]] = []

    async def consent(self, session, method, path, body=None):
        self.calls.append(("consent", method, path, body))
        return UpstreamAnswer(200, EXTRACT)

    async def gateway(self, session, method, path, body=None):
        self.calls.append(("gateway", method, path, body))
        if path == "/v1/access-log/search":  # the gateway's own log: a member of staff read the inbox
            return UpstreamAnswer(200, {"principal": REGION, "entries": [GATEWAY_LOOK]})
        return UpstreamAnswer(200, {"events": []})


@pytest.fixture
async def page():
    sessions, access_log, upstream = InMemorySessions(), InMemoryAccessLog(), RecordingUpstream()

    @asynccontextmanager
    async def bootstrap(settings):
        yield dataclasses.replace(
            fake_deps(InMemoryBoardStore(), sessions=sessions, access_log=access_log), upstream=upstream
        )

    async with served(create_app(BoardSettings(), bootstrap=bootstrap)) as browser:
        session = await sessions.create(Kind.STAFF, {"staff": staff_of(TOKENS["region"]).as_dict()}, NOW)
        browser.cookies.set(COOKIE, session.key)
        browser.csrf, browser.upstream, browser.access_log = session.data["csrf"], upstream, access_log
        yield browser


async def test_the_extract_is_a_page_and_a_pdf_and_each_is_logged(page: httpx.AsyncClient):
    form = await page.get("/loggutdrag")
    assert form.status_code == 200 and 'for="person"' in form.text and form.headers["cache-control"] == "no-store"

    shown = await page.post("/loggutdrag", data={"csrf": page.csrf, "person": PERSON, "format": "page"})
    pdf = await page.post("/loggutdrag", data={"csrf": page.csrf, "person": PERSON, "format": "pdf"})

    assert shown.status_code == 200 and "Uteblivet besök" in shown.text and "Positivt prov" in shown.text
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and pdf.headers["cache-control"] == "no-store"
    assert pdf.headers["content-disposition"] == 'attachment; filename="loggutdrag.pdf"'
    assert (
        page.upstream.calls
        == [
            ("consent", "POST", "/v1/log-extract", {"person": "191212121212"}),
            ("gateway", "POST", "/v1/access-log/search", {"person": "191212121212"}),
        ]
        * 2
    )
    assert "Läste ett meddelande om dig i inkorgen" in shown.text and "anslutningen (gateway)" in shown.text
    logged = [(a.action, a.detail.get("format")) for a in page.access_log.entries]
    assert logged == [("board.log_extract", "page"), ("board.log_extract", "pdf")]
    assert "191212121212" not in repr(page.access_log.entries)


async def test_a_wrong_personnummer_is_an_error_at_its_field_and_nothing_is_asked(page: httpx.AsyncClient):
    answer = await page.post("/loggutdrag", data={"csrf": page.csrf, "person": "19121212-1213"})
    assert answer.status_code == 422
    assert 'aria-invalid="true"' in answer.text and 'aria-describedby="person-hjalp person-fel"' in answer.text
    assert page.upstream.calls == [] and page.access_log.entries == []


@pytest.mark.parametrize("path", ["/loggutdrag", "/inkorg/kvittera"])
async def test_a_post_without_the_session_s_csrf_token_is_refused(page: httpx.AsyncClient, path):
    answer = await page.post(path, data={"csrf": "forged", "person": PERSON, "event_id": "e1", "sender": REGION})
    assert answer.status_code == 403 and page.upstream.calls == []


async def test_kvittera_sends_the_gateway_s_receipt_with_the_user_s_unit_and_logs_it(page: httpx.AsyncClient):
    answer = await page.post(
        "/inkorg/kvittera", data={"csrf": page.csrf, "event_id": "e 1", "sender": "kommun-1489", "handle": "h1"}
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/inkorg?klart=kvitterat"
    assert page.upstream.calls == [
        ("gateway", "POST", "/v1/inbox/e%201/ack", {"sender": "kommun-1489", "unit": "Enheten"})
    ]
    assert [(a.action, a.person) for a in page.access_log.entries] == [("board.receipt", "h1")]
    inbox = await page.get(answer.headers["location"])
    assert inbox.status_code == 200 and "Kvittensen är registrerad" in inbox.text
    assert page.upstream.calls[-1] == ("gateway", "GET", "/v1/inbox/latest?limit=200", None)
