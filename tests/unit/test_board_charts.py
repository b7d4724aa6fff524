"""The statistics' charts (services/board/charts.py) and the report's period: a chart draws the
shown numbers only, so no chart reveals a count from 1 to 4 — held as a Hypothesis property
against the true counts of random areas — and a period is whole past months, or refused by field."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.catalogue import CATALOGUE
from services.board.charts import SMALL_NOTE, charts, svg
from services.board.domain import BoardEvent
from services.board.errors import InvalidPeriod
from services.board.statistics import (
    REFERRAL_SOURCES,
    SMALLEST_SHOWN,
    ConsentSpan,
    Period,
    parse_period,
    record_keys,
    statistics,
)
from tests.support.personnummer import make_person_id

TODAY = date(2026, 11, 22)
KEY = record_keys(b"the deployment's secret")
SVG = "{http://www.w3.org/2000/svg}"
TYPES = [
    spec.type
    for spec in CATALOGUE.values()
    if spec.sender.value in ("region", "municipality", "either") and spec.name != "contact.opened"
]
CONTACT_OPENED = "se.samordna.joint.contact.opened.v1"

PERSON = st.tuples(
    st.integers(1940, 2006),  # born
    st.integers(-420, 0),  # consent from, days from today
    st.integers(20, 365),  # valid for, days
    st.sampled_from([None, *REFERRAL_SOURCES]),
    st.lists(st.tuples(st.sampled_from(TYPES), st.integers(0, 400)), max_size=6),  # events, days ago
)


def area(drawn: list[tuple]) -> tuple[list[ConsentSpan], list[BoardEvent]]:
    spans, events = [], []
    for i, (born, start, days, source, happened) in enumerate(drawn):
        person_id = make_person_id(date(born, 1 + i % 12, 1 + i % 28), i + 1)
        since = datetime.combine(TODAY, datetime.min.time(), UTC) + timedelta(days=start)
        spans.append(ConsentSpan(f"p{i}", person_id, since, since + timedelta(days=days)))
        if source:
            data = {"unit": "Mottagning", "opened_on": "2026-01-01", "referral_source": source}
            events.append(BoardEvent(CONTACT_OPENED, "region-14", person_id, since, data, f"c{i}", ("region-14",)))
        for n, (event_type, ago) in enumerate(happened):
            at = datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=ago, minutes=n)
            events.append(BoardEvent(event_type, "region-14", person_id, at, {}, f"e{i}-{n}", ("region-14",)))
    return spans, sorted(events, key=lambda e: e.time)


def true_counts(spans, events, period: Period) -> dict[str, dict[str, int]]:
    """What each chart's bars would be without the method, by bar label (written from SPEC alone)."""
    as_of = period.as_of(TODAY)
    months = {}
    for m in period.month_starts():
        end = (m + timedelta(days=32)).replace(day=1)
        months[f"{m:%Y-%m}"] = len({s.person for s in spans if s.valid_from.date() < end and s.valid_until.date() > m})
    in_model = [s for s in spans if s.valid_from.date() <= as_of < s.valid_until.date()]
    sources = {e.person_id: REFERRAL_SOURCES[e.data["referral_source"]] for e in events if e.name == "contact.opened"}
    referral: dict[str, int] = {}
    for s in in_model:
        label = sources.get(s.person_id, "Okänd")
        referral[label] = referral.get(label, 0) + 1
    per_type: dict[str, int] = {}
    for e in events:
        if period.first <= e.time.date() < period.end:
            per_type[e.label] = per_type.get(e.label, 0) + 1
    return {"personer": months, "remittent": referral, "handelser": per_type}


def drawn_bars(markup: str) -> list[dict]:
    """Every bar of an SVG as drawn: its length, hatching and the value it says."""
    root = ET.fromstring(str(markup))
    bars = []
    for rect in root.iter(f"{SVG}rect"):
        if "stapel" in rect.get("class", ""):
            label, said = rect.find(f"{SVG}title").text.split(" (")[0].rsplit(": ", 1)
            length = float(rect.get("height") if "personer" in root.get("id") else rect.get("width"))
            hatched = rect.get("fill").startswith("url(#")
            bars.append({"label": label, "value": int(said), "length": length, "hatched": hatched})
    return bars


