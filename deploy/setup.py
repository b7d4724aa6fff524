"""Prepare an existing Kafka cluster for a deployment: every topic, every Kafka user and its ACLs.

    python -m deploy.setup --principals principals.json --passwords kafka-users/

`principals.json` names the region and the municipalities (the format of deploy/principals.json);
`--passwords` is a directory of one file per Kafka user, named by the user and holding its
password (a mounted Kubernetes Secret), or a JSON object of user -> password. The users are
every principal id (its gateway), `samordna-gate` and `samordna-board`.

Connects as the cluster's administrator with the SAMORDNA_KAFKA_* settings. Both steps are
idempotent: run it at installation and again whenever principals.json or a password changes.
The `tools` image runs it as the Kubernetes Job `samordna-setup` and the Compose `setup` service.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

from aiokafka.errors import KafkaError
from confluent_kafka import KafkaException

from deploy import access
from deploy.topics import TopicSettings, create_topics
from services.runtime.kafka import client_options
from services.runtime.serve import load_settings


class SetupSettings(TopicSettings):
    """The Kafka administrator's connection (SAMORDNA_KAFKA_*) and the topics' retention: no API
    and no persons here, so production asks for neither the pseudonym key nor API identities, only
    for SASL."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--principals", type=Path, required=True, help="JSON description of the principals")
    parser.add_argument("--passwords", type=Path, required=True, help="directory of one file per Kafka user, or JSON")
    args = parser.parse_args()
    settings = load_settings(SetupSettings)
    try:
        principals = access.principals_from(json.loads(args.principals.read_text()))
        passwords = access.read_passwords(args.passwords)
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit(f"setup: cannot read {args.principals} or {args.passwords}: {error!r}")
    try:
        access.check_passwords(principals, passwords)  # before anything is made
    except ValueError as error:
        sys.exit(f"setup: {error} (in {args.passwords})")
    try:
        created = asyncio.run(create_topics(client_options(settings), principals, settings.retention))
        print(f"topics: {len(created)} created" + (f" ({', '.join(created)})" if created else ", every topic exists"))
        done = access.apply(access.admin_client(settings), principals, passwords)
    except (KafkaError, KafkaException, ValueError) as error:
        sys.exit(f"setup failed: {error}")
    print(f"kafka users: {done['users']}; ACLs: {done['acls']} ({done['added']} added, {done['removed']} removed)")


if __name__ == "__main__":
    main()
