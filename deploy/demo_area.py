"""A cooperation area after a year of use, as data: who consented when, what each principal's
systems sent about whom and when, which consents were revoked, which receipts were given in time,
late, or not at all. Pure and seeded: the same day and seed give the same area (deploy/demo.py
loads it through the public APIs).

Fictional persons, following the routines of the source documents (docs/sources.md): LARO starts
with SIP meetings, their follow-ups (some overdue) and deviations; ward stays with planned
discharges; social-services interventions decided, missed, ending and ended (some without notice);
psychiatric treatment with self-ratings. Every event type of the catalogue that a system posts
occurs. Event times lie in the past, within the person's consent, and `time` is what the gate,
the board's alerts and the statistics go by; what was received when is the gateways' own clock.
"""

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from contracts.principals import display_name, municipality, region
from deploy.layout import described_kommunkoder, described_lanskod

# the described region and its first two municipalities: Alingsås and Lerum in deploy/principals.json,
# Örebro and Lekeberg in deploy/principals-orebro.json (SAMORDNA_PRINCIPALS)
REGION = region(described_lanskod())
ALINGSAS, LERUM = (municipality(code) for code in described_kommunkoder()[:2])
MUNICIPALITIES = [(ALINGSAS, display_name(ALINGSAS), 0.55), (LERUM, display_name(LERUM), 0.45)]
NS = "se.samordna"
ACTION_TYPES = {  # need a receipt (contracts/catalogue.py)
    f"{NS}.region.admission.notified.v1",
    f"{NS}.region.discharge.planned.v1",
    f"{NS}.region.treatment.discharge_group_referral.v1",
    f"{NS}.joint.sip.requested.v1",
}


@dataclass(frozen=True)
class Consent:
    recorder: str
    person: str
    fields: dict


@dataclass(frozen=True)
class Event:
    id: str
    sender: str
    person: str
    type: str
    time: datetime
    data: dict
    recipients: tuple[str, ...]  # whom it crosses to under the person's consent

    def body(self) -> dict:
        return {
            "specversion": "1.0",
            "id": self.id,
            "source": f"/{self.sender}/demo",
            "type": self.type,
            "subject": self.person,
            "time": self.time.isoformat(),
            "data": self.data,
        }


@dataclass
class Area:
    consents: list[Consent] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)  # persons whose consent is revoked at the end
    on_time: list[Event] = field(default_factory=list)  # action events acknowledged within the deadline
    late: list[Event] = field(default_factory=list)  # acknowledged after the deadline passed
    # the rest of the action events are never acknowledged: overdue, an alert on the sender's board

    @property
    def persons(self) -> int:
        return len({c.person for c in self.consents})


def person_id(rng: random.Random, taken: set[str]) -> str:
    """A valid, fictional personnummer (YYYYMMDDNNNC, Luhn over the last ten digits)."""
    while True:
        born = date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
        digits = f"{born:%y%m%d}{rng.randint(100, 999)}"
        total = sum(sum(divmod(int(d) * (2 - i % 2), 10)) for i, d in enumerate(digits))
        number = f"{born:%Y%m%d}{digits[6:]}{(10 - total % 10) % 10}"
        if number not in taken:
            taken.add(number)
            return number


def cooperation_area(now: datetime, persons: int = 240, seed: int = 2026) -> Area:
    """The area as it stands at `now`; every event time between its consent's start and `now`."""
    rng, taken, area = random.Random(seed), set(), Area()
    for n in range(persons):
        person = person_id(rng, taken)
        home, home_name = _home(rng)
        joined = rng.randint(336, 361) if rng.random() < 0.08 else rng.randint(20, 330)  # 8 %: ends within 30 days
        start = now - timedelta(days=joined)
        parties = [REGION, home] + ([LERUM if home == ALINGSAS else ALINGSAS] if rng.random() < 0.05 else [])
        fields: dict = {"parties": parties, "valid_from": start.date().isoformat()}
        excluded = rng.random() < 0.1
        if excluded:
            fields["excluded_categories"] = ["test_results"]
        recorder = REGION if rng.random() < 0.5 else home
        area.consents.append(Consent(recorder, person, fields))
        story = rng.choices([_laro, _ward, _social, _psychiatry], weights=[4, 3, 3, 2])[0]
        life = _Life(rng, person, n, home, home_name, start, now, tuple(p for p in parties if p != REGION))
        story(life)
        for e in life.events:
            if excluded and e.type.endswith(("sample.positive.v1", "assessment.recorded.v1")):
                e = Event(e.id, e.sender, e.person, e.type, e.time, e.data, ())
            area.events.append(e)
        if rng.random() < 0.05:
            area.revoked.append(person)
    revoked = set(area.revoked)
    for e in area.events:
        if e.type in ACTION_TYPES and e.recipients and e.person not in revoked:
            roll = rng.random()
            (area.on_time if roll < 0.75 else area.late if roll < 0.9 else []).append(e)
    return area


