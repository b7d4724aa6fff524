"""The envelope and the catalogue: what is accepted, and how what is not is named."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from contracts import (
    CATALOGUE,
    MAX_EVENT_BYTES,
    Category,
    DeadLetter,
    FieldError,
    InvalidEvent,
    SenderKind,
    UnknownEventType,
    parse_event,
    spec_for,
)
from contracts.examples import EXAMPLE_DATA
from contracts.principals import municipality, region
from contracts.topics import deliveries_topic, events_topic, sender_of, topic_specs

PERSON = "19121212-1212"
NOT_A_PERSON = "19121212-1213"  # the check digit is wrong
REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
INTERVENTION_MISSED = "se.samordna.municipality.intervention.missed.v1"
SIP_REQUESTED = "se.samordna.joint.sip.requested.v1"
CONSENT_GRANTED = "se.samordna.consent.granted.v1"
RECEIPT_ACKNOWLEDGED = "se.samordna.receipt.acknowledged.v1"
POSTABLE_TYPES = [t for t, spec in CATALOGUE.items() if spec.sender not in (SenderKind.CONSENT, SenderKind.GATEWAY)]


def body(event_type=VISIT_MISSED, **changes):
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/journal",
        "type": event_type,
        "subject": PERSON,
        "time": "2026-11-20T10:00:00+01:00",
        "data": dict(EXAMPLE_DATA[event_type]),
    } | changes


def sender_for(event_type):
    return ALINGSAS if CATALOGUE[event_type].sender is SenderKind.MUNICIPALITY else REGION


def stored_body(event_type, **changes):
    return body(event_type, principal=sender_for(event_type), category=CATALOGUE[event_type].category.value) | changes


def refused(raw, **kwargs) -> InvalidEvent:
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(raw, **kwargs)
    return exc_info.value


def fields(exc: InvalidEvent) -> set[str]:
    return {e.field for e in exc.errors}


def messages(exc: InvalidEvent) -> str:
    return str(exc) + json.dumps([dict(e) for e in exc.errors])


# --- the catalogue ----------------------------------------------------------------------
def test_every_type_has_an_example_a_label_and_a_category():
    assert set(EXAMPLE_DATA) == set(CATALOGUE)
    assert all(spec.label_sv for spec in CATALOGUE.values())
    assert {spec.category for spec in CATALOGUE.values()} == set(Category)


@pytest.mark.parametrize(
    ("sender", "namespace"),
    [
        (SenderKind.REGION, "se.samordna.region."),
        (SenderKind.MUNICIPALITY, "se.samordna.municipality."),
        (SenderKind.EITHER, "se.samordna.joint."),
        (SenderKind.CONSENT, "se.samordna.consent."),
        (SenderKind.GATEWAY, "se.samordna.receipt."),
    ],
)
def test_a_type_is_named_after_who_may_send_it(sender, namespace):
    types = [t for t, spec in CATALOGUE.items() if spec.sender is sender]

    assert types and all(t.startswith(namespace) and t.endswith(".v1") for t in types)
    assert all(CATALOGUE[t].type == t and t.endswith(f".{CATALOGUE[t].name}.v1") for t in types)


def test_the_catalogue_holds_the_v1_types_of_the_spec():
    assert {spec.name for spec in CATALOGUE.values()} >= {
        "visit.missed",
        "treatment.discharge_group_referral",
        "intervention.ending",
        "contact.opened",
        "consent.revoked",
    }
    assert len(CATALOGUE) == 27


def test_the_routines_name_what_needs_action():
    needing_action = {spec.name for spec in CATALOGUE.values() if spec.needs_action}

    assert needing_action == {
        "admission.notified",
        "discharge.planned",
        "treatment.discharge_group_referral",
        "sip.requested",
    }


def test_an_unknown_type_is_named_with_the_closest_known_one():
    with pytest.raises(UnknownEventType, match="did you mean se.samordna.region.visit.missed.v1"):
        spec_for("se.samordna.region.visit.mised.v1")


def test_a_known_type_in_another_version_lists_the_versions_there_are():
    with pytest.raises(ValueError, match=r"\.missed\.v2'.*known: se\.samordna\.region\.visit\.missed\.v1"):
        spec_for("se.samordna.region.visit.missed.v2")


# --- what is accepted -------------------------------------------------------------------
@pytest.mark.parametrize("event_type", POSTABLE_TYPES)
def test_every_gateway_type_parses_from_its_example(event_type):
    event = parse_event(json.dumps(body(event_type)).encode(), sender=sender_for(event_type))

    assert event.category == CATALOGUE[event_type].category
    assert event.principal == sender_for(event_type)
    assert event.subject == "191212121212"
    assert isinstance(event.payload(), CATALOGUE[event_type].payload)


@pytest.mark.parametrize("event_type", list(CATALOGUE))
def test_every_type_reads_back_equal_from_its_stored_form(event_type):
    event = parse_event(stored_body(event_type))

    assert parse_event(event.to_json()) == event
    assert event.spec() is CATALOGUE[event_type]


def test_the_stored_data_is_normalised():
    data = EXAMPLE_DATA[CONSENT_GRANTED] | {"consent_id": "6F1C1A2E-3D6B-4C3E-9A57-2F8F7C1D0B11"}
    consent = parse_event(stored_body(CONSENT_GRANTED, data=data))
    visit = parse_event(body(data={"unit": "  Avd 32  ", "planned_at": "2026-11-20T09:30:00Z"}), sender=REGION)

    assert consent.data["consent_id"] == "6f1c1a2e-3d6b-4c3e-9a57-2f8f7c1d0b11"
    assert visit.data == {"unit": "Avd 32", "planned_at": "2026-11-20T09:30:00Z", "visit_kind": None}


def test_a_joint_type_may_come_from_either_principal():
    for sender in (REGION, ALINGSAS):
        assert parse_event(body(SIP_REQUESTED), sender=sender).principal == sender


def test_a_gateway_fills_in_principal_and_category():
    event = parse_event(body(INTERVENTION_MISSED), sender=ALINGSAS)

    assert (event.principal, event.category) == (ALINGSAS, Category.ATTENDANCE)


def test_a_body_may_name_the_caller_and_the_right_category():
    event = parse_event(body(principal=REGION, category="attendance"), sender=REGION)

    assert event.principal == REGION


# --- what is refused, and how it is named -----------------------------------------------
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "se.samordna.region.visit.vanished.v1"}, "type"),
        ({"type": "se.samordna.region.visit.missed.v2"}, "type"),
        ({"type": None}, "type"),
        ({"type": 7}, "type"),
        ({"subject": NOT_A_PERSON}, "subject"),
        ({"subject": 191212121212}, "subject"),
        ({"time": "2026-11-20T10:00:00"}, "time"),
        ({"specversion": "0.3"}, "specversion"),
        ({"source": ""}, "source"),
        ({"source": "/en källa"}, "source"),
        ({"id": "has space"}, "id"),
        ({"id": "x" * 129}, "id"),
        ({"datacontenttype": "text/plain"}, "datacontenttype"),
        ({"category": "treatment"}, "category"),
        ({"principal": ALINGSAS}, "principal"),
        ({"unexpected": 1}, "unexpected"),
        ({"data": None}, "data"),
        ({"data": [1]}, "data"),
    ],
)
def test_an_invalid_envelope_names_the_field(changes, field):
    assert fields(refused(body(**changes), sender=REGION)) == {field}


def test_a_missing_envelope_field_is_named():
    event = body()
    del event["time"], event["data"]

    assert fields(refused(event, sender=REGION)) == {"time", "data"}


def test_every_wrong_field_is_named_at_once():
    exc = refused(body(subject=NOT_A_PERSON, time="soon", data={"planned_at": "2026-11-20T09:30:00"}), sender=REGION)

    assert fields(exc) == {"subject", "time", "data.unit", "data.planned_at"}


def test_a_payload_error_is_named_inside_data():
    data = dict(EXAMPLE_DATA[VISIT_MISSED])
    del data["unit"]
    data["extra"] = "x"

    assert fields(refused(body(data=data), sender=REGION)) == {"data.unit", "data.extra"}


def test_a_list_item_error_is_named_with_its_index():
    data = dict(EXAMPLE_DATA[SAMPLE_POSITIVE], substances=["amfetamin", " "])

    assert fields(refused(body(SAMPLE_POSITIVE, data=data), sender=REGION)) == {"data.substances.1"}


def test_an_unknown_type_names_the_type_and_the_closest_one():
    exc = refused(body(type="se.samordna.region.visit.mised.v1"), sender=REGION)

    assert exc.errors == [
        FieldError(
            "type",
            "unknown event type 'se.samordna.region.visit.mised.v1'; did you mean se.samordna.region.visit.missed.v1?",
        )
    ]


def test_a_wrong_version_says_which_versions_exist():
    exc = refused(body(type="se.samordna.region.visit.missed.v2"), sender=REGION)

    assert "known: se.samordna.region.visit.missed.v1" in str(exc)


def test_the_body_cannot_claim_another_principal():
    exc = refused(body(principal=ALINGSAS), sender=REGION)

    assert exc.errors == [FieldError("principal", "the body names 'kommun-1489' but the caller is region-14")]


def test_a_municipality_cannot_send_a_region_type():
    exc = refused(body(), sender=ALINGSAS)

    assert fields(exc) == {"type"}
    assert "only a region" in str(exc)


def test_a_region_cannot_send_a_municipality_type():
    assert fields(refused(body(INTERVENTION_MISSED), sender=REGION)) == {"type"}


@pytest.mark.parametrize("sender", [REGION, ALINGSAS])
def test_consent_lifecycle_events_never_come_through_a_gateway(sender):
    assert fields(refused(body(CONSENT_GRANTED), sender=sender)) == {"type"}


@pytest.mark.parametrize("sender", [REGION, ALINGSAS])
def test_a_receipt_is_made_by_the_gateway_never_posted(sender):
    exc = refused(body(RECEIPT_ACKNOWLEDGED), sender=sender)

    assert fields(exc) == {"type"}
    assert "/v1/inbox/{event_id}/ack" in str(exc)


def test_a_stored_receipt_is_addressed_to_the_sender_of_what_it_acknowledges():
    receipt = parse_event(stored_body(RECEIPT_ACKNOWLEDGED, principal=ALINGSAS))

    assert receipt.addressee == REGION
    assert parse_event(stored_body(VISIT_MISSED)).addressee is None


def test_the_deadlines_of_receipts_cover_exactly_the_types_that_need_action():
    from datetime import timedelta

    from contracts.receipts import DEFAULT_DEADLINES, receipt_deadlines

    assert set(DEFAULT_DEADLINES) == {t for t, spec in CATALOGUE.items() if spec.needs_action}
    assert receipt_deadlines({SIP_REQUESTED: timedelta(days=2)})[SIP_REQUESTED] == timedelta(days=2)
    with pytest.raises(ValueError, match="not an event type that needs action"):
        receipt_deadlines({VISIT_MISSED: timedelta(days=1)})


def test_a_stored_event_must_carry_principal_and_category():
    assert fields(refused(body())) == {"principal", "category"}


def test_a_stored_event_is_checked_against_its_category_and_sender():
    assert fields(refused(stored_body(VISIT_MISSED, category="treatment"))) == {"category"}
    assert fields(refused(stored_body(VISIT_MISSED, principal=ALINGSAS))) == {"type"}


def test_a_stored_consent_event_names_the_principal_that_recorded_it():
    assert parse_event(stored_body(CONSENT_GRANTED, principal=ALINGSAS)).principal == ALINGSAS


def test_a_consent_cannot_end_before_it_starts():
    data = EXAMPLE_DATA[CONSENT_GRANTED] | {"valid_until": "2026-01-01T00:00:00+01:00"}

    assert fields(refused(stored_body(CONSENT_GRANTED, data=data))) == {"data.valid_until"}


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"\xff\xfe", b"", b'{"a": NaN}', b"[" * 50_000, '{"a": "\ud800"', "null"],
)
def test_a_body_that_is_not_a_json_object_is_named_body(raw):
    assert fields(refused(raw)) == {"body"}


@pytest.mark.parametrize("encode", [True, False])
def test_an_oversized_event_is_refused_before_parsing(encode):
    raw = json.dumps(body(data={"unit": "x" * MAX_EVENT_BYTES}))

    exc = refused(raw.encode() if encode else raw, sender=REGION)

    assert exc.errors == [FieldError("body", f"event is {len(raw)} bytes; the limit is 65536")]


def test_field_errors_are_plain_field_and_message_pairs():
    exc = refused(body(subject=NOT_A_PERSON), sender=REGION)

    assert [dict(e) for e in exc.errors] == [
        {
            "field": "subject",
            "message": "Value error, not a valid personnummer or samordningsnummer "
            "(expected YYYYMMDD-NNNN with a correct check digit)",
        }
    ]
    assert "\n" not in str(exc)


# --- the personnummer is never repeated back ----------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"subject": NOT_A_PERSON, "time": "soon"},
        {"subject": "191212121213"},
        {"principal": PERSON},
        {"category": PERSON},
        {"type": PERSON},
        {PERSON: "an extra field named by the number"},
        {"data": dict(EXAMPLE_DATA[VISIT_MISSED], visit_kind=f"besök för {PERSON}")},
        {"data": dict(EXAMPLE_DATA[VISIT_MISSED], **{PERSON: 1})},
    ],
)
def test_no_error_message_repeats_the_personnummer(changes):
    text = messages(refused(body(**changes), sender=REGION))

    assert "1212-121" not in text and "12121212" not in text


def test_a_text_field_refuses_a_personnummer():
    data = dict(EXAMPLE_DATA[VISIT_MISSED], visit_kind="återbesök, 121212-1212")

    exc = refused(body(data=data), sender=REGION)

    assert exc.errors == [
        FieldError("data.visit_kind", "Value error, must not hold a personnummer; the person is the event's subject")
    ]


def test_a_number_that_only_looks_like_a_personnummer_is_kept():
    data = dict(EXAMPLE_DATA[VISIT_MISSED], visit_kind="telefon 0701234568")

    assert parse_event(body(data=data), sender=REGION).data["visit_kind"] == "telefon 0701234568"


# --- records on Samordna's own topics -------------------------------------------------
def test_a_dead_letter_holds_the_raw_value_as_bounded_text():
    letter = DeadLetter(
        origin_topic="events.region-14",
        origin_partition=0,
        origin_offset=7,
        consumer="gate",
        reason="body: not valid JSON",
        key=None,
        value=b"\xff" + b"x" * (2 * MAX_EVENT_BYTES),
        failed_at=datetime.now(UTC),
    )

    assert letter.value.startswith("\ufffdx")
    assert len(letter.value.encode()) <= MAX_EVENT_BYTES
    assert DeadLetter.model_validate_json(letter.model_dump_json()) == letter


# --- principal ids and topics -----------------------------------------------------------
def test_principal_ids_and_topics_are_built_in_one_place():
    assert region("14") == REGION and municipality("1489") == ALINGSAS
    assert events_topic(ALINGSAS) == "events.kommun-1489"
    assert deliveries_topic(REGION) == "deliveries.region-14"
    assert sender_of("events.kommun-1489") == ALINGSAS
    with pytest.raises(ValueError):
        municipality("14890")


def test_every_topic_has_an_explicit_partition_count():
    specs = topic_specs([REGION, ALINGSAS])

    assert {s.name for s in specs} >= {"events.region-14", "deliveries.kommun-1489", "shared.events", "dead.letters"}
    assert all(s.partitions >= 1 for s in specs)
