"""The gate's batch as one value: every record a batch writes, worked out with no I/O.

    read_batch(records, pseudonym_of) -> Batch          each consumed record parsed, or rejected
    decide_batch(batch, consents, policy, now) -> Decided   every event decided (`.needed`: how
                                                        many delivery numbers each recipient needs)
    plan_decided(decided, next_numbers, seal) -> BatchPlan  every record to write (`seal` turns
                                                        the board's copy into its sealed record)

The shell (`services/consent/gate.py`) locks the batch's consents, decides the batch once,
reserves the numbers `Decided.needed` asks for, and sends exactly what `plan_decided` returns in
one Kafka transaction. `deliveries_needed` and `plan_batch(batch, consents, policy, now,
next_numbers)` are the same two steps from the raw batch, for tests and readers.
"""

import functools
import hashlib
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from aiokafka import ConsumerRecord

from contracts import CloudEvent, DecisionBatch, ForwardedEvent, GateDecision, InvalidEvent, kafka_binding, parse_event
from contracts.topics import (
    DELIVERY_SEQ_HEADER,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_for,
    deliveries_topic,
    sender_of,
)
from services.consent.domain import Basis, Consent, Decision, StatutoryBasis, decide
from services.runtime.kafka import dead_letter

CONSUMER_NAME = "gate"
DECISIONS_PER_RECORD = 1000
# Decision ids are derived from the record, the recipient and the batch's moment, so the same
# inputs give the same plan; a record decided again (after a rewind) is decided at a later moment.
_DECISION_IDS = uuid.UUID("5a3d0f52-8f0e-4c5e-9b1e-6d1c2a7e4b90")


@dataclass(frozen=True)
class Arrival:
    """A consumed record that is a valid event of the topic's owner."""

    record: ConsumerRecord
    event: CloudEvent
    pseudonym: str


@dataclass(frozen=True)
class Reject:
    """A consumed record that is no event, or not one its topic's owner may send."""

    record: ConsumerRecord
    reason: str


@dataclass(frozen=True)
class Batch:
    arrivals: tuple[Arrival, ...]
    rejects: tuple[Reject, ...]

    @property
    def persons(self) -> list[str]:
        """The pseudonyms whose consents the batch reads, sorted (the order they are locked in)."""
        return sorted({a.pseudonym for a in self.arrivals})


@dataclass(frozen=True)
class Outgoing:
    """One record to send. `by_key`: to the partition the default partitioner picks for the key."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    by_key: bool = False


@dataclass(frozen=True)
class BatchPlan:
    forwards: tuple[Outgoing, ...]  # per event: its deliveries, then the shared copy for the board
    decision_records: tuple[Outgoing, ...]  # gate.decisions, DECISIONS_PER_RECORD decisions each
    dead_letters: tuple[Outgoing, ...]
    decisions: tuple[GateDecision, ...]  # every decision, in the order of the records
    last_numbers: Mapping[str, int]  # per recipient, the last delivery number this plan hands out

    @property
    def records(self) -> tuple[Outgoing, ...]:
        """Everything to send, in the order it is sent."""
        return self.forwards + self.decision_records + self.dead_letters


def read_batch(records: Sequence[ConsumerRecord], pseudonym_of: Callable[[str], str]) -> Batch:
    arrivals, rejects = [], []
    for record in records:
        try:
            event = parse_event(record.value or b"")
        except InvalidEvent as exc:
            rejects.append(Reject(record, str(exc)))
            continue
        owner = _sender_of(record.topic)
        if event.principal != owner:
            rejects.append(Reject(record, f"principal {event.principal} does not own {record.topic}"))
        else:
            arrivals.append(Arrival(record, event, pseudonym_of(event.subject)))
    return Batch(tuple(arrivals), tuple(rejects))


# What a sealed copy for the board is given: the plain copy, the person's pseudonym, and the
# statutory bases (legal references) it crossed on besides its consents (`consent_ids`).
Seal = Callable[[ForwardedEvent, str, frozenset[str]], bytes]


def plain(shared: ForwardedEvent, pseudonym: str, legal_references: frozenset[str]) -> bytes:
    """The board's copy unsealed: for tests and readers of the plan alone, never the gate."""
    return shared.model_dump_json().encode()


