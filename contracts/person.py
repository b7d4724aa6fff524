"""The person: personnummer or samordningsnummer, validated by the `personnummer` package.

Error messages never repeat the number.
"""

import functools
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
    if len(written) == 12 and written.isascii() and written.isdigit():
        # the canonical form, as every stored event holds it: the gate and the board read one per
        # event, and the package's parse cost more than the rest of the subject's checks together
        if _canonical_is_valid(written):
            return written
        raise ValueError(INVALID)
    if not _WRITTEN.fullmatch(written):
        raise ValueError(INVALID)
    try:
        number = personnummer.parse(written)
    except (personnummer.PersonnummerException, ValueError, TypeError):
        raise ValueError(INVALID) from None
    return number.format(long_format=True)


# Luhn over YYMMDDNNN: every other digit from the first doubled, a doubled digit's digits summed
_DOUBLED = [(2 * d) // 10 + (2 * d) % 10 for d in range(10)]


def _canonical_is_valid(digits: str) -> bool:
    """YYYYMMDDNNNN (ASCII digits) valid as `personnummer.parse` judges it: a serial other than
    000, the Luhn check digit, and a real date (for a samordningsnummer, the day less 60).
    Property-tested against the package (tests/unit/test_gate_fast_paths.py)."""
    if digits[8:11] == "000":
        return False
    total = sum(_DOUBLED[int(d)] for d in digits[2:11:2]) + sum(map(int, digits[3:11:2]))
    if (10 - total % 10) % 10 != int(digits[11]):
        return False
    day = int(digits[6:8])
    try:
        date(int(digits[:4]), int(digits[4:6]), day - COORDINATION_DAY_OFFSET if day > COORDINATION_DAY_OFFSET else day)
    except ValueError:
        return False
    return True


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


def _plain(text: str) -> str:
    """NFKC (fullwidth, superscript and mathematical digits become ASCII), then every other
    decimal digit (Arabic-Indic, Devanagari, ...) as ASCII, every dash as '-', every space as
    ' ', and invisible format characters (zero-width space, soft hyphen) dropped."""
    if text.isascii():  # the usual case, at C speed: only the spaces change (the gate reads every event)
        return text if text.isprintable() else text.translate(_ASCII_SPACES)
    # Swedish text (å, ä, ö): the ASCII part as above, each other character mapped once and remembered
    text = _NON_ASCII.sub(_plain_match, unicodedata.normalize("NFKC", text))
    return text if text.isprintable() else text.translate(_ASCII_SPACES)


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _plain_match(match: re.Match) -> str:
    return _plain_char(match.group())


@functools.lru_cache(maxsize=4096)
def _plain_char(char: str) -> str:
    """One character already in NFKC, as `_plain_unicode` maps it."""
    digit = unicodedata.decimal(char, None)
    if digit is not None:
        return str(digit)
    if unicodedata.category(char) == "Pd" or char == _MINUS_SIGN:
        return "-"
    if char.isspace():
        return " "
    return "" if unicodedata.category(char) == "Cf" else char


# In ASCII, NFKC changes nothing, the only dash is '-', no character is a format character (Cf),
# and the spaces are those str.isspace() names.
_ASCII_SPACES = {c: " " for c in range(128) if chr(c).isspace() and chr(c) != " "}


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
