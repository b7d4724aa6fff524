"""The audit's hash chain finds an edited, removed or reordered row, and names it."""

import uuid
from datetime import UTC, datetime

from services.consent.chain import GENESIS, first_broken_link, row_hash


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
