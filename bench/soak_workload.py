"""The soak's clients: partner systems posting events, coordinators granting and revoking
consents, and a watcher that notes when each event first shows in its recipient's inbox.

Who shares whom (exact, so the checker knows what must happen): a consented person has one
consent naming the region and one municipality (pair A: region-14 + kommun-1489, pair B:
region-14 + kommun-1441), every category; other persons have none. Every principal posts about
every kind of person, so events that must go nowhere (a municipality writing about a person
the other municipality shares, anyone writing about an unconsented person) are posted too.

A grant whose answer is lost (a transport error, a 5xx) may or may not have been recorded: its
person is dropped and never written about, so the one-consent-per-person model stays true.
"""

import asyncio
import random
import time
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from bench.soak_history import Accepted, ConsentLife, History
from tests.support.client import StackClient, event
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PRINCIPALS = (REGION, ALINGSAS, LERUM)
PAIRS = ((REGION, ALINGSAS), (REGION, LERUM))
EVENT_TYPE = {
    REGION: "se.samordna.region.visit.missed.v1",
    ALINGSAS: "se.samordna.municipality.intervention.decided.v1",
    LERUM: "se.samordna.municipality.intervention.decided.v1",
}
POST_TIMEOUT = 300  # seconds one event may take to be accepted before the client gives up on it
RETRY_PAUSE = 0.3
MIN_ACTIVE_PER_PAIR = 2


class Workload:
    def __init__(self, client: StackClient, history: History, rng: random.Random) -> None:
        self.client = client
        self.history = history
        self.rng = rng
        self.persons: dict[str, str] = {}  # alias -> personnummer, in memory only
        self.unconsented: list[str] = []
        self.consents: dict[str, ConsentLife] = {}  # alias -> its consent, as recorded so far
        self.canaries: dict[tuple[str, str], str] = {}  # pair -> its canary person's alias
        self.stopping = asyncio.Event()

    # ---- persons and consents -------------------------------------------------------------
    def _new_person(self) -> str:
        alias = f"p{len(self.persons) + 1}"
        self.persons[alias] = random_person_id(self.rng)
        return alias

    async def setup(self, per_pair: int = 3, unconsented: int = 3) -> None:
        for pair in PAIRS:
            self.canaries[pair] = await self._grant_until_recorded(pair)
            for _ in range(per_pair):
                await self._grant_until_recorded(pair)
        self.unconsented = [self._new_person() for _ in range(unconsented)]

    async def _grant_until_recorded(self, pair: tuple[str, str]) -> str:
        while (alias := await self.grant(pair)) is None:
            await asyncio.sleep(1)
        return alias

    async def grant(self, pair: tuple[str, str]) -> str | None:
        alias = self._new_person()
        body = {
            "person": self.persons[alias],
            "parties": list(pair),
            "valid_from": datetime.now(UTC).date().isoformat(),
            "form": "written",
        }
        try:
            response = await self.client.http.post(
                self.client.url("consent", "/v1/consents"), json=body, headers=self.client._auth(pair[0], "coordinator")
            )
        except httpx.TransportError:
            return None
        if response.status_code != 201:
            return None
        life = ConsentLife(id=response.json()["id"], person=alias, parties=pair, granted_at=time.time())
        self.consents[alias] = life
        return alias

    async def revoke(self, alias: str) -> None:
        """Revoke until a call returns 200 (revoking twice is harmless); the first attempt's start
        and the answer's arrival bound when it took effect."""
        life = self.consents[alias]
        started = time.time()
        self.consents[alias] = replace(life, revoke_started=started)
        while True:
            try:
                response = await self.client.revoke(self.rng.choice(life.parties), life.id)
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(RETRY_PAUSE)
        self.consents[alias] = replace(life, revoke_started=started, revoke_returned=time.time())

    async def coordinators(self) -> None:
        """Now and then a new person joins (a consent is granted) or one leaves (it is revoked)."""
        while not self.stopping.is_set():
            await asyncio.sleep(self.rng.uniform(3, 8))
            pair = self.rng.choice(PAIRS)
            active = [
                a
                for a, c in self.consents.items()
                if c.parties == pair and c.revoke_started is None and a not in self.canaries.values()
            ]
            if len(active) > MIN_ACTIVE_PER_PAIR and self.rng.random() < 0.5:
                await self.revoke(self.rng.choice(active))
            else:
                await self.grant(pair)

    # ---- events -----------------------------------------------------------------------------
    async def post(self, sender: str, alias: str, canary: bool = False) -> Accepted:
        """Post one event, and the same again until it is answered 202, as a partner system would."""
        body = event(EVENT_TYPE[sender], self.persons[alias])
        posted_at = time.time()
        accepted_at = None
        while time.time() < posted_at + POST_TIMEOUT:
            try:
                response = await self.client.post_event(sender, body)
                if response.status_code == 202:
                    accepted_at = time.time()
                    break
                if response.status_code < 500:
                    raise RuntimeError(f"{sender} refused a soak event: {response.status_code} {response.text}")
            except httpx.TransportError:
                pass
            await asyncio.sleep(RETRY_PAUSE)
        accepted = Accepted(body["id"], sender, alias, posted_at, accepted_at, canary)
        self.history.accepted.append(accepted)
        return accepted

    async def partner(self, sender: str) -> None:
        """One partner system of `sender`: mostly about consented persons, now and then about others."""
        while not self.stopping.is_set():
            consented = [a for a in self.consents if a not in self.canaries.values()]
            pool = consented if self.rng.random() < 0.75 else self.unconsented
            await self.post(sender, self.rng.choice(pool))
            await asyncio.sleep(self.rng.uniform(0.3, 1.2))  # a few events a second in all: the machine is shared

    async def canaries_after_fault(self) -> tuple[str, ...]:
        """One consent-covered event each way of each pair, posted right after a fault ended."""
        sent = [(a, s) for pair, alias in self.canaries.items() for a, s in ((alias, pair[0]), (alias, pair[1]))]
        accepted = await asyncio.gather(*(self.post(sender, alias, canary=True) for alias, sender in sent))
        return tuple(a.id for a in accepted)

    # ---- what arrives --------------------------------------------------------------------------
    async def watch_inbox(self, principal: str) -> None:
        """Note when each event first shows in the principal's inbox (until cancelled)."""
        cursor = 0
        while True:
            try:
                page = (await self.client.inbox(principal, after=cursor))["events"]
            except (httpx.HTTPError, KeyError, ValueError):
                page = []
            now = time.time()
            for item in page:
                self.history.first_seen.setdefault(item["event"]["id"], now)
                cursor = item["seq"]
            if not page:
                await asyncio.sleep(0.5)

    async def all_seen(self, ids: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(i in self.history.first_seen for i in ids):
                return True
            await asyncio.sleep(0.25)
        return False

    def recorded_consents(self) -> list[ConsentLife]:
        return list(self.consents.values())
