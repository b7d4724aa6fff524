"""The demo's cooperation area (deploy/demo_area.py) is a year that could have happened: every
event a valid CloudEvent of its sender, inside its person's consent and in the past, every type a
system sends, consents ending soon and revoked, receipts in time and late."""

from datetime import UTC, datetime, timedelta

from contracts import parse_event
from contracts.catalogue import CATALOGUE, SenderKind
from deploy.demo_area import ACTION_TYPES, cooperation_area

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
AREA = cooperation_area(NOW)


def test_hundreds_of_persons_over_a_year_with_every_type_a_system_sends():
    systems = (SenderKind.REGION, SenderKind.MUNICIPALITY, SenderKind.EITHER)
    posted = {spec.type for spec in CATALOGUE.values() if spec.sender in systems}
    assert AREA.persons >= 200
    assert {e.type for e in AREA.events} == posted
    assert len({e.id for e in AREA.events}) == len(AREA.events)
    starts = sorted(datetime.fromisoformat(c.fields["valid_from"]).date() for c in AREA.consents)
    assert starts[0] <= (NOW - timedelta(days=330)).date() and starts[-1] >= (NOW - timedelta(days=60)).date()


def test_every_event_is_valid_from_its_sender_within_the_consent_and_in_the_past():
    valid_from = {c.person: datetime.fromisoformat(c.fields["valid_from"]).date() for c in AREA.consents}
    for e in AREA.events:
        spec = CATALOGUE[e.type]
        parse_event({**e.body(), "principal": e.sender, "category": spec.category.value})
        allowed = {SenderKind.REGION: ("region-",), SenderKind.MUNICIPALITY: ("kommun-",)}
        assert e.sender.startswith(allowed.get(spec.sender, ("region-", "kommun-")))
        assert valid_from[e.person] <= e.time.date() and e.time < NOW


def test_consents_end_soon_some_are_revoked_and_receipts_come_in_time_late_or_never():
    soon = [c for c in AREA.consents if (NOW.date() - datetime.fromisoformat(c.fields["valid_from"]).date()).days > 335]
    needing = [e for e in AREA.events if e.type in ACTION_TYPES and e.recipients and e.person not in AREA.revoked]
    assert soon and AREA.revoked and any("excluded_categories" in c.fields for c in AREA.consents)
    assert AREA.on_time and AREA.late and len(AREA.on_time) + len(AREA.late) < len(needing)
    assert cooperation_area(NOW).events == AREA.events  # seeded: the same area every time
