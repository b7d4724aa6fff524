"""In-memory fakes of the board's ports, and a board app over them with one token per role:
the service layer and the routes in milliseconds, with no Kafka and no PostgreSQL."""

import random
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from contracts.catalogue import ConsentChange
from contracts.examples import EXAMPLE_DATA
from services.board import projection
from services.board.alerts import AlertRules
from services.board.app import create_app
from services.board.bootstrap import Deps
from services.board.domain import BoardEvent
from services.board.live import Changes
from services.board.projection import BoardState, ConsentChanged, Crossed, Forwarded, apply_all
from services.board.sessions import Ended, Kind, Session, Timeouts, expiry, new_key
from services.board.settings import BoardSettings
from services.board.statistics import record_keys
from services.runtime.access_log import Access
from services.runtime.auth import Caller, Role, TokenRegistry, digest
from services.runtime.oidc import SignIn, Staff
from services.runtime.pseudonym import Pseudonymizer
from tests.support.personnummer import random_person_id

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
TOKENS = {
    "region": Caller(REGION, Role.COORDINATOR),
    "alingsas": Caller(ALINGSAS, Role.COORDINATOR),
    "lerum": Caller(LERUM, Role.COORDINATOR),
    "ops": Caller("ops", Role.OPS),
    "system": Caller(REGION, Role.SYSTEM),
}
PSEUDONYMS = Pseudonymizer(b"unit-test-secret")


class InMemoryBoardStore:
    """The board's store as a `BoardState` folded by the projection, read by its pure reads."""

    def __init__(self, clock=lambda: NOW) -> None:
        self.state = BoardState()
        self._clock = clock

    async def record_forwarded(self, items: Sequence[Forwarded]) -> set[str]:
        return self._apply(items)

    async def apply_consent_changes(self, changes: Sequence[ConsentChanged]) -> set[str]:
        return self._apply(changes)

    def _apply(self, changes) -> set[str]:
        outcome = apply_all(self.state, changes)
        self.state = outcome.state
        return set(outcome.moved)

    async def persons_visible_to(self, principal: str | None):
        return projection.persons_visible_to(self.state, principal, self._clock())

    async def consent_spans(self, principal: str | None):
        return projection.consent_spans(self.state, principal)

    async def events_of(self, pseudonyms: Sequence[str], principal: str | None) -> list[BoardEvent]:
        return projection.events_of(self.state, pseudonyms, principal)

    async def forget_everything(self) -> None:
        self.state = BoardState()

    async def ready(self) -> bool:
        return True


class FakeOps:
    def __init__(self, summary: dict | None = None) -> None:
        self._summary = summary or {"services": {}, "consumer_lag": {}, "sampled_seconds_ago": None}

    def summary(self) -> dict:
        return self._summary


class InMemorySessions:
    """The session store's contract (services/board/sessions.py) over a dict, on the same pure expiry."""

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts(timedelta(minutes=30), timedelta(hours=10))
        self.sessions: dict[str, Session] = {}
        self.ended: dict[str, Ended] = {}  # timed out: still explains itself

    async def create(self, kind: Kind, data: dict, now: datetime) -> Session:
        data = {**data, "csrf": new_key()} if kind is Kind.STAFF else data
        session = Session(new_key(), kind, data, now, now)
        self.sessions[session.key] = session
        return session

    async def find(self, key, kind: Kind, now: datetime, touch: bool = True) -> tuple[Session | None, Ended | None]:
        if key in self.ended:
            return None, self.ended[key]
        session = self.sessions.get(key or "")
        if session is None or session.kind is not kind:
            return None, None
        ended = expiry(session.created_at, session.last_seen_at, now, self.timeouts)
        if ended:
            del self.sessions[key]
            self.ended[key] = ended
            return None, ended
        if touch:
            session = self.sessions[key] = Session(key, kind, session.data, session.created_at, now)
        return session, None

    async def save(self, session: Session) -> None:
        self.sessions[session.key] = session

    async def end(self, key: str) -> None:
        self.sessions.pop(key, None)

    async def sweep(self, now: datetime) -> int:
        return 0


