"""The inbox page's order on the real PostgreSQL, held to a reference: every event whose receipt
is overdue (due, not acknowledged), earliest deadline first (newest first among equal deadlines),
then the rest newest first, receipts left out, at most `limit`.

Random inboxes of a few dozen rows — deadlines an hour or more past or ahead or none, some
acknowledged, some receipts — are read with limits from one to more than the rows. The seed is
printed; SAMORDNA_INBOX_LATEST_SEED reproduces a run.
"""

import os
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.inbox import PgInbox
from services.runtime.db import create_pool

pytestmark = pytest.mark.infra

VISIT, RECEIPT = "se.samordna.region.visit.missed.v1", "se.samordna.receipt.acknowledged.v1"


@pytest.fixture
async def pool(infra):
    pool = await create_pool(infra.dsn, f"gateway_latest_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=2)
    yield pool
    await pool.close()


def reference(rows: list[dict], now: datetime, limit: int) -> list[int]:
    shown = [r for r in rows if r["event_type"] != RECEIPT]
    overdue = [r for r in shown if r["due"] is not None and r["due"] <= now and r["acknowledged"] is None]
    rest = [r for r in shown if r not in overdue]
    ordered = sorted(overdue, key=lambda r: (r["due"], -r["seq"])) + sorted(rest, key=lambda r: -r["seq"])
    return [r["seq"] for r in ordered[:limit]]


async def test_the_inbox_page_shows_the_overdue_first_then_the_newest_without_receipts(pool):
    seed = int(os.environ.get("SAMORDNA_INBOX_LATEST_SEED", random.randrange(2**32)))
    print(f"inbox latest seed {seed}")
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for round_ in range(15):
        await pool.execute("TRUNCATE inbox CASCADE")
        deadlines = [now + timedelta(hours=h) for h in (-30, -5, -2, -1, 1, 3)]  # an hour from now or more
        rows = [
            {
                "seq": seq,
                "event_type": RECEIPT if rng.random() < 0.2 else VISIT,
                "due": rng.choice([None, None, *deadlines]),
                "acknowledged": now - timedelta(minutes=5) if rng.random() < 0.3 else None,
            }
            for seq in range(1, rng.randint(0, 40) + 1)
        ]
        await pool.executemany(
            """INSERT INTO inbox (seq, event_id, sender, event_type, event, received_at, receipt_due_at,
                                  acknowledged_at)
               VALUES ($1, $2, 'region-14', $3, '{}', now(), $4, $5)""",
            [(r["seq"], f"event-{r['seq']}", r["event_type"], r["due"], r["acknowledged"]) for r in rows],
        )
        for limit in (1, 2, 5, 17, 100):
            got = [item.seq for item in await PgInbox(pool).latest(limit)]
            assert got == reference(rows, now, limit), f"round {round_}, limit {limit}, seed {seed}: {rows}"
