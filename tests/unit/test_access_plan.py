"""The ACL plan of deploy/access.py, read as the rules of the Samordna specification
(docs/sources.md): who may read and write what."""

import json

from confluent_kafka.admin import AclOperation, ResourcePatternType, ResourceType

from contracts.topics import AUDIT_CHECKPOINTS, topic_specs
from deploy.access import BOARD_USER, GATE_USER, plan, principals_from, users
from deploy.stack import PRINCIPALS_FILE

PRINCIPALS = ["region-14", "kommun-1489", "kommun-1441"]
READ, WRITE = AclOperation.READ, AclOperation.WRITE


def _topics(user: str, operation: AclOperation) -> set[str]:
    return {
        g.name + ("*" if g.pattern == ResourcePatternType.PREFIXED else "")
        for g in plan(PRINCIPALS)
        if g.user == user and g.kind == ResourceType.TOPIC and g.operation == operation
    }


def test_a_gateway_writes_its_events_and_reads_its_deliveries_and_nothing_of_another():
    for principal in PRINCIPALS:
        assert _topics(principal, WRITE) == {f"events.{principal}", f"dead.letters.{principal}"}
        assert _topics(principal, READ) == {f"deliveries.{principal}", f"dead.letters.{principal}"}


def test_only_the_gate_reads_events_and_only_the_gate_writes_deliveries():
    readers = {g.user for g in plan(PRINCIPALS) if g.operation == READ and g.name.startswith("events.")}
    writers = {g.user for g in plan(PRINCIPALS) if g.operation == WRITE and g.name.startswith("deliveries.")}
    assert readers == writers == {GATE_USER}


def test_the_board_reads_only_what_passed_the_gate():
    assert _topics(BOARD_USER, READ) == {"shared.events", "consent.changes"}


def test_only_the_consent_service_writes_and_reads_the_audit_checkpoints():
    for operation in (READ, WRITE):
        users_of = {g.user for g in plan(PRINCIPALS) if g.operation == operation and g.name == AUDIT_CHECKPOINTS}
        assert users_of == {GATE_USER}
    assert not any(g.name == "*" and g.operation != AclOperation.DESCRIBE for g in plan(PRINCIPALS))


def test_the_audit_checkpoints_are_one_partition_kept_for_good():
    spec = next(spec for spec in topic_specs(PRINCIPALS) if spec.name == AUDIT_CHECKPOINTS)
    assert (spec.partitions, spec.config) == (1, {"retention.ms": "-1"})


def test_every_grant_allows_one_user_of_the_deployment_and_nothing_is_granted_to_everyone():
    assert {g.user for g in plan(PRINCIPALS)} == set(users(PRINCIPALS))
    assert all(g.binding().principal.startswith("User:") and "*" not in g.user for g in plan(PRINCIPALS))


def test_the_local_description_names_the_region_and_two_municipalities():
    assert principals_from(json.loads(PRINCIPALS_FILE.read_text())) == PRINCIPALS
