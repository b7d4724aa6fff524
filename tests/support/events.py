"""Event bodies for the contract tests: a valid example of a type, and the refusal of one."""

import uuid
from datetime import UTC, datetime

import pytest

from contracts import InvalidEvent, parse_event
from contracts.examples import EXAMPLE_DATA


def example_body(event_type: str, person: str, **changes) -> dict:
    """A valid body of `event_type` about `person`, happening now, with `changes` on top (any
    attribute, `subject` too)."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/journal",
        "type": event_type,
        "subject": person,
        "time": datetime.now(UTC).isoformat(),
        "data": dict(EXAMPLE_DATA[event_type]),
    } | changes


def refused(raw, sender: str) -> InvalidEvent:
    """The InvalidEvent that parsing `raw` from `sender` raises (the test fails if none is)."""
    with pytest.raises(InvalidEvent) as exc_info:
        parse_event(raw, sender=sender)
    return exc_info.value


def problem_fields(response) -> set[str]:
    """The fields a problem-details answer names in its `errors` (none if it names none)."""
    return {error["field"] for error in response.json().get("errors", [])}
