"""Signed checkpoints of the audit chain's head, and what a checkpoint proves about the chain.

A checkpoint is the head's sequence number and hash, HMAC-signed, published on
`audit.checkpoints` at a fixed interval (audit.publish_checkpoints). Whoever can rewrite the
database cannot rewrite a checkpoint kept elsewhere (docs/audit.md), so the chain must reach
the checkpoint's seq and have the checkpoint's hash there: rows dropped from the end
(truncation) or a chain recomputed from some row on (rewrite) both show. The publisher signs a
head only if it extends the last checkpoint (`refusal`), so a cut-short chain is never signed
afterwards and the evidence stays the newest checkpoint. Pure functions only.
"""

import hashlib
import hmac
import json
from datetime import datetime

from pydantic import BaseModel, ConfigDict, ValidationError

from services.consent.chain import ChainCheck, derive_key

KAFKA_KEY = b"audit-head"  # one key, so every checkpoint lands on the topic's one partition in order


class BadCheckpoint(ValueError):
    """A checkpoint record that is malformed or whose signature does not hold under our key."""


class Checkpoint(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int
    row_hash: str
    keyed_from: int | None  # the first seq chained with HMAC, when the head is past it
    published_at: datetime
    publisher: str


def signing_key(audit_secret: bytes) -> bytes:
    return derive_key(audit_secret, "checkpoint")


def _signature(key: bytes, checkpoint: Checkpoint) -> str:
    body = json.dumps(checkpoint.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def signed(key: bytes, checkpoint: Checkpoint) -> bytes:
    """The record value: the checkpoint and its signature, as JSON."""
    return json.dumps({**checkpoint.model_dump(mode="json"), "signature": _signature(key, checkpoint)}).encode()


def read(key: bytes, value: bytes) -> Checkpoint:
    """The checkpoint in a record value, if its signature holds under `key`."""
    try:
        fields = json.loads(value)
        signature = fields.pop("signature")
        checkpoint = Checkpoint.model_validate(fields)
    except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
        raise BadCheckpoint("not a checkpoint record") from None
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(key, checkpoint)):
        raise BadCheckpoint(f"checkpoint at seq {checkpoint.seq}: signature does not hold (forged, or another key)")
    return checkpoint


def newest(checkpoints: list["Checkpoint"]) -> "Checkpoint | None":
    """The one that saw the longest chain (checkpoints never go back, so that is the latest)."""
    return max(checkpoints, key=lambda c: (c.seq, c.published_at), default=None)


def refusal(previous: Checkpoint | None, head_seq: int, hash_at_previous_seq: str | None) -> str | None:
    """Why the head (`head_seq`, and the chain's hash at `previous.seq`) must not be signed, or None.

    Signing a head that does not extend the previous checkpoint would lend the signature to a
    truncated or rewritten chain.
    """
    if previous is None or previous.seq == 0:
        return None
    if head_seq < previous.seq:
        return f"the audit chain ends at seq {head_seq}, below the checkpoint at seq {previous.seq}: truncated"
    if hash_at_previous_seq != previous.row_hash:
        return f"the audit chain's hash at seq {previous.seq} differs from its checkpoint: rewritten"
    return None


def held_against(check: ChainCheck, checkpoint: Checkpoint) -> list[str]:
    """What the walked chain (`check`, on which `remember(checkpoint.seq)` was called before the
    walk) lacks or contradicts of the checkpoint; empty if the chain holds everything it saw."""
    seen = f"the checkpoint published {checkpoint.published_at.isoformat()} by {checkpoint.publisher}"
    if check.head_seq < checkpoint.seq:
        first_missing = check.head_seq + 1
        return [
            f"truncated: seq {first_missing}..{checkpoint.seq} missing "
            f"({checkpoint.seq - check.head_seq} rows; {seen} saw the chain at seq {checkpoint.seq})"
        ]
    problems = []
    if checkpoint.seq > 0 and check.hashes_at.get(checkpoint.seq) != checkpoint.row_hash:
        problems.append(f"rewritten: seq {checkpoint.seq} does not have the hash {seen} signed")
    if checkpoint.keyed_from is not None and check.keyed_from != checkpoint.keyed_from:
        found = f"at seq {check.keyed_from}" if check.keyed_from else "nowhere"
        problems.append(f"rewritten: keyed rows begin {found}, {seen} says at seq {checkpoint.keyed_from}")
    return problems
