"""Dead letters of a principal's topics: listed through its gateway, and replayed by the command.

A partner's Kafka-speaking system writes straight to its events topic, so a malformed record
can reach the gate without passing the gateway's validation; the gate puts it on dead.letters,
and the partner's gateway shows it.
"""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime

from contracts import DeadLetter
from contracts.topics import dead_letters_topic, events_topic
from deploy.stack import REPO
from tests.support.client import StackClient, event, eventually
from tests.support.kafka import produce
from tests.support.personnummer import random_person_id

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"


async def dead_letters(client: StackClient, principal: str, status: str = "open") -> list[dict]:
    response = await client.get(principal, "/v1/dead-letters", principal, status=status, limit=1000)
    assert response.status_code == 200, response.text
    return response.json()["dead_letters"]


async def test_a_malformed_record_from_a_partner_system_is_listed_by_its_own_gateway(running_stack):
    client = StackClient(running_stack.stack_info())
    marker = uuid.uuid4().hex
    await produce(running_stack.kafka_options(LERUM), events_topic(LERUM), f'{{"broken": "{marker}"'.encode())

    letters = await eventually(
        lambda: dead_letters(client, LERUM), lambda letters: any(marker in d["value"] for d in letters)
    )

    [letter] = [d for d in letters if marker in d["value"]]
    assert letter["origin_topic"] == events_topic(LERUM)
    assert letter["consumer"] == "gate"
    assert "not valid JSON" in letter["reason"]
    assert not any(marker in d["value"] for d in await dead_letters(client, ALINGSAS))
    forbidden = await client.get(LERUM, "/v1/dead-letters", LERUM, role="coordinator")
    assert forbidden.status_code == 403
    await client.close()


async def test_a_dead_letter_replayed_once_the_consumer_is_fixed_crosses_the_gate(running_stack):
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    await client.grant(LERUM, person, [REGION, LERUM])
    body = event(INTERVENTION_DECIDED, person) | {"principal": LERUM, "category": "interventions"}
    # as if a consumer had wrongly refused a valid record of Lerum's events topic
    letter = DeadLetter(
        origin_topic=events_topic(LERUM),
        origin_partition=0,
        origin_offset=10**9 + uuid.uuid4().int % 10**6,
        consumer="gate",
        reason="refused by a consumer bug, since fixed",
        key="replay-test",
        value=json.dumps(body),
        failed_at=datetime.now(UTC),
    )
    await produce(running_stack.kafka_options(), dead_letters_topic(LERUM), letter.model_dump_json().encode())
    letters = await eventually(
        lambda: dead_letters(client, LERUM), lambda letters: any(body["id"] in d["value"] for d in letters)
    )
    [stored] = [d for d in letters if body["id"] in d["value"]]

    listing = _command(running_stack, "list")
    replay = _command(running_stack, "replay", "--id", str(stored["id"]))

    assert replay.returncode == 0, replay.stderr
    assert f"replayed 1 dead letter(s): {stored['id']}" in replay.stdout
    assert str(stored["id"]) in listing.stdout and person not in listing.stdout  # no values unless asked
    inbox = await eventually(lambda: client.inbox_ids(REGION), lambda ids: body["id"] in ids)
    assert body["id"] in inbox
    replayed = [d for d in await dead_letters(client, LERUM, "replayed") if d["id"] == stored["id"]]
    assert replayed and replayed[0]["replayed_at"] is not None
    again = _command(running_stack, "replay", "--id", str(stored["id"]))
    assert "replayed 0 dead letter(s)" in again.stdout  # a replayed letter is not replayed twice
    await client.close()


def _command(stack, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "SAMORDNA_DATABASE_URL": stack.dsn,
        **stack.kafka_env(LERUM),  # the gateway's own Kafka user
    }
    return subprocess.run(
        [sys.executable, "-m", "services.gateway.dead_letters", "--principal", LERUM, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
