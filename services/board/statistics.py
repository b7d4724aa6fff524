"""Follow-up statistics (seed 001), with small numbers suppressed.

Persons in the model per month (a consent in force some day of the month), their age bands
and referral sources (today), and events per type per month. Any count from 1 to 4 is shown
as "<5", so that no one can be singled out; groups with no one are left out.
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.relativedelta import relativedelta
from personnummer import personnummer

from services.board.domain import BoardEvent

SUPPRESSED = "<5"
SMALLEST_SHOWN = 5
AGE_BANDS = [(18, 24), (25, 34), (35, 44), (45, 54), (55, 64), (65, 200)]
REFERRAL_SOURCES = {"self": "Egen", "vardcentral": "Vårdcentral", "socialtjanst": "Socialtjänst", "other": "Annan"}
UNKNOWN = "Okänd"


@dataclass(frozen=True)
class ConsentSpan:
    person: str  # pseudonym
    person_id: str
    valid_from: datetime
    valid_until: datetime


def shown(count: int) -> int | str:
    return SUPPRESSED if 0 < count < SMALLEST_SHOWN else count


def statistics(spans: list[ConsentSpan], events: list[BoardEvent], today: date, months: int = 12) -> dict:
    first = today.replace(day=1) - relativedelta(months=months - 1)
    month_starts = [first + relativedelta(months=i) for i in range(months)]
    in_model_now = {s.person: s.person_id for s in spans if s.valid_from.date() <= today < s.valid_until.date()}
    return {
        "persons_per_month": [
            {"month": m.strftime("%Y-%m"), "persons": shown(len(_persons_in(spans, m)))} for m in month_starts
        ],
        "age_bands": _counted(Counter(_age_band(pid, today) for pid in in_model_now.values())),
        "referral_sources": _counted(_referrals(events, set(in_model_now.values()))),
        "events_per_type_per_month": [
            {"month": month, "event_type": event_type, "label": label, "events": shown(count)}
            for (month, event_type, label), count in sorted(
                Counter((e.time.strftime("%Y-%m"), e.type, e.label) for e in events if e.time.date() >= first).items()
            )
        ],
        "suppression": f"counts from 1 to {SMALLEST_SHOWN - 1} are shown as {SUPPRESSED}",
    }


def as_csv(stats: dict) -> str:
    """One table: section, group, month, count — what a spreadsheet wants."""
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


def _age_band(person_id: str, today: date) -> str:
    born = personnummer.Personnummer(person_id).get_date()
    age = relativedelta(today, born).years
    for low, high in AGE_BANDS:
        if low <= age <= high:
            return f"{low}+" if high >= 200 else f"{low}–{high}"
    return f"under {AGE_BANDS[0][0]}"


def _referrals(events: list[BoardEvent], person_ids: set[str]) -> Counter:
    latest: dict[str, str] = {}
    for e in events:  # in time order: the latest contact decides
        if e.name == "contact.opened" and e.person_id in person_ids:
            latest[e.person_id] = REFERRAL_SOURCES.get(e.data["referral_source"], UNKNOWN)
    return Counter(latest.get(person_id, UNKNOWN) for person_id in person_ids)


def _counted(counter: Counter) -> list[dict]:
    return [{"group": group, "count": shown(count)} for group, count in sorted(counter.items())]
