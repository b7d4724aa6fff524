"""Receipts (kvittens): which delivered events need one, and by when.

The deadlines are deployment policy, kept in one place: these defaults (from the routines:
an admission notice and a planned discharge within 24 hours, a discharge-group referral and
a SIP request within 3 days), overridden per type by the setting SAMORDNA_RECEIPT_DEADLINES,
e.g. '{"se.samordna.joint.sip.requested.v1": "P2D"}'. The clock starts when the event
reaches the recipient's gateway.
"""

from collections.abc import Mapping
from datetime import timedelta

from contracts.catalogue import CATALOGUE

DEFAULT_DEADLINES: dict[str, timedelta] = {
    "se.samordna.region.admission.notified.v1": timedelta(hours=24),
    "se.samordna.region.discharge.planned.v1": timedelta(hours=24),
    "se.samordna.region.treatment.discharge_group_referral.v1": timedelta(days=3),
    "se.samordna.joint.sip.requested.v1": timedelta(days=3),
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
