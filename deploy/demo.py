"""Load a cooperation area after a year of use into the running stack, through the public APIs
only, as partners' systems and coordinators would (the area itself: deploy/demo_area.py).

Four storyline persons (a LARO start with a SIP and deviations in Alingsås, a ward discharge in
Lerum, a person who excluded test results, one who has not consented) and some 240 more over the
past year: consents recorded by the region or a municipality (some ending within 30 days, some with
exclusions, some revoked at the end), every event type a system sends, posted to its sender's
gateway with the time it happened, through the gate like any event; receipts of the events that
need one acknowledged in time, late, or not at all.

How the past is made real without a back door: an event's `time` is the sender's (in the past,
within the person's consent), and the gate, the board's rows, alerts and statistics go by it; the
consents start in the past. What cannot be dated back is a gateway's own clock — an event is
received, and its receipt falls due, when it arrives. So that receipts given late and receipts
never given show today, the demo runs the gateways for the few minutes of its loading with a short
receipt deadline (`DEMO_DEADLINE`), acknowledges most in time and some once they are overdue, and
then restarts them with the deployment's deadlines (24 hours, 3 days).

Running it again changes nothing: it sees the area's first consent and stops.
"""

import asyncio
import json
import sys
import time
from datetime import UTC, datetime

import httpx

from contracts.principals import display_name
from deploy import demo_story
from deploy.demo_area import ACTION_TYPES, Area, Event, cooperation_area
from deploy.stack import Stack, local_stack

DEMO_DEADLINE_SECONDS = 40
PARALLEL = 12  # requests at once: a two-core machine shared with the stack itself


async def load(stack: Stack, info: dict) -> str:
    """Loads the area (unless it is loaded) and says what was loaded, and how long it took."""
    began = time.monotonic()
    area = cooperation_area(datetime.now(UTC))
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=PARALLEL * 2)) as http:
        demo = _Demo(http, info)
        if area.revoked and "revoked" in await demo.statuses(_recorder(area, area.revoked[-1]), area.revoked[-1]):
            return "The demo was loaded before: nothing changed."  # revoking is the last step
        gateways = [name for name in info["services"] if name not in ("consent", "board")]
        await asyncio.to_thread(_restart, stack, gateways, _short_deadlines())
        try:
            await demo_story.load(demo.http, info)
            consent_ids = await demo.consents(area)
            await demo.events([e for e in area.events if e.type not in ACTION_TYPES])
            await demo.events([e for e in area.events if e.type in ACTION_TYPES])
            await demo.receipts(area)
            await demo.revoke(area, consent_ids)
        finally:
            await asyncio.to_thread(_restart, stack, gateways, {})
    return _summary(area, time.monotonic() - began)


def _short_deadlines() -> dict[str, str]:
    deadlines = {event_type: f"PT{DEMO_DEADLINE_SECONDS}S" for event_type in sorted(ACTION_TYPES)}
    return {"SAMORDNA_RECEIPT_DEADLINES": json.dumps(deadlines), "SAMORDNA_RECEIPT_SCAN_SECONDS": "1"}


def _restart(stack: Stack, names: list[str], env: dict[str, str]) -> None:
    for name in names:
        stack.stop_service(name)
        stack.start_service(name, extra_env=env)
    for name in names:
        stack.wait_ready(stack.url(name))


