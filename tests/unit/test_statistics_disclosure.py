"""The follow-up statistics cannot be differenced: an attacker who holds everything shown —
every table of a report, every month, two reports a day apart, the method and its
perturbation table, and even who joined or left in between — recovers no count from 1 to 4.

The attacker works in two stages, both exact: (1) the linear system of everything shown,
solved with rational arithmetic (`fractions`), which is how the issue's numbers were undone
(13 − 9 = 4); (2) bounds: each true count within what its shown value allows, propagated
through the same equations and the inequalities the attacker knows. The same attacker, held
against primary suppression alone, recovers the issue's cells — so it is an attacker that works.
"""

import random
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from itertools import product

import pytest

from services.board.domain import BoardEvent
from services.board.statistics import (
    AGE_BANDS,
    REFERRAL_SOURCES,
    SMALLEST_SHOWN,
    TOTAL,
    UNKNOWN,
    ConsentSpan,
    as_csv,
    possible_counts,
    possible_outputs,
    record_keys,
    statistics,
)
from tests.support.personnummer import make_person_id

TODAY = date(2026, 11, 22)
KEY = record_keys(b"a deployment secret the attacker does not hold")
CONTACT_OPENED = "se.samordna.joint.contact.opened.v1"
BANDS = [f"{low}+" if high >= 200 else f"{low}–{high}" for low, high in AGE_BANDS]
SOURCES = [*REFERRAL_SOURCES.values(), UNKNOWN]
BAND_BIRTH = {"25–34": 1995, "35–44": 1985, "45–54": 1975, "18–24": 2004, "55–64": 1965, "65+": 1950}
SOURCE_CODE = {label: code for code, label in REFERRAL_SOURCES.items()}


# --- the attacker -------------------------------------------------------------------------
Equation = tuple[dict[str, Fraction], Fraction]  # sum(coefficient * unknown) == right-hand side


def solve_exactly(equations: list[Equation]) -> dict[str, Fraction]:
    """Every unknown the equations determine, by Gauss–Jordan elimination over the rationals."""
    rows = [({k: Fraction(v) for k, v in coeffs.items() if v}, Fraction(rhs)) for coeffs, rhs in equations]
    pivots: list[tuple[str, dict[str, Fraction], Fraction]] = []
    for coeffs, rhs in rows:
        for name, p_coeffs, p_rhs in pivots:  # reduce by the pivots found so far
            if name in coeffs:
                factor = coeffs[name]
                coeffs = _combine(coeffs, p_coeffs, -factor)
                rhs -= factor * p_rhs
        if not coeffs:
            assert rhs == 0, "what is shown contradicts itself"
            continue
        name = min(coeffs)
        scale = coeffs[name]
        coeffs, rhs = {k: v / scale for k, v in coeffs.items()}, rhs / scale
        reduced = []
        for other, o_coeffs, o_rhs in pivots:  # keep every pivot row free of the new pivot
            factor = o_coeffs.get(name, 0)
            reduced.append(
                (other, _combine(o_coeffs, coeffs, -factor), o_rhs - factor * rhs)
                if factor
                else (other, o_coeffs, o_rhs)
            )
        pivots = [*reduced, (name, coeffs, rhs)]
    return {name: rhs for name, coeffs, rhs in pivots if set(coeffs) == {name}}


def _combine(a: dict[str, Fraction], b: dict[str, Fraction], factor: Fraction) -> dict[str, Fraction]:
    out = dict(a)
    for k, v in b.items():
        out[k] = out.get(k, 0) + factor * v
    return {k: v for k, v in out.items() if v}


def narrowed(domains: dict[str, set[int]], equations: list[Equation], at_most: list[tuple[list[str], str]]) -> dict:
    """Each unknown's possible values under integer equations (coefficients ±1) and `sum(xs) <= y`."""
    domains = {k: set(v) for k, v in domains.items()}
    changed = True
    while changed:
        changed = False
        for coeffs, rhs in equations:
            for name in coeffs:
                others = [(coeffs[o], domains[o]) for o in coeffs if o != name]
                sums = _reachable(others)
                keep = {v for v in domains[name] if rhs - coeffs[name] * v in sums}
                changed |= keep != domains[name]
                domains[name] = keep
        for xs, y in at_most:
            low = sum(min(domains[x]) for x in xs)
            keep_y = {v for v in domains[y] if v >= low}
            changed |= keep_y != domains[y]
            domains[y] = keep_y
            for x in xs:
                room = max(domains[y]) - sum(min(domains[o]) for o in xs if o != x)
                keep = {v for v in domains[x] if v <= room}
                changed |= keep != domains[x]
                domains[x] = keep
    return domains


