"""Follow-up statistics (docs/sources.md), protected by the cell-key method (docs/statistics.md).

Persons in the model per month (a consent in force some day of the month), their age bands
and referral sources (on the period's last day, or today), and events per type per month, over a
period of whole months (the last 12 by default; `parse_period` reads the reader's choice).
Every count is published with a small, controlled noise that depends only on who is counted in it: each person (and each
event) has a secret record key, a cell's key is the sum of its contributors' record keys, and
the cell key picks the noise. The same cell therefore shows the same number in every report,
on every day, for every caller; a cell with a single contributor more or fewer draws fresh
noise, so neither differencing two tables, two months nor two reports gives a true count.
No count from 1 to 4 is ever shown: those become 0 or 5. Totals are sums of shown cells.
A group shown as 0 is left out, so that a row's presence never tells 0 from 1–4.
"""

import csv
import hashlib
import hmac
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from personnummer import personnummer

from services.board.domain import BoardEvent
from services.board.errors import InvalidPeriod

SMALLEST_SHOWN = 5
DEFAULT_MONTHS = 12
MOST_MONTHS = 36  # the longest period a report covers
EARLIEST_MONTH = date(2000, 1, 1)
AGE_BANDS = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200)]
REFERRAL_SOURCES = {"self": "Egen", "vardcentral": "Vårdcentral", "socialtjanst": "Socialtjänst", "other": "Annan"}
UNKNOWN = "Okänd"
TOTAL = "Totalt"
METHOD = (
    "Cellnyckelmetoden: varje antal har ett litet kontrollerat brus (samma för samma personer varje gång); "
    "antal 1–4 visas aldrig (de blir 0 eller 5); summor är summor av de visade antalen."
)

KEY_SPACE = 2**64
# The perturbation table, as weights out of 10 of each noise, by the true count. Published as
# part of the method (an attacker is assumed to know it): only the record keys are secret.
# 5 and 6 are always shown as 5, and nothing below 5 is ever shown, so that a count known to
# have moved by one or two persons overnight (joined, left) can never be pinned from the two
# reports: every pair of shown values leaves at least two true counts (tested exhaustively).
NOISE_WEIGHTS: dict[int, dict[int, int]] = {
    5: {0: 10},
    6: {-1: 10},
}
NOISE_WEIGHTS_FROM_7 = {-2: 1, -1: 2, 0: 4, 1: 2, 2: 1}

RecordKey = Callable[[str], int]  # a record's secret key, uniform in [0, KEY_SPACE)


def record_keys(secret: bytes) -> RecordKey:
    """Record keys from a deployment secret: whoever sees a person's handle cannot compute them."""

    def key(record: str) -> int:
        digest = hmac.new(secret, b"samordna-cell-key\0" + record.encode(), hashlib.sha256).digest()
        return int.from_bytes(digest[:8], "big")

    return key


def cell_key(record_key: RecordKey, contributors: Iterable[str]) -> int:
    return sum(record_key(c) for c in set(contributors)) % KEY_SPACE


def perturbed(count: int, key: int) -> int:
    """The published value of a cell with `count` contributors and cell key `key` (exact integers)."""
    if count == 0:
        return 0
    if count < SMALLEST_SHOWN:  # 5 with probability count/5, else 0: unbiased, and never 1–4
        return SMALLEST_SHOWN if key * SMALLEST_SHOWN < count * KEY_SPACE else 0
    weights = NOISE_WEIGHTS.get(count, NOISE_WEIGHTS_FROM_7)
    point, seen = key * sum(weights.values()), 0
    for noise, weight in sorted(weights.items()):
        seen += weight
        if point < seen * KEY_SPACE:
            return count + noise
    raise AssertionError("unreachable: the weights cover the key space")


def possible_outputs(count: int) -> set[int]:
    if count == 0:
        return {0}
    if count < SMALLEST_SHOWN:
        return {0, SMALLEST_SHOWN}
    return {count + noise for noise, weight in NOISE_WEIGHTS.get(count, NOISE_WEIGHTS_FROM_7).items() if weight}


def possible_counts(published: int) -> list[int]:
    """Every true count that can be published as `published` — what an attacker who knows the table learns."""
    return [count for count in range(max(published, SMALLEST_SHOWN) + 3) if published in possible_outputs(count)]


@dataclass(frozen=True)
class ConsentSpan:
    person: str  # pseudonym
    person_id: str
    valid_from: datetime
    valid_until: datetime


