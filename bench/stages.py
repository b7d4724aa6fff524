"""Where an event's end-to-end time goes, from what the services record in PostgreSQL (bench.e2e
prints it per rate): for each delivered event,

- **outbox**: the gateway's `accepted_at` (the 202) to the relay's `published_at` (the broker
  acknowledged the record on `events.<sender>`);
- **to the gate**: `published_at` to the gate's `decided_at` on the audit (the database's time
  when the gate locked the batch's consents: its fetch, linger and queue);
- **gate to inbox**: `decided_at` to the recipient inbox's `received_at` (the gate's decision,
  its Kafka transaction and commit, the recipient gateway's consumer and insert).

All three are the database's clock, so they add up to the inbox latency bench.e2e reports.
"""

import statistics

import asyncpg

from services.gateway.settings import schema_of


async def inbox_ends(dsn: str, recipients: list[str]) -> dict[str, int]:
    """The last `seq` of each recipient's inbox: where a rate's reader starts. (From the start, each
    rate read every earlier row again through the inbox API — on a stack kept from run to run a
    hundred thousand rows per rate, in the recipient gateway's CPU and the benchmark's, inside the
    window they measure.)"""
    conn = await asyncpg.connect(dsn)
    try:
        return {r: await conn.fetchval(f"SELECT coalesce(max(seq), 0) FROM {schema_of(r)}.inbox") for r in recipients}
    finally:
        await conn.close()


async def breakdown(dsn: str, senders: list[str], recipients: list[str], event_ids: list[str]) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        outbox: dict[str, tuple[float, float]] = {}
        for sender in senders:
            rows = await conn.fetch(
                f"""SELECT event_id, extract(epoch FROM accepted_at) AS accepted,
                           extract(epoch FROM published_at) AS published
                    FROM {schema_of(sender)}.outbox WHERE event_id = ANY($1) AND published_at IS NOT NULL""",
                event_ids,
            )
            outbox |= {r["event_id"]: (float(r["accepted"]), float(r["published"])) for r in rows}
        decided = {
            (r["event_id"], r["recipient"]): float(r["decided"])
            for r in await conn.fetch(
                """SELECT event_id, recipient, extract(epoch FROM decided_at) AS decided
                   FROM consent.audit WHERE event_id = ANY($1) AND forwarded""",
                event_ids,
            )
        }
        stages: dict[str, list[float]] = {"outbox": [], "to the gate": [], "gate to inbox": []}
        for recipient in recipients:
            rows = await conn.fetch(
                f"""SELECT event_id, extract(epoch FROM received_at) AS received
                    FROM {schema_of(recipient)}.inbox WHERE event_id = ANY($1)""",
                event_ids,
            )
            for r in rows:
                key = (r["event_id"], recipient)
                if r["event_id"] not in outbox or key not in decided:
                    continue
                accepted, published = outbox[r["event_id"]]
                stages["outbox"].append(published - accepted)
                stages["to the gate"].append(decided[key] - published)
                stages["gate to inbox"].append(float(r["received"]) - decided[key])
    finally:
        await conn.close()
    lines = [f"        {'stage':<16} {'events':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for name, seconds in stages.items():
        if len(seconds) < 2:
            lines.append(f"        {name:<16} {len(seconds):>7} (too few to say)")
            continue
        q = statistics.quantiles(seconds, n=100)
        lines.append(
            f"        {name:<16} {len(seconds):>7} {q[49] * 1000:>7.0f} {q[94] * 1000:>7.0f} "
            f"{q[98] * 1000:>7.0f} {max(seconds) * 1000:>7.0f}"
        )
    return "\n".join(lines)
