"""The gateway's tables keep personal data only as long as their purpose (services/gateway/
retention.py, docs/privacy.md), on the real PostgreSQL: what is past its retention goes, what is
unpublished, awaiting a receipt or a webhook stays whatever its age."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.gateway.bootstrap import SCHEMA_SQL
from services.gateway.retention import Retention, prune
from services.runtime.db import create_pool

pytestmark = pytest.mark.infra

KEEP = Retention(outbox=timedelta(hours=1), inbox=timedelta(hours=2), dead_letters=timedelta(hours=3))
NOW = datetime.now(UTC)


async def test_rows_past_their_retention_go_and_what_is_still_needed_stays(infra):
    pool = await create_pool(infra.dsn, f"gateway_retention_{uuid.uuid4().hex[:8]}", SCHEMA_SQL, min_size=1, max_size=2)
    try:
        async with pool.acquire() as conn:
            for event_id, accepted, published in (
                ("published-old", NOW - timedelta(hours=5), NOW - timedelta(hours=2)),
                ("unpublished-old", NOW - timedelta(hours=5), None),
                ("published-new", NOW, NOW),
            ):
                await conn.execute(
                    """INSERT INTO outbox (event_id, event, kafka_key, accepted_at, published_at, body_sha256)
                       VALUES ($1, '{}', 'k', $2, $3, 'x')""",
                    event_id, accepted, published,
                )  # fmt: skip
            old = NOW - timedelta(hours=3)
            for seq, event_id, received, due, acked in (
                (1, "old-done", old, None, None),
                (2, "old-acknowledged", old, old, old),
                (3, "old-receipt-due", old, NOW + timedelta(days=1), None),
                (4, "old-webhook-pending", old, None, None),
                (5, "old-webhook-parked", old, None, None),
                (6, "old-webhook-delivered", old, None, None),
                (7, "new", NOW, None, None),
            ):
                await conn.execute(
                    """INSERT INTO inbox (seq, event_id, sender, event_type, event, received_at, receipt_due_at,
                                          acknowledged_at) VALUES ($1, $2, 'region-14', 't', '{}', $3, $4, $5)""",
                    seq, event_id, received, due, acked,
                )  # fmt: skip
            subscription = uuid.uuid4()
            await conn.execute(
                "INSERT INTO webhook_subscriptions (id, url, secret, last_seq) VALUES ($1, 'https://x', 's', 7)",
                subscription,
            )
            for seq, status in ((4, "pending"), (5, "parked"), (6, "delivered")):
                await conn.execute(
                    """INSERT INTO webhook_deliveries (subscription_id, seq, event_id, event_type, status)
                       VALUES ($1, $2, 'e', 't', $3)""",
                    subscription, seq, status,
                )  # fmt: skip
            for offset, failed in ((1, NOW - timedelta(hours=4)), (2, NOW)):
                await conn.execute(
                    """INSERT INTO dead_letters (origin_topic, origin_partition, origin_offset, consumer, reason,
                                                 value, failed_at)
                       VALUES ('events.region-14', 0, $1, 'gate', 'r', 'v', $2)""",
                    offset, failed,
                )  # fmt: skip

        assert await prune(pool, KEEP) == {"outbox": 1, "inbox": 3, "dead_letters": 1}

        async with pool.acquire() as conn:
            assert {r["event_id"] for r in await conn.fetch("SELECT event_id FROM outbox")} == {
                "unpublished-old", "published-new"
            }  # fmt: skip
            assert {r["event_id"] for r in await conn.fetch("SELECT event_id FROM inbox")} == {
                "old-receipt-due", "old-webhook-pending", "old-webhook-parked", "new"
            }  # fmt: skip
            assert {r["seq"] for r in await conn.fetch("SELECT seq FROM webhook_deliveries")} == {4, 5}
            assert [r["origin_offset"] for r in await conn.fetch("SELECT origin_offset FROM dead_letters")] == [2]
        assert await prune(pool, KEEP) == {"outbox": 0, "inbox": 0, "dead_letters": 0}
    finally:
        await pool.close()