@settings(max_examples=100)
@given(st.lists(PERSON, max_size=25), st.integers(0, 14), st.integers(1, 12))
def test_no_chart_reveals_a_count_from_one_to_four(drawn, months_back, months_long):
    spans, events = area(drawn)
    last = TODAY.replace(day=1) - relativedelta(months=months_back)
    period = Period(last - relativedelta(months=months_long - 1), last)
    report = statistics(spans, events, TODAY, KEY, period=period)
    truth = true_counts(spans, events, period)
    found = charts(report)

    for name, chart in found.items():
        markup = svg(chart)
        if not markup:
            assert not any(bar.value for bar in chart.bars)
            continue
        shown = {bar.label: bar for bar in chart.bars}
        bars = drawn_bars(markup)
        texts = [t.text for t in ET.fromstring(str(markup)).iter(f"{SVG}text")]
        numbers = {int(t) for t in texts if t.isdigit()}
        assert numbers <= {bar.value for bar in chart.bars}, "a label says only what the table says"
        assert not numbers & set(range(1, SMALLEST_SHOWN)), "no number from 1 to 4 is written"
        lengths: dict[int, set[float]] = {}
        for bar in bars:
            assert bar["value"] == shown[bar["label"]].value
            assert bar["hatched"] == shown[bar["label"]].small
            lengths.setdefault(bar["value"], set()).add(bar["length"])
            true = truth.get(name, {}).get(bar["label"])
            if true is not None and 1 <= true < SMALLEST_SHOWN:
                # shown as 5 (a per-type total: a sum of months each shown as 5), hatched: never as its count
                assert bar["value"] % SMALLEST_SHOWN == 0 and bar["hatched"], (name, bar, true)
        # a bar's length is its shown value's, whatever the count behind it: equal values, equal bars
        assert all(len(seen) == 1 for seen in lengths.values())
        for label, true in truth.get(name, {}).items():
            if 1 <= true < SMALLEST_SHOWN and label in shown:
                assert shown[label].value % SMALLEST_SHOWN == 0 and (shown[label].value == 0 or shown[label].small)


def test_a_chart_is_titled_described_and_says_what_hatching_means():
    spans, events = area([(1980, -100, 365, "self", [])] * 3 + [(1990, -100, 365, "other", [])] * 9)
    found = charts(statistics(spans, events, TODAY, KEY))
    root = ET.fromstring(str(svg(found["personer"])))

    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "diagram-personer-titel diagram-personer-beskrivning"
    assert root.find(f"{SVG}title").text == "Personer i modellen per månad"
    description = root.find(f"{SVG}desc").text
    assert description.startswith("Samma tal som tabellen nedanför.") and "2026-11:" in description
    referral = found["remittent"]
    assert {b.label for b in referral.bars} <= {"Egen", "Annan"} and all(b.value != 3 for b in referral.bars)
    if referral.has_small:
        assert SMALL_NOTE in referral.description


def test_a_chart_of_nothing_is_not_drawn():
    assert str(svg(charts(statistics([], [], TODAY, KEY))["personer"])) == ""


def test_labels_are_escaped():
    report = statistics([], [], TODAY, KEY)
    report["referral_sources"] = [{"group": "<script>", "count": 7}, {"group": "Totalt", "count": 7}]
    markup = str(svg(charts(report)["remittent"]))
    assert "<script>" not in markup and "&lt;script&gt;" in markup


# --- the period ----------------------------------------------------------------------------------------
def test_the_default_period_is_the_last_twelve_months():
    period = parse_period(None, None, TODAY)
    assert (period.first, period.last) == (date(2025, 12, 1), date(2026, 11, 1))
    assert len(period.month_starts()) == 12


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("2026-01", "2026-03", (date(2026, 1, 1), date(2026, 3, 1))),
        ("2026-03", None, (date(2026, 3, 1), date(2026, 11, 1))),  # up to this month, at most twelve
        ("2024-01", None, (date(2024, 1, 1), date(2024, 12, 1))),
        (None, "2026-02", (date(2025, 3, 1), date(2026, 2, 1))),
        (" 2026-05 ", "2026-05", (date(2026, 5, 1), date(2026, 5, 1))),
    ],
)
def test_a_period_of_whole_months(first, last, expected):
    period = parse_period(first, last, TODAY)
    assert (period.first, period.last) == expected


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        ("2026-13", None, "from"),
        ("mars", None, "from"),
        (None, "2026-12", "to"),  # the future
        ("1999-12", "2000-01", "from"),
        ("2026-05", "2026-04", "from"),
        ("2020-01", "2026-01", "to"),  # longer than 36 months
    ],
)
def test_a_period_that_is_not_one_is_refused_naming_the_field(first, last, field):
    with pytest.raises(InvalidPeriod) as refused:
        parse_period(first, last, TODAY)
    assert refused.value.field == field and refused.value.errors[0].field == field


def test_a_period_counts_its_own_months_and_describes_the_persons_of_its_last_day():
    spans, events = area([(1990, -300, 100, "self", [(TYPES[0], 250)])] * 7 + [(1990, -30, 300, "other", [])] * 7)
    period = parse_period("2026-02", "2026-04", TODAY)
    report = statistics(spans, events, TODAY, KEY, period=period)

    assert [m["month"] for m in report["persons_per_month"]] == ["2026-02", "2026-03", "2026-04"]
    assert report["period"] == {"from": "2026-02", "to": "2026-04", "as_of": "2026-04-30"}
    assert {g["group"] for g in report["referral_sources"]} <= {"Egen", "Totalt"}
    assert all(re.fullmatch(r"2026-0[234]", e["month"]) for e in report["events_per_type_per_month"])