class _Retrying:
    """An httpx client whose requests are tried again when the connection fails (a loaded machine
    drops some); every request the demo makes is safe to repeat (an event by its id, a consent
    after looking for it)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    async def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        for attempt in range(5):
            try:
                return await self._http.request(method, url, **kwargs)
            except httpx.TransportError:
                if attempt == 4:
                    raise
                await asyncio.sleep(1 + attempt)
        raise AssertionError("unreachable")

    async def get(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs) -> httpx.Response:
        return await self.request("POST", url, **kwargs)


class _Demo:
    def __init__(self, http: httpx.AsyncClient, info: dict) -> None:
        self.http, self.info = _Retrying(http), info
        self.gate = asyncio.Semaphore(PARALLEL)

    def auth(self, principal: str, role: str) -> dict:
        return {"Authorization": f"Bearer {self.info['tokens'][principal][role]}"}

    def url(self, service: str, path: str) -> str:
        return self.info["services"][service] + path

    async def statuses(self, principal: str, person: str) -> list[str]:
        url, headers = self.url("consent", "/v1/consents/search"), self.auth(principal, "coordinator")
        async with self.gate:
            response = await self.http.post(url, json={"person": person}, headers=headers)
        response.raise_for_status()
        return [c["status"] for c in response.json()["consents"]]

    async def consents(self, area: Area) -> dict[str, tuple[str, str]]:
        """Every consent recorded (once: a load cut short is taken up again); (recorder, consent id) by person."""

        async def record(consent) -> tuple[str, tuple[str, str]]:
            url, headers = self.url("consent", "/v1/consents/search"), self.auth(consent.recorder, "coordinator")
            async with self.gate:
                found = (await self.http.post(url, json={"person": consent.person}, headers=headers)).json()
            if found["consents"]:
                return consent.person, (consent.recorder, found["consents"][0]["id"])
            body = {**consent.fields, "person": consent.person, "form": "written", "recorded_by": "demo"}
            async with self.gate:
                response = await self.http.post(
                    self.url("consent", "/v1/consents"), json=body, headers=self.auth(consent.recorder, "coordinator")
                )
            _ok(response, f"the consent of demo person {area.consents.index(consent)}")
            return consent.person, (consent.recorder, response.json()["id"])

        return dict(await asyncio.gather(*(record(c) for c in area.consents)))

    async def events(self, events: list[Event]) -> None:
        """Each person's events in time order, the persons side by side."""
        by_person: dict[str, list[Event]] = {}
        for e in sorted(events, key=lambda e: e.time):
            by_person.setdefault(e.person, []).append(e)

        async def post_all(mine: list[Event]) -> None:
            for e in mine:
                async with self.gate:
                    response = await self.http.post(
                        self.url(e.sender, "/v1/events"), json=e.body(), headers=self.auth(e.sender, "system")
                    )
                if response.status_code != 409:  # 409: posted by a load cut short
                    _ok(response, f"demo event {e.id}")

        await asyncio.gather(*(post_all(mine) for mine in by_person.values()))

    async def receipts(self, area: Area) -> None:
        """The on-time receipts as soon as their events arrive; the late ones once they are overdue."""
        wanted = {(e.recipients[0], e.id): e for e in [*area.on_time, *area.late]}
        due = await self._arrived(set(wanted), timeout=180)
        await self._acknowledge([e for e in area.on_time], wanted)
        if area.late:
            wait = max(due[(e.recipients[0], e.id)] for e in area.late) - datetime.now(UTC)
            await asyncio.sleep(max(wait.total_seconds(), 0) + 3)  # the overdue scan runs every second
            await self._acknowledge(area.late, wanted)

    async def _arrived(self, wanted: set[tuple[str, str]], timeout: float) -> dict[tuple[str, str], datetime]:
        """Waits until every (recipient, event id) is in the recipient's inbox; their receipt deadlines."""
        found: dict[tuple[str, str], datetime] = {}
        cursors = dict.fromkeys({recipient for recipient, _ in wanted}, "0")
        deadline = time.monotonic() + timeout
        while not wanted <= set(found):
            if time.monotonic() > deadline:
                sys.exit(f"the demo's events did not all arrive: {len(wanted - set(found))} missing")
            for recipient, cursor in cursors.items():
                response = await self.http.get(
                    self.url(recipient, "/v1/inbox"), params={"after": cursor, "limit": 1000},
                    headers=self.auth(recipient, "system"),
                )  # fmt: skip
                response.raise_for_status()
                page = response.json()
                cursors[recipient] = page["next_cursor"]
                for item in page["events"]:
                    if item["receipt_due_at"]:
                        found[(recipient, item["event"]["id"])] = datetime.fromisoformat(item["receipt_due_at"])
            await asyncio.sleep(0.5)
        return found

    async def _acknowledge(self, events: list[Event], wanted: dict) -> None:
        async def ack(e: Event) -> None:
            recipient = e.recipients[0]
            async with self.gate:
                response = await self.http.post(
                    self.url(recipient, f"/v1/inbox/{e.id}/ack"), json={"sender": e.sender},
                    headers=self.auth(recipient, "system"),
                )  # fmt: skip
            _ok(response, f"the receipt of demo event {e.id}")

        await asyncio.gather(*(ack(e) for e in events))

    async def revoke(self, area: Area, consent_ids: dict[str, tuple[str, str]]) -> None:
        for person in area.revoked:
            recorder, consent_id = consent_ids[person]
            response = await self.http.post(
                self.url("consent", f"/v1/consents/{consent_id}/revoke"), headers=self.auth(recorder, "coordinator")
            )
            if response.status_code != 409:  # revoked by a load cut short
                _ok(response, "a demo revocation")


def _ok(response: httpx.Response, what: str) -> None:
    if not response.is_success:
        sys.exit(f"{what} refused: {response.status_code} {response.text}")


def _summary(area: Area, seconds: float) -> str:
    kinds = len({e.type for e in area.events})
    expiring = sum(1 for c in area.consents if (datetime.now(UTC).date() - _from(c)).days > 335)
    actions = sum(1 for e in area.events if e.type in ACTION_TYPES and e.recipients)
    return (
        f"Demo loaded in {seconds:.0f} s: {area.persons} persons and the 4 of the storyline, "
        f"{len(area.consents)} consents ({expiring} ending within 30 days, {len(area.revoked)} revoked), "
        f"{len(area.events)} events of {kinds} types over the past year; of {actions} that needed a receipt, "
        f"{len(area.on_time)} acknowledged in time, {len(area.late)} late, the rest overdue."
    )


def _recorder(area: Area, person: str) -> str:
    return next(c.recorder for c in area.consents if c.person == person)


def _from(consent):
    return datetime.fromisoformat(consent.fields["valid_from"]).date()


def main() -> None:
    stack = local_stack()
    path = stack.state_dir / "stack.json"
    info = json.loads(path.read_text())
    print("\n" + asyncio.run(load(stack, info)) + "\n")
    for name, url in info["services"].items():
        print(f"  {name:12} {url}   (API docs: {url}/docs)")
    print(f"\n  Kafka      {info['kafka']['bootstrap']}\n  PostgreSQL {info['postgres']['dsn']}")
    print(f"\nThe board: {info['board_page']}  (staff sign in through {info['identity_provider']})")
    for user in info.get("demo_users", []):
        note = "  (refused on purpose)" if user["refused"] else ""
        print(f"  {display_name(user['realm']):26} user {user['username']:16} password {user['password']}  "
              f"{user['role']}{note}")  # fmt: skip
    print(f"\nAddresses, and the systems' API tokens: {path}")
    print("Stop everything with: make down\n")


if __name__ == "__main__":
    main()
