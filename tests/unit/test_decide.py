"""The consent rule, decided with no broker, no database and no event loop."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts import parse_event
from contracts.examples import EXAMPLE_DATA
from services.consent.domain import (
    SHAREABLE_CATEGORIES,
    Basis,
    Consent,
    Reason,
    StatutoryBasis,
    decide,
)

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
PERSON = "191212121212"


def an_event(event_type=VISIT_MISSED, sender=REGION, time=NOW - timedelta(hours=1)):
    return parse_event(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/journal",
            "type": event_type,
            "subject": PERSON,
            "time": time.isoformat(),
            "data": EXAMPLE_DATA[event_type],
        },
        sender=sender,
    )


def a_consent(*parties, **changes):
    fields = dict(
        id=uuid.uuid4(),
        person_pseudonym="p",
        parties=frozenset(parties or (REGION, ALINGSAS)),
        categories=SHAREABLE_CATEGORIES,
        valid_from=NOW - timedelta(days=30),
        valid_until=NOW + timedelta(days=300),
    )
    return Consent(**(fields | changes))


def test_a_covering_consent_forwards_to_the_other_party_on_its_strength():
    consent = a_consent()

    [decision] = decide(an_event(), [consent], {}, NOW)

    assert (decision.recipient, decision.forwarded, decision.reason) == (ALINGSAS, True, Reason.CONSENT)
    assert decision.consent_id == consent.id
    assert decision.basis is Basis.CONSENT


def test_without_any_consent_nothing_is_forwarded():
    [decision] = decide(an_event(), [], {}, NOW)

    assert (decision.recipient, decision.forwarded, decision.reason) == (None, False, Reason.NO_CONSENT)


def test_a_consent_that_does_not_name_the_sender_routes_nowhere():
    [decision] = decide(an_event(), [a_consent(ALINGSAS, LERUM)], {}, NOW)

    assert decision.forwarded is False
    assert decision.reason is Reason.NO_CONSENT


def test_each_consent_routes_only_to_the_parties_it_names():
    decisions = decide(an_event(), [a_consent(REGION, LERUM)], {}, NOW)

    assert [(d.recipient, d.forwarded) for d in decisions] == [(LERUM, True)]


def test_one_consent_naming_three_parties_forwards_to_both_others():
    decisions = decide(an_event(), [a_consent(REGION, ALINGSAS, LERUM)], {}, NOW)

    assert sorted(d.recipient for d in decisions if d.forwarded) == [LERUM, ALINGSAS]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"revoked_at": NOW - timedelta(minutes=1)}, Reason.CONSENT_REVOKED),
        ({"valid_until": NOW - timedelta(days=1)}, Reason.CONSENT_NOT_ACTIVE),
        ({"valid_from": NOW + timedelta(days=1)}, Reason.CONSENT_NOT_ACTIVE),
        ({"valid_from": NOW - timedelta(minutes=10)}, Reason.EVENT_OUTSIDE_VALIDITY),
        ({"categories": frozenset({"treatment"})}, Reason.CATEGORY_NOT_COVERED),
        ({"excluded_categories": frozenset({"attendance"})}, Reason.EXCLUDED_BY_PERSON),
        ({"excluded_types": frozenset({VISIT_MISSED})}, Reason.EXCLUDED_BY_PERSON),
    ],
)
def test_a_consent_that_does_not_cover_the_event_withholds_it_with_the_reason(changes, reason):
    consent = a_consent(**changes)

    [decision] = decide(an_event(), [consent], {}, NOW)

    assert (decision.recipient, decision.forwarded, decision.reason) == (ALINGSAS, False, reason)
    assert decision.consent_id == consent.id


def test_a_revoked_consent_does_not_hide_a_newer_covering_one():
    old = a_consent(revoked_at=NOW - timedelta(days=2))
    renewed = a_consent()

    [decision] = decide(an_event(), [old, renewed], {}, NOW)

    assert decision.forwarded is True
    assert decision.consent_id == renewed.id


def test_a_statutory_basis_forwards_without_consent_and_names_the_law():
    basis = StatutoryBasis(VISIT_MISSED, "SFS 2001:453 14 kap. 1 §", frozenset({ALINGSAS}))

    [decision] = decide(an_event(), [], {VISIT_MISSED: basis}, NOW)

    assert (decision.recipient, decision.forwarded, decision.basis) == (ALINGSAS, True, Basis.STATUTORY)
    assert decision.legal_reference == basis.legal_reference


def test_an_event_never_goes_back_to_its_sender():
    decisions = decide(an_event(), [a_consent(REGION, ALINGSAS)], {}, NOW)

    assert REGION not in {d.recipient for d in decisions}


def a_receipt(sender=ALINGSAS, addressee=REGION):
    data = EXAMPLE_DATA["se.samordna.receipt.acknowledged.v1"] | {"addressee": addressee}
    return parse_event(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "/samordna/gateway",
            "type": "se.samordna.receipt.acknowledged.v1",
            "subject": PERSON,
            "time": (NOW - timedelta(minutes=5)).isoformat(),
            "principal": sender,
            "category": "coordination",
            "data": data,
        }
    )


def test_a_receipt_goes_back_to_its_addressee_only_even_when_the_consent_names_more():
    consent = a_consent(REGION, ALINGSAS, LERUM)

    [decision] = decide(a_receipt(), [consent], {}, NOW)

    assert (decision.recipient, decision.forwarded, decision.reason) == (REGION, True, Reason.CONSENT)


def test_a_receipt_needs_a_consent_naming_its_addressee_like_any_event():
    [decision] = decide(a_receipt(addressee=LERUM), [a_consent(REGION, ALINGSAS)], {}, NOW)

    assert (decision.recipient, decision.forwarded, decision.reason) == (LERUM, False, Reason.NO_CONSENT)
