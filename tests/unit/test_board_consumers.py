"""What the board's consumers make of the records they read: the projection's changes."""

from datetime import UTC, datetime

import pytest

from contracts import CloudEvent, ForwardedEvent, parse_event
from contracts.catalogue import ConsentChange
from services.board.consumers import consent_changed, forwarded
from tests.support.events import example_body
from tests.unit.fakes_board import ALINGSAS, LERUM, PSEUDONYMS, REGION

PERSON = "199001012385"
AT = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONSENT = "0A1B2C3D-0000-4000-8000-000000000001"


def consent_record(kind: ConsentChange | str, **data) -> CloudEvent:
    event_type = kind.event_type if isinstance(kind, ConsentChange) else kind
    body = {"consent_id": CONSENT, "parties": [REGION, ALINGSAS], **data}
    return CloudEvent.model_construct(type=event_type, subject=PERSON, time=AT, data=body)


def test_a_forwarded_event_becomes_the_event_as_the_board_keeps_it():
    event = parse_event(example_body("se.samordna.region.visit.missed.v1", PERSON), sender=REGION)
    record = ForwardedEvent(event=event, parties=[REGION, LERUM, ALINGSAS], consent_ids=[CONSENT], decided_at=AT)

    change = forwarded(record, PSEUDONYMS)

    assert change.crossed.pseudonym == PSEUDONYMS.of(PERSON)
    assert change.crossed.key == (REGION, event.id) and change.crossed.decided_at == AT
    assert change.crossed.event.parties == (LERUM, ALINGSAS, REGION), "sorted, as the store keeps them"
    assert change.consent_ids == {CONSENT.lower()}, "as PostgreSQL spells a uuid"


def test_a_grant_names_its_validity_and_a_revocation_its_time():
    granted = consent_changed(
        consent_record(ConsentChange.GRANTED, valid_from=AT.isoformat(), valid_until=AT.isoformat()), PSEUDONYMS
    )
    revoked = consent_changed(consent_record(ConsentChange.REVOKED), PSEUDONYMS)

    assert granted.kind is ConsentChange.GRANTED and granted.valid_until == AT
    assert revoked.kind is ConsentChange.REVOKED and revoked.at == AT and revoked.valid_from is None
    assert revoked.parties == (REGION, ALINGSAS) and revoked.consent_id == CONSENT.lower()


def test_a_type_the_board_does_not_act_on_has_no_kind_and_a_bad_consent_id_is_a_data_error():
    assert consent_changed(consent_record("se.samordna.consent.consent.noted.v1"), PSEUDONYMS).kind is None
    with pytest.raises(ValueError):
        consent_changed(consent_record(ConsentChange.REVOKED, consent_id="not-a-uuid"), PSEUDONYMS)
