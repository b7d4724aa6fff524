"""The audit's hash chain: each row's hash covers the previous row's hash and the row itself.

Two versions live in one chain (docs/audit.md, "Migration"):

- 1, LEGACY: plain SHA-256. Rows written before the chain was keyed; anyone can recompute them,
  so they are protected only by the first keyed row (whose HMAC covers their last hash) and by
  the checkpoints.
- 2, KEYED: HMAC-SHA-256 with a key the database does not hold. Whoever edits or removes a row
  cannot recompute the hashes after it without the key.

Everything here is pure; the rows come in as mappings, their timestamps either as datetimes (the
writer) or as PostgreSQL's text (the verifier, see `stored_time`).
"""

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

GENESIS = "0" * 64
LEGACY, KEYED = 1, 2

# The columns a row's hash covers, in this order. recorded_at is the database's own stamp.
CHAINED_COLUMNS = (
    "seq", "decision_id", "event_id", "event_type", "category", "sender", "recipient", "person_pseudonym",
    "forwarded", "reason", "basis", "consent_id", "legal_reference", "event_time", "decided_at",
)  # fmt: skip
TIME_COLUMNS = ("event_time", "decided_at")

# asyncpg writes the first and the last instant Python can hold as PostgreSQL's -infinity and
# infinity (and reads them back as naive datetimes), so these are what such a row was hashed with.
_STORED_INFINITIES = {
    "-infinity": datetime.min.replace(tzinfo=UTC).isoformat(),
    "infinity": datetime.max.replace(tzinfo=UTC).isoformat(),
}


class UnreadableValue(ValueError):
    """A stored value that no writer of this chain could have produced, so the row cannot be checked."""


def derive_key(secret: bytes, purpose: str) -> bytes:
    """One key per use from the one audit secret, so a chain hash never doubles as a signature."""
    return hmac.new(secret, f"samordna-audit/{purpose}".encode(), hashlib.sha256).digest()


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _content(prev_hash: str, row: Mapping[str, Any]) -> bytes:
    content = json.dumps({c: _canonical(row[c]) for c in CHAINED_COLUMNS}, sort_keys=True, separators=(",", ":"))
    return (prev_hash + content).encode()


def row_hash(prev_hash: str, row: Mapping[str, Any], key: bytes | None = None) -> str:
    """The row's hash: HMAC-SHA-256 under `key` (version KEYED), plain SHA-256 without (LEGACY)."""
    if key is None:
        return hashlib.sha256(_content(prev_hash, row)).hexdigest()
    return hmac.new(key, _content(prev_hash, row), hashlib.sha256).hexdigest()


def stored_time(text: str) -> str:
    """A timestamptz as PostgreSQL prints it (DateStyle ISO, TimeZone UTC), in the form it was hashed."""
    if text in _STORED_INFINITIES:
        return _STORED_INFINITIES[text]
    try:
        return datetime.fromisoformat(text).astimezone(UTC).isoformat()
    except (ValueError, OverflowError):
        raise UnreadableValue(f"{text!r} is no instant the audit writer can store") from None


@dataclass
class ChainCheck:
    """Walks the chain row by row (`add`, in seq order) and collects what is wrong with it.

    `problems` name a row missing or changed — the first break, then only rows that cannot be
    read at all (after a break every later link is suspect, and naming each would bury the
    first); `further_breaks` counts the rest. `notes` name rows that verify but hold a value an
    operator should look at. Memory stays flat however long the chain.
    """

    key: bytes
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    further_breaks: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS
    keyed_from: int | None = None
    hashes_at: dict[int, str | None] = field(default_factory=dict)  # of the seqs asked for in `remember`
    broken: bool = False

    def remember(self, seq: int) -> None:
        self.hashes_at.setdefault(seq, None)

    def add(self, row: Mapping[str, Any]) -> None:
        where = f"seq {row['seq']} (decision {row['decision_id']})"
        if row["seq"] != self.head_seq + 1:
            self._problem(f"seq {self.head_seq + 1}: row missing (next present is {where})")
        elif row["prev_hash"] != self.head_hash:
            self._problem(f"{where}: prev_hash does not match the row before it")
        self._check_content(where, row)
        if row["seq"] in self.hashes_at:
            self.hashes_at[row["seq"]] = row["row_hash"]
        self.head_seq, self.head_hash = row["seq"], row["row_hash"]

    def _check_content(self, where: str, row: Mapping[str, Any]) -> None:
        version = row.get("chain_version", LEGACY)
        if version == KEYED and self.keyed_from is None:
            self.keyed_from = row["seq"]
        if version == LEGACY and self.keyed_from is not None:
            self._problem(f"{where}: chained with plain SHA-256 after keyed rows began at seq {self.keyed_from}")
            return
        if version not in (LEGACY, KEYED):
            self._problem(f"{where}: unknown chain version {version!r}")
            return
        try:
            canonical = {**row, **{c: stored_time(row[c]) for c in TIME_COLUMNS if isinstance(row[c], str)}}
        except UnreadableValue as exc:
            self.problems.append(f"{where}: cannot be checked: {exc}")
            self.broken = True
            return
        for column in TIME_COLUMNS:
            if isinstance(row[column], str) and row[column] in _STORED_INFINITIES:
                self.notes.append(f"{where}: {column} is {row[column]} (stored from {canonical[column]})")
        expected = row_hash(row["prev_hash"], canonical, self.key if version == KEYED else None)
        if not hmac.compare_digest(expected, row["row_hash"]):
            self._problem(f"{where}: content does not match its hash (changed after it was written)")

    def _problem(self, text: str) -> None:
        if self.broken:
            self.further_breaks += 1
        else:
            self.problems.append(text)
        self.broken = True


def first_broken_link(rows: list[Mapping[str, Any]], key: bytes = b"") -> str | None:
    """A description of the first row where the chain breaks, or None if it holds."""
    check = ChainCheck(key)
    for row in rows:
        check.add(row)
    return check.problems[0] if check.problems else None
