"""Alerts on the samordningstavla, from the routines of the region's and the municipalities'
joint work (docs/sources.md). Pure: events, consents, rules and the time in; alerts out. The
thresholds are data (alert_rules.json, or SAMORDNA_ALERT_RULES_FILE, read by `bootstrap.py`).

- missed visits and missed interventions, positive samples ("avsteg ska rapporteras skyndsamt",
  docs/sources.md): shown for `recent_days`;
- a planned discharge with no SIP requested or revised from `sip_before_discharge_days` before it;
- a SIP follow-up overdue: at least every `sip_follow_up_months` during the first
  `sip_follow_up_first_months` of a treatment (docs/sources.md), or past the follow-up date the SIP set;
- a referral to the discharge group (utskrivningsgruppen), for `recent_days`;
- an intervention ending within `intervention_ending_days`;
- an action event not acknowledged in time (receipt.overdue), until its receipt comes;
- a consent ending within `consent_expiring_days`;
- a deviation made visible: an intervention ended without an `intervention.ending` before it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta
from pydantic import BaseModel, ConfigDict, Field

from contracts import spec_for
from contracts.principals import display_name
from services.board.domain import BoardEvent, human_kind

LABELS = {
    "missed_visit": "Uteblivet besök",
    "missed_intervention": "Uteblivet deltagande i insats",
    "positive_sample": "Positivt prov",
    "discharge_without_sip": "Planerad utskrivning utan SIP",
    "sip_follow_up_overdue": "SIP-uppföljning försenad",
    "discharge_group_referral": "Anmäld till utskrivningsgruppen",
    "intervention_ending": "Insats upphör snart",
    "receipt_overdue": "Ej kvitterat i tid",
    "consent_expiring": "Samtycket löper ut",
    "ended_without_notice": "Avvikelse: insats avslutad utan förvarning",
}


class AlertRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recent_days: int = Field(14, ge=1)
    intervention_ending_days: int = Field(14, ge=1)
    sip_follow_up_months: int = Field(3, ge=1)
    sip_follow_up_first_months: int = Field(12, ge=1)
    sip_before_discharge_days: int = Field(30, ge=0)
    consent_expiring_days: int = Field(30, ge=1)


@dataclass(frozen=True)
class ConsentFacts:
    consent_id: str
    valid_until: datetime


@dataclass(frozen=True)
class Alert:
    kind: str
    text: str
    since: datetime
    event_id: str | None = None  # the event the alert is about, when there is one

    @property
    def label(self) -> str:
        return LABELS[self.kind]

    @property
    def as_json(self) -> dict:
        """The alert as the API answers it (api_models.AlertOut); the board keeps it inside its
        row's JSON (views.RowView.as_json) while the row holds."""
        since = self.since.isoformat()
        return {"kind": self.kind, "label": self.label, "text": self.text, "since": since, "event_id": self.event_id}


def alerts(events: list[BoardEvent], consents: list[ConsentFacts], rules: AlertRules, now: datetime) -> list[Alert]:
    """The person's open alerts, oldest first. `events` are in event-time order."""
    found: list[Alert] = []
    found += _recent(events, rules, now)
    found += _discharges_without_sip(events, rules, now)
    found += _sip_follow_ups(events, rules, now)
    found += _interventions(events, rules, now)
    found += _receipts(events)
    found += [
        Alert("consent_expiring", f"Samtycket gäller till {c.valid_until.date().isoformat()}", notice_from)
        for c in consents
        if now >= (notice_from := c.valid_until - timedelta(days=rules.consent_expiring_days)) and now < c.valid_until
    ]
    return sorted(found, key=lambda a: a.since)


RESOLUTION = timedelta(microseconds=1)  # a datetime's: the first moment after another


def unchanged_until(
    events: list[BoardEvent], consents: list[ConsentFacts], rules: AlertRules, now: datetime
) -> datetime:
    """The first moment after `now` at which `alerts(events, consents, rules, ·)` may answer
    otherwise; until then it answers as at `now` (the board keeps each row's alerts that long).
    Every rule compares the clock either with a day (`now.date()`: it may change at the next
    midnight) or with a time of the person's: a recent event's time plus `recent_days`, a
    consent's notice and its end."""
    midnight = datetime.combine(now.date() + timedelta(days=1), time.min, now.tzinfo)
    recent = timedelta(days=rules.recent_days)
    notice = timedelta(days=rules.consent_expiring_days)
    # a recent event is shown while now <= its time + recent_days: it changes the moment after
    moments = [e.time + recent + RESOLUTION for e in events if e.name in _RECENT]
    moments += [moment for c in consents for moment in (c.valid_until - notice, c.valid_until)]
    return min([midnight, *(moment for moment in moments if moment > now)])


