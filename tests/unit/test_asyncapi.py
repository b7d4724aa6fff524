"""docs/asyncapi.yaml is what the code says (deploy/asyncapi.py): every topic of a deployment has
its channel, every payload `$ref` is an exported JSON Schema with its `$schema` and `$id`, and who
may read and write each channel is what the ACLs give. The AsyncAPI CLI validates the document in
tests/integration/test_asyncapi_cli.py."""

import json
from pathlib import Path

import pytest
import yaml

from contracts import kafka_binding
from contracts.topics import topic_specs
from deploy import access, asyncapi

REPO = Path(__file__).resolve().parents[2]
DESCRIPTION = json.loads(asyncapi.PRINCIPALS_FILE.read_text())
PRINCIPALS = access.principals_from(DESCRIPTION)


@pytest.fixture(scope="module")
def document() -> dict:
    return yaml.safe_load(asyncapi.DOCUMENT.read_text(encoding="utf-8"))


def test_the_committed_document_is_what_the_code_makes():
    assert asyncapi.DOCUMENT.read_text(encoding="utf-8") == asyncapi.render(), "run `make asyncapi` and commit"


def test_every_topic_of_a_deployment_has_exactly_one_channel(document):
    addresses = [c["address"] for c in document["channels"].values()]
    for spec in topic_specs(PRINCIPALS):
        matching = [
            a for a in addresses if a == spec.name or any(a == spec.name.replace(p, "{principal}") for p in PRINCIPALS)
        ]
        assert len(matching) == 1, (spec.name, matching)
        channel = next(c for c in document["channels"].values() if c["address"] in matching)
        assert channel["bindings"]["kafka"]["partitions"] == spec.partitions


def _refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_payload_is_an_exported_schema_with_its_dialect_and_id(document):
    external = sorted({r for r in _refs(document) if not r.startswith("#")})
    assert external, "payloads reference contracts/schemas/"
    for ref in external:
        schema = json.loads((asyncapi.DOCUMENT.parent / ref).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert schema["$id"] == kafka_binding.SCHEMA_BASE + Path(ref).name
    internal = {r for r in _refs(document) if r.startswith("#")}
    for ref in internal:  # every internal reference lands on something
        node = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]


def test_each_message_has_the_key_and_the_headers_of_its_binding(document):
    messages = document["components"]["messages"]
    for name, message in messages.items():
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
        if name == "auditCheckpoint":
            continue
        headers = message["headers"]["properties"]
        assert set(message["headers"]["required"]) == set(headers)
        content_type = headers["content-type"]["const"]
        if content_type == kafka_binding.STRUCTURED_CONTENT_TYPE:
            assert ("samordna-delivery-seq" in headers) == name.startswith("delivered.")
        else:
            assert {"ce_id", "ce_source", "ce_type", "ce_specversion"} <= set(headers) and "ce_subject" not in headers
    deliveries = document["channels"]["deliveries"]["messages"].values()
    assert all(m["$ref"].startswith("#/components/messages/delivered.") for m in deliveries)


def test_who_reads_and_writes_each_channel_follows_the_acls(document):
    acl = {c["address"]: c["x-samordna-acl"] for c in document["channels"].values()}
    assert acl["events.{principal}"] == {"read": ["samordna-gate"], "write": ["{principal}"]}
    # the gate reads what it wrote there only for the log erasure (services/consent/log_erasure.py)
    assert acl["deliveries.{principal}"] == {"read": ["{principal}", "samordna-gate"], "write": ["samordna-gate"]}
    assert acl["shared.events"] == {"read": ["samordna-board"], "write": ["samordna-gate"]}
    ops = document["operations"].values()
    assert {(o["action"], o["channel"]["$ref"]) for o in ops if o["title"].startswith("Kafka user {principal} ")} == {
        ("send", "#/channels/events"), ("receive", "#/channels/deliveries"),
        ("send", "#/channels/deadLetters"), ("receive", "#/channels/deadLetters"),
    }  # fmt: skip


def test_a_principal_allowed_on_another_principals_topic_is_refused():
    grants = access.plan(PRINCIPALS) + access.gateway_grants(PRINCIPALS[1])
    leaky = grants + [access.Grant(PRINCIPALS[1], access.TOPIC, "deliveries.", access.PREFIXED, access.READ)]
    deliveries = next(c for c in asyncapi.channels(PRINCIPALS[0]) if c.id == "deliveries")
    with pytest.raises(ValueError, match="read allowed to"):
        asyncapi.access(deliveries, PRINCIPALS, leaky)


NEWER_THAN_DRAFT_07 = set(
    "prefixItems unevaluatedProperties unevaluatedItems dependentSchemas dependentRequired "
    "$dynamicRef $dynamicAnchor $anchor minContains maxContains".split()
)


def _keys(node):
    if isinstance(node, dict):
        yield from node
        for value in node.values():
            yield from _keys(value)
    elif isinstance(node, list):
        for value in node:
            yield from _keys(value)


def test_the_schemas_use_no_keyword_the_draft_07_format_it_is_declared_in_would_miss():
    for path in sorted((REPO / "contracts" / "schemas").glob("*.json")):
        assert not NEWER_THAN_DRAFT_07 & set(_keys(json.loads(path.read_text()))), path.name
