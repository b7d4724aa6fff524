"""Kafka users and ACLs of a deployment, derived from one description of its principals.

    python -m deploy.access show  --principals deploy/principals.json
    python -m deploy.access apply --principals deploy/principals.json --passwords kafka-passwords.json

`principals.json` names the region and the municipalities (see deploy/principals.json); the
passwords file maps each Kafka user to its password: every principal id (its gateway), plus
`samordna-gate` (the consent service) and `samordna-board`. The command connects as the
cluster's administrator with the same SAMORDNA_KAFKA_* settings the services read.

What each user may do — the broker's StandardAuthorizer refuses everything else:

- a gateway (user = its principal id) writes only `events.<principal>`, reads only
  `deliveries.<principal>`, keeps its own dead letters in `dead.letters.<principal>`, and uses
  only consumer groups of its own (`samordna-inbox-<p>`, `samordna-dead-letters-<p>`, and any
  group beginning `<principal>.` for the principal's own Kafka-speaking systems). It reads no
  events topic at all.
- the gate (`samordna-gate`) is the only reader of `events.*`; it writes the deliveries,
  `shared.events`, `gate.decisions`, `consent.changes` and dead letters, in transactions. It
  alone writes `audit.checkpoints` (and reads it, to verify the audit); no other user may. It
  deletes from `events.*`, `deliveries.*`, `dead.letters.*` and `gate.decisions` what every
  reader has taken once a person's keys are erased, and so may describe the readers' groups
  and read the deliveries and dead letters (records it wrote).
- the board (`samordna-board`) reads `shared.events` and `consent.changes`, and may describe
  (not read) every topic and Samordna group, for consumer lag on the ops dashboard.

`apply` is idempotent: users get their password (set again if changed), missing ACLs are
added, and ACLs of these users that the plan no longer holds are removed.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from contracts.principals import municipality, region
from contracts.topics import (
    AUDIT_CHECKPOINTS,
    CONSENT_CHANGES,
    DEAD_LETTERS,
    DELIVERIES_PREFIX,
    EVENTS_PREFIX,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_group,
    dead_letters_topic,
    deliveries_topic,
    events_topic,
    inbox_group,
    own_systems_groups,
)

GATE_USER = "samordna-gate"
BOARD_USER = "samordna-board"
SCRAM_ITERATIONS = 8192

READ, WRITE, DESCRIBE, DELETE = AclOperation.READ, AclOperation.WRITE, AclOperation.DESCRIBE, AclOperation.DELETE
TOPIC, GROUP, TRANSACTIONAL_ID = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID
LITERAL, PREFIXED = ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW rule: `user` may do `operation` on resources of `kind` named (or prefixed) `name`."""

    user: str
    kind: ResourceType
    name: str
    pattern: ResourcePatternType
    operation: AclOperation

    def binding(self) -> AclBinding:
        return AclBinding(
            self.kind, self.name, self.pattern, f"User:{self.user}", "*", self.operation, AclPermissionType.ALLOW
        )

    def __str__(self) -> str:
        prefix = "*" if self.pattern == PREFIXED else ""
        return f"{self.user:16} {self.operation.name:8} {self.kind.name.lower()} {self.name}{prefix}"


def principals_from(description: dict) -> list[str]:
    """Principal ids from a description: {"region": {"lanskod": "14"}, "municipalities": [{"kommunkod": "1489"}]}."""
    return [region(description["region"]["lanskod"])] + [
        municipality(entry["kommunkod"]) for entry in description["municipalities"]
    ]


def _grants(user: str, kind: ResourceType, name: str, pattern: ResourcePatternType, *operations) -> list[Grant]:
    return [Grant(user, kind, name, pattern, operation) for operation in operations]