def _reachable(terms: list[tuple[Fraction, set[int]]]) -> set[Fraction]:
    sums = {Fraction(0)}
    for coefficient, values in terms:
        sums = {s + coefficient * v for s in sums for v in values}
    return sums


# --- what is shown, as the attacker reads it ------------------------------------------------
def shown_cells(report: dict, day: str) -> dict[str, int]:
    """Every cell of a report by name; a group left out was shown as 0 (the attacker knows the groups)."""
    cells = {f"{day}/month/{m['month']}": m["persons"] for m in report["persons_per_month"]}
    for table, groups in (("age", BANDS), ("referral", SOURCES)):
        rows = {r["group"]: r["count"] for r in report["age_bands" if table == "age" else "referral_sources"]}
        assert rows.pop(TOTAL, 0) == sum(rows.values()), "a total is the sum of the shown cells"
        cells |= {f"{day}/{table}/{g}": rows.get(g, 0) for g in groups}
    for e in report["events_per_type_per_month"]:
        cells[f"{day}/events/{e['month']}/{e['event_type']}"] = e["events"]
    return cells


def structure(day: str, this_month: str) -> tuple[list[Equation], list[tuple[list[str], str]]]:
    """What the attacker knows holds between true counts of one report: the age bands and the
    referral sources count the same persons (shared total), who are all in this month's count."""
    ages, sources = [f"{day}/age/{g}" for g in BANDS], [f"{day}/referral/{g}" for g in SOURCES]
    equations = [({**{a: 1 for a in ages}, **{s: -1 for s in sources}}, 0)]
    return equations, [(ages, f"{day}/month/{this_month}")]


def attack_cell_key(shown: dict[str, int], known: list[Equation], at_most: list) -> dict[str, set[int]]:
    """Stage 1 and 2 against noise: shown = true + noise, noise unknown, the table known."""
    linear = [({f"x:{c}": 1, f"noise:{c}": 1}, p) for c, p in shown.items()]
    linear += [({f"x:{k}": v for k, v in coeffs.items()}, rhs) for coeffs, rhs in known]
    solved = solve_exactly(linear)
    domains = {c: set(possible_counts(p)) for c, p in shown.items()}
    for name, value in solved.items():
        if name.startswith("x:"):
            domains[name[2:]] &= {int(value)} if value.denominator == 1 else set()
    return narrowed(domains, known, at_most)


def recovered_small(domains: dict[str, set[int]], truth: dict[str, int]) -> dict[str, int]:
    return {c: truth[c] for c, values in domains.items() if len(values) == 1 and 0 < truth[c] < SMALLEST_SHOWN}


# --- the persons ----------------------------------------------------------------------------
def area(people: Iterable[tuple[str, str]], since_days: int = 60) -> tuple[list[ConsentSpan], list[BoardEvent]]:
    """Persons as (age band, referral source label), each with a consent and a contact.opened."""
    spans, events = [], []
    for i, (band, source) in enumerate(people):
        person_id = make_person_id(date(BAND_BIRTH[band], 3, 1), i + 1)
        start = datetime.combine(TODAY, datetime.min.time(), UTC) - timedelta(days=since_days + 3 * i)
        spans.append(ConsentSpan(f"pseudonym-{i}", person_id, start, start + timedelta(days=365)))
        if source != UNKNOWN:
            data = {"unit": "Mottagning", "opened_on": "2026-08-01", "referral_source": SOURCE_CODE[source]}
            time = datetime(2026, 8, 1, 9, tzinfo=UTC) + timedelta(minutes=i)
            events.append(
                BoardEvent(CONTACT_OPENED, "region-14", person_id, time, data, f"contact-{i}", ("region-14",))
            )
    return spans, sorted(events, key=lambda e: e.time)


