"""Which rows of a partly acknowledged relay batch may be marked published."""

import random

from services.runtime.outbox import publishable_prefix


def test_every_acknowledged_row_is_marked_when_nothing_failed():
    assert publishable_prefix(["a", "b", "a"], [True, True, True]) == [0, 1, 2]


def test_a_keys_rows_after_its_first_failure_wait_for_it_other_keys_go_on():
    keys = ["a", "b", "a", "c", "a", "b"]
    acked = [True, False, True, True, False, True]
    assert publishable_prefix(keys, acked) == [0, 2, 3]


def test_against_a_model_marked_rows_are_acknowledged_and_leave_no_hole_in_a_key():
    seed = random.randrange(2**32)
    rng = random.Random(seed)
    for _ in range(2000):
        keys = [rng.choice("abcd") for _ in range(rng.randrange(0, 12))]
        acked = [rng.random() < 0.7 for _ in keys]
        marked = set(publishable_prefix(keys, acked))
        for key in set(keys):
            rows = [i for i, k in enumerate(keys) if k == key]
            first_failure = next((i for i in rows if not acked[i]), None)
            expected = {i for i in rows if first_failure is None or i < first_failure}
            assert {i for i in marked if keys[i] == key} == expected, f"seed {seed}: {keys} {acked}"
