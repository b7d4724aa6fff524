"""The envelope and the catalogue: what is accepted, and how what is not is named."""

import json
import uuid
from datetime import date

import pytest

from contracts import CATALOGUE, MAX_EVENT_BYTES, Category, InvalidEvent, normalize_person_id, parse_event
from contracts.examples import EXAMPLE_DATA
from contracts.principals import municipality, region
from contracts.topics import deliveries_topic, events_topic, sender_of, topic_specs
from tests.support.personnummer import make_person_id

PERSON = "19121212-1212"
REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


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
    return ALINGSAS if ".municipality." in event_type else REGION


def error_fields(exc_info) -> set[str]:
    return {e.field for e in exc_info.value.errors}


@pytest.mark.parametrize("event_type", [t for t in CATALOGUE if ".consent." not in t])
def test_every_catalogue_type_parses_from_its_example(event_type):
    event = parse_event(json.dumps(body(event_type)).encode(), sender=sender_for(event_type))

    assert event.category == CATALOGUE[event_type].category
    assert event.principal == sender_for(event_type)
    assert event.subject == "191212121212"


def test_every_type_has_an_example_and_a_category():
    assert set(EXAMPLE_DATA) == set(CATALOGUE)
    assert {spec.category for spec in CATALOGUE.values()} == set(Category)


def test_consent_lifecycle_types_are_named_as_the_spec_names_them():
    assert "se.samordna.consent.revoked.v1" in CATALOGUE


def test_a_stored_event_reads_back_equal():
    event = parse_event(body(), sender=REGION)

    assert parse_event(event.to_json()) == event


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"type": "se.samordna.region.visit.vanished.v1"}, "type"),
        ({"type": "se.samordna.region.visit.missed.v2"}, "type"),
        ({"subject": "19121212-1213"}, "subject"),
        ({"time": "2026-11-20T10:00:00"}, "time"),
        ({"specversion": "0.3"}, "specversion"),
        ({"source": ""}, "source"),
        ({"id": "has space"}, "id"),
        ({"category": "treatment"}, "category"),
        ({"principal": ALINGSAS}, "principal"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
def test_an_invalid_envelope_names_the_field(changes, field):
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body(**changes), sender=REGION)

    assert field in error_fields(exc_info)


def test_a_payload_error_is_named_inside_data():
    data = dict(EXAMPLE_DATA[VISIT_MISSED])
    del data["unit"]
    data["extra"] = "x"

    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body(data=data), sender=REGION)

    assert error_fields(exc_info) == {"data.unit", "data.extra"}


def test_a_list_item_error_is_named_with_its_index():
    data = dict(EXAMPLE_DATA["se.samordna.region.sample.positive.v1"], substances=[""])

    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body("se.samordna.region.sample.positive.v1", data=data), sender=REGION)

    assert error_fields(exc_info) == {"data.substances.0"}


def test_a_municipality_cannot_send_a_region_type():
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body(), sender=ALINGSAS)

    assert error_fields(exc_info) == {"type"}


def test_consent_lifecycle_events_never_come_through_a_gateway():
    with pytest.raises(InvalidEvent):
        parse_event(body("se.samordna.consent.revoked.v1"), sender=REGION)


def test_a_joint_type_may_come_from_either_principal():
    for sender in (REGION, ALINGSAS):
        assert parse_event(body("se.samordna.joint.sip.requested.v1"), sender=sender).principal == sender


def test_a_stored_event_must_carry_principal_and_category():
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body())

    assert {"principal", "category"} & error_fields(exc_info)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b""])
def test_a_body_that_is_not_a_json_object_is_named_body(raw):
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(raw)

    assert error_fields(exc_info) == {"body"}


def test_an_oversized_event_is_refused_before_parsing():
    raw = json.dumps(body(data={"unit": "x" * MAX_EVENT_BYTES})).encode()

    with pytest.raises(InvalidEvent, match="limit"):
        parse_event(raw, sender=REGION)


def test_no_error_message_repeats_the_personnummer():
    bad = "19121212-1213"
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(body(subject=bad, time="soon"), sender=REGION)

    assert bad not in str(exc_info.value) and "191212121213" not in str(exc_info.value)


@pytest.mark.parametrize("written", ["19121212-1212", "191212121212", "121212-1212", "121212+1212"])
def test_personnummer_normalise_to_twelve_digits(written):
    assert len(normalize_person_id(written)) == 12


def test_a_samordningsnummer_is_a_person_id():
    number = make_person_id(date(1990, 5, 4), 123, coordination=True)

    assert normalize_person_id(number) == number.replace("-", "")


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