def truth(spans: list[ConsentSpan], events: list[BoardEvent], day: str, today: date) -> dict[str, int]:
    """The true count of every cell, by the same names."""
    report = statistics(spans, events, today, lambda _: 0)  # key 0 everywhere: no noise, for the truth only
    counts = {}
    now = [s for s in spans if s.valid_from.date() <= today < s.valid_until.date()]
    for m in report["persons_per_month"]:
        start = date.fromisoformat(m["month"] + "-01")
        end = (start + timedelta(days=32)).replace(day=1)
        counts[f"{day}/month/{m['month']}"] = len(
            {s.person for s in spans if s.valid_from.date() < end and s.valid_until.date() > start}
        )
    referral = {e.person_id: e.data["referral_source"] for e in events}
    for band in BANDS:
        counts[f"{day}/age/{band}"] = sum(1 for s in now if _band(s.person_id, today) == band)
    for source in SOURCES:
        code = SOURCE_CODE.get(source)
        counts[f"{day}/referral/{source}"] = sum(1 for s in now if referral.get(s.person_id) == code)
    for e in report["events_per_type_per_month"]:
        counts[f"{day}/events/{e['month']}/{e['event_type']}"] = sum(
            1 for x in events if x.type == e["event_type"] and x.time.strftime("%Y-%m") == e["month"]
        )
    return counts


def _band(person_id: str, today: date) -> str:
    born = date(int(person_id[:4]), int(person_id[4:6]), 1)
    age = today.year - born.year - ((today.month, today.day) < (born.month, 3))
    return next(b for b, (low, high) in zip(BANDS, AGE_BANDS, strict=True) if low <= age <= high)


ISSUE_AREA = [("25–34", UNKNOWN)] * 9 + [("35–44", UNKNOWN)] * 3 + [("35–44", "Egen")]


def two_days(people: list, change: list, leave: int | None = None):
    """Today's report and tomorrow's, after `change` joined (and person `leave` left), with the truth."""
    spans, events = area(people)
    tomorrow = TODAY + timedelta(days=1)
    spans2, events2 = area(people + change)
    if leave is not None:
        gone = spans2[leave]
        spans2[leave] = ConsentSpan(
            gone.person, gone.person_id, gone.valid_from, datetime.combine(tomorrow, datetime.min.time(), UTC)
        )
    for s in spans2[len(people) :]:  # those who joined did so today
        spans2[spans2.index(s)] = ConsentSpan(
            s.person, s.person_id, datetime.combine(tomorrow, datetime.min.time(), UTC), s.valid_until
        )
    reports = statistics(spans, events, TODAY, KEY), statistics(spans2, events2, tomorrow, KEY)
    true = truth(spans, events, "d1", TODAY) | truth(spans2, events2, "d2", tomorrow)
    return reports, true


def full_attack(reports, true: dict[str, int], side_knowledge: bool) -> dict[str, set[int]]:
    shown = shown_cells(reports[0], "d1") | shown_cells(reports[1], "d2")
    known, at_most = [], []
    for day in ("d1", "d2"):
        eqs, ineqs = structure(day, TODAY.strftime("%Y-%m"))
        known, at_most = known + eqs, at_most + ineqs
    if side_knowledge:  # the attacker knows exactly how much each cell moved overnight
        for cell in shown:
            if cell.startswith("d1/") and (twin := "d2/" + cell[3:]) in shown:
                known.append(({twin: 1, cell: -1}, true[twin] - true[cell]))
    for cell in shown:
        true.setdefault(cell, 0)
    return attack_cell_key(shown, known, at_most)


# --- the tests --------------------------------------------------------------------------------
def test_the_attacker_undoes_primary_suppression_as_in_the_issue():
    """13 persons: 25–34: 9, 35–44 hidden; Okänd 12, Egen hidden. The linear stage finds 4 and 1."""
    true = {"month": 13, "age/25–34": 9, "age/35–44": 4, "ref/Okänd": 12, "ref/Egen": 1}
    shown = {c: v for c, v in true.items() if v == 0 or v >= SMALLEST_SHOWN}  # "<5" for the rest
    equations = [({c: 1}, v) for c, v in shown.items()]
    equations += [({"age/25–34": 1, "age/35–44": 1, "month": -1}, 0), ({"ref/Okänd": 1, "ref/Egen": 1, "month": -1}, 0)]

    solved = solve_exactly(equations)

    assert solved["age/35–44"] == 4 and solved["ref/Egen"] == 1


