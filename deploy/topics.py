"""Create every topic the deployment needs, with explicit partition counts and retention
(contracts/topics.py), and hold the topics that exist to the same retention.

python -m deploy.topics --principals region-14,kommun-1489,kommun-1441

Connects with the SAMORDNA_KAFKA_* settings (as a user allowed to create topics, e.g. the
administrator). Replication follows the cluster: three copies with at least two in sync when
it has three brokers or more, so that a broker may fail without losing an acknowledged record.
The retention of the topics that hold personal data in the clear is configured
(SAMORDNA_*_RETENTION_HOURS, docs/privacy.md); running this again applies a changed value.
"""

import argparse
import asyncio
import sys
from typing import ClassVar

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code
from pydantic import PositiveFloat

from contracts.topics import Retention, TopicSpec, topic_specs
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings
from services.runtime.settings import ServiceSettings

_DEFAULT = Retention()


class TopicSettings(ServiceSettings):
    """The Kafka administrator's connection (SAMORDNA_KAFKA_*) and the topics' retention: no API
    and no persons here, so production asks for neither the pseudonym key nor API identities."""

    serves_api: ClassVar[bool] = False

    events_retention_hours: PositiveFloat = _DEFAULT.events_hours
    deliveries_retention_hours: PositiveFloat = _DEFAULT.deliveries_hours
    decisions_retention_hours: PositiveFloat = _DEFAULT.decisions_hours
    dead_letters_retention_hours: PositiveFloat = _DEFAULT.dead_letters_hours

    @property
    def retention(self) -> Retention:
        return Retention(
            events_hours=self.events_retention_hours,
            deliveries_hours=self.deliveries_retention_hours,
            decisions_hours=self.decisions_retention_hours,
            dead_letters_hours=self.dead_letters_retention_hours,
        )


def replication(brokers: int) -> tuple[int, dict[str, str]]:
    """Replication factor and topic settings for a cluster of this many brokers."""
    if brokers >= 3:
        return 3, {"min.insync.replicas": "2"}
    return brokers, {"min.insync.replicas": "1"}


async def create_topics(kafka: dict, principals: list[str], retention: Retention | None = None) -> list[str]:
    """Creates what is missing and sets the configuration of what exists to the same (partitions
    are left as they are); returns the names created."""
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        specs = topic_specs(principals, retention)
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        brokers = len((await admin.describe_cluster())["brokers"])
        factor, config = replication(brokers)
        await _configure(admin, [spec for spec in specs if spec.name in existing], config)
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(spec.name, spec.partitions, factor, topic_configs=config | spec.config) for spec in missing]
        )
        # aiokafka reports a refused topic in the response instead of raising.
        created = []
        for topic, error_code, *message in response.topic_errors:
            if error_code == TopicAlreadyExistsError.errno:  # created meanwhile by someone else
                continue
            if error_code:
                raise for_code(error_code)(f"topic {topic}: {''.join(m or '' for m in message)}")
            created.append(topic)
        return created
    finally:
        await admin.close()


async def _configure(admin: AIOKafkaAdminClient, specs: list[TopicSpec], config: dict[str, str]) -> None:
    """The whole configuration of each topic (AlterConfigs replaces what was set before)."""
    if not specs:
        return
    resources = [ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=config | spec.config) for spec in specs]
    for response in await admin.alter_configs(resources):
        for error_code, message, _kind, name in response.resources:
            if error_code:
                raise for_code(error_code)(f"topic {name}: {message or ''}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--principals", required=True, help="comma-separated principal ids")
    args = parser.parse_args()
    principals = [p.strip() for p in args.principals.split(",") if p.strip()]
    try:
        settings = load_settings(TopicSettings)
        created = asyncio.run(create_topics(client_options(settings), principals, settings.retention))
    except KafkaError as error:
        sys.exit(f"creating topics failed: {error}")
    print(f"created {len(created)} topics: {', '.join(created)}" if created else "every topic exists")


if __name__ == "__main__":
    main()
