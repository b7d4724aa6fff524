"""Sealed records (contracts/sealing.py): open with any key that holds them, with none once every
such key is erased, and never when moved to another record or changed."""

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.sealing import SealedEvent, _unb64, kids_of, new_key, open_sealed, seal_event

PERSON = "199001012385"
ENVELOPE = {"id": "e-1", "source": "/journal", "type": "se.samordna.region.visit.missed.v1",
            "time": "2026-11-30T10:00:00+00:00", "principal": "region-14", "category": "attendance"}  # fmt: skip
SECRET = {"subject": PERSON, "data": {"unit": "Beroendemottagningen"}}


def sealed(keys: dict[str, bytes], envelope: dict = ENVELOPE) -> SealedEvent:
    return seal_event(envelope, "pseudonym-1", {"parties": ["region-14", "kommun-1489"]}, SECRET, keys)


@given(st.sets(st.sampled_from(["a", "b", "c"]), min_size=1), st.sets(st.sampled_from(["a", "b", "c"])))
def test_a_record_opens_while_any_key_that_holds_it_is_left(holders, left):
    keys = {kid: new_key() for kid in holders}
    record = SealedEvent.model_validate_json(sealed(keys).to_json())

    opened = open_sealed(record, {kid: key for kid, key in keys.items() if kid in left})

    assert opened == (SECRET if holders & left else None)
    assert sorted(kids_of(record)) == sorted(holders)


def test_the_record_shows_no_personnummer_and_no_payload_and_stays_a_cloudevent():
    text = sealed({"a": new_key()}).to_json().decode()
    assert PERSON not in text and "Beroendemottagningen" not in text
    record = SealedEvent.model_validate_json(text)
    assert record.specversion == "1.0" and record.id == "e-1" and "subject" not in record.model_dump()
    assert record.datacontenttype.endswith("+json"), "structured mode keeps a +json data inline"


def test_a_sealed_part_moved_to_another_record_or_changed_does_not_open():
    key = new_key()
    record = sealed({"a": key})
    moved = record.model_copy(update={"id": "e-2"})
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(moved, {"a": key})
    data = record.data | {"person_pseudonym": "someone-else"}
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(record.model_copy(update={"data": data}), {"a": key})
    with pytest.raises(ValueError, match="does not open"):
        open_sealed(record, {"a": new_key()})


def test_a_record_needs_a_key_and_one_with_nothing_personal_has_no_sealed_part():
    with pytest.raises(ValueError):
        sealed({})
    plain = SealedEvent(**ENVELOPE, data={"person_pseudonym": "p", "consent_id": "c"})
    assert open_sealed(plain, {}) == {} and kids_of(plain) == []


@given(st.binary(max_size=64))
def test_the_sealed_parts_base64_reads_what_the_standard_library_writes(raw):
    assert _unb64(base64.b64encode(raw).decode()) == raw


@pytest.mark.parametrize("text", ["QUJD*", "QUJD RA==", "QUJDRA", "QUJDRA===", "=QUJD", "QUJDRA==QQ==", "ÅÄÖ="])
def test_the_sealed_parts_base64_refuses_what_is_not_base64(text):
    with pytest.raises(ValueError):  # binascii.Error, or a non-ASCII text: the record is dead-lettered
        _unb64(text)
