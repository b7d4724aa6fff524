"""Text that PostgreSQL can store, and the bounds every number and date at the edge must keep.

PostgreSQL refuses NUL in `text` and `\\u0000` in `jsonb`, and UTF-8 has no lone surrogates
(JSON's `"\\ud800"` decodes to one in Python). A consumer that meets either re-reads its batch
for ever, so they are refused where they come in, naming the field and never the value.
"""

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

MAX_INT64 = 2**63 - 1  # PostgreSQL's bigint, and Kafka's offsets
# Outside these, dates are typing errors, and Python's date arithmetic (a year added, a
# deadline computed) or asyncpg (which stores year 1 as -infinity) breaks on them.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
EARLIEST = datetime(EARLIEST_YEAR, 1, 1, tzinfo=UTC)

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
UNSTORABLE = "holds a NUL character or a lone surrogate, which cannot be stored"
REPLACEMENT = "\ufffd"


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def storable(text: str) -> str:
    """The text with every code point PostgreSQL cannot store replaced by U+FFFD."""
    return _UNSTORABLE.sub(REPLACEMENT, text)


def refuse_unstorable(text: str) -> str:
    """A pydantic AfterValidator for str fields."""
    if not is_storable(text):
        raise ValueError(UNSTORABLE)
    return text


def unstorable_paths(value: object, path: str = "") -> Iterator[str]:
    """The dotted path of every string (object keys included) in a JSON value that cannot be stored."""
    if not _surely_storable(value):
        yield from _unstorable_paths(value, path)


def _surely_storable(value: object) -> bool:
    """True when no string in the value can be unstorable, found at C speed: JSON without ASCII
    escapes keeps every surrogate as it is and writes a NUL as the six characters \\u0000 (a
    text that only spells them, or a value that is not JSON, takes the full walk)."""
    try:
        text = _JSON.encode(value)
    except (TypeError, ValueError, RecursionError):
        return False
    return "\\u0000" not in text and _UNSTORABLE.search(text) is None


_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)  # made once: json.dumps makes one per call


def _unstorable_paths(value: object, path: str) -> Iterator[str]:
    if isinstance(value, str):
        if not is_storable(value):
            yield path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not is_storable(key):
                yield path or "body"  # the key itself is not shown: it is the bad value
                continue
            yield from _unstorable_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable_paths(item, f"{path}.{index}" if path else str(index))


def refuse_implausible_date(value: date) -> date:
    """A pydantic AfterValidator for dates and datetimes: years 1900 to 2100 only."""
    # The year is read before any comparison: comparing an aware datetime in year 1 with a
    # positive offset to one in UTC overflows.
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"must be between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31")
    return value
