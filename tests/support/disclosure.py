"""The model-based disclosure check (issue 17 part 6), shared by tests/e2e/test_disclosure_model.py
and `python -m bench.disclosure`.

A seeded scenario drives a running stack through its public APIs only — consents through the
consent service, events through each principal's gateway — and the reference model
(tests/support/disclosure_model.py) says what every principal may see. Each round has phases,
so that the model is exact although the gate decides asynchronously:

1. change consents (grants; revocations, each returned before anything else happens);
2. post events from every principal;
3. wait until every posted event has a decision in its sender's audit search;
4. compare every read surface of every principal with the model, polling until they agree or
   stop changing (the inbox, board and webhooks lag behind the gate).

How each surface is compared (only this scenario's persons and events; gateway-made receipts,
`receipt.*`, are left out everywhere, since their timing is the receipt scanner's):
- inbox, deliveries topic (read with the principal's own Kafka user), webhooks: the set of event
  ids must be exactly `Model.delivered_to` — nothing extra, nothing missing; the inbox also once each;
- board API: a row for a person iff the model puts events of that person on the principal's
  board; the row's parties no wider than those events' parties; an alert naming an event the
  principal may not see on its board is extra; a missed visit/intervention, a positive sample or a
  discharge-group referral on the board must have its alert (alert_rules.json: shown 14 days);
- timeline (`/v1/board/persons/{handle}`): entries keyed by (sender, type, time) — each event
  has a unique time — exactly the model's board events;
- web page (`/` and `/person/{handle}`, in a coordinator's signed-in session): every event
  carries a unique marker word in a text field; the marker of any event not on the principal's
  board must be absent, and the person page's `<time datetime>` set holds every board event's
  time and no time of another of the person's events;
- audit search: judged row by row (`AuditExpectation.judge`); every own event has a row, every
  event forwarded to the principal has its forwarding row;
- consent preview (`/v1/consents/preview` of a proposal naming the principal): exactly the
  person's events the principal may see (all of the scenario's events are within its 90 days);
- statistics (events per type per month, published with the cell-key method's noise): the
  second report of a cell must be one the first report's true count plus the principal's
  visible events of that type and month can be published as (`_published`).

Person numbers never appear in a message: persons are named person#N, events by their uuid.
"""

import asyncio
import html
import json
import random
import re
import string
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.examples import EXAMPLE_DATA
from contracts.principals import is_municipality, is_principal, is_region
from contracts.topics import PER_PERSON_PARTITIONS, deliveries_topic
from tests.support.client import StackClient, event
from tests.support.disclosure_model import ALL_CATEGORIES, CATEGORY_OF, Consent, Event, Model, may_send
from tests.support.loopback import LoopbackServer
from tests.support.personnummer import random_person_id
from tests.support.web_session import COOKIE, staff_session

# Where each type's marker goes: a text field the board's pages show. None: the type has no free
# text (the page check then relies on the event's time alone).
MARKED_FIELD = {
    "visit.missed": "visit_kind",
    "sample.positive": "substances",
    "admission.notified": "ward",
    "discharge.planned": "ward",
    "discharge.ready": "ward",
    "discharge.completed": "unit",
    "treatment.started": "goal",
    "treatment.ended": "reason",
    "treatment.conference_decided": None,
    "treatment.discharge_group_referral": "reason",
    "assessment.recorded": None,
    "intervention.missed": "intervention_id",
    "intervention.decided": "intervention_id",
    "intervention.ending": "intervention_id",
    "intervention.ended": "reason",
    "sip.requested": "location",
    "sip.plan_updated": "goals",
    "careplanning.requested": "reason",
    "selfrating.recorded": "ratings",
    "contact.closed": "reason",
}
ALERTED_TYPES = {  # alerts.py `_RECENT`: these raise an alert while recent (14 days)
    "se.samordna.region.visit.missed.v1",
    "se.samordna.municipality.intervention.missed.v1",
    "se.samordna.region.sample.positive.v1",
    "se.samordna.region.treatment.discharge_group_referral.v1",
}
RECENT = timedelta(days=14)
RECEIPT = "se.samordna.receipt."  # gateway-made: out of the model (see the module's docstring)


