"""Every Kafka topic name and its partition count, in one place.

Records about one person are keyed by the person's pseudonym, so they stay in order
within one partition of each topic.
"""

from dataclasses import dataclass, field

from contracts.principals import PRINCIPAL_PATTERN, is_principal

SHARED_EVENTS = "shared.events"
GATE_DECISIONS = "gate.decisions"
CONSENT_CHANGES = "consent.changes"
DEAD_LETTERS = "dead.letters"  # of the shared topics; a principal's own are dead.letters.<principal>
# Signed heads of the audit chain (docs/audit.md). One partition: the newest record is the latest.
AUDIT_CHECKPOINTS = "audit.checkpoints"

# On every record of deliveries.<principal>: the recipient's delivery number, 1, 2, 3, ... with
# no gaps across the topic's partitions (increasing within each), so a subscriber sees a gap.
DELIVERY_SEQ_HEADER = "samordna-delivery-seq"

EVENTS_PREFIX = "events."
DELIVERIES_PREFIX = "deliveries."
EVENTS_TOPIC_PATTERN = r"^events\." + PRINCIPAL_PATTERN.removeprefix("^")

PER_PERSON_PARTITIONS = 6
CONSENT_CHANGES_PARTITIONS = 3
DEAD_LETTERS_PARTITIONS = 1


# The board rebuilds itself from the beginning of shared.events and consent.changes (python -m
# services.board.rebuild), so they are kept for good — and what they say about a person is sealed
# under keys that are erased when the person's consents end (contracts/sealing.py): the bound on
# them is the key's erasure, not the broker's retention. The audit's checkpoints (no personal data)
# are kept for good as the evidence they are.
KEPT_FOR_GOOD = {"retention.ms": "-1"}
HOUR_MS = 3_600_000


@dataclass(frozen=True)
class Retention:
    """How long the broker keeps the topics that hold personal data in the clear, in hours, each
    from its purpose (docs/privacy.md). The broker deletes only closed segments, so each topic
    also rolls a segment at least every `segment_fraction` of its retention: a record is gone at
    most retention × (1 + segment_fraction) after it was written, plus the broker's
    log.retention.check.interval.ms."""

    events_hours: float = 7 * 24  # events.<principal>: until the gate has decided them, with a week for an outage
    deliveries_hours: float = 14 * 24  # deliveries.<principal>: what the recipients' agreement says
    decisions_hours: float = 7 * 24  # gate.decisions: until the audit writer has them in the audit
    dead_letters_hours: float = 30 * 24  # dead.letters*: until handled, at most this
    segment_fraction: float = 0.1

    def config(self, hours: float) -> dict[str, str]:
        retention = max(1, round(hours * HOUR_MS))
        return {"retention.ms": str(retention), "segment.ms": str(max(1, round(retention * self.segment_fraction)))}


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def events_topic(principal: str) -> str:
    """The topic a principal writes its own events to (only it may write there)."""
    return EVENTS_PREFIX + _principal(principal)


def deliveries_topic(principal: str) -> str:
    """The topic the gate forwards a principal's allowed events to (only it may read there)."""
    return DELIVERIES_PREFIX + _principal(principal)


def dead_letters_topic(principal: str) -> str:
    """Where records of a principal's own topics go when no consumer can read them (only it reads there)."""
    return f"{DEAD_LETTERS}.{_principal(principal)}"


def dead_letters_for(origin_topic: str) -> str:
    """The dead-letter topic of a record from `origin_topic`: its owner's, so that the owner
    (and no other principal) sees it, or the shared one for the shared topics."""
    owner = owner_of(origin_topic, (EVENTS_PREFIX, DELIVERIES_PREFIX))
    return dead_letters_topic(owner) if owner else DEAD_LETTERS


def inbox_group(principal: str) -> str:
    """The consumer group of the principal's gateway on its deliveries (the inbox writer)."""
    return f"samordna-inbox-{_principal(principal)}"


def dead_letters_group(principal: str) -> str:
    """The consumer group of the principal's gateway on its dead letters (the collector)."""
    return f"samordna-dead-letters-{_principal(principal)}"


def own_systems_groups(principal: str) -> str:
    """The prefix of the consumer groups of the principal's own Kafka-speaking systems."""
    return f"{_principal(principal)}."


OWNED_PREFIXES = (EVENTS_PREFIX, DELIVERIES_PREFIX, f"{DEAD_LETTERS}.")


def owner_of(topic: str, prefixes: tuple[str, ...] = OWNED_PREFIXES) -> str | None:
    """The principal whose events, deliveries or dead letters `topic` holds; None for a shared topic."""
    for prefix in prefixes:
        owner = topic.removeprefix(prefix)
        if topic.startswith(prefix) and is_principal(owner):
            return owner
    return None


def sender_of(events_topic_name: str) -> str:
    """The principal that owns an events topic: the topic is the authenticated sender."""
    if not events_topic_name.startswith(EVENTS_PREFIX):
        raise ValueError(f"not an events topic: {events_topic_name!r}")
    return _principal(events_topic_name.removeprefix(EVENTS_PREFIX))


def topic_specs(principals: list[str], retention: Retention | None = None) -> list[TopicSpec]:
    """Every topic a deployment serving these principals needs, with its partition count and the
    retention its purpose gives it."""
    keep = retention or Retention()
    events, deliveries = keep.config(keep.events_hours), keep.config(keep.deliveries_hours)
    letters = keep.config(keep.dead_letters_hours)
    per_principal = [
        spec
        for principal in principals
        for spec in (
            TopicSpec(events_topic(principal), PER_PERSON_PARTITIONS, events),
            TopicSpec(deliveries_topic(principal), PER_PERSON_PARTITIONS, deliveries),
        )
    ] + [TopicSpec(dead_letters_topic(principal), DEAD_LETTERS_PARTITIONS, letters) for principal in principals]
    return per_principal + [
        TopicSpec(SHARED_EVENTS, PER_PERSON_PARTITIONS, KEPT_FOR_GOOD),
        TopicSpec(GATE_DECISIONS, PER_PERSON_PARTITIONS, keep.config(keep.decisions_hours)),
        TopicSpec(CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, KEPT_FOR_GOOD),
        TopicSpec(DEAD_LETTERS, DEAD_LETTERS_PARTITIONS, letters),
        TopicSpec(AUDIT_CHECKPOINTS, 1, KEPT_FOR_GOOD),
    ]


def _principal(value: str) -> str:
    if not is_principal(value):
        raise ValueError(f"not a principal id: {value!r}")
    return value
