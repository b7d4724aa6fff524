"""The CPU the gate's pure core spends per event, stage by stage, with no broker and no database.

    .venv/bin/python -m bench.gate_cpu [--events 500] [--repeats 30]

A batch of `--events` records like bench.gate's (2 000 persons, one consent each naming the
region and Alingsås) is read, decided and planned `--repeats` times; each stage's figure is the
least CPU time (time.process_time, so time spent waiting for a core on a shared machine does not
count) per event over the repeats. The I/O stages (PostgreSQL, aiokafka, the transaction) are
in bench.gate_profile's breakdown of a bench.gate run.
"""

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import ConsumerRecord

from bench.gate import ALINGSAS, PERSONS, REGION, event_value, machine
from contracts import parse_event
from contracts.sealing import new_key
from contracts.topics import events_topic
from services.consent.domain import SHAREABLE_CATEGORIES, Consent
from services.consent.erasure import Keys
from services.consent.plan import decide_batch, plain, plan_decided, read_batch
from services.runtime.pseudonym import Pseudonymizer
from tests.support.personnummer import random_person_id


def _least(repeats: int, run) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        run()
        best = min(best, time.process_time() - started)
    return best


def main(events: int, repeats: int) -> None:
    print(machine())
    print(f"settings: {events} events per batch, least of {repeats} repeats, CPU time (process_time)\n")
    pseudonyms = Pseudonymizer(b"bench")
    persons = [random_person_id(random.Random(i)) for i in range(PERSONS)]
    topic, now = events_topic(REGION), datetime.now(UTC)
    records = []
    for i in range(events):
        person = persons[i % len(persons)].replace("-", "")
        value = event_value(persons[i % len(persons)])
        key = pseudonyms.of(person).encode()
        records.append(ConsumerRecord(topic, i % 6, i, 0, 0, key, value, None, len(key), len(value), ()))
    consents, keys = {}, {}
    for person in persons:
        pseudonym = pseudonyms.of(person.replace("-", ""))
        consent = Consent(uuid.uuid4(), pseudonym, frozenset([REGION, ALINGSAS]), frozenset(SHAREABLE_CATEGORIES),
                          now - timedelta(days=30), now + timedelta(days=300))  # fmt: skip
        consents[pseudonym] = [consent]
        keys[str(consent.id)] = (f"consent-{consent.id}", new_key())
    batch = read_batch(records, pseudonyms.of)
    decided = decide_batch(batch, consents, {}, now)
    subjects = [json.loads(r.value)["subject"].replace("-", "") for r in records]
    stages = [
        ("parsing and validation (parse_event)", lambda: [parse_event(r.value) for r in records]),
        ("pseudonyms (HMAC-SHA-256)", lambda: [pseudonyms.of(s) for s in subjects]),
        ("read_batch (parse + pseudonym + owner)", lambda: read_batch(records, pseudonyms.of)),
        ("deciding (decide_batch)", lambda: decide_batch(batch, consents, {}, now)),
        ("record building, board copy unsealed", lambda: plan_decided(decided, {ALINGSAS: 1}, plain)),
        ("record building, board copy sealed", lambda: plan_decided(decided, {ALINGSAS: 1}, Keys(keys, {}).seal)),
    ]
    print(f"{'stage':<42} {'µs/event':>9}")
    for name, run in stages:
        print(f"{name:<42} {_least(repeats, run) / events * 1e6:>9.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    main(args.events, args.repeats)
