"""The audit's hash chain finds an edited, removed or reordered row, and names it."""

import uuid
from datetime import UTC, datetime

import pytest

from services.consent.chain import (
    GENESIS,
    KEYED,
    LEGACY,
    ChainCheck,
    UnreadableValue,
    first_broken_link,
    row_hash,
    stored_time,
)


def chain(count: int) -> list[dict]:
    rows, prev = [], GENESIS
    for seq in range(1, count + 1):
        row = {
            "seq": seq, "decision_id": uuid.uuid4(), "event_id": f"e{seq}", "event_type": "t", "category": "attendance",
            "sender": "region-14", "recipient": "kommun-1489", "person_pseudonym": "p", "forwarded": True,
            "reason": "consent", "basis": "consent", "consent_id": uuid.uuid4(), "legal_reference": None,
            "event_time": datetime(2026, 11, 1, tzinfo=UTC), "decided_at": datetime(2026, 11, 2, tzinfo=UTC),
        }  # fmt: skip
        row["prev_hash"] = prev
        row["row_hash"] = prev = row_hash(prev, row)
        rows.append(row)
    return rows


def test_an_untouched_chain_holds():
    assert first_broken_link(chain(5)) is None


def test_an_edited_row_is_named():
    rows = chain(5)
    rows[2]["forwarded"] = False

    assert first_broken_link(rows).startswith("seq 3 ")


def test_a_deleted_row_is_named():
    rows = chain(5)
    del rows[1]

    assert first_broken_link(rows).startswith("seq 2: row missing")


def test_a_rehashed_row_breaks_the_link_after_it():
    rows = chain(5)
    rows[1]["reason"] = "statutory_basis"
    rows[1]["row_hash"] = row_hash(rows[1]["prev_hash"], rows[1])

    assert first_broken_link(rows).startswith("seq 3 ")


# ---- the keyed chain (version 2) ----------------------------------------------------------------

KEY = b"k" * 32


def keyed_chain(count: int, key: bytes = KEY, after: list[dict] | None = None) -> list[dict]:
    """`count` keyed rows, following the rows `after` (a legacy prefix) if given."""
    legacy = [dict(r) for r in after or []]
    fresh = chain(count)
    for row in fresh:
        row["seq"] += len(legacy)
    return seal(legacy + fresh, len(legacy), key)


def seal(rows: list[dict], start: int = 0, key: bytes = KEY) -> list[dict]:
    """Hash rows from `start` on as the audit writer does."""
    prev = rows[start - 1]["row_hash"] if start else GENESIS
    for row in rows[start:]:
        row["prev_hash"], row["chain_version"] = prev, KEYED
        row["row_hash"] = prev = row_hash(prev, row, key)
    return rows


def rehash_plainly(rows: list[dict], start: int, *, as_legacy: bool) -> None:
    """What a database administrator without the key can do: recompute every hash from `start` on."""
    prev = rows[start - 1]["row_hash"] if start else GENESIS
    for row in rows[start:]:
        row["prev_hash"] = prev
        if as_legacy:
            row["chain_version"] = LEGACY
        row["row_hash"] = prev = row_hash(prev, row)


def walk(rows: list[dict], key: bytes = KEY, remember: int | None = None) -> ChainCheck:
    check = ChainCheck(key)
    if remember is not None:
        check.remember(remember)
    for row in rows:
        check.add(row)
    return check


def test_a_keyed_chain_holds_under_its_key_and_not_under_another():
    assert walk(keyed_chain(5)).problems == []
    assert walk(keyed_chain(5), key=b"another key").problems[0].startswith("seq 1 ")


def test_a_legacy_prefix_followed_by_keyed_rows_holds():
    rows = keyed_chain(3, after=chain(4))

    check = walk(rows)

    assert check.problems == [] and check.keyed_from == 5 and check.head_seq == 7


def test_an_edit_rehashed_with_plain_sha256_is_named():
    rows = keyed_chain(6)
    rows[2]["forwarded"] = False
    rehash_plainly(rows, 2, as_legacy=False)

    check = walk(rows)

    assert check.problems[0].startswith("seq 3 ") and "does not match its hash" in check.problems[0]
    assert check.further_breaks == 3


def test_an_edit_rehashed_and_relabelled_as_legacy_is_named():
    rows = keyed_chain(6)
    rows[3]["reason"] = "statutory_basis"
    rehash_plainly(rows, 3, as_legacy=True)

    assert walk(rows).problems[0].startswith("seq 4 ") and "plain SHA-256 after keyed rows" in walk(rows).problems[0]


def test_timestamps_read_as_text_verify_as_the_writer_hashed_them():
    rows = keyed_chain(2)
    rows[0]["event_time"] = "2026-11-01 00:00:00+00"
    rows[1]["decided_at"] = "2026-11-02 01:00:00+01"

    assert walk(rows).problems == []


def test_a_stored_minus_infinity_verifies_and_is_reported():
    rows = chain(3)
    rows[1]["event_time"] = datetime.min.replace(tzinfo=UTC)  # what asyncpg stores as -infinity
    seal(rows)
    rows[1]["event_time"] = "-infinity"  # as the verifier reads it back

    check = walk(rows)

    assert check.problems == []
    assert check.notes == [
        f"seq 2 (decision {rows[1]['decision_id']}): event_time is -infinity (stored from 0001-01-01T00:00:00+00:00)"
    ]


@pytest.mark.parametrize("stored", ["0044-03-15 00:00:00+00 BC", "10000-01-01 00:00:00+00", "not a time"])
def test_a_value_no_writer_could_store_is_reported_not_raised(stored):
    rows = keyed_chain(3)
    rows[1]["decided_at"] = stored

    check = walk(rows)

    where = f"seq 2 (decision {rows[1]['decision_id']})"
    assert check.problems == [f"{where}: cannot be checked: {stored!r} is no instant the audit writer can store"]
    assert check.head_seq == 3


def test_stored_time_maps_both_infinities_to_what_asyncpg_was_given():
    assert stored_time("-infinity") == datetime.min.replace(tzinfo=UTC).isoformat()
    assert stored_time("infinity") == datetime.max.replace(tzinfo=UTC).isoformat()
    with pytest.raises(UnreadableValue):
        stored_time("0001-01-01 00:00:00+00 BC")
