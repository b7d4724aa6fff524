"""Values PostgreSQL cannot store, or that break date arithmetic behind the gate, are refused
where they come in, naming the field and never repeating the value."""

import asyncio
import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg
import pydantic
import pytest

from contracts import DeadLetter, InvalidEvent, parse_event
from contracts.examples import EXAMPLE_DATA
from contracts.text import MAX_INT64, storable, unstorable_paths
from services.consent.consents import ConsentRequest
from services.gateway.inbox import parse_delivery
from services.gateway.subscriptions_api import NewSubscription
from services.runtime.consuming import describe_unstorable, handle_isolating
from tests.support.events import example_body
from tests.support.events import refused as refused_from

PERSON = "19121212-1212"
REGION = "region-14"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SAMPLE_POSITIVE = "se.samordna.region.sample.positive.v1"
TREATMENT_STARTED = "se.samordna.region.treatment.started.v1"
SELFRATING = "se.samordna.joint.selfrating.recorded.v1"


def body(event_type=VISIT_MISSED, **changes) -> dict:
    return example_body(event_type, PERSON, **changes)


def refused(raw) -> InvalidEvent:
    return refused_from(raw, REGION)


def fields(exc: InvalidEvent) -> set[str]:
    return {e.field for e in exc.errors}


# --- text PostgreSQL cannot store ---------------------------------------------------------
@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b", "\udfff"])
def test_nul_or_a_lone_surrogate_in_a_payload_string_is_refused_naming_the_field(bad):
    data = dict(EXAMPLE_DATA[VISIT_MISSED], unit=bad)

    exc = refused(body(data=data))

    assert fields(exc) == {"data.unit"}
    assert "cannot be stored" in str(exc)
    assert bad not in str(exc)


def test_nul_as_the_json_escape_is_refused_too():
    raw = json.dumps(body()).replace('"unit": "', '"unit": "\\u0000', 1).encode()

    assert fields(refused(raw)) == {"data.unit"}


def test_nul_inside_a_list_and_in_an_object_key_is_named_by_its_path():
    sample = dict(EXAMPLE_DATA[SAMPLE_POSITIVE], substances=["amfetamin", "x\x00"])
    rating = dict(EXAMPLE_DATA[SELFRATING], ratings={"sömn\x00": 3})

    assert fields(refused(body(SAMPLE_POSITIVE, data=sample))) == {"data.substances.1"}
    exc = refused(body(SELFRATING, data=rating))
    assert fields(exc) == {"data.ratings"}
    assert "\x00" not in str(exc)


@pytest.mark.parametrize("field", ["id", "source", "type", "time", "subject"])
def test_nul_in_an_envelope_field_is_named(field):
    exc = refused(body(**{field: f"x\x00{field}"}))

    assert field in fields(exc)
    assert all("\x00" not in e.field + e.message for e in exc.errors)


def test_an_unknown_envelope_field_with_nul_in_its_name_gives_a_clean_error():
    exc = refused(body() | {"ex\x00tra": 1})

    assert all("\x00" not in e.field + e.message for e in exc.errors)


def test_unstorable_paths_walks_every_string():
    value = {"a": ["ok", "b\x00"], "c": {"d": "\ud800"}, "e": 1}

    assert list(unstorable_paths(value)) == ["a.1", "c.d"]
    assert storable("a\x00b\ud800") == "a\ufffdb\ufffd"


def test_a_dead_letter_never_holds_nul():
    letter = DeadLetter(
        origin_topic="t",
        origin_partition=0,
        origin_offset=MAX_INT64,
        consumer="c",
        reason="r\x00",
        key="k\x00",
        value=b'{"a": "b\x00"}',
        failed_at=datetime.now(UTC),
    )

    assert "\x00" not in letter.value + letter.reason + letter.key


# --- time and dates -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "time",
    [
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+01:00",  # year 0 in UTC: comparing it would overflow
        "1899-12-31T23:59:59+00:00",
        "1900-01-01T00:30:00+01:00",  # 1899 in UTC
        "9999-12-31T23:59:59+00:00",
        (datetime.now(UTC) + timedelta(days=2)).isoformat(),
    ],
)
def test_an_event_time_outside_1900_to_a_day_ahead_is_refused_naming_time(time):
    exc = refused(body(time=time))

    assert fields(exc) == {"time"}
    assert time not in str(exc)


@pytest.mark.parametrize("time", ["1900-01-01T00:00:00+00:00", (datetime.now(UTC) + timedelta(hours=23)).isoformat()])
def test_an_event_time_inside_the_window_is_accepted(time):
    assert parse_event(body(time=time), sender=REGION).time == datetime.fromisoformat(time)


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1899-12-31", "2101-01-01"])
def test_a_payload_date_outside_1900_to_2100_is_refused_naming_the_field(day):
    data = dict(EXAMPLE_DATA[TREATMENT_STARTED], started_on=day)

    exc = refused(body(TREATMENT_STARTED, data=data))

    assert fields(exc) == {"data.started_on"}
    assert day not in str(exc)


def test_a_payload_datetime_outside_1900_to_2100_is_refused_naming_the_field():
    data = dict(EXAMPLE_DATA[VISIT_MISSED], planned_at="9999-12-31T10:00:00+01:00")

    assert fields(refused(body(data=data))) == {"data.planned_at"}


