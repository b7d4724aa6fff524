"""The CloudEvents Kafka protocol binding of every record Samordna writes: its headers, in one place.

Two modes, each where it fits (docs/integration.md, "By Kafka"):

- **Structured mode** for records whose value *is* a CloudEvent (`events.<principal>`,
  `deliveries.<principal>`, and the two topics kept for the board, `shared.events` and
  `consent.changes`, whose values are sealed CloudEvents, contracts/sealing.py): the header
  `content-type: application/cloudevents+json`, the value unchanged. Binary mode is no choice
  here: it would copy every attribute into a `ce_` header, and `subject` is the person's
  personnummer, which never goes in a header.
- **Binary mode** for Samordna's own records (`gate.decisions`, the dead-letter topics): the
  value stays the record, described by its JSON Schema, and the attributes go in `ce_` headers —
  none of them names a person (no `ce_subject`).

Every function here returns the record's headers as (name, bytes) pairs, as aiokafka takes them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from contracts.envelope import DeadLetter, DecisionBatch

Headers = tuple[tuple[str, bytes], ...]

CONTENT_TYPE_HEADER = "content-type"
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
RECORD_CONTENT_TYPE = "application/json"
SPECVERSION = "1.0"
# Where the exported JSON Schemas are published; each schema's `$id` is SCHEMA_BASE + its file name.
SCHEMA_BASE = "https://samordna.se/schemas/"
GATE_SOURCE = "/samordna/gate"
_RECORD_IDS = uuid.UUID("0b6f3a52-53c1-4b8e-9d55-3f1f6d0c9a21")


@dataclass(frozen=True)
class RecordKind:
    """One of Samordna's own record types, as its binary-mode attributes name it."""

    type: str
    schema_file: str  # in contracts/schemas/

    @property
    def dataschema(self) -> str:
        return SCHEMA_BASE + self.schema_file


DECISIONS = RecordKind("se.samordna.record.decisions.v1", "decision-batch.json")
DEAD_LETTER = RecordKind("se.samordna.record.dead_letter.v1", "dead-letter.json")
RECORD_KINDS = (DECISIONS, DEAD_LETTER)


def structured() -> Headers:
    """The headers of a record whose value is a CloudEvent in JSON."""
    return ((CONTENT_TYPE_HEADER, STRUCTURED_CONTENT_TYPE.encode()),)


def binary(kind: RecordKind, *, record_id: str, source: str, time: datetime) -> Headers:
    """The headers of one of Samordna's own records: its CloudEvents attributes as `ce_` headers.
    `record_id` and `source` must name no person (they are ids and paths of Samordna's own)."""
    attributes = {
        "specversion": SPECVERSION,
        "id": record_id,
        "source": source,
        "type": kind.type,
        "time": time.isoformat(),
        "dataschema": kind.dataschema,
    }
    return ((CONTENT_TYPE_HEADER, RECORD_CONTENT_TYPE.encode()),) + tuple(
        (f"ce_{name}", value.encode()) for name, value in attributes.items()
    )


def decisions_headers(record: DecisionBatch) -> Headers:
    """A `gate.decisions` record: its id is derived from the decisions it holds."""
    ids = [d.decision_id for d in record.decisions]
    record_id = str(uuid.uuid5(_RECORD_IDS, ",".join(ids)))
    return binary(DECISIONS, record_id=record_id, source=GATE_SOURCE, time=record.decisions[0].decided_at)


def dead_letter_headers(letter: DeadLetter) -> Headers:
    """A dead letter: the consumer that refused the record is its source."""
    record_id = f"{letter.origin_topic}/{letter.origin_partition}/{letter.origin_offset}"
    return binary(DEAD_LETTER, record_id=record_id, source=f"/samordna/{letter.consumer}", time=letter.failed_at)