@dataclass(frozen=True)
class Mismatch:
    surface: str
    principal: str
    kind: str  # extra | missing | wrong | duplicate
    event_type: str
    person: str  # person#N
    detail: str

    def describe(self, seed: int) -> str:
        return (
            f"[seed {seed}] {self.surface} as {self.principal}: {self.kind} {self.event_type} "
            f"({self.person}) {self.detail}"
        )


@dataclass
class Report:
    seed: int
    rounds: int = 0
    events: int = 0
    comparisons: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def kinds(self) -> Counter:
        return Counter((m.surface, m.kind) for m in self.mismatches)

    def summary(self) -> str:
        lines = [
            f"seed {self.seed}: rounds {self.rounds}, events {self.events}, "
            f"comparisons {self.comparisons}, mismatches {len(self.mismatches)}"
        ]
        lines += [f"  {surface} {kind}: {n}" for (surface, kind), n in sorted(self.kinds().items())]
        return "\n".join(lines)


# ---- the scenario ------------------------------------------------------------------------
class Scenario:
    """Random consents and events, from `seed`. Person numbers and event ids come from a fresh
    source instead, so that the same seed can run again on the same stack: it reproduces the
    scenario's shape (who consents to what, who sends which type when), not its identifiers."""

    def __init__(self, info: dict, seed: int, persons: int = 5, events_per_principal: int = 3) -> None:
        self.rng = random.Random(seed)
        self.fresh = random.SystemRandom()
        self.principals = tuple(name for name in info["services"] if is_principal(name))
        self.region = next(p for p in self.principals if is_region(p))
        self.municipalities = [p for p in self.principals if is_municipality(p)][:2]
        self.persons = [random_person_id(self.fresh).replace("-", "") for _ in range(persons)]
        self.events_per_principal = events_per_principal
        self.model = Model(self.principals)
        self.markers: dict[str, str | None] = {}  # event id -> its marker word

    def label(self, person: str) -> str:
        return f"person#{self.persons.index(person)}"

    def party_sets(self) -> list[tuple[str, ...]]:
        m1, m2 = self.municipalities
        return [(self.region, m1), (self.region, m2), (m1, m2), (self.region, m1, m2)]

    def new_consent(self, person: str, parties: tuple[str, ...], now: datetime) -> tuple[str, dict, Consent]:
        """(recording principal, request body, model consent with a placeholder id)."""
        rng = self.rng
        kind = rng.choices(["open", "recent", "bounded", "pending", "ended"], [45, 20, 15, 10, 10])[0]
        start, end = {
            "open": (now - timedelta(days=2), None),
            "recent": (now - timedelta(days=1), None),
            "bounded": (now - timedelta(days=5), now + timedelta(days=20)),
            "pending": (now + timedelta(days=2), None),
            "ended": (now - timedelta(days=200), now - timedelta(days=1)),
        }[kind]
        body: dict = {"valid_from": start.isoformat()} | ({"valid_until": end.isoformat()} if end else {})
        categories = ALL_CATEGORIES
        if rng.random() < 0.5:
            categories = frozenset(rng.sample(sorted(ALL_CATEGORIES), rng.randint(2, 5)))
            body["categories"] = sorted(categories)
        excluded_categories = frozenset()
        if rng.random() < 0.3:
            excluded_categories = frozenset(rng.sample(sorted(ALL_CATEGORIES), 1))
            body["excluded_categories"] = sorted(excluded_categories)
        excluded_types = frozenset()
        if rng.random() < 0.3:
            excluded_types = frozenset(rng.sample(sorted(CATEGORY_OF), rng.randint(1, 2)))
            body["excluded_event_types"] = sorted(excluded_types)
        consent = Consent(
            "?", person, frozenset(parties), start, end or _one_year_after(start),
            categories, excluded_categories, excluded_types,
        )  # fmt: skip
        return rng.choice(parties), body, consent

    def consent_plan(self, round_no: int) -> tuple[list[tuple[str, tuple[str, ...]]], list[str]]:
        """(persons and parties to grant, consent ids to revoke) for this round."""
        rng, grants, revokes = self.rng, [], []
        m1, m2 = self.municipalities
        if round_no == 1:
            for person in self.persons:  # one consent each, and often a second with other parties
                sets = rng.sample(self.party_sets(), 2)
                grants += [(person, sets[0])] + ([(person, sets[1])] if rng.random() < 0.6 else [])
            grants.append((self.persons[0], (m1, m2)))  # a municipality-to-municipality consent, always
            return grants, revokes
        for person in self.persons:
            if rng.random() < 0.35:
                grants.append((person, rng.choice(self.party_sets())))
            live = [c.id for c in self.model.consents_of(person) if not c.revoked]
            if live and rng.random() < 0.2:
                revokes.append(rng.choice(live))
        if round_no == 2:  # a consent recorded late by a party new to a person with history
            person = next(
                (p for p in self.persons if not any(m2 in c.parties for c in self.model.consents_of(p))),
                self.persons[-1],
            )
            grants.append((person, (self.region, m2)))
        return grants, revokes

    def new_events(self, now: datetime) -> list[tuple[str, dict, Event]]:
        out = []
        for principal in self.principals:
            types = [t for t in CATEGORY_OF if may_send(principal, t)]
            for _ in range(self.events_per_principal):
                event_type, person = self.rng.choice(types), self.rng.choice(self.persons)
                # a distinct time per event (microseconds), some before the consents that start a day ago
                back = timedelta(days=3) if self.rng.random() < 0.15 else timedelta(seconds=self.rng.randint(1, 600))
                time = now - back - timedelta(microseconds=self.fresh.randint(1, 999_999))
                marker = _marker(self.fresh) if MARKED_FIELD[_name(event_type)] else None
                body = event(event_type, person, time=time, data=_marked(event_type, marker))
                body["source"] = "/test/disclosure"
                out.append((principal, body, Event(body["id"], principal, event_type, person, time)))
                self.markers[body["id"]] = marker
        return out


