"""Dead letters of this principal's topics: collected, listed, and replayed once fixed.

Any consumer that cannot decode or validate a record of `events.<principal>` (say, a malformed
record from the principal's own Kafka-speaking system) or `deliveries.<principal>` puts it on
`dead.letters.<principal>` with the reason and its origin; only this principal's gateway reads
that topic, and keeps the letters so the principal's staff can see them through the API. Once
the cause is fixed — the sending system, or a consumer that refused too much — replay puts an
event back on `events.<principal>` with its original key, and a delivery straight into the
inbox (the gateway may not write its deliveries topic: only the gate does), and marks it
replayed:

    python -m services.gateway.dead_letters --principal kommun-1489 list
    python -m services.gateway.dead_letters --principal kommun-1489 replay --all
    python -m services.gateway.dead_letters --principal kommun-1489 replay --id 3 --id 7

The command reads SAMORDNA_DATABASE_URL and SAMORDNA_KAFKA_BOOTSTRAP like the gateway does.
"""

import argparse
import asyncio
import json
from datetime import datetime, timedelta

import asyncpg
from aiokafka import AIOKafkaProducer
from faststream.kafka import KafkaBroker

from contracts import DeadLetter, parse_event
from contracts.topics import dead_letters_topic, deliveries_topic
from services.gateway.inbox import Delivered, store_delivered
from services.gateway.settings import GatewaySettings, schema_of
from services.runtime.consuming import batch_consumer, describe, from_value
from services.runtime.kafka import client_options

_COLUMNS = (
    "id, origin_topic, origin_partition, origin_offset, consumer, reason, kafka_key, value, failed_at, replayed_at"
)


def subscribe_dead_letter_collector(broker: KafkaBroker, pool: asyncpg.Pool, principal: str) -> None:
    async def collect(letters: list[DeadLetter]) -> None:
        await store(pool, letters)

    group_id = f"samordna-dead-letters-{principal}"
    topic = dead_letters_topic(principal)
    batch_consumer(broker, topic, group_id, from_value(DeadLetter.model_validate_json), collect)


async def store(pool: asyncpg.Pool, letters: list[DeadLetter]) -> None:
    """Idempotent: the same record refused by the same consumer is kept once."""
    await pool.executemany(
        """INSERT INTO dead_letters (origin_topic, origin_partition, origin_offset, consumer, reason, kafka_key,
                                     value, failed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING""",
        [
            (d.origin_topic, d.origin_partition, d.origin_offset, d.consumer, d.reason, d.key, d.value, d.failed_at)
            for d in letters
        ],
    )


async def listing(pool: asyncpg.Pool, status: str, after: int, limit: int) -> list[dict]:
    """Dead letters by id; status is open (not replayed), replayed, or all."""
    condition = {"open": "replayed_at IS NULL", "replayed": "replayed_at IS NOT NULL", "all": "true"}[status]
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters WHERE id > $1 AND {condition} ORDER BY id LIMIT $2", after, limit
    )
    return [dict(row) for row in rows]


async def replay(
    pool: asyncpg.Pool,
    producer: AIOKafkaProducer,
    ids: list[int] | None,
    principal: str,
    deadlines: dict[str, timedelta],
) -> tuple[list[int], dict[int, str]]:
    """Put open dead letters (these ids, or all with None) back: events on their origin topic,
    deliveries into the inbox. Returns the ids replayed, and the ids refused again with why
    (a delivery that still does not validate stays open)."""
    rows = await pool.fetch(
        f"""SELECT {_COLUMNS} FROM dead_letters
            WHERE replayed_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id""",
        ids,
    )
    replayed, refused = [], {}
    for row in rows:
        if row["origin_topic"] == deliveries_topic(principal):
            try:
                delivered = Delivered(parse_event(row["value"].encode()), None)
            except ValueError as exc:
                refused[row["id"]] = describe(exc)
                continue
            async with pool.acquire() as conn:
                await store_delivered(conn, [delivered], deadlines)
        else:
            key = row["kafka_key"].encode() if row["kafka_key"] else None
            await producer.send_and_wait(row["origin_topic"], row["value"].encode(), key=key)
        await pool.execute("UPDATE dead_letters SET replayed_at = now() WHERE id = $1", row["id"])
        replayed.append(row["id"])
    return replayed, refused


def _jsonable(row: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def _main(args: argparse.Namespace) -> None:
    settings = GatewaySettings()
    pool = await asyncpg.create_pool(
        settings.database_url, server_settings={"search_path": schema_of(args.principal)}, min_size=1, max_size=2
    )
    try:
        if args.command == "list":
            for row in await listing(pool, args.status, 0, 10_000):
                if not args.with_values:  # a record's value may hold a personnummer: only on request
                    row.pop("value")
                print(json.dumps(_jsonable(row), ensure_ascii=False))
            return
        if not args.all and not args.id:
            raise SystemExit("replay needs --all or at least one --id")
        producer = AIOKafkaProducer(**client_options(settings), enable_idempotence=True)
        await producer.start()
        try:
            ids = None if args.all else args.id
            replayed, refused = await replay(pool, producer, ids, args.principal, settings.receipt_deadlines)
        finally:
            await producer.stop()
        print(f"replayed {len(replayed)} dead letter(s): {', '.join(map(str, replayed)) or '-'}")
        for letter_id, reason in refused.items():
            print(f"dead letter {letter_id} is still refused: {reason}")
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--principal", required=True, help="the gateway's principal, e.g. kommun-1489")
    commands = parser.add_subparsers(dest="command", required=True)
    listed = commands.add_parser("list", help="print dead letters as JSON lines")
    listed.add_argument("--status", choices=["open", "replayed", "all"], default="open")
    listed.add_argument("--with-values", action="store_true", help="also print each record's raw value")
    replayed = commands.add_parser("replay", help="put dead letters back on their origin topics")
    replayed.add_argument("--id", type=int, action="append", help="a dead letter's id (repeatable)")
    replayed.add_argument("--all", action="store_true", help="every open dead letter")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