@dataclass(frozen=True)
class Period:
    """Whole months: from the first day of `first` to the end of the month `last` begins."""

    first: date
    last: date

    @property
    def end(self) -> date:
        return self.last + relativedelta(months=1)

    def month_starts(self) -> list[date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [self.first + relativedelta(months=i) for i in range(count)]

    def as_of(self, today: date) -> date:
        """The day the age bands and referral sources describe: the period's last, or today."""
        return min(today, self.end - relativedelta(days=1))

    def as_dict(self, today: date) -> dict:
        return {"from": f"{self.first:%Y-%m}", "to": f"{self.last:%Y-%m}", "as_of": self.as_of(today).isoformat()}


def default_period(today: date, months: int = DEFAULT_MONTHS) -> Period:
    last = today.replace(day=1)
    return Period(last - relativedelta(months=months - 1), last)


def parse_period(first: str | None, last: str | None, today: date) -> Period:
    """The period a reader asked for as `YYYY-MM` months (either may be left out: the default's
    then); InvalidPeriod naming the field otherwise."""
    default = default_period(today)
    start = _month(first, "from", today) if first else None
    end = _month(last, "to", today) if last else None
    if start and not end:
        end = min(start + relativedelta(months=DEFAULT_MONTHS - 1), default.last)
    if end and not start:
        start = end - relativedelta(months=DEFAULT_MONTHS - 1)
    period = Period(start, end) if start and end else default
    if period.first > period.last:
        raise InvalidPeriod("from", "the first month comes after the last")
    if len(period.month_starts()) > MOST_MONTHS:
        raise InvalidPeriod("to", f"a period is at most {MOST_MONTHS} months")
    return period


def _month(text: str, field: str, today: date) -> date:
    try:
        month = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        raise InvalidPeriod(field, "a month is written YYYY-MM, e.g. 2026-03") from None
    if not EARLIEST_MONTH <= month <= today.replace(day=1):
        raise InvalidPeriod(field, f"a month from {EARLIEST_MONTH:%Y-%m} to this month")
    return month


def statistics(
    spans: list[ConsentSpan],
    events: list[BoardEvent],
    today: date,
    record_key: RecordKey,
    months: int = DEFAULT_MONTHS,
    period: Period | None = None,
) -> dict:
    """The report. `events` must be only those the report's reader may see."""
    period = period or default_period(today, months)
    first, end, as_of = period.first, period.end, period.as_of(today)
    in_model = {s.person: s.person_id for s in spans if s.valid_from.date() <= as_of < s.valid_until.date()}
    shown = _Shown(record_key)
    by_type: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for e in events:
        if first <= e.time.date() < end:
            by_type[(e.time.strftime("%Y-%m"), e.type, e.label)].add(f"event/{e.sender}/{e.event_id}")
    events_shown = [
        {"month": month, "event_type": event_type, "label": label, "events": shown.count(contributors)}
        for (month, event_type, label), contributors in sorted(by_type.items())
    ]
    known = events if as_of == today else [e for e in events if e.time.date() <= as_of]
    return {
        "period": period.as_dict(today),
        "persons_per_month": [
            {"month": m.strftime("%Y-%m"), "persons": shown.persons(_persons_in(spans, m))}
            for m in period.month_starts()
        ],
        "age_bands": shown.table(_grouped(in_model, lambda pid: _age_band(pid, as_of))),
        "referral_sources": shown.table(_grouped(in_model, _referrals(known, set(in_model.values())).get)),
        "events_per_type_per_month": [row for row in events_shown if row["events"]],
        "disclosure_control": METHOD,
    }


class _Shown:
    def __init__(self, record_key: RecordKey) -> None:
        self._key = record_key

    def count(self, contributors: set[str]) -> int:
        return perturbed(len(contributors), cell_key(self._key, contributors))

    def persons(self, pseudonyms: set[str]) -> int:
        return self.count({f"person/{p}" for p in pseudonyms})

    def table(self, groups: dict[str, set[str]]) -> list[dict]:
        """The groups shown as more than 0, and a total that is their sum."""
        rows = [{"group": g, "count": self.persons(members)} for g, members in groups.items()]
        rows = [row for row in rows if row["count"]]
        return [*rows, {"group": TOTAL, "count": sum(row["count"] for row in rows)}] if rows else []


def as_csv(stats: dict) -> str:
    """One table: section, group, month, count — what a spreadsheet wants; the same numbers as the page."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["avsnitt", "grupp", "månad", "antal"])
    for row in stats["persons_per_month"]:
        writer.writerow(["personer_i_modellen", "", row["month"], row["persons"]])
    for row in stats["age_bands"]:
        writer.writerow(["åldersgrupp", row["group"], "", row["count"]])
    for row in stats["referral_sources"]:
        writer.writerow(["remittent", row["group"], "", row["count"]])
    for row in stats["events_per_type_per_month"]:
        writer.writerow(["händelser", row["label"], row["month"], row["events"]])
    return out.getvalue()


def _persons_in(spans: list[ConsentSpan], month_start: date) -> set[str]:
    month_end = month_start + relativedelta(months=1)
    return {s.person for s in spans if s.valid_from.date() < month_end and s.valid_until.date() > month_start}


def _grouped(in_model: dict[str, str], group_of: Callable[[str], str | None]) -> dict[str, set[str]]:
    """Pseudonyms by group, the groups in the order they are defined."""
    groups: dict[str, set[str]] = {}
    for pseudonym, person_id in in_model.items():
        groups.setdefault(group_of(person_id) or UNKNOWN, set()).add(pseudonym)
    order = [*(_band_name(low, high) for low, high in AGE_BANDS), *REFERRAL_SOURCES.values(), UNKNOWN]
    return dict(sorted(groups.items(), key=lambda item: (order.index(item[0]) if item[0] in order else -1, item[0])))


def _age_band(person_id: str, today: date) -> str:
    born = personnummer.Personnummer(person_id).get_date()
    age = relativedelta(today, born).years
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return _band_name(low, high)
    return f"under {AGE_BANDS[0][0]}"


def _band_name(low: int, high: int) -> str:
    return f"{low}+" if high >= 200 else f"{low}–{high}"


def _referrals(events: list[BoardEvent], person_ids: set[str]) -> dict[str, str]:
    latest: dict[str, str] = {}
    for e in events:  # in time order: the latest contact the reader may see decides
        if e.name == "contact.opened" and e.person_id in person_ids:
            latest[e.person_id] = REFERRAL_SOURCES.get(e.data["referral_source"], UNKNOWN)
    return latest
