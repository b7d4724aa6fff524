"""Inkorg och kvittens's pure part (services/board/inbox.py): what was received, in the gateway's
order and with each receipt's state; what was sent that asks for a receipt, with each recipient's
receipt as the receipt events that came back say — overdue first."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.board.domain import BoardEvent
from services.board.inbox import STATES, State, received, sent, state_of

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
ACTION = "se.samordna.region.admission.notified.v1"  # needs a receipt
PLAIN = "se.samordna.region.visit.missed.v1"  # does not
ACK, OVERDUE = "se.samordna.receipt.acknowledged.v1", "se.samordna.receipt.overdue.v1"
T0 = datetime(2026, 11, 1, tzinfo=UTC)
PERSON = "191212121212"


def test_a_receipt_state_in_words_for_each_case():
    due = T0 + timedelta(days=1)
    assert state_of(None, None, T0) is State.NOT_ASKED
    assert state_of(due, None, T0) is State.AWAITED
    assert state_of(due, None, due) is State.OVERDUE
    assert state_of(due, T0, due + timedelta(days=3)) is State.ACKNOWLEDGED
    assert state_of(due, due + timedelta(seconds=1), due) is State.ACKNOWLEDGED_LATE
    assert set(STATES) == set(State) and all(STATES.values())


def entry(n: int, event_type: str, due: datetime | None, acked: datetime | None) -> dict:
    event = {"id": f"e{n}", "type": event_type, "principal": REGION, "subject": PERSON, "time": T0.isoformat()}
    return {"received_at": T0.isoformat(), "receipt_due_at": due and due.isoformat(),
            "acknowledged_at": acked and acked.isoformat(), "event": event}  # fmt: skip


def test_received_keeps_the_gateway_s_order_and_leaves_receipts_out():
    now = T0 + timedelta(days=2)
    entries = [
        entry(1, ACTION, T0 + timedelta(days=1), None),
        entry(2, ACK, None, None),
        entry(3, ACTION, T0 + timedelta(days=5), None),
        entry(4, PLAIN, None, None),
    ]
    lines = received(entries, lambda p: f"h-{p[-4:]}", now)
    assert [(r.event_id, r.state) for r in lines] == [
        ("e1", State.OVERDUE),
        ("e3", State.AWAITED),
        ("e4", State.NOT_ASKED),
    ]
    assert [r.may_acknowledge for r in lines] == [True, True, False]
    assert lines[0].patient == "19121212-1212" and lines[0].handle == "h-1212"


recipients = st.lists(st.sampled_from([ALINGSAS, LERUM]), min_size=1, max_size=2, unique=True)
answers = st.sampled_from(["none", "ack", "overdue", "overdue_then_ack"])


@given(st.lists(st.tuples(st.sampled_from([ACTION, PLAIN]), recipients, st.lists(answers, min_size=2, max_size=2)),
                max_size=8))  # fmt: skip
def test_sent_shows_each_recipient_s_receipt_as_the_receipts_say(sent_events):
    events, expected = [], {}
    for n, (event_type, to, how) in enumerate(sent_events):
        at = T0 + timedelta(hours=n)
        events.append(BoardEvent(event_type, REGION, PERSON, at, {}, f"e{n}", (REGION, *to)))
        for r, answer in zip(to, how, strict=False):
            data = {"event_id": f"e{n}", "event_type": event_type}
            if answer in ("overdue", "overdue_then_ack"):
                data_o = {**data, "deadline": (at + timedelta(minutes=5)).isoformat()}
                events.append(
                    BoardEvent(OVERDUE, r, PERSON, at + timedelta(minutes=5), data_o, f"o{n}{r}", (r, REGION))
                )
            if answer in ("ack", "overdue_then_ack"):
                data_a = {**data, "acknowledged_at": (at + timedelta(minutes=9)).isoformat()}
                events.append(BoardEvent(ACK, r, PERSON, at + timedelta(minutes=9), data_a, f"a{n}{r}", (r, REGION)))
            if event_type == ACTION:
                expected[(f"e{n}", r)] = {
                    "none": State.AWAITED, "ack": State.ACKNOWLEDGED, "overdue": State.OVERDUE,
                    "overdue_then_ack": State.ACKNOWLEDGED_LATE,
                }[answer]  # fmt: skip
        if event_type == ACTION:
            for r in to[len(how) :]:
                expected[(f"e{n}", r)] = State.AWAITED
    lines = sent(REGION, [("h", events)])
    assert {(s.event_id, r.recipient): r.state for s in lines for r in s.recipients} == expected
    flags = [s.overdue for s in lines]
    assert flags == sorted(flags, reverse=True)  # overdue first
    for part in (True, False):
        times = [s.sent_at for s in lines if s.overdue is part]
        assert times == sorted(times, reverse=True)  # then newest first


def test_what_another_principal_sent_is_not_in_sent():
    theirs = BoardEvent(ACTION, ALINGSAS, PERSON, T0, {}, "x", (ALINGSAS, REGION))
    assert sent(REGION, [("h", [theirs])]) == []