_RECENT = {
    "visit.missed": "missed_visit",
    "intervention.missed": "missed_intervention",
    "sample.positive": "positive_sample",
    "treatment.discharge_group_referral": "discharge_group_referral",
}


def _recent(events: list[BoardEvent], rules: AlertRules, now: datetime) -> list[Alert]:
    since = now - timedelta(days=rules.recent_days)
    return [
        Alert(_RECENT[e.name], f"{e.label} {e.time.date().isoformat()} ({display_name(e.sender)})", e.time, e.event_id)
        for e in events
        if e.name in _RECENT and e.time >= since
    ]


def _discharges_without_sip(events: list[BoardEvent], rules: AlertRules, now: datetime) -> list[Alert]:
    found = []
    for discharge in (e for e in events if e.name == "discharge.planned"):
        expected = date.fromisoformat(discharge.data["expected_date"])
        if expected < now.date() - timedelta(days=rules.recent_days):
            continue  # long past: no longer a planning matter
        window_start = discharge.time - timedelta(days=rules.sip_before_discharge_days)
        if not any(e.name in ("sip.requested", "sip.plan_updated") and e.time >= window_start for e in events):
            text = f"Utskrivning {expected.isoformat()} ({discharge.data['ward']}), ingen SIP planerad"
            found.append(Alert("discharge_without_sip", text, discharge.time, discharge.event_id))
    return found


def _sip_follow_ups(events: list[BoardEvent], rules: AlertRules, now: datetime) -> list[Alert]:
    today = now.date()
    ended = {e.data["treatment_id"] for e in events if e.name == "treatment.ended"}
    plans = [e for e in events if e.name == "sip.plan_updated"]
    found = []
    for start in (e for e in events if e.name == "treatment.started" and e.data["treatment_id"] not in ended):
        started_on = date.fromisoformat(start.data["started_on"])
        if today >= started_on + relativedelta(months=rules.sip_follow_up_first_months):
            continue
        last = max([started_on, *(p.time.date() for p in plans)])
        due = last + relativedelta(months=rules.sip_follow_up_months)
        if plans and plans[-1].data.get("next_follow_up"):
            due = min(due, date.fromisoformat(plans[-1].data["next_follow_up"]))
        if today > due:
            text = f"SIP-uppföljning skulle ha skett senast {due.isoformat()}"
            found.append(Alert("sip_follow_up_overdue", text, start.time, start.event_id))
    return found


def _interventions(events: list[BoardEvent], rules: AlertRules, now: datetime) -> list[Alert]:
    today = now.date()
    ended = {e.data["intervention_id"] for e in events if e.name == "intervention.ended"}
    announced = {e.data["intervention_id"] for e in events if e.name == "intervention.ending"}
    found = []
    for e in events:
        if e.name == "intervention.ending" and e.data["intervention_id"] not in ended:
            ends_on = date.fromisoformat(e.data["ends_on"])
            if today <= ends_on <= today + timedelta(days=rules.intervention_ending_days):
                text = f"{human_kind(e.data['intervention_kind'])} upphör {ends_on.isoformat()}"
                found.append(Alert("intervention_ending", text, e.time, e.event_id))
        elif e.name == "intervention.ended" and e.data["intervention_id"] not in announced:
            text = f"Insats avslutad {e.time.date().isoformat()} utan föregående meddelande"
            found.append(Alert("ended_without_notice", text, e.time, e.event_id))
    return found


def _receipts(events: list[BoardEvent]) -> list[Alert]:
    """An overdue receipt stays an alert until the receipt for the same event comes, and only
    while the event it is about is on the board: after a revocation has made the board forget
    that event, a receipt of it that crossed later on another consent names nothing shown."""
    shown = {e.event_id for e in events}
    acknowledged = {e.data["event_id"] for e in events if e.name == "receipt.acknowledged"}
    return [
        Alert(
            "receipt_overdue",
            f"{spec_for(e.data['event_type']).label_sv} ej kvitterat av {display_name(e.sender)} "
            f"(frist {e.data['deadline'][:16].replace('T', ' ')})",
            e.time,
            e.data["event_id"],
        )
        for e in events
        if e.name == "receipt.overdue" and e.data["event_id"] in shown and e.data["event_id"] not in acknowledged
    ]
