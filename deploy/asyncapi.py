"""The AsyncAPI 3.0 document of Samordna's Kafka topics, made from the code: docs/asyncapi.yaml.

    python -m deploy.asyncapi           # write docs/asyncapi.yaml (make asyncapi)
    python -m deploy.asyncapi --check   # exit 1 if the committed file differs

Channels and partitions come from contracts/topics.py, the messages of each channel from the
event catalogue, payloads are `$ref`s to the JSON Schemas in contracts/schemas/, headers from the
CloudEvents Kafka binding (contracts/kafka_binding.py), and which Kafka user may read or write
each channel from the ACLs (deploy/access.py), worked out for one principal of
deploy/principals.json and written with `{principal}` in its place.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from contracts import kafka_binding
from contracts.catalogue import CATALOGUE, SenderKind
from contracts.principals import PRINCIPAL_PATTERN
from contracts.topics import (
    AUDIT_CHECKPOINTS,
    CONSENT_CHANGES,
    DEAD_LETTERS,
    DELIVERY_SEQ_HEADER,
    GATE_DECISIONS,
    SHARED_EVENTS,
    dead_letters_topic,
    deliveries_topic,
    events_topic,
    topic_specs,
)
from deploy.access import GROUP, READ, TOPIC, WRITE, Grant, plan, principals_from, users

REPO = Path(__file__).resolve().parents[1]
DOCUMENT = REPO / "docs" / "asyncapi.yaml"
PRINCIPALS_FILE = REPO / "deploy" / "principals.json"
SCHEMAS_FROM_DOCS = "../contracts/schemas/"
# AsyncAPI 3.0 names no JSON Schema dialect newer than draft-07. The exported schemas say 2020-12
# (pydantic's), but use only keywords draft-07 has too, $defs reached by JSON pointer
# (tests/unit/test_asyncapi.py holds that).
SCHEMA_FORMAT = "application/schema+json;version=draft-07"
PLACEHOLDER = "{principal}"
SECURITY = [{"$ref": "#/components/securitySchemes/scram"}]
KAFKA_BINDING_VERSION = "0.5.0"


@dataclass(frozen=True)
class Channel:
    id: str
    address: str  # with {principal} where a principal's id goes
    title: str
    description: str
    messages: tuple[str, ...]  # names in components.messages

    def topic(self, principal: str) -> str:
        return self.address.replace(PLACEHOLDER, principal)


EVENT_TYPES = tuple(t for t, spec in CATALOGUE.items() if spec.sender is not SenderKind.CONSENT)
CONSENT_TYPES = tuple(t for t, spec in CATALOGUE.items() if spec.sender is SenderKind.CONSENT)
SEALED = "sealedEvent"


def channels(sample: str) -> list[Channel]:
    def at(topic_of) -> str:
        return topic_of(sample).replace(sample, PLACEHOLDER)

    decisions, dead = (_record_message(k) for k in kafka_binding.RECORD_KINDS)
    return [
        Channel(
            "events",
            at(events_topic),
            "A principal's own events",
            "What the principal's gateway accepted (its outbox relay) and what the principal's own Kafka-speaking "
            "systems write; the topic is the authenticated sender. A region writes region and joint types, a "
            "municipality municipality and joint types; receipts are written by the gateway.",
            EVENT_TYPES,
        ),
        Channel(
            "deliveries",
            at(deliveries_topic),
            "What crossed the gate to a principal",
            "Written by the gate in transactions: read with isolation.level=read_committed. "
            f"`{DELIVERY_SEQ_HEADER}` numbers the principal's deliveries 1, 2, 3, ... with no gaps.",
            EVENT_TYPES,
        ),
        Channel(
            "sharedEvents",
            SHARED_EVENTS,
            "Every event that crossed, for the board",
            "One record per forwarded event, sealed (crypto-shredding, docs/privacy.md): the envelope, the parties "
            "and consents it crossed on and the person's pseudonym in the clear; the personnummer and the payload "
            "encrypted under keys that are erased when the consents that let it cross end.",
            (SEALED,),
        ),
        Channel(
            "gateDecisions",
            GATE_DECISIONS,
            "The gate's decisions",
            "Every decision, forwarded or not, in batches; the audit trail is filled from it. Never a payload.",
            (decisions,),
        ),
        Channel(
            "consentChanges",
            CONSENT_CHANGES,
            "Consent granted, revoked, expiring, expired",
            "From the consent service's outbox, for the board; sealed like shared.events (a grant's personnummer "
            "under the consent's own key). `type` is the change: " + ", ".join(CONSENT_TYPES) + ".",
            (SEALED,),
        ),
        Channel(
            "deadLetters",
            at(dead_letters_topic),
            "Records of a principal's own topics no consumer could read",
            "The origin, the consumer, the reason and the raw value.",
            (dead,),
        ),
        Channel(
            "sharedDeadLetters",
            DEAD_LETTERS,
            "Records of the shared topics no consumer could read",
            "The origin, the consumer, the reason and the raw value.",
            (dead,),
        ),
        Channel(
            "auditCheckpoints",
            AUDIT_CHECKPOINTS,
            "Signed heads of the audit chain",
            "HMAC-signed sequence number and hash of the audit chain's head (docs/audit.md); not a CloudEvent.",
            ("auditCheckpoint",),
        ),
    ]


# ---- messages ---------------------------------------------------------------------------------
def _record_message(kind: kafka_binding.RecordKind) -> str:
    return kind.type.removeprefix("se.samordna.record.").replace("_", "-")


def _key() -> dict:
    return {"kafka": {
        "bindingVersion": KAFKA_BINDING_VERSION,
        "key": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                "description": "The person's pseudonym (HMAC-SHA256 with the deployment's secret, hex), never the "
                "personnummer: one person's records stay in order in one partition."},
    }}  # fmt: skip


def _payload(schema_file: str) -> dict:
    return {"schemaFormat": SCHEMA_FORMAT, "schema": {"$ref": SCHEMAS_FROM_DOCS + schema_file}}


def _structured_headers(with_seq: bool) -> dict:
    structured = "CloudEvents Kafka binding, structured mode: the value is the CloudEvent."
    properties = {kafka_binding.CONTENT_TYPE_HEADER: {
        "type": "string", "const": kafka_binding.STRUCTURED_CONTENT_TYPE, "description": structured,
    }}  # fmt: skip
    if with_seq:
        properties[DELIVERY_SEQ_HEADER] = {
            "type": "string", "pattern": "^[1-9][0-9]*$",
            "description": "The recipient's delivery number (deliveries topics only): 1, 2, 3, ... over the topic, "
            "increasing within each partition, no gaps.",
        }  # fmt: skip
    return {"type": "object", "properties": properties, "required": sorted(properties)}


def _binary_headers(kind: kafka_binding.RecordKind) -> dict:
    properties = {
        kafka_binding.CONTENT_TYPE_HEADER: {"type": "string", "const": kafka_binding.RECORD_CONTENT_TYPE},
        "ce_specversion": {"type": "string", "const": kafka_binding.SPECVERSION},
        "ce_id": {"type": "string", "description": "Unique with ce_source; names no person."},
        "ce_source": {"type": "string", "description": "/samordna/<the writer>"},
        "ce_type": {"type": "string", "const": kind.type},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_dataschema": {"type": "string", "const": kind.dataschema},
    }
    binary = "CloudEvents Kafka binding, binary mode: the value is the record; no ce_subject."
    return {"type": "object", "properties": properties, "required": sorted(properties), "description": binary}


def _event_message(event_type: str, delivered: bool) -> dict:
    spec = CATALOGUE[event_type]
    return {
        "name": event_type,
        "title": spec.label_sv,
        "summary": f"{spec.name}, consent category {spec.category}" + (" (as delivered)" if delivered else ""),
        "contentType": kafka_binding.STRUCTURED_CONTENT_TYPE,
        "headers": _structured_headers(with_seq=delivered),
        "payload": _payload(f"{event_type}.json"),
        "bindings": _key(),
    }


def delivered(event_type: str) -> str:
    return f"delivered.{event_type}"


def messages() -> dict:
    found = {t: _event_message(t, delivered=False) for t in EVENT_TYPES}
    found[SEALED] = {
        "name": "sealed CloudEvent",
        "summary": "an event or consent change with its personal part encrypted (contracts/sealing.py)",
        "contentType": kafka_binding.STRUCTURED_CONTENT_TYPE,
        "headers": _structured_headers(with_seq=False),
        "payload": _payload("sealed-event.json"),
        "bindings": _key(),
    }
    found |= {delivered(t): _event_message(t, delivered=True) for t in EVENT_TYPES}
    for kind in kafka_binding.RECORD_KINDS:
        found[_record_message(kind)] = {
            "name": kind.type,
            "contentType": kafka_binding.RECORD_CONTENT_TYPE,
            "headers": _binary_headers(kind),
            "payload": _payload(kind.schema_file),
            "bindings": _key(),
        }
    found["auditCheckpoint"] = {
        "name": "audit-checkpoint",
        "contentType": "application/json",
        "payload": {"type": "object", "description": "seq, hash, signed_at and an HMAC signature (docs/audit.md)"},
        "bindings": {"kafka": {
            "bindingVersion": KAFKA_BINDING_VERSION, "key": {"type": "string", "const": "audit-head"},
        }},
    }  # fmt: skip
    return found


# ---- who may read and write (the ACLs) --------------------------------------------------------
def _allows(grant: Grant, topic: str, operation) -> bool:
    if grant.kind != TOPIC or grant.operation != operation:
        return False
    return grant.name in (topic, "*") if grant.pattern.name == "LITERAL" else topic.startswith(grant.name)


def access(channel: Channel, principals: list[str], grants: list[Grant]) -> dict[str, list[str]]:
    """{"read": [users], "write": [users]} for the channel, `{principal}` standing for the topic's
    owner. Raises if a principal may touch another principal's channel (the ACLs would be wrong)."""
    sample = principals[0]
    topic = channel.topic(sample)
    found: dict[str, list[str]] = {}
    for name, operation in (("read", READ), ("write", WRITE)):
        allowed = [u for u in users(principals) if any(g.user == u and _allows(g, topic, operation) for g in grants)]
        as_principal = [u for u in allowed if u in principals]
        if as_principal not in ([], [sample]) or (as_principal and PLACEHOLDER not in channel.address):
            raise ValueError(f"{channel.address}: {name} allowed to {as_principal}")
        found[name] = [PLACEHOLDER if u == sample else u for u in allowed]
    return found