def _one_year_after(start: datetime) -> datetime:
    try:
        return start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        return start.replace(year=start.year + 1, day=28)


def _name(event_type: str) -> str:
    return event_type.split(".", 3)[3].rsplit(".", 1)[0]


def _marker(rng: random.Random) -> str:
    """A word no real payload holds, and without digits (a digit run could pass for a personnummer)."""
    return "mk" + "".join(rng.choice(string.ascii_lowercase) for _ in range(12))


def _marked(event_type: str, marker: str | None) -> dict:
    data = dict(EXAMPLE_DATA[event_type])
    key = MARKED_FIELD[_name(event_type)]
    if marker and key:
        value = data.get(key)
        data[key] = [marker] if isinstance(value, list) else {marker: 5} if isinstance(value, dict) else marker
    return data


# ---- readers of the surfaces that keep state between rounds --------------------------------
class WebhookReceiver:
    """One local endpoint; each principal subscribes at /hooks/<principal>."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict]] = {}  # principal -> the events posted to it
        self._lock = threading.Lock()
        self.server = LoopbackServer(self._take)

    def _take(self, path: str, headers: dict[str, str], body: bytes) -> int:
        with self._lock:
            self.received.setdefault(path.rsplit("/", 1)[-1], []).append(json.loads(body)["event"])
        return 200

    def url(self, principal: str) -> str:
        return self.server.url(f"/hooks/{principal}")

    def stop(self) -> None:
        self.server.stop()


class DeliveriesReader:
    """The principal's deliveries topic, read with its own Kafka user as its systems would."""

    def __init__(self, info: dict, principal: str) -> None:
        kafka = info["kafka"]
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=kafka["bootstrap"].split(","),
            security_protocol=kafka["security_protocol"],
            sasl_mechanism=kafka["sasl_mechanism"],
            sasl_plain_username=principal,
            sasl_plain_password=kafka["users"][principal],
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        self.partitions = [TopicPartition(deliveries_topic(principal), p) for p in range(PER_PERSON_PARTITIONS)]
        self.events: list[dict] = []

    async def start(self) -> None:
        await self.consumer.start()
        self.consumer.assign(self.partitions)
        await self.consumer.seek_to_beginning(*self.partitions)

    async def read(self) -> list[dict]:
        end = await self.consumer.end_offsets(self.partitions)
        while [tp for tp, offset in end.items() if await self.consumer.position(tp) < offset]:
            for records in (await self.consumer.getmany(timeout_ms=500)).values():
                self.events += [json.loads(r.value) for r in records]
        return self.events

    async def stop(self) -> None:
        await self.consumer.stop()