def test_the_attacker_undoes_primary_suppression_across_two_days():
    """Yesterday 13, today 14 persons, the age bands shown: whoever joined is singled out."""
    equations = [({"d1": 1}, 13), ({"d2": 1}, 14), ({"d2/25–34": 1}, 9), ({"d1/25–34": 1}, 9)]
    equations += [({"d1/25–34": 1, "d1/35–44": 1, "d1": -1}, 0), ({"d2/25–34": 1, "d2/35–44": 1, "d2": -1}, 0)]

    assert solve_exactly(equations)["d2/35–44"] - solve_exactly(equations)["d1/35–44"] == 1


def test_no_shown_value_is_from_one_to_four_and_totals_are_sums_of_shown_cells():
    spans, events = area(ISSUE_AREA)
    report = statistics(spans, events, TODAY, KEY)
    cells = shown_cells(report, "d1")  # checks the totals too

    assert all(v == 0 or v >= SMALLEST_SHOWN for v in cells.values())
    assert statistics(spans, events, TODAY, KEY) == report, "the same cell shows the same number every time"
    assert statistics(list(reversed(spans)), events, TODAY, KEY) == report, "whatever order the persons come in"


def test_the_issue_area_cannot_be_differenced_within_one_report():
    (today, _), true = two_days(ISSUE_AREA, [])
    shown = shown_cells(today, "d1")
    known, at_most = structure("d1", TODAY.strftime("%Y-%m"))

    domains = attack_cell_key(shown, known, at_most)

    assert recovered_small(domains, {c: true.get(c, 0) for c in shown}) == {}
    assert len(domains["d1/age/35–44"]) > 1 and len(domains["d1/referral/Egen"]) > 1


@pytest.mark.parametrize("side_knowledge", [False, True], ids=["shown-only", "knowing-who-joined"])
@pytest.mark.parametrize(
    ("change", "leave"),
    [([("35–44", "Egen")], None), ([], 12), ([("25–34", "Vårdcentral")], None), ([("35–44", "Egen")], 9)],
    ids=["one-joins", "one-leaves", "one-joins-elsewhere", "one-joins-one-leaves"],
)
def test_two_reports_a_day_apart_reveal_no_small_count(change, leave, side_knowledge):
    reports, true = two_days(ISSUE_AREA, change, leave)

    domains = full_attack(reports, true, side_knowledge)

    assert recovered_small(domains, true) == {}


def test_random_areas_and_days_reveal_no_small_count():
    """Seeded: small areas (where small counts are), one person joining or leaving overnight."""
    rng = random.Random(17)
    for round_ in range(60):
        people = [(rng.choice(list(BAND_BIRTH)), rng.choice(SOURCES)) for _ in range(rng.randint(1, 14))]
        joins = [(rng.choice(list(BAND_BIRTH)), rng.choice(SOURCES))] if rng.random() < 0.5 else []
        leave = None if joins else rng.randrange(len(people))
        reports, true = two_days(people, joins, leave)

        domains = full_attack(reports, true, side_knowledge=True)

        assert recovered_small(domains, true) == {}, f"round {round_} (seed 17): {people} {joins} {leave}"


def test_a_count_known_to_move_by_one_or_two_never_pins_a_small_count():
    """Exhaustively over the perturbation table: two shown values of a cell that moved by one or
    two persons overnight always leave at least two true counts possible."""
    for before, step in product(range(0, 12), (1, 2)):
        after = before + step
        for shown_before, shown_after in product(possible_outputs(before), possible_outputs(after)):
            left = set(possible_counts(shown_before)) & {c - step for c in possible_counts(shown_after)}
            if before < SMALLEST_SHOWN or 0 < after < SMALLEST_SHOWN:
                assert len(left) >= 2, (before, after, shown_before, shown_after, left)


def test_the_csv_has_the_numbers_of_the_report():
    spans, events = area(ISSUE_AREA)
    report = statistics(spans, events, TODAY, KEY)
    lines = as_csv(report).splitlines()

    assert lines[0] == "avsnitt,grupp,månad,antal"
    assert {line.rsplit(",", 1)[1] for line in lines[1:]} <= {str(v) for v in shown_cells(report, "d1").values()} | {
        str(r["count"]) for r in report["age_bands"] + report["referral_sources"]
    }
