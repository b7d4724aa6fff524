"""python -m services.gateway.dead_letters: list and replay a gateway's dead letters (see __init__)."""

import argparse
import asyncio
import json
from datetime import datetime

from services.gateway import dead_letters
from services.gateway.bootstrap import open_pool
from services.gateway.dead_letters.replay import replay
from services.gateway.dead_letters.store import PgDeadLetters
from services.gateway.settings import GatewaySettings
from services.runtime.producers import idempotent_producer
from services.runtime.serve import load_settings


def _jsonable(row: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


async def _list(letters: PgDeadLetters, args: argparse.Namespace) -> None:
    for row in await letters.list(args.status, 0, 10_000):
        if not args.with_values:  # a record's value may hold a personnummer: only on request
            row.pop("value")
        print(json.dumps(_jsonable(row), ensure_ascii=False))


async def _replay(letters: PgDeadLetters, settings: GatewaySettings, args: argparse.Namespace) -> None:
    producer = idempotent_producer("dead-letter-replay", settings)
    try:
        ids = None if args.all else args.id
        replayed, refused = await replay(letters, await producer.get(), ids, args.principal, settings.receipt_deadlines)
    finally:
        await producer.stop()
    print(f"replayed {len(replayed)} dead letter(s): {', '.join(map(str, replayed)) or '-'}")
    for letter_id, reason in refused.items():
        print(f"dead letter {letter_id} is still refused: {reason}")


async def _main(settings: GatewaySettings, args: argparse.Namespace) -> None:
    async with open_pool(settings, args.principal, min_size=1, max_size=2) as pool:
        letters = PgDeadLetters(pool)
        if args.command == "list":
            await _list(letters, args)
        else:
            await _replay(letters, settings, args)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m services.gateway.dead_letters",
        description=dead_letters.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--principal", required=True, help="the gateway's principal, e.g. kommun-1489")
    commands = parser.add_subparsers(dest="command", required=True)
    listed = commands.add_parser("list", help="print dead letters as JSON lines")
    listed.add_argument("--status", choices=["open", "replayed", "all"], default="open")
    listed.add_argument("--with-values", action="store_true", help="also print each record's raw value")
    replayed = commands.add_parser("replay", help="put dead letters back on their origin topics")
    replayed.add_argument("--id", type=int, action="append", help="a dead letter's id (repeatable)")
    replayed.add_argument("--all", action="store_true", help="every open dead letter")
    args = parser.parse_args()
    if args.command == "replay" and not args.all and not args.id:
        raise SystemExit("replay needs --all or at least one --id")
    asyncio.run(_main(load_settings(GatewaySettings), args))


if __name__ == "__main__":
    main()
