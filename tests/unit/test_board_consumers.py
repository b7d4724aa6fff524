"""What the board's consumers make of the records they read: the projection's changes."""

from datetime import UTC, datetime

import pytest

from contracts import ForwardedEvent, parse_event
from contracts.catalogue import ConsentChange
from contracts.sealing import SealedEvent, new_key, seal_event
from services.board.consumers import Feed, consent_changed, forwarded
from tests.support.events import example_body
from tests.unit.fakes_board import ALINGSAS, LERUM, PSEUDONYMS, REGION

PERSON = "199001012385"
AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONSENT = "0A1B2C3D-0000-4000-8000-000000000001"
KID, KEY = "consent-0a1b2c3d", new_key()
KEYS = {"consent-a": new_key(), "consent-b": new_key()}


def consent_record(kind: ConsentChange | str, **data) -> SealedEvent:
    """A consent.changes record as the consent service publishes it: a grant's personnummer sealed."""
    event_type = kind.event_type if isinstance(kind, ConsentChange) else kind
    envelope = {"id": "consent-x", "source": "/samordna/consent", "type": event_type, "time": AT,
                "principal": REGION, "category": "consent"}  # fmt: skip
    body = {"consent_id": CONSENT, "parties": [REGION, ALINGSAS], **data}
    if kind in (ConsentChange.GRANTED, ConsentChange.EXPIRING):
        return seal_event(envelope, PSEUDONYMS.of(PERSON), body, {"subject": PERSON}, {KID: KEY})
    return SealedEvent(**{**envelope, "time": AT.isoformat()}, data={**body, "person_pseudonym": PSEUDONYMS.of(PERSON)})


class Keys:
    def __init__(self, **keys: bytes) -> None:
        self.held = keys

    async def keys(self, kids) -> dict[str, bytes]:
        return {k: self.held[k] for k in kids if k in self.held}


class Recorded:
    def __init__(self) -> None:
        self.forwarded, self.changes = [], []

    async def record_forwarded(self, items):
        self.forwarded += items
        return set()

    async def apply_consent_changes(self, changes):
        self.changes += changes
        return set()


def test_a_forwarded_event_becomes_the_event_as_the_board_keeps_it():
    event = parse_event(example_body("se.samordna.region.visit.missed.v1", PERSON), sender=REGION)
    record = ForwardedEvent(event=event, parties=[REGION, LERUM, ALINGSAS], consent_ids=[CONSENT], decided_at=AT)

    change = forwarded(record, PSEUDONYMS)

    assert change.crossed.pseudonym == PSEUDONYMS.of(PERSON)
    assert change.crossed.key == (REGION, event.id) and change.crossed.decided_at == AT
    assert change.crossed.event.parties == (LERUM, ALINGSAS, REGION), "sorted, as the store keeps them"
    assert change.consent_ids == {CONSENT.lower()}, "as PostgreSQL spells a uuid"


def test_a_grant_names_its_validity_and_the_person_and_a_revocation_its_time_with_no_personnummer():
    granted_record = consent_record(ConsentChange.GRANTED, valid_from=AT.isoformat(), valid_until=AT.isoformat())
    granted = consent_changed(granted_record, PERSON)
    revoked_record = consent_record(ConsentChange.REVOKED)
    revoked = consent_changed(revoked_record, None)

    assert granted.kind is ConsentChange.GRANTED and granted.valid_until == AT and granted.person_id == PERSON
    assert revoked.kind is ConsentChange.REVOKED and revoked.at == AT and revoked.valid_from is None
    assert revoked.parties == (REGION, ALINGSAS) and revoked.consent_id == CONSENT.lower()
    assert revoked.pseudonym == PSEUDONYMS.of(PERSON)
    for record in (granted_record, revoked_record):
        assert PERSON not in record.to_json().decode()
    assert consent_changed(granted_record, None) is None, "a grant whose key is erased: nothing to keep"


def test_a_type_the_board_does_not_act_on_has_no_kind_and_a_bad_consent_id_is_a_data_error():
    assert consent_changed(consent_record("se.samordna.consent.consent.noted.v1"), None).kind is None
    with pytest.raises(ValueError):
        consent_changed(consent_record(ConsentChange.REVOKED, consent_id="not-a-uuid"), None)


async def test_the_feed_opens_what_a_key_still_holds_and_skips_what_no_key_holds():
    event = parse_event(example_body("se.samordna.region.visit.missed.v1", PERSON), sender=REGION)
    pseudonym = PSEUDONYMS.of(PERSON)

    def sealed(event_id: str, *kids: str) -> SealedEvent:
        envelope = {**event.model_dump(), "id": event_id}
        clear = {"parties": [REGION, ALINGSAS], "consent_ids": [CONSENT], "decided_at": AT.isoformat()}
        secret = {"subject": PERSON, "data": event.data}
        return seal_event(envelope, pseudonym, clear, secret, {kid: KEYS[kid] for kid in kids})

    store = Recorded()
    feed = Feed(store, PSEUDONYMS, Keys(**{"consent-b": KEYS["consent-b"]}))  # consent-a's key erased
    records = [sealed("a-only", "consent-a"), sealed("a-and-b", "consent-a", "consent-b")]
    await feed.events([SealedEvent.model_validate_json(r.to_json()) for r in records])

    assert [f.crossed.event.event_id for f in store.forwarded] == ["a-and-b"]
    assert store.forwarded[0].crossed.event.person_id == PERSON and store.forwarded[0].crossed.pseudonym == pseudonym
    assert all(PERSON not in r.to_json().decode() for r in records)
    assert all(m not in r.to_json().decode() for r in records for m in map(str, event.data.values()) if len(m) > 3)

    grant = consent_record(ConsentChange.GRANTED, valid_from=AT.isoformat(), valid_until=AT.isoformat())
    await Feed(store, PSEUDONYMS, Keys()).consents([grant, consent_record(ConsentChange.REVOKED)])
    assert [c.kind for c in store.changes] == [ConsentChange.REVOKED], "the grant's key is gone: skipped"
