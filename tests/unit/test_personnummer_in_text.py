"""A personnummer or samordningsnummer appears nowhere but in `subject`, however it is written;
ordinary numbers (that are not valid person ids) are kept."""

import random
import uuid
from datetime import date

import pydantic
import pytest

from contracts import InvalidEvent, parse_event
from contracts.examples import EXAMPLE_DATA
from contracts.person import contains_person_id, redact_person_ids
from services.consent.consents import ConsentRequest
from services.gateway.api import Acknowledgement
from services.gateway.subscriptions_api import NewSubscription
from tests.support.events import example_body
from tests.support.events import refused as refused_from
from tests.support.personnummer import make_person_id

REGION = "region-14"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
SELFRATING = "se.samordna.joint.selfrating.recorded.v1"
NUMBER = "19800808-5550"  # valid: date and check digit
COORDINATION = make_person_id(date(1990, 5, 4), 123, coordination=True)
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")

SPELLINGS = [
    NUMBER,
    NUMBER.replace("-", ""),  # 12 digits
    NUMBER[2:],  # YYMMDD-NNNN
    NUMBER[2:].replace("-", ""),  # 10 digits
    NUMBER.replace("-", " "),
    NUMBER[2:].replace("-", " "),
    NUMBER.replace("-", " - "),
    NUMBER.replace("-", "\u00a0"),  # no-break space
    NUMBER.replace("-", "\u2013"),  # en dash
    NUMBER.replace("-", "\u200b"),  # zero-width space
    NUMBER.translate(ARABIC_INDIC),
    NUMBER.translate(FULLWIDTH),
    "19121212+1212"[2:],  # YYMMDD+NNNN: over a hundred years old
    COORDINATION,
    COORDINATION.replace("-", " "),
]


@pytest.mark.parametrize("written", SPELLINGS)
def test_a_person_id_is_found_however_it_is_written(written):
    assert contains_person_id(f"journal-{written}-anteckning")
    assert contains_person_id(written)


@pytest.mark.parametrize(
    "ordinary",
    [
        "19800808-5551",  # wrong check digit
        "19801308-5550",  # month 13
        "1980080855501",  # 13 digits: not a person id
        "order 12345678901234",
        "2026-12-01 10:30",
        "tel 031-123 45 67",
        "SE2321000131-P000000012345",  # an HSA-id
        "6f1c1a2e-3d6b-4c3e-9a57-2f8f7c1d0b11",
    ],
)
def test_an_ordinary_number_is_not_a_person_id(ordinary):
    assert not contains_person_id(ordinary)


@pytest.mark.parametrize("written", SPELLINGS)
def test_redaction_hides_every_spelling(written):
    redacted = redact_person_ids(f"x {written} y")

    assert "<personnummer>" in redacted
    assert "5550" not in redacted and "٥٥٥٠" not in redacted


def body(**changes) -> dict:
    return example_body(VISIT_MISSED, NUMBER, **changes)


def refused(raw) -> InvalidEvent:
    return refused_from(raw, REGION)


def assert_not_echoed(text: str) -> None:
    digits = NUMBER.replace("-", "")
    assert digits[2:6] + "-" not in text and digits not in text and "5550" not in text


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"id": f"journal-{NUMBER}-1"}, "id"),
        ({"id": f"journal-{NUMBER.replace('-', '')}"}, "id"),
        ({"id": f"j:{NUMBER[2:]}/x"}, "id"),
        ({"source": f"/journal/{NUMBER}"}, "source"),
        ({"source": f"/journal/{NUMBER[2:].replace('-', '+')}"}, "source"),
    ],
)
def test_an_event_whose_id_or_source_holds_a_person_id_is_refused_without_repeating_it(changes, field):
    exc = refused(body(**changes))

    assert {e.field for e in exc.errors} == {field}
    assert_not_echoed(str(exc))


@pytest.mark.parametrize("written", SPELLINGS)
def test_a_payload_string_holding_a_person_id_in_any_spelling_is_refused(written):
    data = dict(EXAMPLE_DATA[VISIT_MISSED], visit_kind=f"återbesök {written}")

    exc = refused(body(data=data))

    assert {e.field for e in exc.errors} == {"data.visit_kind"}
    assert_not_echoed(str(exc))