@dataclass(frozen=True)
class Decided:
    """A batch with every event decided at one moment. `holders[i]`: the consents that allow
    the i-th event to some principal it is forwarded to — every one of them, not only the one each
    decision names, so that the board's copy stays readable while any of them is in force."""

    batch: Batch
    now: datetime
    decisions: tuple[tuple[Arrival, tuple[Decision, ...]], ...]
    holders: tuple[frozenset[str], ...] = ()

    @property
    def needed(self) -> dict[str, int]:
        """How many delivery numbers each recipient needs."""
        return dict(Counter(d.recipient for _, decisions in self.decisions for d in decisions if d.forwarded))

    @property
    def sealing_keys(self) -> tuple[set[str], set[tuple[str, str]]]:
        """The keys the board's copies are sealed with: consent ids, and (pseudonym, legal
        reference) of each statutory basis an event crossed on."""
        consents: set[str] = set()
        statutory: set[tuple[str, str]] = set()
        for i, (arrival, decisions) in enumerate(self.decisions):
            if not any(d.forwarded for d in decisions):
                continue
            consents |= self.holders_of(i)
            statutory |= {(arrival.pseudonym, ref) for ref in _statutory(decisions)}
        return consents, statutory

    def holders_of(self, i: int) -> frozenset[str]:
        if self.holders:
            return self.holders[i]
        return frozenset(str(d.consent_id) for d in self.decisions[i][1] if d.forwarded and d.consent_id)


def decide_batch(
    batch: Batch, consents: Mapping[str, list[Consent]], policy: Mapping[str, StatutoryBasis], now: datetime
) -> Decided:
    decisions, holders = [], []
    for a in batch.arrivals:
        theirs = consents.get(a.pseudonym, [])
        decided = tuple(decide(a.event, theirs, policy, now))
        decisions.append((a, decided))
        holders.append(_covering(a.event, theirs, decided, now))
    return Decided(batch, now, tuple(decisions), tuple(holders))


def _covering(
    event: CloudEvent, consents: list[Consent], decisions: Sequence[Decision], now: datetime
) -> frozenset[str]:
    to = [d.recipient for d in decisions if d.forwarded and d.basis is Basis.CONSENT]
    return frozenset(
        str(c.id)
        for c in consents
        if c.refusal(event, now) is None and any(c.names(event.principal, recipient) for recipient in to)
    )


def _statutory(decisions: Sequence[Decision]) -> frozenset[str]:
    return frozenset(d.legal_reference or "" for d in decisions if d.forwarded and d.basis is Basis.STATUTORY)


def deliveries_needed(
    batch: Batch, consents: Mapping[str, list[Consent]], policy: Mapping[str, StatutoryBasis], now: datetime
) -> dict[str, int]:
    return decide_batch(batch, consents, policy, now).needed


def plan_batch(
    batch: Batch,
    consents: Mapping[str, list[Consent]],
    policy: Mapping[str, StatutoryBasis],
    now: datetime,
    next_numbers: Mapping[str, int],
    seal: Seal = plain,
) -> BatchPlan:
    return plan_decided(decide_batch(batch, consents, policy, now), next_numbers, seal)


