"""Create every topic the deployment needs, with explicit partition counts (contracts/topics.py).

python -m deploy.topics --bootstrap 127.0.0.1:19092 --principals region-14,kommun-1489,kommun-1441
"""

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

from contracts.topics import topic_specs


async def create_topics(bootstrap: str, principals: list[str], replication_factor: int = 1) -> list[str]:
    """Creates what is missing; returns the names created. Existing topics are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in topic_specs(principals) if spec.name not in existing]
        if not missing:
            return []
        response = await admin.create_topics(
            [NewTopic(spec.name, spec.partitions, replication_factor, topic_configs=spec.config) for spec in missing]
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
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--principals", required=True, help="comma-separated principal ids")
    parser.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args()
    principals = [p.strip() for p in args.principals.split(",") if p.strip()]
    try:
        created = asyncio.run(create_topics(args.bootstrap, principals, args.replication_factor))
    except KafkaError as error:
        sys.exit(f"creating topics failed: {error}")
    print(f"created {len(created)} topics: {', '.join(created)}" if created else "every topic exists")


if __name__ == "__main__":
    main()
