"""What a soak run recorded: the history the checker reads, as plain data saved to JSON.

The runner (bench/soak.py) fills it in two phases: while the nemesis runs, what the clients
did and saw (events accepted, consents granted and revoked, faults, when each event first
showed in an inbox); after everything has healed, what the system holds (every inbox, the
deliveries topics, the audit). The checker (bench/soak_checker.py) is a pure function of it.

Persons appear only as aliases ("p7"): the personnummer stay in the runner's memory, so a
history file can be kept and shared. Times are seconds since the epoch on this machine's
clock, the clock PostgreSQL stamps `decided_at` with too.
"""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Accepted:
    """An event a client posted until its gateway answered 202 (accepted_at None: it never did)."""

    id: str
    sender: str
    person: str  # alias
    posted_at: float  # the first attempt started
    accepted_at: float | None
    canary: bool = False


@dataclass(frozen=True)
class ConsentLife:
    """One consent: the only one its person ever has, naming exactly two parties, all categories."""

    id: str
    person: str  # alias
    parties: tuple[str, str]
    granted_at: float  # the grant call returned
    revoke_started: float | None = None  # the first revoke attempt started
    revoke_returned: float | None = None  # a revoke call returned 200: from here on nothing may cross


@dataclass(frozen=True)
class Fault:
    """One thing the nemesis did, and the canary events posted right after it was healed."""

    kind: str
    target: str
    started_at: float
    ended_at: float
    canaries: tuple[str, ...] = ()
    error: str | None = None  # injecting or healing failed (the run goes on)


@dataclass(frozen=True)
class Decision:
    """One audit row (the database's audit table), without the person."""

    event_id: str
    recipient: str | None
    forwarded: bool
    reason: str
    consent_id: str | None
    decided_at: float


@dataclass(frozen=True)
class Delivery:
    """One record on deliveries.<recipient>, read committed."""

    recipient: str
    event_id: str
    seq: int | None  # the samordna-delivery-seq header


@dataclass(frozen=True)
class InboxItem:
    principal: str
    event_id: str
    seq: int


@dataclass
class History:
    seed: int
    minutes: float
    cluster: bool
    started_at: float = 0.0
    nemesis_ended_at: float = 0.0
    collected_at: float | None = None  # None: the run was cut short before reading what the system holds
    accepted: list[Accepted] = field(default_factory=list)
    consents: list[ConsentLife] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    first_seen: dict[str, float] = field(default_factory=dict)  # event id -> first seen in its recipient's inbox
    decisions: list[Decision] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    inboxes: list[InboxItem] = field(default_factory=list)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "History":
        data = json.loads(path.read_text())
        parts = {
            "accepted": Accepted,
            "consents": ConsentLife,
            "faults": Fault,
            "decisions": Decision,
            "deliveries": Delivery,
            "inboxes": InboxItem,
        }
        for name, kind in parts.items():
            data[name] = [kind(**_tuples(item)) for item in data.get(name, [])]
        return cls(**data)


def _tuples(item: dict) -> dict:
    """JSON has no tuples: give the frozen records back theirs."""
    return {key: tuple(value) if isinstance(value, list) else value for key, value in item.items()}