@pytest.mark.parametrize("day", ["1900-01-01", "2100-12-31"])
def test_the_edges_of_the_date_window_are_accepted(day):
    data = dict(EXAMPLE_DATA[TREATMENT_STARTED], started_on=day)

    assert parse_event(body(TREATMENT_STARTED, data=data), sender=REGION).data["started_on"] == day


# --- consents and subscriptions -------------------------------------------------------------
def consent(**changes) -> dict:
    return {"person": PERSON, "parties": [REGION, "kommun-1489"], "form": "written", "valid_from": "2026-12-01"} | (
        changes
    )


def consent_errors(**changes) -> dict[str, str]:
    with pytest.raises(pydantic.ValidationError) as exc_info:
        ConsentRequest.model_validate(consent(**changes))
    return {".".join(map(str, e["loc"])): e["msg"] for e in exc_info.value.errors()}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"valid_from": "9999-12-31"}, "valid_from"),
        ({"valid_from": "9999-12-31T00:00:00+00:00"}, "valid_from"),
        ({"valid_from": "0001-01-01"}, "valid_from"),
        ({"valid_until": "9999-12-31"}, "valid_until"),
        ({"recorded_by": "HSA\x00"}, "recorded_by"),
    ],
)
def test_a_consent_with_an_extreme_date_or_unstorable_text_is_refused(changes, field):
    assert field in consent_errors(**changes)


def test_a_consent_near_the_end_of_the_window_still_gets_its_year():
    request = ConsentRequest.model_validate(consent(valid_from="2099-12-31"))

    assert request.ends.year == 2100
    assert "valid_from" in consent_errors(valid_from="2100-06-01")  # its year would end in 2101


@pytest.mark.parametrize(("field", "value"), [("url", "http://x/\x00"), ("secret", "s" * 16 + "\x00")])
def test_a_subscription_field_with_nul_is_refused(field, value):
    new = {"url": "http://receiver.example/hook", "secret": "s" * 20} | {field: value}

    with pytest.raises(pydantic.ValidationError) as exc_info:
        NewSubscription.model_validate(new)

    assert [e["loc"] for e in exc_info.value.errors()] == [(field,)]


@pytest.mark.parametrize("from_seq", [MAX_INT64 + 1, -1])
def test_a_subscription_start_outside_64_bits_is_refused(from_seq):
    with pytest.raises(pydantic.ValidationError):
        NewSubscription.model_validate({"url": "http://r.example/", "secret": "s" * 20, "from_seq": from_seq})


# --- a consumer whose handler cannot store a record -----------------------------------------
def _record(offset: int) -> SimpleNamespace:
    return SimpleNamespace(topic="t", partition=0, offset=offset)


class FussyStore:
    """Refuses, with a data error, every batch that holds a poison item; stores the rest."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.stored: list[str] = []
        self.calls = 0

    async def __call__(self, items: list[str]) -> None:
        self.calls += 1
        if "poison" in items:
            raise self.error
        self.stored += items


def test_a_record_that_cannot_be_stored_is_isolated_and_the_rest_stored_in_order():
    store = FussyStore(asyncpg.UntranslatableCharacterError("unsupported Unicode escape sequence \\u0000"))
    parsed = [(_record(i), item) for i, item in enumerate(["a", "poison", "b"])]

    refused_records = asyncio.run(handle_isolating(store, parsed))

    assert store.stored == ["a", "b"]
    assert [(record.offset, reason) for record, reason in refused_records] == [
        (1, "UntranslatableCharacterError (SQLSTATE 22P05): the record could not be stored")
    ]


def test_a_whole_batch_that_stores_is_handled_in_one_call():
    store = FussyStore(ValueError())

    assert asyncio.run(handle_isolating(store, [(_record(0), "a"), (_record(1), "b")])) == []
    assert store.calls == 1


def test_an_error_that_is_not_about_the_data_is_raised_so_the_batch_is_read_again():
    store = FussyStore(asyncpg.CannotConnectNowError("the database system is starting up"))

    with pytest.raises(asyncpg.CannotConnectNowError):
        asyncio.run(handle_isolating(store, [(_record(0), "a"), (_record(1), "poison")]))


def test_the_reason_of_an_unstorable_record_never_quotes_the_value():
    error = asyncpg.DataError("invalid input for query argument $1: '19121212-1212\x00' (bad)")

    reason = describe_unstorable(error)

    assert reason == "DataError (SQLSTATE 22000): the record could not be stored"
    assert "1212" not in reason


@pytest.mark.parametrize("header", [str(MAX_INT64 + 1).encode(), b"0", b"-3", b"\xff", b"seven"])
def test_a_delivery_number_no_bigint_holds_makes_the_delivery_a_dead_letter(header):
    record = SimpleNamespace(value=json.dumps(body() | {"principal": REGION, "category": "attendance"}).encode())
    record.headers = [("samordna-delivery-seq", header)]

    with pytest.raises(ValueError):
        parse_delivery(record)


def test_the_largest_delivery_number_is_kept():
    record = SimpleNamespace(value=json.dumps(body() | {"principal": REGION, "category": "attendance"}).encode())
    record.headers = [("samordna-delivery-seq", str(MAX_INT64).encode())]

    assert parse_delivery(record).delivery_seq == MAX_INT64