# ---- the run -----------------------------------------------------------------------------
class Run:
    def __init__(self, info: dict, scenario: Scenario, report: Report) -> None:
        self.info, self.s, self.report = info, scenario, report
        self.client = StackClient(info)
        self.webhooks = WebhookReceiver()
        self.subscriptions: list[tuple[str, str]] = []
        self.readers = {p: DeliveriesReader(info, p) for p in scenario.principals}
        self.inbox: dict[str, list[dict]] = {p: [] for p in scenario.principals}
        self.inbox_cursor: dict[str, int] = dict.fromkeys(scenario.principals, 0)
        self.pages: dict[str, httpx.AsyncClient] = {}
        self.handles: dict[str, str] = {}  # person -> board handle, once any board shows the person
        self.stats_before: dict[str, dict] = {}

    async def start(self) -> None:
        for principal in self.s.principals:
            await self.readers[principal].start()
            body = {"url": self.webhooks.url(principal), "secret": "disclosure-model-webhook-secret"}
            response = await self.client.http.post(
                self.client.url(principal, "/v1/subscriptions"),
                json=body,
                headers=self.client._auth(principal, "system"),
            )
            assert response.status_code == 201, response.text
            self.subscriptions.append((principal, response.json()["id"]))
            key = await staff_session(self.info, principal)
            page = httpx.AsyncClient(base_url=self.info["services"]["board"], timeout=30, cookies={COOKIE: key})
            self.pages[principal] = page
            self.stats_before[principal] = await self.statistics(principal)

    async def close(self) -> None:
        for principal, sub_id in self.subscriptions:
            await self.client.http.delete(
                self.client.url(principal, f"/v1/subscriptions/{sub_id}"),
                headers=self.client._auth(principal, "system"),
            )
        for reader in self.readers.values():
            await reader.stop()
        for page in self.pages.values():
            await page.aclose()
        self.webhooks.stop()
        await self.client.close()

    # ---- phases ----------------------------------------------------------------------
    async def change_consents(self, round_no: int) -> None:
        grants, revokes = self.s.consent_plan(round_no)
        now = datetime.now(UTC)
        for person, parties in grants:
            recorder, body, consent = self.s.new_consent(person, parties, now)
            recorded = await self.client.grant(recorder, person, list(parties), **body, form="written")
            self.s.model.grant(replace(consent, id=str(recorded["id"])))
        for consent_id in revokes:
            consent = self.s.model.consents[consent_id]
            response = await self.client.revoke(self.s.rng.choice(sorted(consent.parties)), consent_id)
            assert response.status_code == 200, f"revocation refused: {response.status_code}"
            self.s.model.revoke(consent_id)

    async def post_events(self) -> list[Event]:
        posted = []
        for principal, body, ev in self.s.new_events(datetime.now(UTC)):
            response = await self.client.post_event(principal, body)
            assert response.status_code == 202, f"{ev.type} from {principal}: {response.status_code}"
            self.s.model.post(ev, datetime.now(UTC))
            posted.append(ev)
        self.report.events += len(posted)
        return posted

    async def wait_decided(self, posted: list[Event], timeout: float = 60) -> None:
        waiting = {(e.sender, e.person): set() for e in posted}
        for e in posted:
            waiting[(e.sender, e.person)].add(e.id)
        deadline = asyncio.get_running_loop().time() + timeout
        while waiting and asyncio.get_running_loop().time() < deadline:
            for (sender, person), ids in list(waiting.items()):
                ids -= {row["event_id"] for row in await _read(self.client.audit, sender, person)}
                if not ids:
                    del waiting[(sender, person)]
            await asyncio.sleep(0.3)
        for (sender, person), ids in waiting.items():
            for event_id in ids:
                e = self.s.model.events[event_id].event
                self.report.mismatches.append(
                    Mismatch(
                        "audit", sender, "missing", e.type, self.s.label(person), f"event {event_id} never decided"
                    )
                )

    async def compare_until_settled(self, timeout: float = 30, stable: float = 4) -> list[Mismatch]:
        """Compare until everything agrees, or the same mismatches stood for `stable` seconds. Something
        missing may still be on its way (the inbox, board and webhooks lag), and the board may not yet
        have applied a revocation that makes it forget the person (consent.changes is a relay and a
        consumer behind the API's answer): those wait for `timeout`. A real leak stands that long too."""
        loop = asyncio.get_running_loop()
        deadline, last, since = loop.time() + timeout, None, loop.time()
        while True:
            found, comparisons = await self.compare()
            key = sorted(map(repr, found))
            if key != last:
                last, since = key, loop.time()
            settled = loop.time() - since >= stable and not any(_may_still_move(m) for m in found)
            if not found or settled or loop.time() > deadline:
                self.report.comparisons += comparisons
                return found
            await asyncio.sleep(0.5)

    # ---- comparisons -----------------------------------------------------------------
    async def compare(self) -> tuple[list[Mismatch], int]:
        """Every surface of every principal once; the principals and persons side by side."""
        now = datetime.now(UTC)
        boards = await asyncio.gather(*(self.board_rows(p) for p in self.s.principals))  # learns the handles
        results = await asyncio.gather(
            *(self.compare_as(p, rows, now) for p, rows in zip(self.s.principals, boards, strict=True))
        )
        return [m for found, _ in results for m in found], sum(n for _, n in results)

    async def compare_as(self, principal: str, rows: dict[str, dict], now: datetime) -> tuple[list[Mismatch], int]:
        found: list[Mismatch] = []
        for surface, ids in [
            ("inbox", await self.inbox_ids(principal)),
            ("deliveries topic", self.ours(await self.readers[principal].read())),
            ("webhooks", self.ours(list(self.webhooks.received.get(principal, [])))),
        ]:
            found += self.exact(surface, principal, ids, self.s.model.delivered_to(principal))
        per_person = await asyncio.gather(
            *(self.compare_person(principal, person, rows.get(person), now) for person in self.s.persons)
        )
        found += [m for mismatches in per_person for m in mismatches]
        found += await self.board_page(principal, now)
        found += self.statistics_growth(principal, await self.statistics(principal))
        return found, 3 + 5 * len(self.s.persons) + 2

    async def compare_person(self, principal: str, person: str, row: dict | None, now: datetime) -> list[Mismatch]:
        expected = self.s.model.on_board(principal, person, now)
        return [
            *self.board_row(principal, person, row, expected, now),
            *await self.timeline(principal, person, expected),
            *await self.person_page(principal, person, expected),
            *self.audit(principal, person, await _read(self.client.audit, principal, person)),
            *await self.preview(principal, person),
        ]

    def ours(self, events: list[dict]) -> list[str]:
        return [e["id"] for e in events if e["subject"] in self.s.persons and not e["type"].startswith(RECEIPT)]

    async def inbox_ids(self, principal: str) -> list[str]:
        while page := (await _read(self.client.inbox, principal, after=self.inbox_cursor[principal]))["events"]:
            self.inbox[principal] += [item["event"] for item in page]
            self.inbox_cursor[principal] = page[-1]["seq"]
        return self.ours(self.inbox[principal])

    def exact(self, surface: str, principal: str, shown: list[str], expected: set[str]) -> list[Mismatch]:
        out = [self.about(surface, principal, "extra", i) for i in set(shown) - expected]
        out += [self.about(surface, principal, "missing", i) for i in expected - set(shown)]
        if surface == "inbox":
            out += [self.about(surface, principal, "duplicate", i) for i, k in Counter(shown).items() if k > 1]
        return out

    def about(self, surface: str, principal: str, kind: str, event_id: str, detail: str = "") -> Mismatch:
        d = self.s.model.events.get(event_id)
        if d is None:
            return Mismatch(surface, principal, kind, "?", "?", f"event {event_id} unknown to the model {detail}")
        e = d.event
        forwarded = ", ".join(sorted(d.forwarded_to)) or "no one"
        return Mismatch(
            surface, principal, kind, e.type, self.s.label(e.person),
            f"event {event_id} from {e.sender} (model: forwarded to {forwarded}) {detail}".rstrip(),
        )  # fmt: skip

    async def board_rows(self, principal: str) -> dict[str, dict]:
        rows = {}
        for row in (await _read(self.client.board, principal))["rows"]:
            person = row["patient"].replace("-", "")
            if person in self.s.persons:
                rows[person] = row
                self.handles[person] = row["handle"]
        return rows

    def board_row(self, principal: str, person: str, row: dict | None, expected: set[str], now) -> list[Mismatch]:
        label, model = self.s.label(person), self.s.model
        if row is None:
            return [self.about("board", principal, "missing", i, "(no row for the person)") for i in expected]
        out = []
        if not expected and not any(c.live(now) and principal in c.parties for c in model.consents_of(person)):
            out.append(
                Mismatch("board", principal, "extra", "-", label, "a row for a person no live consent names it in")
            )
        allowed = {principal} | {p for i in expected for p in model.events[i].parties()}
        if wider := set(row["parties"]) - allowed:
            out.append(Mismatch("board", principal, "extra", "-", label, f"row lists parties {sorted(wider)}"))
        alerted = {a["event_id"] for a in row["alerts"] if a.get("event_id")}
        out += [self.about("alerts", principal, "extra", i) for i in alerted - expected if i in model.events]
        due = {
            i
            for i in expected
            if model.events[i].event.type in ALERTED_TYPES and model.events[i].event.time >= now - RECENT
        }
        out += [self.about("alerts", principal, "missing", i) for i in due - alerted]
        return out

    def keyed(self, person: str) -> dict[tuple, str]:
        """(sender, type, time) -> event id, for the person's events: how a timeline names them."""
        return {
            (d.event.sender, d.event.type, d.event.time): i
            for i, d in self.s.model.events.items()
            if d.event.person == person
        }

    async def timeline(self, principal: str, person: str, expected: set[str]) -> list[Mismatch]:
        handle = self.handles.get(person)
        if handle is None:
            return []
        response = await _read(self.client.get, "board", f"/v1/board/persons/{handle}", principal, role="coordinator")
        entries = response.json()["timeline"] if response.status_code == 200 else []
        keys = self.keyed(person)
        shown = [keys[k] for e in entries if (k := (e["sender"], e["type"], datetime.fromisoformat(e["time"]))) in keys]
        return self.exact("timeline", principal, shown, expected)

    async def person_page(self, principal: str, person: str, expected: set[str]) -> list[Mismatch]:
        handle = self.handles.get(person)
        if handle is None:
            return []
        page = (await _read(self.pages[principal].get, f"/person/{handle}")).text
        times = {datetime.fromisoformat(t) for t in re.findall(r'<time datetime="([^"]+T[^"]+)"', page)}
        out = []
        for event_id, d in self.s.model.events.items():
            if d.event.person != person:
                continue
            if event_id in expected and d.event.time not in times:
                out.append(self.about("person page", principal, "missing", event_id))
            elif event_id not in expected and (d.event.time in times or self._marked_in(event_id, page)):
                out.append(self.about("person page", principal, "extra", event_id))
        return out

    async def board_page(self, principal: str, now: datetime) -> list[Mismatch]:
        page = (await _read(self.pages[principal].get, "/")).text
        out = []
        for person in self.s.persons:
            expected = self.s.model.on_board(principal, person, now)
            for event_id, d in self.s.model.events.items():
                if d.event.person == person and event_id not in expected and self._marked_in(event_id, page):
                    out.append(self.about("board page", principal, "extra", event_id, "(its text is on the page)"))
            handle = self.handles.get(person)
            if expected and handle and f'data-handle="{handle}"' not in page:
                out.append(Mismatch("board page", principal, "missing", "-", self.s.label(person), "no row"))
        return out

    def _marked_in(self, event_id: str, page: str) -> bool:
        marker = self.s.markers.get(event_id)
        return bool(marker) and marker in html.unescape(page)

    def audit(self, principal: str, person: str, rows: list[dict]) -> list[Mismatch]:
        expected = self.s.model.audit_rows(principal, person)
        out, shown = [], set()
        for row in rows:
            if row["event_id"] not in self.s.model.events:
                continue  # another scenario's event or a gateway's receipt
            shown.add((row["event_id"], row["recipient"], row["forwarded"]))
            if kind := expected.judge(row["event_id"], row["recipient"], row["forwarded"]):
                verdict = "forwarded" if row["forwarded"] else f"withheld ({row['reason']})"
                out.append(
                    self.about("audit", principal, kind, row["event_id"], f"row: to {row['recipient']} {verdict}")
                )
        seen = {event_id for event_id, *_ in shown}
        out += [self.about("audit", principal, "missing", i, "(no row)") for i in expected.own if i not in seen]
        out += [
            self.about("audit", principal, "missing", i, "(no forwarding row)")
            for i in expected.received
            if (i, principal, True) not in shown
        ]
        return out

    async def preview(self, principal: str, person: str) -> list[Mismatch]:
        """A proposed consent's preview lists the person's recent events the principal sent or received."""
        other = next(p for p in self.s.principals if p != principal)
        body = {"person": person, "parties": [principal, other], "valid_from": _today(), "form": "written"}
        response = await _read(
            self.client.http.post,
            self.client.url("consent", "/v1/consents/preview"),
            json=body,
            headers=self.client._auth(principal, "coordinator"),
        )
        response.raise_for_status()
        shown = [e["event_id"] for e in response.json()["events"] if e["event_id"] in self.s.model.events]
        expected = {i for i in self.s.model.visible_to(principal) if self.s.model.events[i].event.person == person}
        return self.exact("consent preview", principal, shown, expected)

    async def statistics(self, principal: str) -> dict:
        response = await _read(self.client.get, "board", "/v1/statistics", principal, role="coordinator")
        response.raise_for_status()
        return {(r["month"], r["event_type"]): r["events"] for r in response.json()["events_per_type_per_month"]}

    def statistics_growth(self, principal: str, now_shown: dict) -> list[Mismatch]:
        visible = Counter(
            (d.event.time.astimezone(UTC).strftime("%Y-%m"), d.event.type)
            for i, d in self.s.model.events.items()
            if self.s.model.may_see(principal, i)
        )
        out = []
        for cell, value in now_shown.items():
            if cell[1].startswith(RECEIPT):
                continue
            before = int(self.stats_before[principal].get(cell, 0))
            if not any(int(value) in _published(count + visible[cell]) for count in _true_counts(before)):
                detail = (
                    f"month {cell[0]} went from {before} to {value} shown; the principal may see {visible[cell]} more"
                )
                out.append(Mismatch("statistics", principal, "extra", cell[1], "-", detail))
        return out