def consumer_groups(user: str, sample: str, grants: list[Grant]) -> list[str]:
    """The consumer groups `user` may read with (a trailing * for a prefix), `{principal}` for the sample."""
    name = sample if user == PLACEHOLDER else user
    found = [g.name + ("*" if g.pattern.name == "PREFIXED" else "") for g in grants
             if g.user == name and g.kind == GROUP and g.operation == READ]  # fmt: skip
    return [group.replace(sample, PLACEHOLDER) for group in sorted(found)]


def _operations(channel: Channel, rights: dict[str, list[str]], sample: str, grants: list[Grant]) -> dict:
    operations = {}
    for name, action in (("write", "send"), ("read", "receive")):
        for user in rights[name]:
            who = "principal" if user == PLACEHOLDER else user.removeprefix("samordna-")
            groups = consumer_groups(user, sample, grants) if action == "receive" else []
            in_groups = f" Consumer groups it may use: {', '.join(f'`{g}`' for g in groups)}." if groups else ""
            operations[f"{who}-{action}s-{channel.id}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel.id}"},
                "title": f"Kafka user {user} {'writes' if action == 'send' else 'reads'} {channel.address}",
                "description": f"The broker's ACLs give the Kafka user `{user}` {name.upper()} on this topic "
                f"(deploy/access.py); every other user is refused.{in_groups}",
                "security": SECURITY,
            }
    return operations