def _home(rng: random.Random) -> tuple[str, str]:
    roll, seen = rng.random(), 0.0
    for principal, name, share in MUNICIPALITIES:
        seen += share
        if roll < seen:
            return principal, name
    return MUNICIPALITIES[-1][:2]


@dataclass
class _Life:
    rng: random.Random
    person: str
    n: int
    home: str
    home_name: str
    start: datetime
    now: datetime
    partners: tuple[str, ...]  # the municipalities in the consent
    events: list[Event] = field(default_factory=list)

    def at(self, fraction: float) -> datetime:
        """A moment `fraction` of the way from the consent's start to now (an hour before at most)."""
        span = (self.now - timedelta(hours=1)) - self.start
        moment = self.start + span * min(max(fraction, 0.0), 1.0)
        return moment.replace(minute=self.rng.randint(0, 59), second=0, microsecond=0)

    def days_ago(self, days: float) -> datetime:
        return max(self.start + timedelta(hours=1), self.now - timedelta(days=days, hours=self.rng.randint(1, 8)))

    def send(self, sender: str, name: str, when: datetime, data: dict) -> None:
        when = min(max(when, self.start + timedelta(minutes=5)), self.now - timedelta(minutes=30))
        kind = {"R": "region", "M": "municipality", "J": "joint"}[name[0]]
        recipients = self.partners if sender == REGION else (REGION, *(p for p in self.partners if p != sender))
        event_id = f"demo-{self.n:04d}-{len(self.events):02d}"
        self.events.append(Event(event_id, sender, self.person, f"{NS}.{kind}.{name[2:]}.v1", when, data, recipients))

    def contact(self, sender: str, unit: str, when: datetime, source: str | None = None) -> None:
        source = source or self.rng.choices(["self", "vardcentral", "socialtjanst", "other"], [4, 3, 3, 1])[0]
        self.send(sender, "J:contact.opened", when, {"unit": unit, "opened_on": _d(when), "referral_source": source})

    def follow_ups(self, first: float, region_unit: str) -> None:
        """Deviations over the months, more of them lately: missed visits, positive samples, ratings."""
        for _ in range(self.rng.randint(1, 5)):
            when = self.at(self.rng.uniform(first, 1.0))
            match self.rng.choice(["visit", "visit", "sample", "assessment", "selfrating"]):
                case "visit":
                    planned = when.replace(hour=9, minute=30).isoformat()
                    self.send(REGION, "R:visit.missed", when, {"unit": region_unit, "planned_at": planned})
                case "sample":
                    substances = self.rng.sample(["amfetamin", "cannabis", "bensodiazepiner", "opiater", "alkohol"], 1)
                    data = {"sample_type": self.rng.choice(["urine", "b-peth"]), "substances": substances}
                    self.send(REGION, "R:sample.positive", when, {**data, "sampled_at": when.isoformat()})
                case "assessment":
                    instrument = self.rng.choice(["AUDIT", "DUDIT", "MADRS-S"])
                    data = {"instrument": instrument, "score": self.rng.randint(4, 30)}
                    self.send(REGION, "R:assessment.recorded", when, {**data, "assessed_on": _d(when)})
                case "selfrating":
                    ratings = {k: self.rng.randint(1, 9) for k in ("boende", "hälsa", "droger")}
                    self.send(self.home, "J:selfrating.recorded", when, {"ratings": ratings, "rated_on": _d(when)})
        if self.rng.random() < 0.15:  # something in the last two weeks: an alert on the board today
            when = self.days_ago(self.rng.uniform(0.2, 13))
            planned = when.replace(hour=10, minute=0).isoformat()
            self.send(REGION, "R:visit.missed", when, {"unit": region_unit, "planned_at": planned})

    def sip(self, caller: str, when: datetime, overdue: bool) -> None:
        meeting = when + timedelta(days=self.rng.randint(5, 12))
        place = f"Mottagningen, {self.home_name}"
        self.send(caller, "J:sip.requested", when, {"meeting_at": meeting.replace(hour=13, minute=0).isoformat(),
                                                     "location": place})  # fmt: skip
        if meeting >= self.now:
            return
        follow_up = (meeting + timedelta(days=self.rng.randint(60, 90))).date()
        if not overdue and follow_up < self.now.date():
            follow_up = self.now.date() + timedelta(days=self.rng.randint(10, 80))
        plan = {
            "goals": self.rng.sample(GOALS, 2),
            "responsibilities": [
                {"party": REGION, "task": "Behandling och provtagning"},
                {"party": self.home, "task": "Boendestöd och sysselsättning"},
            ],
            "next_follow_up": follow_up.isoformat(),
        }
        self.send(REGION, "J:sip.plan_updated", meeting + timedelta(hours=2), plan)


