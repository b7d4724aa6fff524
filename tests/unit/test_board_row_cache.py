"""The board's folded rows kept per person's version (views.RowCache): a board read with the
cache answers as one read without it, after every change — new events, a consent granted to
another principal, a revocation that forgets — as long as the store moves a person's version
with every change to the person, as the SQL store does in the change's transaction."""

import random
from dataclasses import replace
from datetime import timedelta

from contracts.catalogue import ConsentChange
from services.board.alerts import AlertRules
from services.board.projection import Forwarded
from services.board.statistics import record_keys
from services.board.views import BoardViews, RowCache
from tests.unit.fakes_board import ALINGSAS, LERUM, NOW, REGION, InMemoryBoardStore, consent, crossed, forwarded

TYPES = ["se.samordna.region.visit.missed.v1", "se.samordna.region.sample.positive.v1",
         "se.samordna.joint.sip.plan_updated.v1", "se.samordna.municipality.intervention.decided.v1"]  # fmt: skip
PERSONS = ["199001012380", "198505052389", "197212240281", "196807150004"]


class VersionedStore(InMemoryBoardStore):
    """The in-memory store, with a version per person moved by every change to the person."""

    def __init__(self) -> None:
        super().__init__()
        self.versions: dict[str, int] = {}
        self._next = 0

    def _apply(self, changes) -> set[str]:
        for change in changes:
            self._next += 1
            pseudonym = change.crossed.pseudonym if isinstance(change, Forwarded) else change.pseudonym
            self.versions[pseudonym] = self._next
        return super()._apply(changes)

    async def persons_visible_to(self, principal):
        return [replace(p, version=self.versions.get(p.pseudonym)) for p in await super().persons_visible_to(principal)]


def _views(store, cache, now=NOW) -> BoardViews:
    return BoardViews(store, AlertRules(), record_keys(b"unit-test-secret"), lambda: now, cache)


async def _same_boards(store, cache, now=NOW) -> None:
    for principal in (REGION, ALINGSAS, LERUM):
        cached = await _views(store, cache, now).board_rows(principal)
        fresh = await _views(store, None, now).board_rows(principal)
        assert cached == fresh, principal


async def test_a_cached_board_answers_as_an_uncached_one_after_every_change():
    rng, store, cache = random.Random(20), VersionedStore(), RowCache()
    consents = {}
    for step in range(120):
        person = rng.choice(PERSONS)
        roll = rng.random()
        if person not in consents or roll < 0.1:
            cid = f"00000000-0000-0000-0000-{step:012d}"
            partner = rng.choice((ALINGSAS, LERUM))
            consents[person] = (cid, (REGION, partner))
            await store.apply_consent_changes([consent(ConsentChange.GRANTED, cid, person, (REGION, partner))])
        elif roll < 0.15:
            cid, parties = consents.pop(person)
            await store.apply_consent_changes([consent(ConsentChange.REVOKED, cid, person, parties, at=NOW)])
        else:
            cid, parties = consents[person]
            sender, recipient = parties if rng.random() < 0.5 else parties[::-1]
            event = crossed(
                rng.choice(TYPES), person, (sender, recipient), event_id=f"e{step}", days_ago=rng.random() * 9
            )
            await store.record_forwarded([forwarded(event, cid)])
        await _same_boards(store, cache)
    assert cache.folded, "the cache was used"


async def test_kept_alerts_answer_as_fresh_ones_while_the_clock_moves():
    """The alerts are kept with the row until the next moment they may change (alerts.
    unchanged_until): with the clock moving on by hours between reads, across the days an alert
    stays (a recent event's, a consent's end), the cached board still answers as a fresh one."""
    rng, store, cache = random.Random(21), VersionedStore(), RowCache()
    now = NOW
    for n, person in enumerate(PERSONS):
        cid = f"00000000-0000-0000-0000-{n:012d}"
        valid_for = timedelta(days=60 + rng.uniform(20, 40))  # ends 20 to 40 days after NOW: its notice comes
        await store.apply_consent_changes(
            [consent(ConsentChange.GRANTED, cid, person, (REGION, ALINGSAS), valid_for=valid_for)]
        )
        for k in range(3):
            event = crossed(
                rng.choice(TYPES), person, (REGION, ALINGSAS), event_id=f"e{n}-{k}", days_ago=rng.uniform(0, 5)
            )
            await store.record_forwarded([forwarded(event, cid)])
    seen = set()
    for _ in range(80):
        now += timedelta(hours=rng.uniform(0, 12))
        await _same_boards(store, cache, now)
        seen.add(tuple(len(v.alerts) for v in await _views(store, None, now).board_rows(ALINGSAS)))
    assert len(seen) > 2, "the alerts changed as time went by"
