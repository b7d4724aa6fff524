"""Create every topic the deployment needs, with explicit partition counts (contracts/topics.py).

python -m deploy.topics --principals region-14,kommun-1489,kommun-1441

Connects with the SAMORDNA_KAFKA_* settings (as a user allowed to create topics, e.g. the
administrator). Replication follows the cluster: three copies with at least two in sync when
it has three brokers or more, so that a broker may fail without losing an acknowledged record.
"""

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from contracts.topics import topic_specs
from services.runtime.kafka import client_options
from services.runtime.settings import ServiceSettings


def replication(brokers: int) -> tuple[int, dict[str, str]]:
    """Replication factor and topic settings for a cluster of this many brokers."""
    if brokers >= 3:
        return 3, {"min.insync.replicas": "2"}
    return brokers, {"min.insync.replicas": "1"}


async def create_topics(kafka: dict, principals: list[str]) -> list[str]:
    """Creates what is missing; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(**kafka)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(principals) if spec.name not in existing]
        if not missing:
            return []
        brokers = len((await admin.describe_cluster())["brokers"])
        factor, config = replication(brokers)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--principals", required=True, help="comma-separated principal ids")
    args = parser.parse_args()
    principals = [p.strip() for p in args.principals.split(",") if p.strip()]
    try:
        created = asyncio.run(create_topics(client_options(ServiceSettings()), principals))
    except KafkaError as error:
        sys.exit(f"creating topics failed: {error}")
    print(f"created {len(created)} topics: {', '.join(created)}" if created else "every topic exists")


if __name__ == "__main__":
    main()