def plan_decided(decided: Decided, next_numbers: Mapping[str, int], seal: Seal) -> BatchPlan:
    """Every record the batch writes. `next_numbers[recipient]` is the first delivery number
    reserved for the recipient (each recipient of `decided.needed` must have one); `seal` makes
    the board's copy of each forwarded event."""
    batch, now = decided.batch, decided.now
    moment = now.isoformat()
    numbers = dict(next_numbers)
    last: dict[str, int] = {}
    forwards: list[Outgoing] = []
    records: list[GateDecision] = []
    for i, (arrival, decisions) in enumerate(decided.decisions):
        holders = decided.holders_of(i)
        forwards += _forwards(arrival, decisions, now, numbers, last, _Board(holders, seal))
        records += [_decision_record(arrival, d, now, moment) for d in decisions]
    chunks = tuple(
        _decisions_record(records[i : i + DECISIONS_PER_RECORD]) for i in range(0, len(records), DECISIONS_PER_RECORD)
    )
    letters = tuple(_dead_letter_record(r, now) for r in batch.rejects)
    return BatchPlan(tuple(forwards), chunks, letters, tuple(records), last)


@dataclass(frozen=True)
class _Board:
    holders: frozenset[str]
    seal: Seal


def _forwards(
    arrival: Arrival,
    decisions: Sequence[Decision],
    now: datetime,
    numbers: dict[str, int],
    last: dict[str, int],
    board: _Board,
) -> list[Outgoing]:
    forwarded = [d for d in decisions if d.forwarded]
    if not forwarded:
        return []
    event, key = arrival.event, arrival.pseudonym.encode()
    value = event.to_json()
    records = []
    for decision in forwarded:
        seq = last[decision.recipient] = numbers[decision.recipient]
        numbers[decision.recipient] = seq + 1
        headers = _STRUCTURED + ((DELIVERY_SEQ_HEADER, str(seq).encode()),)
        records.append(Outgoing(_deliveries_topic(decision.recipient), value, key, headers, by_key=True))
    shared = ForwardedEvent.model_construct(
        event=event,
        parties=[event.principal, *(d.recipient for d in forwarded)],
        consent_ids=sorted(board.holders),
        decided_at=now,
    )
    sealed = board.seal(shared, arrival.pseudonym, _statutory(forwarded))
    # the sealed record is itself a CloudEvent (contracts/sealing.py): structured mode
    records.append(Outgoing(SHARED_EVENTS, sealed, key, _STRUCTURED, by_key=True))
    return records


def _decisions_record(decisions: list[GateDecision]) -> Outgoing:
    batch = DecisionBatch(decisions=decisions)
    return Outgoing(GATE_DECISIONS, batch.model_dump_json().encode(), headers=kafka_binding.decisions_headers(batch))


def _dead_letter_record(reject: Reject, now: datetime) -> Outgoing:
    letter = dead_letter(reject.record, CONSUMER_NAME, reject.reason, at=now)
    value, headers = letter.model_dump_json().encode(), kafka_binding.dead_letter_headers(letter)
    return Outgoing(dead_letters_for(reject.record.topic), value, key=reject.record.key, headers=headers)


def _decision_record(arrival: Arrival, decision: Decision, now: datetime, moment: str) -> GateDecision:
    event, record = arrival.event, arrival.record
    name = f"{record.topic}/{record.partition}/{record.offset}/{decision.recipient}/{moment}"
    return GateDecision.model_construct(  # our own values, already valid: no second validation
        decision_id=decision_id(name),
        event_id=event.id,
        event_type=event.type,
        category=event.category,
        sender=event.principal,
        recipient=decision.recipient,
        person_pseudonym=arrival.pseudonym,
        forwarded=decision.forwarded,
        reason=decision.reason,
        basis=decision.basis,
        consent_id=str(decision.consent_id) if decision.consent_id else None,
        legal_reference=decision.legal_reference,
        decided_at=now,
        event_time=event.time,
    )


def decision_id(name: str) -> str:
    """`str(uuid.uuid5(_DECISION_IDS, name))`, without building two UUID objects per decision."""
    digest = bytearray(hashlib.sha1(_DECISION_ID_PREFIX + name.encode(), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_DECISION_ID_PREFIX = _DECISION_IDS.bytes
_STRUCTURED = kafka_binding.structured()
_deliveries_topic = functools.lru_cache(maxsize=1024)(deliveries_topic)  # a checked name, per recipient
_sender_of = functools.lru_cache(maxsize=1024)(sender_of)
