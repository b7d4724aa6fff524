"""Who sees which event on the board — the pure rule, and what the row, its alerts, its parties,
the statistics and the live counter make of it."""

import asyncio
from datetime import UTC, datetime, timedelta

from contracts.examples import EXAMPLE_DATA
from services.board.alerts import AlertRules, alerts
from services.board.domain import BoardEvent, fold
from services.board.live import Changes
from services.board.statistics import ConsentSpan, record_keys, statistics
from services.board.visibility import as_seen_by, may_see, principals_who_see, row_parties, visible_events

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
PERSON = "199001012385"
SAMPLE = "se.samordna.region.sample.positive.v1"
VISIT = "se.samordna.region.visit.missed.v1"
CONTACT = "se.samordna.joint.contact.opened.v1"


def ev(event_type: str, parties: tuple[str, ...], days_ago: float = 1, event_id: str = "e", data=None) -> BoardEvent:
    return BoardEvent(
        event_type,
        parties[0],
        PERSON,
        NOW - timedelta(days=days_ago),
        data or EXAMPLE_DATA[event_type],
        event_id,
        parties,
    )


# The person: consent A (region + Alingsås, all), consent B (region + Lerum, no test results).
SAMPLE_TO_ALINGSAS = ev(SAMPLE, (REGION, ALINGSAS), 2, "sample")
VISIT_TO_BOTH = ev(VISIT, (REGION, ALINGSAS, LERUM), 1, "visit")
EVENTS = [SAMPLE_TO_ALINGSAS, VISIT_TO_BOTH]


def test_a_principal_sees_what_it_sent_and_what_was_forwarded_to_it_and_nothing_else():
    assert may_see(REGION, SAMPLE_TO_ALINGSAS) and may_see(ALINGSAS, SAMPLE_TO_ALINGSAS)
    assert not may_see(LERUM, SAMPLE_TO_ALINGSAS)
    assert not may_see("kommun-1499", VISIT_TO_BOTH)
    assert [e.event_id for e in visible_events(LERUM, EVENTS)] == ["visit"]
    assert [e.event_id for e in visible_events(None, EVENTS)] == ["sample", "visit"], "the whole area, for ops"


def test_a_recipient_learns_the_sender_but_not_the_other_recipients():
    assert as_seen_by(LERUM, VISIT_TO_BOTH).parties == (REGION, LERUM)
    assert as_seen_by(ALINGSAS, VISIT_TO_BOTH).parties == (REGION, ALINGSAS)
    assert as_seen_by(REGION, VISIT_TO_BOTH).parties == (REGION, ALINGSAS, LERUM), "the sender knows its recipients"
    assert row_parties(LERUM, EVENTS) == [LERUM, REGION]
    assert row_parties(REGION, EVENTS) == [LERUM, ALINGSAS, REGION]


def test_the_excluded_sample_raises_no_alert_and_is_not_in_the_row_for_lerum():
    lerum = visible_events(LERUM, EVENTS)
    alingsas = visible_events(ALINGSAS, EVENTS)

    assert [a.kind for a in alerts(lerum, [], AlertRules(), NOW)] == ["missed_visit"]
    assert {a.kind for a in alerts(alingsas, [], AlertRules(), NOW)} == {"missed_visit", "positive_sample"}
    assert "Positivt" not in (fold(lerum).current or "") and fold(lerum).start == VISIT_TO_BOTH.time.date()


def test_a_late_consent_shows_nothing_that_crossed_before_between_others():
    """Lerum records a consent of its own today: what region and Alingsås exchanged stays theirs."""
    earlier = [ev(SAMPLE, (REGION, ALINGSAS), 40, "old-sample"), ev(VISIT, (ALINGSAS, REGION), 30, "old-visit")]
    after_consent = ev(VISIT, (REGION, ALINGSAS, LERUM), 0.1, "new-visit")

    assert visible_events(LERUM, earlier) == []
    assert [e.event_id for e in visible_events(LERUM, [*earlier, after_consent])] == ["new-visit"]


def test_a_receipt_is_seen_by_the_one_who_acknowledged_and_the_one_acknowledged_to():
    data = {"addressee": REGION, "event_id": "visit", "event_type": VISIT, "acknowledged_at": NOW.isoformat()}
    receipt = ev("se.samordna.receipt.acknowledged.v1", (LERUM, REGION), 0.5, "receipt", data)

    assert may_see(REGION, receipt) and may_see(LERUM, receipt) and not may_see(ALINGSAS, receipt)


def test_statistics_count_only_the_events_the_reader_may_see():
    key = record_keys(b"secret")
    span = [ConsentSpan("p", PERSON, NOW - timedelta(days=30), NOW + timedelta(days=300))]
    many = [ev(SAMPLE, (REGION, ALINGSAS), 1 + i / 100, f"s{i}") for i in range(12)]

    for_lerum = statistics(span, visible_events(LERUM, many), NOW.date(), key)
    for_alingsas = statistics(span, visible_events(ALINGSAS, many), NOW.date(), key)

    assert for_lerum["events_per_type_per_month"] == []
    assert [e["event_type"] for e in for_alingsas["events_per_type_per_month"]] == [SAMPLE]


def test_the_referral_source_comes_only_from_a_contact_the_reader_may_see():
    key = record_keys(b"secret")
    spans = [ConsentSpan(f"p{i}", PERSON, NOW - timedelta(days=30), NOW + timedelta(days=300)) for i in range(1)]
    contact = ev(CONTACT, (REGION, ALINGSAS), 5, "contact")

    shown = statistics(spans, visible_events(LERUM, [contact]), NOW.date(), key)

    assert {r["group"] for r in shown["referral_sources"]} <= {"Okänd", "Totalt"}


def test_principals_who_see_a_change_are_its_sender_and_recipients():
    assert principals_who_see([SAMPLE_TO_ALINGSAS]) == {REGION, ALINGSAS}


async def test_the_live_counter_moves_only_for_principals_who_see_the_change():
    changes = Changes()
    waiting = asyncio.create_task(changes.after(LERUM, 0, timeout=0.3))
    seen_by_alingsas = asyncio.create_task(changes.after(ALINGSAS, 0, timeout=5))
    await asyncio.sleep(0)

    changes.bump(principals_who_see([SAMPLE_TO_ALINGSAS]))

    assert await seen_by_alingsas == 1
    assert await waiting == 0, "Lerum's page is not told that something crossed elsewhere"
    assert (changes.version(REGION), changes.version(LERUM)) == (1, 0)
