"""The audit's hash chain: each row's hash covers the previous row's hash and the row itself."""

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64

# The columns a row's hash covers, in this order. recorded_at is the database's own stamp.
CHAINED_COLUMNS = (
    "seq", "decision_id", "event_id", "event_type", "category", "sender", "recipient", "person_pseudonym",
    "forwarded", "reason", "basis", "consent_id", "legal_reference", "event_time", "decided_at",
)  # fmt: skip


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def row_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    content = json.dumps({c: _canonical(row[c]) for c in CHAINED_COLUMNS}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def first_broken_link(rows: list[Mapping[str, Any]]) -> str | None:
    """A description of the first row where the chain breaks, or None if it holds."""
    prev_hash, expected_seq = GENESIS, 1
    for row in rows:
        where = f"seq {row['seq']} (decision {row['decision_id']})"
        if row["seq"] != expected_seq:
            return f"seq {expected_seq}: row missing (next present is {where})"
        if row["prev_hash"] != prev_hash:
            return f"{where}: prev_hash does not match the row before it"
        if row_hash(prev_hash, row) != row["row_hash"]:
            return f"{where}: content does not match its hash (changed after it was written)"
        prev_hash, expected_seq = row["row_hash"], expected_seq + 1
    return None
