"""No leak after revocation, with two gate replicas in one consumer group, a stream of events
in flight, revocations at random moments and, every other round, one gate killed with SIGKILL
and restarted — on the real broker and database.

The property, checked from the audit and the registry on the database's one clock:
every forward on the strength of a consent was decided before the consent's revocation was
committed, and no event posted after `revoke` returned crossed. Rounds and seed can be varied:
SAMORDNA_RACE_ROUNDS (default 4), SAMORDNA_RACE_SEED (default random, printed on failure).
"""

import asyncio
import os
import random
import signal
from datetime import datetime

import pytest

from tests.support.client import StackClient, event, eventually
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
PERSONS_PER_ROUND = 4
STREAM_SECONDS = 3.0
EVENTS_AFTER = 3  # events per person posted after its revocation returned


class SecondGate:
    """Another consent-service process: a second gate replica in the same consumer group."""

    def __init__(self, stack) -> None:
        self.stack = stack
        self.port = stack.service("consent").port + 1

    def start(self) -> None:
        self.stack.start_service(
            "consent", instance="consent-b", port=self.port, extra_env={"SAMORDNA_GATE_INSTANCE_ID": "gate-1"}
        )
        self.stack.wait_ready(f"http://127.0.0.1:{self.port}")

    async def kill_and_restart(self) -> None:
        """SIGKILL mid-batch, then start again: the group rebalances twice under load."""
        self.stack.stop_service("consent-b", signal.SIGKILL)
        await asyncio.to_thread(self.start)


@pytest.fixture(scope="module")
def second_gate(running_stack) -> SecondGate:
    gate = SecondGate(running_stack)
    gate.start()
    yield gate
    running_stack.stop_service("consent-b")


async def test_no_event_crosses_on_a_revoked_consent_with_two_gates(running_stack, second_gate):
    seed = int(os.environ.get("SAMORDNA_RACE_SEED", random.randrange(2**32)))
    rounds = int(os.environ.get("SAMORDNA_RACE_ROUNDS", 4))
    rng = random.Random(seed)
    client = StackClient(running_stack.stack_info())
    try:
        for round_number in range(rounds):
            restart = second_gate if round_number % 2 else None
            await _one_round(client, rng, f"seed {seed}, round {round_number}", restart)
    finally:
        await client.close()


async def _one_round(client: StackClient, rng: random.Random, label: str, restart: SecondGate | None) -> None:
    persons = [random_person_id(rng) for _ in range(PERSONS_PER_ROUND)]
    consents = {p: (await client.grant(REGION, p, [REGION, ALINGSAS]))["id"] for p in persons}
    posted: dict[str, list[tuple[str, datetime]]] = {p: [] for p in persons}
    revoke_returned: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    stop_at = loop.time() + STREAM_SECONDS

    def streaming(person: str) -> bool:
        """Until STREAM_SECONDS have passed and, whatever the machine's load, a few events of the
        person were posted after its revocation returned (the events the property is about)."""
        returned = revoke_returned.get(person)
        after = returned is not None and sum(sent_at > returned for _, sent_at in posted[person]) >= EVENTS_AFTER
        assert loop.time() < stop_at + 60, f"{label}: the revocation did not return within a minute"
        return loop.time() < stop_at or not after

    async def stream(person: str) -> None:
        while streaming(person):
            body = event(VISIT_MISSED, person)
            sent_at = loop.time()
            response = await client.post_event(REGION, body)
            assert response.status_code == 202, response.text
            posted[person].append((body["id"], sent_at))

    async def revoke_later(person: str) -> None:
        await asyncio.sleep(rng.uniform(0.2, STREAM_SECONDS - 0.5))
        response = await client.revoke(ALINGSAS, consents[person])
        assert response.status_code == 200, response.text
        revoke_returned[person] = loop.time()

    async def kill_a_gate_later() -> None:
        if restart is not None:
            await asyncio.sleep(rng.uniform(0.1, STREAM_SECONDS - 0.5))
            await restart.kill_and_restart()

    await asyncio.gather(*map(stream, persons), *map(revoke_later, persons), kill_a_gate_later())

    for person in persons:
        await _check_person(client, person, consents[person], posted[person], revoke_returned[person], label)


async def _check_person(client, person, consent_id, posted, revoke_returned, label) -> None:
    [consent] = [c for c in await _consents(client, person) if c["id"] == consent_id]
    revoked_at = datetime.fromisoformat(consent["revoked_at"])
    entries = await eventually(lambda: client.audit(REGION, person), lambda e: len(e) >= len(posted), timeout=60)
    by_event = {e["event_id"]: e for e in entries}
    assert set(by_event) == {event_id for event_id, _ in posted}, f"{label}: an event was not decided"

    for entry in entries:
        decided_at = datetime.fromisoformat(entry["decided_at"])
        if entry["forwarded"]:
            assert entry["consent_id"] == consent_id
            assert decided_at < revoked_at, f"{label}: forwarded at {decided_at}, revoked at {revoked_at}"
        else:
            assert entry["reason"] == "consent_revoked", f"{label}: {entry}"
    late = [event_id for event_id, sent_at in posted if sent_at > revoke_returned]
    assert late, f"{label}: the stream should outlive the revocation"
    assert not [e for e in late if by_event[e]["forwarded"]], f"{label}: an event posted after revoke crossed"

    forwarded = {e["event_id"] for e in entries if e["forwarded"]}
    inbox = await eventually(lambda: client.inbox_ids(ALINGSAS), lambda ids: forwarded <= set(ids))
    person_ids = {event_id for event_id, _ in posted}
    assert set(inbox) & person_ids == forwarded, f"{label}: the inbox differs from the audit"


async def _consents(client: StackClient, person: str) -> list[dict]:
    response = await client.http.post(
        client.url("consent", "/v1/consents/search"),
        json={"person": person},
        headers={"Authorization": f"Bearer {client.info['tokens'][REGION]['coordinator']}"},
    )
    return response.json()["consents"]