def gateway_grants(principal: str) -> list[Grant]:
    return [
        *_grants(principal, TOPIC, events_topic(principal), LITERAL, WRITE, DESCRIBE),
        *_grants(principal, TOPIC, deliveries_topic(principal), LITERAL, READ, DESCRIBE),
        *_grants(principal, TOPIC, dead_letters_topic(principal), LITERAL, READ, WRITE, DESCRIBE),
        *_grants(principal, GROUP, inbox_group(principal), LITERAL, READ),
        *_grants(principal, GROUP, dead_letters_group(principal), LITERAL, READ),
        *_grants(principal, GROUP, own_systems_groups(principal), PREFIXED, READ),
    ]


def gate_grants() -> list[Grant]:
    return [
        *_grants(GATE_USER, TOPIC, EVENTS_PREFIX, PREFIXED, READ, DESCRIBE),
        *_grants(GATE_USER, TOPIC, DELIVERIES_PREFIX, PREFIXED, WRITE, DESCRIBE),
        *_grants(GATE_USER, TOPIC, SHARED_EVENTS, LITERAL, WRITE, DESCRIBE),
        *_grants(GATE_USER, TOPIC, GATE_DECISIONS, LITERAL, READ, WRITE, DESCRIBE),  # read: the audit writer
        *_grants(GATE_USER, TOPIC, CONSENT_CHANGES, LITERAL, WRITE, DESCRIBE),
        *_grants(GATE_USER, TOPIC, AUDIT_CHECKPOINTS, LITERAL, READ, WRITE, DESCRIBE),  # read: verify_audit
        *_grants(GATE_USER, TOPIC, DEAD_LETTERS, PREFIXED, WRITE, DESCRIBE),  # dead.letters and dead.letters.<p>
        *_grants(GATE_USER, GROUP, "samordna-gate", LITERAL, READ),
        *_grants(GATE_USER, GROUP, "samordna-audit", LITERAL, READ),
        *_grants(GATE_USER, TRANSACTIONAL_ID, "samordna-gate", PREFIXED, WRITE, DESCRIBE),
    ]


def log_erasure_grants(principals: list[str]) -> list[Grant]:
    """The gate's user also erases from the topics that hold persons in the clear what their
    readers have taken (services/consent/log_erasure.py): DeleteRecords there, the offsets of
    the groups that read them, and a read of the deliveries and dead letters it wrote itself, to
    find where a reader has only transaction markers and aborted records left."""
    return [
        *_grants(GATE_USER, TOPIC, EVENTS_PREFIX, PREFIXED, DELETE),
        *_grants(GATE_USER, TOPIC, DELIVERIES_PREFIX, PREFIXED, READ, DELETE),
        *_grants(GATE_USER, TOPIC, f"{DEAD_LETTERS}.", PREFIXED, READ, DELETE),
        *_grants(GATE_USER, TOPIC, GATE_DECISIONS, LITERAL, DELETE),
        *_grants(GATE_USER, GROUP, "samordna-", PREFIXED, DESCRIBE),
        *[g for p in principals for g in _grants(GATE_USER, GROUP, own_systems_groups(p), PREFIXED, DESCRIBE)],
    ]


def board_grants() -> list[Grant]:
    return [
        *_grants(BOARD_USER, TOPIC, SHARED_EVENTS, LITERAL, READ, DESCRIBE),
        *_grants(BOARD_USER, TOPIC, CONSENT_CHANGES, LITERAL, READ, DESCRIBE),
        *_grants(BOARD_USER, TOPIC, DEAD_LETTERS, LITERAL, WRITE),
        *_grants(BOARD_USER, GROUP, "samordna-board", PREFIXED, READ),
        # consumer lag for the ops dashboard: offsets and group positions, never a record
        *_grants(BOARD_USER, TOPIC, "*", LITERAL, DESCRIBE),
        *_grants(BOARD_USER, GROUP, "samordna-", PREFIXED, DESCRIBE),
    ]


def plan(principals: list[str]) -> list[Grant]:
    """Every ACL of a deployment serving these principals."""
    grants = [grant for principal in principals for grant in gateway_grants(principal)]
    return sorted(grants + gate_grants() + log_erasure_grants(principals) + board_grants())


def users(principals: list[str]) -> list[str]:
    return [*principals, GATE_USER, BOARD_USER]