def _laro(life: _Life) -> None:
    rng, unit = life.rng, f"LARO-mottagningen {life.home_name}"
    life.contact(REGION, f"Socialmedicinsk mottagning {life.home_name}", life.at(0.0))
    decided = life.at(0.05)
    outcome = rng.choices(["accepted", "remanded", "rejected"], [8, 1, 1])[0]
    life.send(REGION, "R:treatment.conference_decided", decided, {"outcome": outcome, "decided_on": _d(decided)})
    if outcome != "accepted":
        return
    began = decided + timedelta(days=rng.randint(3, 10))
    treatment = f"laro-{life.n:04d}"
    life.send(REGION, "R:treatment.started", began, {"treatment_id": treatment, "treatment_kind": "laro",
              "started_on": _d(began), "goal": "Stabil LARO-behandling och eget boende"})  # fmt: skip
    life.sip(life.home, began + timedelta(days=2), overdue=rng.random() < 0.3)
    life.follow_ups(0.2, unit)
    if rng.random() < 0.25:
        when = life.at(rng.uniform(0.5, 1.0))
        life.send(REGION, "J:careplanning.requested", when, {"reason": "Avsteg från behandlingsplanen",
                                                              "requested_on": _d(when)})  # fmt: skip
    if rng.random() < 0.15:
        when = life.days_ago(rng.uniform(1, 40))
        life.send(REGION, "R:treatment.discharge_group_referral", when, {"referred_on": _d(when),
                  "reason": "Upprepade avsteg från behandlingsplanen"})  # fmt: skip
    elif rng.random() < 0.1:
        ended = life.at(0.95)
        life.send(REGION, "R:treatment.ended", ended, {"treatment_id": treatment, "ended_on": _d(ended)})
        life.send(REGION, "R:discharge.completed", ended + timedelta(hours=1), {"discharged_from": "laro_programme",
                  "unit": unit, "completed_on": _d(ended)})  # fmt: skip


def _ward(life: _Life) -> None:
    rng, ward = life.rng, rng_ward(life.rng)
    life.contact(REGION, f"Vårdcentralen {life.home_name}", life.at(0.0), "vardcentral")
    for stay in range(rng.randint(1, 2)):
        recent = stay == 1 or rng.random() < 0.3
        admitted = life.days_ago(rng.uniform(2, 12)) if recent else life.at(rng.uniform(0.1, 0.6))
        life.send(REGION, "R:admission.notified", admitted, {"ward": ward, "admitted_at": admitted.isoformat()})
        planned_on = admitted + timedelta(days=1, hours=2)
        expected = (admitted + timedelta(days=rng.randint(5, 14))).date()
        life.send(REGION, "R:discharge.planned", planned_on, {"ward": ward, "expected_date": expected.isoformat()})
        if recent and rng.random() < 0.5:
            continue  # a planned discharge with no SIP yet: an alert
        life.sip(REGION, planned_on + timedelta(hours=3), overdue=False)
        ready = datetime.combine(expected, time(10), tzinfo=UTC)
        if ready < life.now:
            life.send(REGION, "R:discharge.ready", ready, {"ward": ward, "ready_at": ready.isoformat()})
            done = ready + timedelta(hours=4)
            if done < life.now:
                life.send(REGION, "R:discharge.completed", done, {"discharged_from": "ward", "unit": ward,
                          "completed_on": _d(done)})  # fmt: skip
    life.follow_ups(0.3, f"Psykiatrimottagningen {life.home_name}")


