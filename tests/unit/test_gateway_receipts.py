"""The receipts' decisions (services/gateway/receipts/decisions.py) as properties: no database."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from contracts.catalogue import CATALOGUE
from contracts.receipts import OVERDUE, receipt_deadlines
from services.gateway.receipts.decisions import (
    is_overdue,
    overdue_reports,
    receipt_due_at,
    receipt_id,
)
from tests.unit.fakes_gateway import ALINGSAS, NOW, delivery

DEFAULTS = receipt_deadlines({})
offsets = st.integers(min_value=-7 * 86400, max_value=7 * 86400).map(lambda s: timedelta(seconds=s))


@st.composite
def inboxes(draw):
    """Inbox items with deadlines around NOW, some acknowledged, some reported already."""
    items = []
    for seq in range(1, draw(st.integers(0, 12)) + 1):
        due = draw(st.none() | offsets.map(lambda d: NOW + d))
        acknowledged = draw(st.none() | st.just(NOW - timedelta(minutes=1)))
        reported = draw(st.none() | st.just(NOW - timedelta(minutes=2)))
        items.append(
            delivery(
                seq, f"event-{seq}", receipt_due_at=due, acknowledged_at=acknowledged, overdue_reported_at=reported
            )
        )
    return items


@given(inboxes(), offsets)
def test_an_overdue_receipt_is_reported_once(items, later):
    first = overdue_reports(items, ALINGSAS, NOW)
    reported = {report.seq for report in first}
    marked = [replace(i, overdue_reported_at=NOW) if i.seq in reported else i for i in items]

    assert len(reported) == len(first)
    assert not reported & {r.seq for r in overdue_reports(marked, ALINGSAS, NOW + abs(later))}


@given(inboxes(), offsets)
def test_an_acknowledged_event_is_never_overdue(items, later):
    acknowledged = [replace(i, acknowledged_at=NOW) for i in items]

    assert overdue_reports(acknowledged, ALINGSAS, NOW + abs(later)) == []


@given(inboxes())
def test_exactly_the_unacknowledged_unreported_items_past_their_deadline_are_reported(items):
    reports = overdue_reports(items, ALINGSAS, NOW)

    expected = {
        i.seq
        for i in items
        if i.receipt_due_at is not None
        and i.receipt_due_at <= NOW
        and i.acknowledged_at is None
        and i.overdue_reported_at is None
    }
    assert {r.seq for r in reports} == expected
    deadlines = [next(i for i in items if i.seq == r.seq).receipt_due_at for r in reports]
    assert deadlines == sorted(deadlines)


@given(inboxes())
def test_each_report_is_an_overdue_event_to_the_sender_with_a_stable_id(items):
    for report in overdue_reports(items, ALINGSAS, NOW):
        item = next(i for i in items if i.seq == report.seq)
        assert report.event.type == OVERDUE
        assert report.event.principal == ALINGSAS
        assert report.event.data["addressee"] == item.sender
        assert datetime.fromisoformat(report.event.data["deadline"]) == item.receipt_due_at
        assert report.event.id == receipt_id("overdue", item.sender, item.event_id)


def test_an_item_due_exactly_now_is_overdue():
    assert is_overdue(delivery(1, "e", receipt_due_at=NOW), NOW)
    assert not is_overdue(delivery(1, "e", receipt_due_at=NOW + timedelta(microseconds=1)), NOW)


@given(st.sampled_from(sorted(CATALOGUE)), st.datetimes(timezones=st.just(UTC), max_value=datetime(2999, 1, 1)))
def test_the_deadline_is_the_catalogues(event_type, received_at):
    """The default deadlines are each EventSpec's receipt_deadline: there is no second list."""
    spec = CATALOGUE[event_type]
    expected = None if spec.receipt_deadline is None else received_at + spec.receipt_deadline

    assert receipt_due_at(event_type, received_at, DEFAULTS) == expected


def test_an_override_changes_only_its_type():
    sip = "se.samordna.joint.sip.requested.v1"
    deadlines = receipt_deadlines({sip: timedelta(seconds=3)})

    assert receipt_due_at(sip, NOW, deadlines) == NOW + timedelta(seconds=3)
    for event_type in set(DEFAULTS) - {sip}:
        assert receipt_due_at(event_type, NOW, deadlines) == receipt_due_at(event_type, NOW, DEFAULTS)


def test_the_receipt_id_is_the_same_for_the_same_event_and_differs_per_sender():
    assert receipt_id("receipt", "region-14", "e1") == receipt_id("receipt", "region-14", "e1")
    assert receipt_id("receipt", "region-14", "e1") != receipt_id("receipt", "kommun-1441", "e1")
    assert receipt_id("receipt", "region-14", "e1") != receipt_id("overdue", "region-14", "e1")