# ---- applying it to a cluster ----------------------------------------------------------------


def admin_client(settings) -> AdminClient:
    """An AdminClient connected with the SAMORDNA_KAFKA_* settings (ServiceSettings)."""
    config = {"bootstrap.servers": settings.kafka_bootstrap, "security.protocol": settings.kafka_security_protocol}
    if settings.kafka_security_protocol != "PLAINTEXT":
        config |= {
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_username,
            "sasl.password": settings.kafka_password.get_secret_value(),
        }
    if settings.kafka_ca_file:
        config["ssl.ca.location"] = str(settings.kafka_ca_file)
    return AdminClient(config)


def check_passwords(principals: list[str], passwords: dict[str, str]) -> None:
    """Raises ValueError naming every user of the plan without a password."""
    missing = [user for user in users(principals) if not passwords.get(user)]
    if missing:
        raise ValueError(f"no password for Kafka user(s): {', '.join(missing)}")


def apply(admin: AdminClient, principals: list[str], passwords: dict[str, str], timeout: float = 30) -> dict:
    """Make the cluster's users and ACLs match the plan; returns what was done."""
    wanted_users = users(principals)
    check_passwords(principals, passwords)
    mechanism = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS)
    upserts = [UserScramCredentialUpsertion(user, mechanism, passwords[user].encode()) for user in wanted_users]
    for future in admin.alter_user_scram_credentials(upserts, request_timeout=timeout).values():
        future.result()

    wanted = {grant.binding() for grant in plan(principals)}
    existing = set()
    for user in wanted_users:
        found = admin.describe_acls(_of_user(user), request_timeout=timeout).result()
        existing |= set(found)
    stale = [binding for binding in existing if binding not in wanted]
    added = [binding for binding in wanted if binding not in existing]
    if added:
        for future in admin.create_acls(added, request_timeout=timeout).values():
            future.result()
    if stale:
        for future in admin.delete_acls([_exactly(b) for b in stale], request_timeout=timeout).values():
            future.result()
    return {"users": len(wanted_users), "acls": len(wanted), "added": len(added), "removed": len(stale)}


def read_passwords(path: Path) -> dict[str, str]:
    """Kafka user -> password, from a JSON object or from a directory holding one file per user,
    named by the user (a mounted Kubernetes Secret, or the Compose trial's secrets/kafka-users)."""
    if path.is_dir():
        return {
            entry.name: entry.read_text().strip()
            for entry in sorted(path.iterdir())
            if entry.is_file() and not entry.name.startswith(".")
        }
    passwords = json.loads(path.read_text())
    if not isinstance(passwords, dict):
        raise ValueError(f"{path}: expected a JSON object of Kafka user -> password")
    return passwords


def _exactly(binding: AclBinding) -> AclBindingFilter:
    """The filter that matches this one ACL (delete_acls takes filters)."""
    return AclBindingFilter(
        binding.restype, binding.name, binding.resource_pattern_type, binding.principal, binding.host,
        binding.operation, binding.permission_type,
    )  # fmt: skip


def _of_user(user: str) -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        f"User:{user}",
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )


def main() -> None:
    from services.runtime.settings import ServiceSettings

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["show", "apply"])
    parser.add_argument("--principals", type=Path, required=True, help="JSON description of the principals")
    parser.add_argument(
        "--passwords", type=Path, help="JSON object of Kafka user -> password, or a directory of one file per user"
    )
    args = parser.parse_args()
    principals = principals_from(json.loads(args.principals.read_text()))
    if args.action == "show":
        print("\n".join(map(str, plan(principals))))
        return
    if args.passwords is None:
        sys.exit("apply needs --passwords")
    try:
        done = apply(admin_client(ServiceSettings()), principals, read_passwords(args.passwords))
    except (KafkaException, ValueError) as error:
        sys.exit(f"applying Kafka users and ACLs failed: {error}")
    print(f"{done['users']} Kafka users, {done['acls']} ACLs ({done['added']} added, {done['removed']} removed)")


if __name__ == "__main__":
    main()
