"""The outbox's group write, its pure parts: which rows go into the INSERT, and each row's answer
from what the table holds afterwards — against a model that stores the rows one at a time."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.errors import EventIdConflict
from services.gateway.outbox import Accepted, Row, answers, first_of_each

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)

rows = st.lists(
    st.builds(lambda i, b: Row(f"e{i}", f"body{b}", f"sha{b}", "key"), st.integers(0, 5), st.integers(0, 2)),
    max_size=20,
)
earlier = st.dictionaries(st.sampled_from([f"e{i}" for i in range(6)]), st.integers(0, 2), max_size=6)


def one_at_a_time(batch: list[Row], before: dict[str, tuple[str, datetime]]):
    """The single endpoint's rule, applied to each row in turn."""
    table, result = dict(before), []
    for row in batch:
        if row.event_id not in table:
            table[row.event_id] = (row.body_sha256, T0)
        sha, at = table[row.event_id]
        result.append(Accepted(row.event_id, at) if sha == row.body_sha256 else EventIdConflict(row.event_id))
    return result


def _same(a, b) -> bool:
    if isinstance(a, EventIdConflict):
        return isinstance(b, EventIdConflict) and a.event_id == b.event_id
    return a == b


@given(rows, earlier)
def test_a_group_answers_each_row_as_storing_them_one_by_one_would(batch, before_bodies):
    before = {event_id: (f"sha{b}", T0 - timedelta(days=1)) for event_id, b in before_bodies.items()}
    inserted = {r.event_id: (r.body_sha256, T0) for r in first_of_each(batch) if r.event_id not in before}

    got = answers(batch, before | inserted)

    expected = one_at_a_time(batch, before)
    assert len(got) == len(batch)
    assert all(_same(g, e) for g, e in zip(got, expected, strict=True)), (got, expected)


@given(rows)
def test_the_insert_holds_each_id_once_in_the_order_first_given(batch):
    firsts = first_of_each(batch)

    assert [r.event_id for r in firsts] == list(dict.fromkeys(r.event_id for r in batch))
    assert all(r == next(b for b in batch if b.event_id == r.event_id) for r in firsts)
