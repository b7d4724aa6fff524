"""The person: personnummer or samordningsnummer, validated by the `personnummer` package.

Error messages never repeat the number.
"""

import re
from datetime import date
from typing import Annotated

from personnummer import personnummer
from pydantic import BeforeValidator, WithJsonSchema

INVALID = "not a valid personnummer or samordningsnummer (expected YYYYMMDD-NNNN with a correct check digit)"
COORDINATION_DAY_OFFSET = 60

# The package's own pattern uses `\d`, which also matches non-ASCII digits.
_WRITTEN = re.compile(r"(\d{2})?\d{6}[-+]?\d{4}", re.ASCII)
_CANDIDATE = re.compile(r"(?<!\d)(?:\d{2})?\d{6}[-+]?\d{4}(?!\d)", re.ASCII)


def normalize_person_id(value: object) -> str:
    """The canonical 12-digit form (YYYYMMDDNNNN) of a valid personnummer or samordningsnummer.

    Accepts YYYYMMDD-NNNN, YYYYMMDDNNNN, YYMMDD-NNNN and YYMMDD+NNNN (over 100 years old).
    """
    if not isinstance(value, str):
        raise ValueError(f"{INVALID}; got {type(value).__name__}, not a string")
    written = value.strip()
    if not _WRITTEN.fullmatch(written):
        raise ValueError(INVALID)
    try:
        number = personnummer.parse(written)
    except (personnummer.PersonnummerException, ValueError, TypeError):
        raise ValueError(INVALID) from None
    return number.format(long_format=True)


PersonId = Annotated[
    str,
    BeforeValidator(normalize_person_id),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d{2})?\d{6}[-+]?\d{4}$",
            "description": "personnummer or samordningsnummer; stored as YYYYMMDDNNNN",
        }
    ),
]


def is_coordination_number(person_id: str) -> bool:
    """A samordningsnummer: the day of birth plus 60."""
    return int(normalize_person_id(person_id)[6:8]) > COORDINATION_DAY_OFFSET


def birth_date(person_id: str) -> date:
    canonical = normalize_person_id(person_id)
    day = int(canonical[6:8])
    if day > COORDINATION_DAY_OFFSET:
        day -= COORDINATION_DAY_OFFSET
    return date(int(canonical[:4]), int(canonical[4:6]), day)


def contains_person_id(text: str) -> bool:
    """True if the text holds a valid personnummer or samordningsnummer anywhere in it."""
    return any(_is_valid(match.group()) for match in _CANDIDATE.finditer(text))


def _is_valid(candidate: str) -> bool:
    try:
        normalize_person_id(candidate)
    except ValueError:
        return False
    return True
