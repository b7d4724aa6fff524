"""The board's alerts and statistics, as pure functions of events, consents and the time."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.examples import EXAMPLE_DATA
from services.board.alerts import AlertRules, ConsentFacts, alerts, unchanged_until
from services.board.bootstrap import load_rules
from services.board.domain import BoardEvent
from services.board.statistics import ConsentSpan, possible_outputs, record_keys, statistics

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULES = AlertRules()
REGION, ALINGSAS = "region-14", "kommun-1489"
PERSON = "199001012380"

OVERDUE = "se.samordna.receipt.overdue.v1"


def ev(name: str, days_ago: float = 1, sender: str = REGION, person: str = PERSON, **data) -> BoardEvent:
    namespace = {
        "visit.missed": "region",
        "sample.positive": "region",
        "discharge.planned": "region",
        "treatment.started": "region",
        "treatment.ended": "region",
        "treatment.discharge_group_referral": "region",
    }.get(name)
    if name.startswith(("intervention.",)):
        namespace = "municipality"
    event_type = f"se.samordna.{namespace or 'joint'}.{name}.v1"
    if name.startswith("receipt."):
        event_type = f"se.samordna.{name}.v1"
    return BoardEvent(
        type=event_type,
        sender=sender,
        person_id=person,
        time=NOW - timedelta(days=days_ago),
        data=EXAMPLE_DATA[event_type] | data,
        event_id=f"{name}-{days_ago}",
    )


def kinds(events, consents=(), now=NOW, rules=RULES) -> list[str]:
    return [a.kind for a in alerts(list(events), list(consents), rules, now)]


def test_the_shipped_rules_file_holds_the_routines_thresholds():
    rules = load_rules(None)
    assert (rules.sip_follow_up_months, rules.sip_follow_up_first_months, rules.consent_expiring_days) == (3, 12, 30)


def test_missed_visits_missed_interventions_and_positive_samples_alert_while_recent():
    recent = [ev("visit.missed"), ev("intervention.missed", sender=ALINGSAS), ev("sample.positive")]

    assert kinds(recent) == ["missed_visit", "missed_intervention", "positive_sample"]
    assert kinds([ev("visit.missed", days_ago=RULES.recent_days + 1)]) == []


def test_a_planned_discharge_without_a_sip_alerts_until_one_is_requested():
    discharge = ev("discharge.planned", expected_date=(NOW + timedelta(days=5)).date().isoformat())

    assert kinds([discharge]) == ["discharge_without_sip"]
    assert kinds([discharge, ev("sip.requested", days_ago=0.5)]) == []


def test_a_sip_follow_up_is_due_every_three_months_in_the_first_year_of_treatment():
    started = (NOW - timedelta(days=120)).date().isoformat()
    start = ev("treatment.started", days_ago=120, started_on=started)

    assert kinds([start]) == ["sip_follow_up_overdue"]
    assert kinds([start, ev("sip.plan_updated", days_ago=30, next_follow_up=None)]) == []
    long_ago = (NOW - timedelta(days=400)).date().isoformat()
    assert kinds([ev("treatment.started", days_ago=400, started_on=long_ago)]) == []  # past the first 12 months


def test_a_sip_follow_up_date_passed_without_a_revision_alerts():
    start = ev("treatment.started", days_ago=40, started_on=(NOW - timedelta(days=40)).date().isoformat())
    plan = ev("sip.plan_updated", days_ago=30, next_follow_up=(NOW - timedelta(days=2)).date().isoformat())

    assert kinds([start, plan]) == ["sip_follow_up_overdue"]


def test_an_intervention_ending_soon_alerts_and_one_ended_without_notice_is_a_deviation():
    ending = ev("intervention.ending", sender=ALINGSAS, ends_on=(NOW + timedelta(days=3)).date().isoformat())
    ended = ev("intervention.ended", sender=ALINGSAS, intervention_id="other-insats")

    assert kinds([ending]) == ["intervention_ending"]
    assert kinds([ended]) == ["ended_without_notice"]


def discharge_planned(days_ago: float = 2) -> BoardEvent:
    """The event the example receipts are about (their data.event_id)."""
    return replace(ev("discharge.planned", days_ago=days_ago), event_id=EXAMPLE_DATA[OVERDUE]["event_id"])


def test_an_overdue_receipt_alerts_until_the_receipt_comes():
    overdue = ev("receipt.overdue", days_ago=0.5, sender=ALINGSAS)
    receipt = ev("receipt.acknowledged", days_ago=0.2, sender=ALINGSAS)
    planned = discharge_planned()

    assert "receipt_overdue" in kinds([planned, overdue])
    assert "receipt_overdue" not in kinds([planned, overdue, receipt])


def test_an_overdue_receipt_of_an_event_the_board_does_not_show_alerts_nothing():
    """The event was forgotten (a revocation) before the receipt crossed on another consent."""
    assert kinds([ev("receipt.overdue", days_ago=0.5, sender=ALINGSAS)]) == []


def test_a_consent_ending_within_thirty_days_alerts():
    soon = ConsentFacts("c1", NOW + timedelta(days=10))
    later = ConsentFacts("c2", NOW + timedelta(days=200))

    assert kinds([ev("contact.opened")], [soon]) == ["consent_expiring"]
    assert kinds([ev("contact.opened")], [later]) == []


def test_the_thresholds_come_from_the_rules():
    assert kinds([ev("visit.missed", days_ago=20)], rules=AlertRules(recent_days=30)) == ["missed_visit"]


# --- statistics -------------------------------------------------------------------------
def spans(n: int, born: str = "19900101", start_days_ago: int = 10) -> list[ConsentSpan]:
    from tests.support.personnummer import make_person_id

    return [
        ConsentSpan(
            f"p{i}-{born}",
            make_person_id(date.fromisoformat(f"{born[:4]}-{born[4:6]}-{born[6:]}"), i + 1),
            NOW - timedelta(days=start_days_ago),
            NOW + timedelta(days=300),
        )
        for i in range(n)
    ]


def test_counts_are_shown_with_noise_and_never_from_one_to_four():
    stats = statistics(spans(3) + spans(6, born="19600505"), [], NOW.date(), record_keys(b"secret"))

    assert stats["persons_per_month"][-1]["month"] == "2026-11"
    assert stats["persons_per_month"][-1]["persons"] in possible_outputs(9)
    bands = {r["group"]: r["count"] for r in stats["age_bands"]}
    assert bands["65+"] in possible_outputs(6) and bands.get("35–44", 0) in possible_outputs(3)
    assert bands["Totalt"] == sum(v for g, v in bands.items() if g != "Totalt")


def test_a_month_with_few_persons_shows_zero_or_five():
    stats = statistics(spans(2), [], NOW.date(), record_keys(b"secret"))

    assert stats["persons_per_month"][-1]["persons"] in (0, 5)
    assert stats["persons_per_month"][0]["persons"] == 0


# --- properties ---------------------------------------------------------------------------------

NAMES = ["visit.missed", "sample.positive", "discharge.planned", "treatment.started", "treatment.ended",
         "treatment.discharge_group_referral", "intervention.decided", "intervention.ending", "intervention.ended",
         "receipt.overdue", "receipt.acknowledged", "sip.requested", "sip.plan_updated"]  # fmt: skip
HISTORIES = st.lists(st.tuples(st.sampled_from(NAMES), st.integers(min_value=0, max_value=400)), max_size=12)


def history(drawn) -> list[BoardEvent]:
    return sorted((ev(name, days_ago) for name, days_ago in drawn), key=lambda e: e.time)


@settings(max_examples=200)
@given(HISTORIES)
def test_every_alert_is_about_an_event_it_was_given_and_they_come_oldest_first(drawn):
    events = history(drawn)
    found = alerts(events, [], RULES, NOW)

    assert all(a.event_id in {e.event_id for e in events} for a in found)
    assert [a.since for a in found] == sorted(a.since for a in found)


@settings(max_examples=200)
@given(HISTORIES, st.integers(min_value=-10, max_value=400))
def test_a_consent_alerts_only_in_its_last_days(drawn, days_left):
    valid_until = NOW + timedelta(days=days_left)
    found = alerts(history(drawn), [ConsentFacts("c", valid_until)], RULES, NOW)

    expiring = [a for a in found if a.kind == "consent_expiring"]
    assert bool(expiring) == (0 < days_left <= RULES.consent_expiring_days)


def _days(low: float, high: float):
    return st.floats(min_value=low, max_value=high, allow_nan=False)


# times anywhere, and times near the thresholds (an event recent_days old, a consent near its
# notice or its end), where an alert comes or goes within the hours drawn
TIMED_HISTORIES = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.one_of(_days(-2, 60), _days(RULES.recent_days - 1, RULES.recent_days + 3)),
        st.integers(min_value=-20, max_value=5),  # the day its dates name, from today: near the rules' limits
    ),
    max_size=12,
)
DATE_FIELDS = ("expected_date", "started_on", "ends_on", "next_follow_up")


def _dated(name: str, days_ago: float, on: int) -> BoardEvent:
    """An event whose dates (a discharge's, a treatment's start, an intervention's end, a SIP's
    next follow-up) fall `on` days from NOW's date, so that the day-based rules flip near it."""
    event = ev(name, days_ago)
    day = (NOW.date() + timedelta(days=on)).isoformat()
    return replace(event, data=event.data | {f: day for f in DATE_FIELDS if f in event.data})


