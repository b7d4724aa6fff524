"""Receipts (kvittens): which delivered events need one, and by when.

The deadlines are deployment policy: the defaults are the catalogue's (each event spec's
`receipt_deadline`), overridden per type by the setting SAMORDNA_RECEIPT_DEADLINES,
e.g. '{"se.samordna.joint.sip.requested.v1": "P2D"}'. The clock starts when the event
reaches the recipient's gateway.
"""

from collections.abc import Mapping
from datetime import timedelta

from contracts.catalogue import CATALOGUE

DEFAULT_DEADLINES: dict[str, timedelta] = {
    spec.type: spec.receipt_deadline for spec in CATALOGUE.values() if spec.receipt_deadline is not None
}

ACKNOWLEDGED = "se.samordna.receipt.acknowledged.v1"
OVERDUE = "se.samordna.receipt.overdue.v1"


def receipt_deadlines(overrides: Mapping[str, timedelta]) -> dict[str, timedelta]:
    """The defaults with `overrides` applied; ValueError naming a type that does not need action."""
    for event_type, deadline in overrides.items():
        spec = CATALOGUE.get(event_type)
        if spec is None or not spec.needs_action:
            needing = ", ".join(sorted(DEFAULT_DEADLINES))
            raise ValueError(f"{event_type!r} is not an event type that needs action; those are: {needing}")
        if deadline <= timedelta(0):
            raise ValueError(f"the deadline of {event_type} must be positive")
    return {**DEFAULT_DEADLINES, **overrides}