# ---- the document ---------------------------------------------------------------------------
def document(description: dict) -> dict:
    principals = principals_from(description)
    grants = plan(principals)
    partitions = {spec.name: spec.partitions for spec in topic_specs(principals)}
    doc_channels, operations = {}, {}
    for channel in channels(principals[0]):
        rights = access(channel, principals, grants)
        names = [delivered(t) for t in channel.messages] if channel.id == "deliveries" else list(channel.messages)
        entry = {
            "address": channel.address,
            "title": channel.title,
            "description": f"{channel.description} Read: {_who(rights['read'])}; write: {_who(rights['write'])}.",
            "messages": {_key_of(n): {"$ref": f"#/components/messages/{n}"} for n in names},
            "bindings": {"kafka": {"bindingVersion": KAFKA_BINDING_VERSION,
                                   "partitions": partitions[channel.topic(principals[0])]}},
            "x-samordna-acl": rights,
        }  # fmt: skip
        if PLACEHOLDER in channel.address:
            entry["parameters"] = {"principal": {
                "description": "A principal id: region-<länskod> or kommun-<kommunkod>, e.g. "
                + ", ".join(principals) + f" ({PRINCIPAL_PATTERN})",
                "examples": principals,
            }}  # fmt: skip
        doc_channels[channel.id] = entry
        operations |= _operations(channel, rights, principals[0], grants)
    return {
        "asyncapi": "3.0.0",
        "id": "urn:se:samordna:kafka",
        "info": {
            "title": "Samordna on Kafka",
            "version": "1.0.0",
            "description": 'The topics of one Samordna deployment (docs/integration.md, "By Kafka"). Made from the '
            "code by `make asyncapi`; tests/unit/test_asyncapi.py holds it to the code.",
        },
        "defaultContentType": kafka_binding.STRUCTURED_CONTENT_TYPE,
        "servers": {
            "site": {
                "host": "kafka-1.example.se:9093",
                "protocol": "kafka-secure",
                "security": SECURITY,
                "description": "A real site: SASL_SSL, trusting the CA that signed the brokers' certificates.",
            },
            "local": {
                "host": "127.0.0.1:19092",
                "protocol": "kafka",
                "security": SECURITY,
                "description": "`make up`: SASL_PLAINTEXT on 127.0.0.1 (.local/stack.json has the passwords).",
            },
        },  # fmt: skip
        "channels": doc_channels,
        "operations": operations,
        "components": {
            "messages": messages(),
            "securitySchemes": {
                "scram": {
                    "type": "scramSha512",
                    "description": "SASL/SCRAM-SHA-512; the Kafka "
                    "user is the principal id (a gateway or a partner's system) or samordna-gate / "
                    "samordna-board. librdkafka 2.6.1 or newer (docs/integration.md).",
                }
            },
        },  # fmt: skip
    }


def _who(users_: list[str]) -> str:
    return ", ".join(users_) or "the cluster administrator only"


def _key_of(message: str) -> str:
    return message.replace("se.samordna.", "")


def render(description: dict | None = None) -> str:
    if description is None:
        description = json.loads(PRINCIPALS_FILE.read_text(encoding="utf-8"))
    text = yaml.safe_dump(document(description), sort_keys=False, allow_unicode=True, width=100)
    return "# Made by `python -m deploy.asyncapi` (make asyncapi) from the code; do not edit.\n" + text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/asyncapi.yaml differs from the code")
    expected = render()
    if parser.parse_args(argv).check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != expected:
            print("docs/asyncapi.yaml differs from the code (run `make asyncapi`)")
            sys.exit(1)
        print("docs/asyncapi.yaml matches the code")
    else:
        DOCUMENT.write_text(expected, encoding="utf-8")
        print(f"wrote {DOCUMENT}")


if __name__ == "__main__":
    main()