def rng_ward(rng: random.Random) -> str:
    return rng.choice(["Avd 32 Beroende", "Avd 14 Psykiatri", "Avd 7 Abstinens"])


GOALS = ["Drogfrihet", "Eget boende", "Sysselsättning", "Stabil hälsa", "Ordnad ekonomi"]
KINDS = ["boendestod", "behandling", "sysselsattning", "ekonomiskt_bistand"]


def _social(life: _Life) -> None:
    rng = life.rng
    life.contact(life.home, f"Socialtjänsten {life.home_name}, vuxenenheten", life.at(0.0), "socialtjanst")
    for k in range(rng.randint(1, 2)):
        kind, ref = rng.choice(KINDS), f"ins-{life.n:04d}-{k}"
        decided = life.at(rng.uniform(0.02, 0.4))
        begins = decided + timedelta(days=5)
        ends = (begins + timedelta(days=rng.randint(90, 300))).date()
        if rng.random() < 0.3:  # ends soon: an alert
            ends = life.now.date() + timedelta(days=rng.randint(1, 13))
        life.send(life.home, "M:intervention.decided", decided, {"intervention_id": ref, "intervention_kind": kind,
                  "decided_on": _d(decided), "starts_on": _d(begins), "ends_on": ends.isoformat()})  # fmt: skip
        for _ in range(rng.randint(0, 3)):
            missed = life.at(rng.uniform(0.4, 1.0))
            life.send(life.home, "M:intervention.missed", missed, {"intervention_id": ref, "intervention_kind": kind,
                      "missed_on": _d(missed)})  # fmt: skip
        ending_at = datetime.combine(ends, time(9), tzinfo=UTC) - timedelta(days=14)
        warned = rng.random() < 0.8
        if warned and ending_at < life.now:
            life.send(life.home, "M:intervention.ending", max(ending_at, decided + timedelta(days=1)),
                      {"intervention_id": ref, "intervention_kind": kind, "ends_on": ends.isoformat()})  # fmt: skip
        ended = datetime.combine(ends, time(16), tzinfo=UTC)
        if ended < life.now or not warned and rng.random() < 0.5:  # without notice: a deviation
            ended = min(ended, life.at(0.9))
            life.send(life.home, "M:intervention.ended", ended, {"intervention_id": ref, "intervention_kind": kind,
                      "ended_on": _d(ended)})  # fmt: skip
    if rng.random() < 0.4:
        life.sip(life.home, life.at(rng.uniform(0.3, 0.8)), overdue=rng.random() < 0.3)
    life.follow_ups(0.5, f"Vårdcentralen {life.home_name}")
    if rng.random() < 0.1:
        closed = life.at(0.97)
        life.send(life.home, "J:contact.closed", closed, {"unit": f"Socialtjänsten {life.home_name}",
                  "closed_on": _d(closed), "reason": "Insatserna avslutade"})  # fmt: skip


def _psychiatry(life: _Life) -> None:
    rng = life.rng
    life.contact(REGION, f"Psykiatrimottagningen {life.home_name}", life.at(0.0))
    began = life.at(0.05)
    life.send(REGION, "R:treatment.started", began, {"treatment_id": f"psy-{life.n:04d}",
              "treatment_kind": rng.choice(["psychiatric", "addiction"]), "started_on": _d(began)})  # fmt: skip
    life.follow_ups(0.1, f"Psykiatrimottagningen {life.home_name}")
    if rng.random() < 0.5:
        life.sip(rng.choice([REGION, life.home]), life.at(rng.uniform(0.2, 0.7)), overdue=rng.random() < 0.3)


def _d(moment: datetime) -> str:
    return moment.date().isoformat()
