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
# services.board.rebuild), so they are kept for good; a deployment that bounds them bounds what a
# rebuild can restore. The audit's checkpoints are kept for good as the evidence they are.
KEPT_FOR_GOOD = {"retention.ms": "-1"}


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
    for prefix in (EVENTS_PREFIX, DELIVERIES_PREFIX):
        owner = origin_topic.removeprefix(prefix)
        if origin_topic.startswith(prefix) and is_principal(owner):
            return dead_letters_topic(owner)
    return DEAD_LETTERS


def sender_of(events_topic_name: str) -> str:
    """The principal that owns an events topic: the topic is the authenticated sender."""
    if not events_topic_name.startswith(EVENTS_PREFIX):
        raise ValueError(f"not an events topic: {events_topic_name!r}")
    return _principal(events_topic_name.removeprefix(EVENTS_PREFIX))


def topic_specs(principals: list[str]) -> list[TopicSpec]:
    """Every topic a deployment serving these principals needs, with its partition count."""
    per_principal = [
        TopicSpec(name, PER_PERSON_PARTITIONS)
        for principal in principals
        for name in (events_topic(principal), deliveries_topic(principal))
    ] + [TopicSpec(dead_letters_topic(principal), DEAD_LETTERS_PARTITIONS) for principal in principals]
    return per_principal + [
        TopicSpec(SHARED_EVENTS, PER_PERSON_PARTITIONS, KEPT_FOR_GOOD),
        TopicSpec(GATE_DECISIONS, PER_PERSON_PARTITIONS),
        TopicSpec(CONSENT_CHANGES, CONSENT_CHANGES_PARTITIONS, KEPT_FOR_GOOD),
        TopicSpec(DEAD_LETTERS, DEAD_LETTERS_PARTITIONS),
        TopicSpec(AUDIT_CHECKPOINTS, 1, KEPT_FOR_GOOD),
    ]


def _principal(value: str) -> str:
    if not is_principal(value):
        raise ValueError(f"not a principal id: {value!r}")
    return value
