"""The person: personnummer or samordningsnummer, validated by the `personnummer` package.

Error messages never repeat the number.
"""

import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Annotated

from personnummer import personnummer
from pydantic import BeforeValidator, WithJsonSchema

INVALID = "not a valid personnummer or samordningsnummer (expected YYYYMMDD-NNNN with a correct check digit)"
COORDINATION_DAY_OFFSET = 60
PERSON_ID_IN_TEXT = "must not hold a personnummer; the person is the event's subject"

# The package's own pattern uses `\d`, which also matches non-ASCII digits.
_WRITTEN = re.compile(r"(\d{2})?\d{6}[-+]?\d{4}", re.ASCII)
# In plain text (see `_plain`): a date of 6 or 8 digits, then a hyphen, plus or space(s), then 4
# digits, not glued to other letters or digits. A run of digits inside a word is not a number
# someone wrote: in a random UUID's hex one in 7 000 holds a valid samordningsnummer-shaped
# run ("e2604809166b"), and refusing those would refuse ordinary event ids.
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z])(\d{8}|\d{6})\s*([-+]?)\s*(\d{4})(?![0-9A-Za-z])", re.ASCII)
_MINUS_SIGN = "\u2212"
# A UUID as systems write it (RFC 9562: 8-4-4-4-12 hex, a version and a variant): its first
# groups are a date-and-serial-shaped run of digits in about one random UUID in 28 000
# ("99130272-3851-4fde-…"), so it is set aside before the search, not read as a number.
_UUID = re.compile(
    r"(?<![0-9A-Za-z-])[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}(?![0-9A-Za-z-])",
    re.ASCII | re.IGNORECASE,
)


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
    """True if the text holds a valid personnummer or samordningsnummer anywhere in it, however
    written: with or without hyphen or plus, with spaces, in any Unicode digits, with invisible
    characters between. A run of digits that is not a valid number (Luhn and date) is ordinary."""
    return any(_is_valid(candidate) for candidate in _candidates(_plain(text)))


def refuse_person_id(text: str) -> str:
    """A pydantic AfterValidator for text outside `subject`; the message never repeats the number."""
    if contains_person_id(text):
        raise ValueError(PERSON_ID_IN_TEXT)
    return text


def redact_person_ids(text: str) -> str:
    """The text (in its plain form) with everything shaped like a person id, valid or not, replaced."""
    return _CANDIDATE.sub("<personnummer>", _plain(text))


# In ASCII, NFKC changes nothing, the only digits are 0-9, the only dash is '-' and there are no
# format characters: what _plain does to ASCII text is turn its spaces into ' '.
_ASCII_SPACES = {code: " " for code in range(128) if chr(code).isspace()}


def _plain(text: str) -> str:
    """NFKC (fullwidth, superscript and mathematical digits become ASCII), then every other
    decimal digit (Arabic-Indic, Devanagari, ...) as ASCII, every dash as '-', every space as
    ' ', and invisible format characters (zero-width space, soft hyphen) dropped."""
    if text.isascii():  # nearly every id, source and payload string: the same answer, without the loop
        return text.translate(_ASCII_SPACES)
    return _plain_unicode(text)


def _plain_unicode(text: str) -> str:
    plain = []
    for char in unicodedata.normalize("NFKC", text):
        digit = unicodedata.decimal(char, None)
        category = unicodedata.category(char)
        if digit is not None:
            plain.append(str(digit))
        elif category == "Pd" or char == _MINUS_SIGN:
            plain.append("-")
        elif char.isspace():
            plain.append(" ")
        elif category != "Cf":
            plain.append(char)
    return "".join(plain)


def _candidates(plain: str) -> Iterator[str]:
    for match in _CANDIDATE.finditer(_UUID.sub("<uuid>", plain)):
        birth, separator, serial = match.groups()
        yield f"{birth}{separator or '-'}{serial}"


def _is_valid(candidate: str) -> bool:
    try:
        normalize_person_id(candidate)
    except ValueError:
        return False
    return True