def test_a_person_id_as_an_object_key_in_the_payload_is_refused():
    data = dict(EXAMPLE_DATA[SELFRATING], ratings={f"sömn {NUMBER}": 3})

    exc = refused(body(type=SELFRATING, data=data))

    [error] = exc.errors
    assert error.field.startswith("data.ratings.")  # the key is named, with the number redacted
    assert_not_echoed(error.field + error.message)


def test_the_subject_still_takes_the_person_id_and_ordinary_numbers_stay():
    data = dict(EXAMPLE_DATA[VISIT_MISSED], visit_kind="återbesök 19800808-5551, rum 12")

    event = parse_event(body(id="journal-2026-12-01-000123", data=data), sender=REGION)

    assert event.subject == NUMBER.replace("-", "")
    assert event.data["visit_kind"] == "återbesök 19800808-5551, rum 12"


def test_a_stored_event_is_checked_the_same_when_read_back():
    stored = body(id=f"x-{NUMBER}") | {"principal": REGION, "category": "attendance"}

    with pytest.raises(InvalidEvent):
        parse_event(stored)


def test_a_consent_recorded_by_a_person_id_is_refused():
    with pytest.raises(pydantic.ValidationError) as exc_info:
        ConsentRequest.model_validate(
            {
                "person": NUMBER,
                "parties": [REGION, "kommun-1489"],
                "form": "written",
                "valid_from": "2026-12-01",
                "recorded_by": NUMBER.replace("-", " "),
            }
        )

    [error] = exc_info.value.errors()
    assert error["loc"] == ("recorded_by",)
    assert_not_echoed(error["msg"])


def test_a_receipt_unit_holding_a_person_id_is_refused():
    with pytest.raises(pydantic.ValidationError):
        Acknowledgement.model_validate({"unit": f"avd {NUMBER.translate(ARABIC_INDIC)}"})


def test_a_webhook_url_holding_a_person_id_is_refused():
    with pytest.raises(pydantic.ValidationError) as exc_info:
        NewSubscription.model_validate({"url": f"https://r.example/hook/{NUMBER}", "secret": "s" * 20})

    assert [e["loc"] for e in exc_info.value.errors()] == [("url",)]


def test_a_digit_run_inside_a_word_is_not_a_written_number_so_uuid_ids_pass():
    """ "b49e5f48-a78f-4e17-889b-e2604809166b": 260480-9166 is a valid samordningsnummer, glued
    into hex. About one random UUID in 7 000 holds such a run; refusing them refuses ids."""
    body_ = body(id="b49e5f48-a78f-4e17-889b-e2604809166b")
    assert parse_event(body_, sender="region-14").id == body_["id"]


@pytest.mark.parametrize(
    "uuid_id",
    [
        "99130272-3851-4fde-9131-df28c05585a8",  # first groups read as YYMMDD-NNNN before
        "48540381-4261-43d3-9900-f3080343c4ae",
        "01990606-8698-43df-9b6b-0e14ff76f491",
    ],
)
def test_a_uuid_whose_first_groups_look_like_a_person_id_is_an_id_not_a_number(uuid_id):
    """About one random UUID in 28 000 starts with digits shaped like a valid number; a partner's
    uuid4 event ids, and the consent service's own ids, must not be refused for it."""
    assert not contains_person_id(uuid_id)
    assert parse_event(body(id=uuid_id), sender="region-14").id == uuid_id


def test_no_random_uuid_holds_a_person_id():
    seeded = random.Random(2026)
    ids = [str(uuid.UUID(int=seeded.getrandbits(128), version=4)) for _ in range(100_000)]
    assert [i for i in ids if contains_person_id(i)] == []


def test_a_person_id_beside_a_uuid_is_still_found():
    assert contains_person_id(f"{NUMBER} 99130272-3851-4fde-9131-df28c05585a8")
    assert contains_person_id(f"99130272-3851-4fde-9131-df28c05585a8/{NUMBER}")
