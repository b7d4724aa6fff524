"""Under load, the sender gateway, the recipient gateway and the consent service (gate and audit
writer) are killed with SIGKILL at random moments and restarted. Partner systems post each event
until it is answered 202, as they would. Afterwards every accepted event is accounted for:
in the recipient's inbox exactly once when a consent allowed it; audited as `no_consent` and in
no inbox when none did. SAMORDNA_FAULT_SEED repeats a run (the seed is printed)."""

import asyncio
import os
import random

from tests.support.client import event
from tests.support.faults import Posted, assert_all_accounted_for, kill_and_restart, post_until_accepted
from tests.support.personnummer import random_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"
INTERVENTION_DECIDED = "se.samordna.municipality.intervention.decided.v1"
POSTERS = 3
VICTIMS = [REGION, ALINGSAS, "consent", REGION, ALINGSAS]


async def test_random_sigkills_under_load_lose_and_duplicate_nothing(healthy_stack, client):
    stack = healthy_stack
    seed = int(os.environ.get("SAMORDNA_FAULT_SEED", random.randrange(2**32)))
    print(f"\nrandom kills: SAMORDNA_FAULT_SEED={seed}")
    label = f"SAMORDNA_FAULT_SEED={seed}"
    rng = random.Random(seed)
    with_consent = [random_person_id(rng) for _ in range(3)]
    without_consent = [random_person_id(rng) for _ in range(2)]
    for person in with_consent:
        await client.grant(REGION, person, [REGION, ALINGSAS])
    victims = rng.sample(VICTIMS, len(VICTIMS))
    pauses = [rng.uniform(1.0, 4.0) for _ in victims]
    poster_seeds = [rng.randrange(2**32) for _ in range(POSTERS)]
    posted: list[Posted] = []
    attempts: list[int] = []
    done = asyncio.Event()

    async def post(poster_seed: int) -> None:
        own = random.Random(poster_seed)
        while not done.is_set():
            if own.random() < 0.25:  # now and then the municipality reports back to the region
                sender, event_type, person = ALINGSAS, INTERVENTION_DECIDED, own.choice(with_consent)
                recipient = REGION
            else:
                sender, event_type, person = REGION, VISIT_MISSED, own.choice(with_consent + without_consent)
                recipient = ALINGSAS if person in with_consent else None
            body = event(event_type, person)
            attempts.append(await post_until_accepted(client, sender, body))
            posted.append(Posted(sender, body, recipient))
            await asyncio.sleep(own.uniform(0.05, 0.3))

    async def kill_at_random() -> None:
        for victim, pause in zip(victims, pauses, strict=True):
            await asyncio.sleep(pause)
            print(f"random kills: SIGKILL {victim} after {len(posted)} accepted events")
            await kill_and_restart(stack, victim)
        await asyncio.sleep(2)
        done.set()

    await asyncio.gather(kill_at_random(), *(post(s) for s in poster_seeds))
    retried = sum(a > 1 for a in attempts)
    assert retried, f"{label}: no post had to be retried; did the sender gateway really go away?"

    stats = await assert_all_accounted_for(client, posted, label)
    print(f"random kills: {stats}, {retried} events posted more than once before a 202")
