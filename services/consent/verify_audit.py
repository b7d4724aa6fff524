"""Verify the audit trail: its keyed hash chain, held against the latest signed checkpoint.

    python -m services.consent.verify_audit                       # the latest checkpoint on audit.checkpoints
    python -m services.consent.verify_audit --checkpoint FILE     # one kept elsewhere (docs/audit.md)
    python -m services.consent.verify_audit --latest-checkpoint   # print it, for an operator's own copy

Exit status: 0 the chain holds and reaches the checkpoint; 1 rows are missing, changed or
unreadable (each named); 2 the chain holds but no checkpoint could be read, so rows dropped
from its end would not show; 3 the database could not be read. Reads the consent service's settings
(database, Kafka, audit key).
A stored value no writer could have produced is reported, never a traceback.
"""

import argparse
import asyncio
import sys
from pathlib import Path

import asyncpg

from contracts.topics import AUDIT_CHECKPOINTS
from services.consent import checkpoint
from services.consent.audit import chain_key, checkpoints_on_topic
from services.consent.bootstrap import audit_connection
from services.consent.chain import ChainCheck
from services.consent.repository import audit_as_stored
from services.consent.settings import ConsentSettings
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings

INTACT, BROKEN, UNANCHORED, UNREADABLE = 0, 1, 2, 3


async def walk_chain(settings: ConsentSettings, remember: int | None) -> ChainCheck:
    check = ChainCheck(chain_key(settings.audit_secret))
    if remember is not None:
        check.remember(remember)
    async with audit_connection(settings) as conn:
        async for row in audit_as_stored(conn):
            check.add(dict(row))
    return check


async def verify(settings: ConsentSettings, checkpoint_file: Path | None = None) -> tuple[int, list[str]]:
    """The exit status and the lines to print."""
    key = checkpoint.signing_key(settings.audit_secret)
    lines: list[str] = []
    anchor, problems = None, []
    # the checkpoint first: read after the rows, it could be newer than them and look like a truncation
    try:
        if checkpoint_file:
            anchor = checkpoint.read(key, checkpoint_file.read_bytes())
        else:
            found, invalid = await checkpoints_on_topic(client_options(settings), key)
            anchor = checkpoint.newest(found)
            if invalid:
                lines.append(f"{invalid} of the last records on {AUDIT_CHECKPOINTS} are no valid checkpoint")
            if anchor is None:
                lines.append(f"no checkpoint on {AUDIT_CHECKPOINTS}: rows dropped from the end would not show")
    except checkpoint.BadCheckpoint as exc:
        problems.append(str(exc))
    except Exception as exc:  # Kafka away or the file unreadable: the chain is still checked
        lines.append(f"no checkpoint could be read ({type(exc).__name__}: {exc})")

    check = await walk_chain(settings, anchor.seq if anchor else None)
    problems += check.problems
    if check.further_breaks:
        problems.append(f"and {check.further_breaks} later rows do not verify either")
    if anchor is not None:
        problems += checkpoint.held_against(check, anchor)
    lines += [f"note: {note}" for note in check.notes]
    if problems:
        return BROKEN, ["audit chain BROKEN:", *(f"  {problem}" for problem in problems), *lines]
    summary = f"audit chain intact: {check.head_seq} decisions"
    if anchor is None:
        return UNANCHORED, [summary + ", held against no checkpoint", *lines]
    at = f"seq {anchor.seq}, published {anchor.published_at.isoformat()} by {anchor.publisher}"
    return INTACT, [f"{summary}, consistent with the signed checkpoint at {at}", *lines]


async def print_latest(settings: ConsentSettings) -> int:
    found, _ = await checkpoints_on_topic(client_options(settings), checkpoint.signing_key(settings.audit_secret))
    newest = checkpoint.newest(found)
    if newest is None:
        print(f"no valid checkpoint on {AUDIT_CHECKPOINTS}", file=sys.stderr)
        return UNANCHORED
    print(checkpoint.signed(checkpoint.signing_key(settings.audit_secret), newest).decode())
    return INTACT


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", type=Path, help="a checkpoint record kept outside Kafka")
    source.add_argument("--latest-checkpoint", action="store_true", help="print the latest checkpoint record")
    args = parser.parse_args()
    settings = load_settings(ConsentSettings)
    if args.latest_checkpoint:
        sys.exit(asyncio.run(print_latest(settings)))
    try:
        status, lines = asyncio.run(verify(settings, args.checkpoint))
    except (OSError, asyncpg.PostgresError) as exc:  # the database away: nothing was verified
        print(f"the audit could not be read: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(UNREADABLE)
    print("\n".join(lines))
    sys.exit(status)


if __name__ == "__main__":
    main()
