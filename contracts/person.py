"""The person: personnummer or samordningsnummer, validated by the `personnummer` package.

Error messages never repeat the number.
"""

from datetime import date
from typing import Annotated

from personnummer import personnummer
from pydantic import BeforeValidator

INVALID = "not a valid personnummer or samordningsnummer"


def normalize_person_id(value: object) -> str:
    """The canonical 12-digit form (YYYYMMDDNNNN) of a valid personnummer or samordningsnummer."""
    if not isinstance(value, str):
        raise ValueError(f"{INVALID}: expected a string such as YYYYMMDD-NNNN")
    try:
        number = personnummer.parse(value.strip())
    except (personnummer.PersonnummerException, ValueError, TypeError):
        raise ValueError(INVALID) from None
    return number.format(long_format=True).replace("-", "").replace("+", "")


PersonId = Annotated[str, BeforeValidator(normalize_person_id)]


def is_coordination_number(person_id: str) -> bool:
    return int(person_id[6:8]) > 60


def birth_date(person_id: str) -> date:
    day = int(person_id[6:8])
    return date(int(person_id[:4]), int(person_id[4:6]), day - 60 if day > 60 else day)