CONSENT_DAYS = st.one_of(
    _days(-5, 60), _days(RULES.consent_expiring_days - 1, RULES.consent_expiring_days + 3), _days(-1, 3)
)


def test_a_missed_visit_exactly_recent_days_old_is_shown_until_the_moment_after():
    """Hypothesis found it: at exactly `recent_days` the alert still shows, and goes at the next
    moment, not at midnight."""
    event = ev("visit.missed", RULES.recent_days)
    until = unchanged_until([event], [], RULES, NOW)
    assert until == event.time + timedelta(days=RULES.recent_days, microseconds=1)
    assert alerts([event], [], RULES, until - timedelta(microseconds=1)) == alerts([event], [], RULES, NOW)
    assert alerts([event], [], RULES, until) == []


@settings(max_examples=400)
@given(
    TIMED_HISTORIES,
    st.lists(CONSENT_DAYS, max_size=3),
    st.floats(min_value=0, max_value=72, allow_nan=False),
    st.floats(min_value=0, max_value=1, exclude_max=True, allow_nan=False),
)
def test_alerts_answer_as_they_did_until_the_moment_unchanged_until_names(drawn, consent_days, hours, fraction):
    """What the board's kept rows (views.KeptRow) rely on: any time between `now` and
    `unchanged_until(now)` gives the alerts of `now`."""
    events = sorted((_dated(name, days_ago, on) for name, days_ago, on in drawn), key=lambda e: e.time)
    consents = [ConsentFacts(f"c{i}", NOW + timedelta(days=d)) for i, d in enumerate(consent_days)]
    now = NOW + timedelta(hours=hours)

    until = unchanged_until(events, consents, RULES, now)
    later = now + timedelta(microseconds=int((until - now) / timedelta(microseconds=1) * fraction))  # < until

    assert until > now
    assert alerts(events, consents, RULES, later) == alerts(events, consents, RULES, now)
