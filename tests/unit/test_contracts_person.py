"""The person id: what the `personnummer` package accepts, in one canonical form."""

import random
from datetime import date

import pytest

from contracts import normalize_person_id
from contracts.person import birth_date, contains_person_id, is_coordination_number
from tests.support.personnummer import make_person_id, random_person_id


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("19121212-1212", "191212121212"),
        ("191212121212", "191212121212"),
        ("121212-1212", "201212121212"),
        ("121212+1212", "191212121212"),
        (" 19121212-1212 ", "191212121212"),
    ],
)
def test_a_personnummer_normalises_to_twelve_digits(written, canonical):
    assert normalize_person_id(written) == canonical


def test_a_samordningsnummer_is_a_person_id():
    number = make_person_id(date(1990, 5, 4), 123, coordination=True)

    assert normalize_person_id(number) == number.replace("-", "")
    assert is_coordination_number(number)
    assert birth_date(number) == date(1990, 5, 4)


def test_a_personnummer_knows_its_birth_date():
    assert birth_date("19121212-1212") == date(1912, 12, 12)
    assert not is_coordination_number("191212121212")


@pytest.mark.parametrize(
    "written",
    [
        "19121212-1213",  # check digit
        "19121312-1212",  # month 13
        "19121212-0002",  # serial 000
        "19121212 1212",
        "1912-12-12-1212",
        "١٩١٢١٢١٢-١٢١٢",  # a valid number in non-ASCII digits
        "",
        "not a number",
    ],
)
def test_what_is_not_a_person_id_is_refused_without_repeating_it(written):
    with pytest.raises(ValueError) as exc_info:
        normalize_person_id(written)

    assert "not a valid personnummer or samordningsnummer" in str(exc_info.value)
    assert not written.strip() or written not in str(exc_info.value)


def test_a_person_id_must_be_a_string():
    with pytest.raises(ValueError, match="not a string"):
        normalize_person_id(191212121212)


def test_text_holding_a_valid_personnummer_is_found():
    assert contains_person_id("patient 19121212-1212 uteblev")
    assert contains_person_id("pnr:1212121212.")
    assert not contains_person_id("SE2321000131-E000000011111")
    assert not contains_person_id("19121212-1213")


def test_the_test_helper_makes_numbers_the_package_accepts():
    rng = random.Random(20261122)
    numbers = {random_person_id(rng) for _ in range(2000)}

    assert all(len(normalize_person_id(n)) == 12 for n in numbers)
    assert any(is_coordination_number(n) for n in numbers)
    assert len(numbers) > 1990


def test_the_test_helper_refuses_a_serial_the_package_would_refuse():
    with pytest.raises(ValueError):
        make_person_id(date(1990, 1, 1), 0)