class InMemoryAccessLog:
    def __init__(self) -> None:
        self.entries: list[Access] = []

    async def record(self, accesses: list[Access]) -> None:
        self.entries.extend(accesses)

    async def search(self, principal, person=None, since=None, until=None) -> list[dict]:
        return [  # the shape of services/runtime/access_log.AccessLog.search, with the fakes' clock
            {
                "at": NOW.isoformat(),
                "principal": a.who.principal,
                "role": a.who.role,
                "user": a.who.user,
                "name": a.who.name,
                "hsa_id": a.who.hsa_id,
                "unit": a.who.unit,
                "person": a.person,
                "action": a.action,
                "detail": a.detail,
            }
            for a in reversed(self.entries)
            if a.who.principal == principal and person in (None, a.person)
        ]

    async def purge(self, retention, now) -> int:
        return 0


def staff_of(caller: Caller) -> Staff:
    return Staff(caller, f"https://idp.{caller.principal}.test", f"user-{caller.principal}", "Test Testsson",
                 "SE2321000014-E00000000001", "Enheten")  # fmt: skip


async def _always() -> bool:
    return True


def fake_deps(
    store: InMemoryBoardStore, ops: FakeOps | None = None, clock=lambda: NOW, sessions=None, access_log=None
) -> Deps:
    return Deps(
        settings=BoardSettings(),
        store=store,
        ops=ops or FakeOps(),
        changes=Changes(),
        rules=AlertRules(),
        record_key=record_keys(b"unit-test-secret"),
        clock=clock,
        checks={"postgres": _always, "kafka": _always},
        sessions=sessions or InMemorySessions(),
        access_log=access_log or InMemoryAccessLog(),
        sign_in=SignIn([]),
    )


def board_app(
    store: InMemoryBoardStore, ops: FakeOps | None = None, sessions=None, access_log=None, clock=lambda: NOW
) -> FastAPI:
    """The board's app over the fakes; the tokens are the keys of TOKENS."""

    @asynccontextmanager
    async def fake_bootstrap(settings: BoardSettings) -> AsyncIterator[Deps]:
        yield fake_deps(store, ops, clock, sessions, access_log)

    app = create_app(BoardSettings(), bootstrap=fake_bootstrap)
    app.state.tokens = TokenRegistry({digest(token): caller for token, caller in TOKENS.items()})
    return app


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app` over ASGI, inside its lifespan."""
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://board") as c,
    ):
        yield c


# --- the projection's changes, as the consumers make them ---------------------------------------


def crossed(
    event_type: str,
    person: str,
    parties: tuple[str, ...],
    *,
    event_id: str,
    days_ago: float = 1,
    decided_days_ago: float | None = None,
    data: dict | None = None,
) -> Crossed:
    """An event `parties[0]` sent about `person` that the gate forwarded to `parties[1:]`."""
    event = BoardEvent(
        event_type,
        parties[0],
        person,
        NOW - timedelta(days=days_ago),
        data or EXAMPLE_DATA[event_type],
        event_id,
        tuple(sorted(parties)),
    )
    decided = NOW - timedelta(days=days_ago if decided_days_ago is None else decided_days_ago)
    return Crossed(PSEUDONYMS.of(person), event, decided)


def forwarded(c: Crossed, *consent_ids: str) -> Forwarded:
    return Forwarded(c, frozenset(consent_ids))


def consent(
    kind: ConsentChange,
    consent_id: str,
    person: str,
    parties: tuple[str, ...],
    *,
    at: datetime = NOW - timedelta(days=30),
    valid_for: timedelta = timedelta(days=365),
) -> ConsentChanged:
    validity = kind in (ConsentChange.GRANTED, ConsentChange.EXPIRING)
    return ConsentChanged(
        kind,
        consent_id,
        PSEUDONYMS.of(person),
        person,
        parties,
        at,
        valid_from=NOW - timedelta(days=60) if validity else None,
        valid_until=NOW - timedelta(days=60) + valid_for if validity else None,
    )


SEEDED_PERSON = "199001012385"


async def seeded_store(persons: int = 1) -> InMemoryBoardStore:
    """`persons` persons shared by the region with Alingsås, each with a positive sample."""
    store, rng = InMemoryBoardStore(), random.Random(persons)
    for n in range(persons):
        person = random_person_id(rng) if persons > 1 else SEEDED_PERSON
        consent_id = f"00000000-0000-0000-0000-{n:012d}"
        await store.apply_consent_changes([consent(ConsentChange.GRANTED, consent_id, person, (REGION, ALINGSAS))])
        sample = crossed("se.samordna.region.sample.positive.v1", person, (REGION, ALINGSAS), event_id=f"sample-{n}")
        await store.record_forwarded([forwarded(sample, consent_id)])
    return store
