"""The board's SQL store held to its pure projection, on the real PostgreSQL.

Random histories of forwarded events and consent changes — redelivered, revoked, expired, in
batches of random size — go through `PostgresBoardStore` (which loads the state a batch touches,
folds it with `projection.apply_all` and writes the difference) and through the in-memory store
that is the projection alone. Every principal's persons, every consent span and every event
must read back the same from both. The seed is printed; SAMORDNA_BOARD_MODEL_SEED reproduces
a run, SAMORDNA_BOARD_MODEL_ROUNDS makes it longer.
"""

import os
import random
from datetime import UTC, datetime, timedelta

import pytest

from contracts.catalogue import ConsentChange
from services.board.schema import SCHEMA_SQL
from services.board.store import PostgresBoardStore
from services.runtime.db import create_pool
from tests.unit.fakes_board import ALINGSAS, LERUM, NOW, PSEUDONYMS, REGION, InMemoryBoardStore, consent, crossed
from tests.unit.fakes_board import forwarded as forwarded_on

pytestmark = pytest.mark.infra

ROUNDS = int(os.environ.get("SAMORDNA_BOARD_MODEL_ROUNDS", 20))
PRINCIPALS = [REGION, ALINGSAS, LERUM, None]  # None: the whole area, for the statistics
VISIT = "se.samordna.region.visit.missed.v1"
PERSONS = ["199001012380", "198505052389", "197203034412"]
ROUTES = [(REGION, ALINGSAS), (ALINGSAS, REGION), (REGION, LERUM), (LERUM, ALINGSAS), (LERUM, REGION)]
PARTIES = [(REGION, ALINGSAS), (REGION, LERUM), (REGION, ALINGSAS, LERUM)]


def history(rng: random.Random) -> list:
    """Changes about a few persons, each consent with one fixed set of parties and revocation time."""
    consents = {
        f"00000000-0000-4000-8000-{n:012d}": (person, rng.choice(PARTIES), NOW - timedelta(days=rng.randint(0, 9)))
        for n, person in enumerate(PERSONS * 2)
    }
    changes = []
    for _ in range(rng.randint(1, 24)):
        if rng.random() < 0.4:
            consent_id = rng.choice(sorted(consents))
            person, parties, revoked_at = consents[consent_id]
            kind = rng.choices(list(ConsentChange), weights=[5, 2, 1, 1])[0]
            valid_for = timedelta(days=rng.choice([365, 65]))  # some ended before today
            changes.append(consent(kind, consent_id, person, parties, at=revoked_at, valid_for=valid_for))
        else:
            n = rng.randint(0, 7)  # an event id stands for one event, always the same
            person = rng.choice(PERSONS)
            event = crossed(VISIT, person, ROUTES[n % len(ROUTES)], event_id=f"{person}-{n}", days_ago=n)
            on = rng.sample(sorted(c for c, (p, _, _) in consents.items() if p == person), k=rng.randint(0, 2))
            changes.append(forwarded_on(event, *on))
        if rng.random() < 0.15:
            changes.append(changes[-1])  # Kafka redelivers
    return changes


def batches(changes: list, rng: random.Random) -> list[list]:
    """The changes in order, cut into runs of one kind (one topic) of random length."""
    out: list[list] = []
    for change in changes:
        if out and type(out[-1][0]) is type(change) and rng.random() < 0.6:
            out[-1].append(change)
        else:
            out.append([change])
    return out


def short(change) -> str:
    """A change in a few characters, for the failure message: the history of a round is long."""
    if hasattr(change, "crossed"):
        on = ",".join(c[-2:] for c in sorted(change.consent_ids))
        return f"event {change.crossed.event.event_id} on [{on}]"
    return f"{change.kind.value} {change.consent_id[-2:]}"


async def apply(store, batch: list) -> set[str]:
    if hasattr(batch[0], "crossed"):
        return await store.record_forwarded(batch)
    return await store.apply_consent_changes(batch)


async def read(store) -> dict:
    pseudonyms = [PSEUDONYMS.of(p) for p in PERSONS]
    seen = {}
    for principal in PRINCIPALS:
        seen[("persons", principal)] = await store.persons_visible_to(principal)
        seen[("spans", principal)] = await store.consent_spans(principal)
        seen[("events", principal)] = await store.events_of(pseudonyms, principal)
    return seen


async def test_the_sql_store_reads_back_what_the_pure_projection_keeps(infra):
    seed = int(os.environ.get("SAMORDNA_BOARD_MODEL_SEED", random.randrange(2**32)))
    print(f"board store model: seed {seed} (SAMORDNA_BOARD_MODEL_SEED={seed} reproduces it)")
    rng = random.Random(seed)
    pool = await create_pool(infra.dsn, "board_store_model", SCHEMA_SQL, min_size=1, max_size=2)
    sql = PostgresBoardStore(pool)
    try:
        for round_ in range(ROUNDS):
            await sql.forget_everything()
            model = InMemoryBoardStore(clock=lambda: datetime.now(UTC))  # the database's clock is the real one
            changes = history(rng)
            for batch in batches(changes, rng):
                moved = await apply(sql, batch), await apply(model, batch)
                told = [short(c) for c in batch]
                assert moved[0] == moved[1], f"seed {seed} round {round_}: views moved differently by {told}"
            told = "; ".join(short(c) for c in changes)
            actual, expected = await read(sql), await read(model)
            for key in expected:
                assert actual[key] == expected[key], f"seed {seed} round {round_}: {key} differs after {told}"
    finally:
        await pool.close()