# The cell-key method of docs/statistics.md (public; only the record keys are secret): what a
# true count can be published as. A cell is consistent if some count behind the first report,
# plus what the principal may see of this scenario's events, can be published as the second.
def _published(count: int) -> set[int]:
    if count == 0:
        return {0}
    if count < 5:
        return {0, 5}
    if count in (5, 6):
        return {5}
    return set(range(count - 2, count + 3))


def _true_counts(published: int) -> list[int]:
    return [count for count in range(max(published, 5) + 3) if published in _published(count)]


FORGETTING_SURFACES = {"board", "board page", "alerts", "timeline", "person page"}


def _may_still_move(mismatch: Mismatch) -> bool:
    return mismatch.kind == "missing" or (mismatch.kind == "extra" and mismatch.surface in FORGETTING_SURFACES)


async def _read(call, *args, **kwargs):
    """A read, tried again if the connection broke: a server may close an idle keep-alive
    connection just as the client reuses it, and the stack is not what this run tests then."""
    for attempt in range(3):
        try:
            return await call(*args, **kwargs)
        except httpx.TransportError:
            if attempt == 2:
                raise
            await asyncio.sleep(0.5)


def _today() -> str:
    return datetime.now(UTC).date().isoformat()


async def run_scenario(
    info: dict, seed: int, rounds: int = 3, persons: int = 5, events_per_principal: int = 3
) -> Report:
    """One scenario of `rounds` rounds against the stack described by `info` (stack.json)."""
    report = Report(seed)
    scenario = Scenario(info, seed, persons, events_per_principal)
    run = Run(info, scenario, report)
    await run.start()
    try:
        for round_no in range(1, rounds + 1):
            await run.change_consents(round_no)
            posted = await run.post_events()
            await run.wait_decided(posted)
            found = await run.compare_until_settled()
            report.rounds += 1
            # mismatches accumulate over rounds; keep each (surface, principal, kind, event) once
            known = {(m.surface, m.principal, m.kind, m.detail) for m in report.mismatches}
            report.mismatches += [m for m in found if (m.surface, m.principal, m.kind, m.detail) not in known]
    finally:
        await run.close()
    return report


def new_seed() -> int:
    return random.SystemRandom().randrange(2**32)
