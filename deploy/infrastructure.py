"""Kafka and PostgreSQL of a local stack, run by deploy/kafka.sh and deploy/postgres.sh, and what
the brokers must have before a service connects: its topics, and users that authenticate."""

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from deploy.layout import DEPLOY, REPO, Layout

SCRIPTS = ("postgres.sh", "kafka.sh")


@dataclass(frozen=True)
class Infrastructure:
    state_dir: Path
    layout: Layout

    def script_env(self) -> dict[str, str]:
        """The settings kafka.sh and postgres.sh read (see their headers)."""
        return {
            **os.environ,
            "SAMORDNA_STATE_DIR": str(self.state_dir),
            "KAFKA_PORT": str(self.layout.kafka_port),
            "KAFKA_NODES": str(self.layout.kafka_nodes),
            "KAFKA_TLS_PORT": str(self.layout.kafka_tls_port or ""),
            "PG_PORT": str(self.layout.pg_port),
        }

    def run(self, action: str) -> None:
        """start, stop, kill or reset Kafka and PostgreSQL; the first that fails raises."""
        for script in SCRIPTS:
            subprocess.run([str(DEPLOY / script), action], env=self.script_env(), check=True)

    def kafka(self, action: str, *nodes: int) -> None:
        """start, stop, kill or status of Kafka: every node, or these (start and kill)."""
        subprocess.run([str(DEPLOY / "kafka.sh"), action, *map(str, nodes)], env=self.script_env(), check=True)

    def postgres(self, action: str) -> None:
        """start, stop or kill PostgreSQL alone."""
        subprocess.run([str(DEPLOY / "postgres.sh"), action], env=self.script_env(), check=True)

    def stop_all(self) -> None:
        """Stop Kafka, then PostgreSQL, each whether or not the other stopped."""
        for script in reversed(SCRIPTS):
            subprocess.run([str(DEPLOY / script), "stop"], env=self.script_env(), check=False)


def run_topics_script(principals: list[str], admin_env: dict[str, str]) -> None:
    """Every topic of these principals (deploy/topics.py), as the administrator."""
    subprocess.run(
        [sys.executable, "-m", "deploy.topics", "--principals", ",".join(principals)],
        cwd=REPO,
        env={**os.environ, **admin_env},
        check=True,
    )


async def until_users_authenticate(
    users: Iterable[str], options_of: Callable[[str], dict], timeout: float = 30
) -> None:
    """New SCRAM users reach the brokers' authenticators a moment after the controller has
    them: wait for that, so that nothing started next is refused by the broker."""
    from aiokafka import AIOKafkaProducer

    deadline = time.monotonic() + timeout
    # aiokafka logs every refused attempt as an error; here a refusal is what is waited out
    aiokafka_log = logging.getLogger("aiokafka")
    level = aiokafka_log.level
    aiokafka_log.setLevel(logging.CRITICAL)
    try:
        for user in users:
            while True:
                producer = AIOKafkaProducer(**options_of(user), request_timeout_ms=5000)
                try:
                    await producer.start()
                    break
                except Exception:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
                finally:
                    await producer.stop()
    finally:
        aiokafka_log.setLevel(level)
