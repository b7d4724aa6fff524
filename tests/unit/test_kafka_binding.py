"""Every record the gate and the outbox relays write is a CloudEvent to a strict receiver of the
Kafka protocol binding, read with the official SDK (tests/support/cloudevents_binding.py); the
same reading of the real broker's records is tests/integration/test_cloudevents_binding.py."""

import json
from pathlib import Path

import pytest
from hypothesis import given, settings

from contracts import DeadLetter, DecisionBatch, kafka_binding, parse_event
from contracts.sealing import SEALED_CONTENT_TYPE, SealedEvent, new_key
from contracts.topics import DELIVERY_SEQ_HEADER, SHARED_EVENTS
from services.consent.erasure import Keys
from services.consent.plan import decide_batch, plan_decided, read_batch
from tests.support.cloudevents_binding import NotACloudEvent, mode_of, read_cloudevent
from tests.unit.test_consent_plan import NOW, PERSONS, PSEUDONYMS, batches

SCHEMAS = Path(__file__).resolve().parents[2] / "contracts" / "schemas"
MODEL_OF_SCHEMA = {
    "decision-batch.json": DecisionBatch,
    "dead-letter.json": DeadLetter,
}


@settings(max_examples=80, deadline=None)
@given(batches())
def test_every_record_of_a_gate_batch_reads_as_a_cloudevent_and_names_no_person(batch):
    records, consents, next_numbers = batch
    for record in sealed_plan(records, consents, next_numbers).records:
        event = read_cloudevent(record.headers, record.key, record.value)
        headers = b"".join(name.encode() + value for name, value in record.headers)
        assert not any(p.encode() in headers or p.replace("-", "").encode() in headers for p in PERSONS)
        if record.topic == SHARED_EVENTS:  # a sealed CloudEvent: the envelope is the event's
            assert mode_of(record.headers) == "structured"
            copy = SealedEvent.model_validate_json(record.value)
            assert (event["id"], event["type"]) == (copy.id, copy.type)
            # (the SDK's structured reading puts the header's content-type in datacontenttype)
            assert json.loads(record.value)["datacontenttype"] == SEALED_CONTENT_TYPE
            assert "subject" not in event.get_attributes()
        elif record.topic.startswith("deliveries."):
            assert mode_of(record.headers) == "structured"
            sent = parse_event(record.value)
            assert (event["id"], event["type"], event["subject"], event.get_data()) == (
                sent.id, sent.type, sent.subject, sent.data
            )  # fmt: skip
            assert int(event[DELIVERY_SEQ_HEADER]) >= 1
        else:
            assert mode_of(record.headers) == "binary"
            schema = event["dataschema"].removeprefix(kafka_binding.SCHEMA_BASE)
            assert (SCHEMAS / schema).exists()
            assert json.loads((SCHEMAS / schema).read_text())["$id"] == event["dataschema"]
            MODEL_OF_SCHEMA[schema].model_validate(event.get_data())
            assert event["datacontenttype"] == "application/json"


def sealed_plan(records, consents, next_numbers):
    """The gate's plan of a batch, the board's copies sealed with fresh keys as the gate does."""
    decided = decide_batch(read_batch(records, PSEUDONYMS.of), consents, {}, NOW)
    consent_ids, statutory = decided.sealing_keys
    keys = Keys(
        {c: (f"consent:{c}", new_key()) for c in consent_ids},
        {s: (f"statutory:{s[0]}:{s[1]}", new_key()) for s in statutory},
    )
    numbers = {r: (next_numbers or {}).get(r, 1) for r in decided.needed}
    return plan_decided(decided, numbers, keys.seal)


def test_the_outbox_header_makes_a_stored_event_a_structured_cloudevent():
    from tests.unit.test_consent_plan import REGION, TYPES, event_value

    value = event_value(TYPES[REGION][0], REGION, PERSONS[0])
    event = read_cloudevent(kafka_binding.structured(), b"pseudonym", value)
    sent = parse_event(value)
    assert (event["id"], event["source"], event["type"], event["subject"], event["principal"]) == (
        sent.id, sent.source, sent.type, sent.subject, sent.principal
    )  # fmt: skip
    assert (event.get_data(), event["partitionkey"]) == (sent.data, b"pseudonym")


def test_a_record_without_the_header_is_binary_mode_and_fails_as_an_integrator_saw():
    from tests.unit.test_consent_plan import REGION, TYPES, event_value

    value = event_value(TYPES[REGION][0], REGION, PERSONS[0])
    with pytest.raises(NotACloudEvent, match="binary mode without ce_specversion, ce_id, ce_source, ce_type"):
        read_cloudevent((), b"pseudonym", value)
    with pytest.raises(NotACloudEvent):  # a Samordna record declared structured is no CloudEvent
        read_cloudevent(kafka_binding.structured(), None, json.dumps({"decisions": []}).encode())
