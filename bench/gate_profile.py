"""Where the gate's time goes: py-spy's raw (folded) samples of bench.gate, summed by part.

    .venv/bin/py-spy record -r 200 -f raw -o gate.raw -- .venv/bin/python -m bench.gate --paths gate \\
        --consents 10000 --runs 3
    .venv/bin/python -m bench.gate_profile gate.raw

Each sample is one stack of the benchmark's one thread (asyncio: the coroutine running at that
moment), so a part's share is its share of the CPU the gate's process used while deciding. The
first rule whose function appears in a stack takes the sample; samples of filling the topic and
seeding the registry are left out. docs/performance.md, "The gate", has a breakdown.
"""

import argparse
import re
from collections import Counter

# (part, functions any one of which in a stack puts the sample in it), first match wins
PARTS = [
    ("parsing and validation (parse_event)", ["parse_event"]),
    ("pseudonyms (HMAC)", ["Pseudonymizer.of"]),
    ("deciding (decide_batch)", ["decide_batch"]),
    ("sealing (AES-GCM, the board's copy)", ["seal_event", "Keys.seal", "sealed_json", "seal"]),
    ("record building and serialisation", ["plan_decided", "_decisions_record", "_decision_record"]),
    (
        "PostgreSQL: locks, numbers, keys",
        [
            "lock_consents_of",
            "take_delivery_numbers",
            "keys_for",
            "database_now",
            "lock_and_number",
            "asyncpg",
            "Transaction",
        ],
    ),  # fmt: skip
    ("aiokafka send (accumulator, batches)", ["Gate._send", "AIOKafkaProducer.send", "send_all", "send_batch"]),
    (
        "transaction round trips (begin, offsets, commit)",
        ["send_offsets_to_transaction", "TransactionManager", "commit_transaction", "transaction", "_write"],
    ),  # fmt: skip
    ("aiokafka producer I/O (sender task)", ["Sender", "_sender_routine", "producer/sender.py"]),
    ("aiokafka consumer (fetch, decode)", ["Fetcher", "fetched_records", "getmany", "consumer/fetcher.py"]),
    ("kafka protocol and connections", ["aiokafka/conn.py", "aiokafka/protocol", "aiokafka/record"]),
    ("metrics and logging", ["prometheus_client", "logging/"]),
    ("event loop and the rest", [""]),
]
LEFT_OUT = ["seed_consents", "fill_topic", "pass_through", "create_pool", "stack_from_env", "infrastructure"]
_FRAME = re.compile(r"([^;]+?) \(([^;]*?)(?::\d+)?\)")


def breakdown(lines: list[str]) -> tuple[Counter, int]:
    parts: Counter = Counter()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit() or any(f in stack for f in LEFT_OUT):
            continue
        frames = " ".join(f"{name} {where}" for name, where in _FRAME.findall(stack))
        for part, functions in PARTS:
            if any(f in frames for f in functions):
                parts[part] += int(count)
                break
    return parts, sum(parts.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("raw", help="py-spy record -f raw output")
    args = parser.parse_args()
    with open(args.raw) as f:
        parts, total = breakdown(f.readlines())
    print(f"{total} samples of the gate's process (filling and seeding left out)\n")
    for part, _ in PARTS:
        if parts[part]:
            print(f"{parts[part] / total:>6.1%}  {part}")


if __name__ == "__main__":
    main()
