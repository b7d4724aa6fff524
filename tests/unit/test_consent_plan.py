"""The gate's batch plan (services/consent/plan.py): every record a batch writes, worked out with
no broker, no database and no event loop; the invariants held over batches Hypothesis makes up."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import DeadLetter, DecisionBatch, ForwardedEvent, parse_event, spec_for
from contracts.examples import EXAMPLE_DATA
from contracts.kafka_binding import CONTENT_TYPE_HEADER as CONTENT_TYPE
from contracts.kafka_binding import STRUCTURED_CONTENT_TYPE
from contracts.topics import (
    DELIVERY_SEQ_HEADER,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_for,
    deliveries_topic,
    events_topic,
)
from services.consent.domain import SHAREABLE_CATEGORIES, Consent, StatutoryBasis
from services.consent.plan import (
    DECISIONS_PER_RECORD,
    decide_batch,
    deliveries_needed,
    plan_batch,
    plan_decided,
    read_batch,
)
from services.runtime.pseudonym import Pseudonymizer

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PRINCIPALS = (REGION, ALINGSAS, LERUM)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PERSONS = ("19620120-5835", "19550830-2626", "19900429-4840")
PSEUDONYMS = Pseudonymizer(b"test-only-key")
TYPES = {  # sender -> event types it sends
    REGION: ("se.samordna.region.visit.missed.v1", "se.samordna.region.sample.positive.v1"),
    ALINGSAS: ("se.samordna.receipt.acknowledged.v1",),  # addressed to the region
}


def event_value(event_type: str, sender: str, person: str) -> bytes:
    body = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/journal",
        "type": event_type,
        "subject": person,
        "time": (NOW - timedelta(hours=1)).isoformat(),
        "principal": sender,
        "category": str(spec_for(event_type).category),
        "data": EXAMPLE_DATA[event_type],
    }
    return parse_event(body).to_json()


def record(topic: str, value: bytes, offset: int) -> ConsumerRecord:
    return ConsumerRecord(topic, 0, offset, 0, 0, b"key", value, None, 3, len(value), ())


def consent(person: str, *parties: str, **changes) -> Consent:
    fields = {"valid_from": NOW - timedelta(days=30), "valid_until": NOW + timedelta(days=300)} | changes
    return Consent(
        id=uuid.uuid4(),
        person_pseudonym=pseudonym(person),
        parties=frozenset(parties),
        categories=frozenset(SHAREABLE_CATEGORIES),
        **fields,
    )


def pseudonym(person: str) -> str:
    return PSEUDONYMS.of(person.replace("-", ""))


def consents_of(*consents: Consent) -> dict[str, list[Consent]]:
    by_person = {pseudonym(p): [] for p in PERSONS}
    for c in consents:
        by_person[c.person_pseudonym].append(c)
    return by_person


def plan_of(records, consents, next_numbers=None, policy=None):
    batch = read_batch(records, PSEUDONYMS.of)
    needed = deliveries_needed(batch, consents, policy or {}, NOW)
    numbers = {r: (next_numbers or {}).get(r, 1) for r in needed}
    return batch, numbers, plan_batch(batch, consents, policy or {}, NOW, numbers)


# ---- batches Hypothesis makes up ---------------------------------------------------------------

a_record = st.one_of(
    st.tuples(st.sampled_from(list(TYPES)), st.integers(0, 1), st.sampled_from(PERSONS)).map(
        lambda t: (t[0], event_value(TYPES[t[0]][t[1] % len(TYPES[t[0]])], t[0], t[2]))
    ),
    st.tuples(st.sampled_from(PRINCIPALS), st.binary(max_size=30)),  # no event at all
    st.tuples(st.just(LERUM), st.sampled_from(PERSONS)).map(  # an event on a topic it is not the owner of
        lambda t: (t[0], event_value(TYPES[REGION][0], REGION, t[1]))
    ),
)


@st.composite
def batches(draw):
    drawn = draw(st.lists(a_record, max_size=25))
    records = [record(events_topic(topic_owner), value, offset) for offset, (topic_owner, value) in enumerate(drawn)]
    consents = []
    for person in PERSONS:
        for _ in range(draw(st.integers(0, 2))):
            parties = draw(st.sets(st.sampled_from(PRINCIPALS), min_size=2))
            revoked = draw(st.sampled_from([None, NOW - timedelta(minutes=1)]))
            until = draw(st.sampled_from([NOW + timedelta(days=30), NOW - timedelta(seconds=1)]))
            consents.append(consent(person, *parties, revoked_at=revoked, valid_until=until))
    next_numbers = {p: draw(st.integers(1, 10**6)) for p in PRINCIPALS}
    return records, consents_of(*consents), next_numbers


def numbers_in(plan, recipient: str) -> list[int]:
    return [int(dict(r.headers)[DELIVERY_SEQ_HEADER]) for r in plan.forwards if r.topic == deliveries_topic(recipient)]


@settings(max_examples=120, deadline=None)
@given(batches())
def test_numbers_per_recipient_are_gapless_and_increasing_from_the_next_numbers(batch):
    records, consents, next_numbers = batch
    _, numbers, plan = plan_of(records, consents, next_numbers)

    for recipient, first in numbers.items():
        handed_out = numbers_in(plan, recipient)
        assert handed_out == list(range(first, first + len(handed_out)))
        assert plan.last_numbers[recipient] == handed_out[-1]
    assert set(plan.last_numbers) == set(numbers)


@settings(max_examples=120, deadline=None)
@given(batches())
def test_an_event_goes_only_to_principals_a_live_consent_names_and_an_addressed_one_only_to_its_addressee(batch):
    records, consents, next_numbers = batch
    parsed, _, plan = plan_of(records, consents, next_numbers)

    crossed = [d for d in plan.decisions if d.forwarded]
    for d in crossed:
        arrival = next(a for a in parsed.arrivals if a.event.id == d.event_id)
        live = [
            c
            for c in consents[arrival.pseudonym]
            if c.revoked_at is None and c.valid_until > NOW and c.names(d.sender, d.recipient)
        ]
        assert live, "forwarded without a live consent naming both"
        if arrival.event.addressee is not None:
            assert d.recipient == arrival.event.addressee
    assert len(plan.forwards) == len(crossed) + len({d.event_id for d in crossed})  # deliveries + shared copies


@settings(max_examples=120, deadline=None)
@given(batches())
def test_every_parsed_event_gets_decision_records_and_every_reject_a_dead_letter(batch):
    records, consents, next_numbers = batch
    parsed, _, plan = plan_of(records, consents, next_numbers)

    recorded = [d for r in plan.decision_records for d in DecisionBatch.model_validate_json(r.value).decisions]
    assert {d.event_id for d in recorded} == {a.event.id for a in parsed.arrivals}
    assert [d.decision_id for d in recorded] == [d.decision_id for d in plan.decisions]
    assert len({d.decision_id for d in recorded}) == len(recorded)
    letters = [DeadLetter.model_validate_json(r.value) for r in plan.dead_letters]
    rejected = [(r.record.topic, r.record.offset) for r in parsed.rejects]
    assert [(d.origin_topic, d.origin_offset) for d in letters] == rejected
    assert len(parsed.arrivals) + len(parsed.rejects) == len(records)


@settings(max_examples=80, deadline=None)
@given(batches())
def test_the_plan_of_the_same_inputs_is_the_same(batch):
    records, consents, next_numbers = batch
    assert plan_of(records, consents, next_numbers)[2] == plan_of(records, consents, next_numbers)[2]


# ---- examples ----------------------------------------------------------------------------------


def test_a_revoked_or_expired_consent_forwards_nothing():
    person = PERSONS[0]
    visit = record(events_topic(REGION), event_value(TYPES[REGION][0], REGION, person), 7)
    for ended in (
        consent(person, REGION, ALINGSAS, revoked_at=NOW - timedelta(seconds=1)),
        consent(person, REGION, ALINGSAS, valid_until=NOW),
    ):
        _, numbers, plan = plan_of([visit], consents_of(ended))

        assert plan.forwards == () and numbers == {} and plan.last_numbers == {}
        assert [d.forwarded for d in plan.decisions] == [False]


def test_an_unparseable_record_becomes_a_dead_letter_and_takes_no_number():
    person = PERSONS[0]
    records = [
        record(events_topic(REGION), event_value(TYPES[REGION][0], REGION, person), 1),
        record(events_topic(REGION), b"{not json", 2),
        record(events_topic(REGION), event_value(TYPES[REGION][0], REGION, person), 3),
    ]
    _, numbers, plan = plan_of(records, consents_of(consent(person, REGION, ALINGSAS)), {ALINGSAS: 41})

    assert numbers == {ALINGSAS: 41}
    assert numbers_in(plan, ALINGSAS) == [41, 42]
    (letter,) = plan.dead_letters
    assert letter.topic == dead_letters_for(events_topic(REGION)) and letter.key == b"key"
    dead = DeadLetter.model_validate_json(letter.value)
    assert (dead.origin_offset, dead.consumer, dead.failed_at) == (2, "gate", NOW)


def test_the_records_are_what_the_gate_wrote_before_the_plan():
    person = PERSONS[0]
    value = event_value(TYPES[REGION][0], REGION, person)
    granted = consent(person, REGION, ALINGSAS, LERUM)
    _, _, plan = plan_of([record(events_topic(REGION), value, 5)], consents_of(granted), {ALINGSAS: 3, LERUM: 9})

    key = pseudonym(person).encode()
    to_lerum, to_alingsas, shared = plan.forwards  # recipients in sorted order
    structured = (CONTENT_TYPE, STRUCTURED_CONTENT_TYPE.encode())
    assert (to_alingsas.topic, to_alingsas.key, to_alingsas.headers) == (
        deliveries_topic(ALINGSAS), key, (structured, (DELIVERY_SEQ_HEADER, b"3")),
    )  # fmt: skip
    assert (to_lerum.topic, to_lerum.headers) == (
        deliveries_topic(LERUM), (structured, (DELIVERY_SEQ_HEADER, b"9")),
    )  # fmt: skip
    assert to_alingsas.value == to_lerum.value == parse_event(value).to_json()
    assert all(r.by_key for r in plan.forwards)
    assert (shared.topic, shared.key) == (SHARED_EVENTS, key)
    assert shared.headers == (structured,)  # the sealed copy is a CloudEvent (contracts/sealing.py)
    copy = ForwardedEvent.model_validate_json(shared.value)
    assert (copy.parties, copy.consent_ids, copy.decided_at) == ([REGION, LERUM, ALINGSAS], [str(granted.id)], NOW)
    (decisions,) = plan.decision_records
    assert (decisions.topic, decisions.key, decisions.by_key) == (GATE_DECISIONS, None, False)
    assert [d["recipient"] for d in json.loads(decisions.value)["decisions"]] == [LERUM, ALINGSAS]


def test_decisions_are_sent_in_records_of_at_most_a_thousand():
    person = PERSONS[0]
    records = [record(events_topic(REGION), event_value(TYPES[REGION][0], REGION, person), i) for i in range(1001)]
    _, _, plan = plan_of(records, consents_of())

    sizes = [len(DecisionBatch.model_validate_json(r.value).decisions) for r in plan.decision_records]
    assert sizes == [DECISIONS_PER_RECORD, 1]


def test_the_boards_copy_is_held_by_every_consent_that_allows_it_and_sealed_with_the_statutory_bases():
    person = PERSONS[0]
    value = event_value(TYPES[REGION][1], REGION, person)  # a positive sample
    to_alingsas = consent(person, REGION, ALINGSAS)
    also_to_alingsas = consent(person, REGION, ALINGSAS)
    excludes_it = consent(person, REGION, LERUM, excluded_categories=frozenset({"test_results"}))
    law = StatutoryBasis(TYPES[REGION][1], "SoL 14 kap. 1 §", frozenset({LERUM}))
    sealed_with = []

    def seal(shared: ForwardedEvent, pseudonym_: str, references: frozenset[str]) -> bytes:
        sealed_with.append((set(shared.consent_ids), pseudonym_, references))
        return b"sealed"

    batch = read_batch([record(events_topic(REGION), value, 1)], PSEUDONYMS.of)
    consents = consents_of(to_alingsas, also_to_alingsas, excludes_it)
    decided = decide_batch(batch, consents, {law.event_type: law}, NOW)
    plan = plan_decided(decided, {ALINGSAS: 1, LERUM: 1}, seal)

    holders = {str(to_alingsas.id), str(also_to_alingsas.id)}
    assert sealed_with == [(holders, pseudonym(person), frozenset({"SoL 14 kap. 1 §"}))]
    assert plan.forwards[-1].value == b"sealed"
    assert decided.sealing_keys == (holders, {(pseudonym(person), "SoL 14 kap. 1 §")})
