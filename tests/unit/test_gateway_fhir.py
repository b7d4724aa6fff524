"""A gateway's FHIR R4 Subscriptions (the R5 backport for R4) and Communications: the pure
resources read back by two FHIR model libraries (fhir.resources' R4B models, SMART's strict R4
fhirclient models), the Subscription a partner sends read or refused by name, and the routes
over ASGI on in-memory stores (tests/unit/fakes_gateway.py)."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.communication import Communication
from fhir.resources.R4B.parameters import Parameters
from fhir.resources.R4B.subscription import Subscription
from fhirclient.models.bundle import Bundle as StrictBundle
from fhirclient.models.communication import Communication as StrictCommunication
from fhirclient.models.operationoutcome import OperationOutcome as StrictOutcome
from fhirclient.models.subscription import Subscription as StrictSubscription
from hypothesis import given
from hypothesis import strategies as st

from contracts.fhir import PERSONNUMMER, TOPIC_ALL, TOPIC_CATEGORY, TOPIC_TYPE
from services.gateway.fhir.requests import SubscriptionRefused, read_subscription
from services.gateway.fhir.resources import (
    HEARTBEAT_PERIOD,
    PAYLOAD_CONTENT,
    SECRET_EXTENSION,
    FhirSubscription,
    Notified,
    communication,
    notification_bundle,
    status_bundle,
    subscription_resource,
)
from tests.unit.fakes_gateway import ALINGSAS, NOW, REGION, FakeGateway

BASE = "https://gw.example/fhir"
VISIT = "se.samordna.region.visit.missed.v1"
EVENT = {
    "specversion": "1.0", "id": "visit-1", "source": "journal", "type": VISIT, "subject": "196201205835",
    "time": "2026-11-22T08:00:00+00:00", "datacontenttype": "application/json", "principal": REGION,
    "category": "attendance", "data": {"unit": "Psykiatrimottagning"},
}  # fmt: skip
FHIR = {"Content-Type": "application/fhir+json"}
PUBLIC = "192.0.32.10"  # a globally routable address (nothing connects to it here)


async def public_dns(host: str, port: int) -> list[str]:
    return [PUBLIC]


def requested(**changes) -> dict:
    resource = {
        "resourceType": "Subscription",
        "status": "requested",
        "reason": "journal system of Alingsås",
        "criteria": TOPIC_CATEGORY + "attendance",
        "channel": {
            "type": "rest-hook",
            "endpoint": "https://journal.alingsas.example/fhir-notify",
            "payload": "application/fhir+json",
            "_payload": {"extension": [{"url": PAYLOAD_CONTENT, "valueCode": "full-resource"}]},
            "header": ["Authorization: Bearer receiver-token"],
            "extension": [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": 60}],
        },
    }
    return resource | changes


def kept(**changes) -> FhirSubscription:
    fields = dict(
        id=uuid.UUID(int=7), topic=TOPIC_ALL, endpoint="https://x.example/n", content="full-resource",
        headers=("Authorization: Bearer t",), heartbeat_seconds=60, status="active", error=None,
        reason="r", end=None, events_since_start=3,
    )  # fmt: skip
    return FhirSubscription(**(fields | changes))


def notified(number: int, seq: int | None = None) -> Notified:
    received = NOW + timedelta(seconds=number % 10**6)
    return Notified(number, seq or number + 100, number + 40, received, json.dumps(EVENT))


def strictly_valid_bundle(bundle: dict) -> Bundle:
    StrictBundle(bundle, strict=True)
    return Bundle.model_validate(bundle)


# ---- reading a partner's Subscription ---------------------------------------------------------


def test_a_subscription_is_read_with_its_topic_s_event_types_and_channel():
    new = read_subscription(requested(), production=True)

    assert new.event_types == ["se.samordna.municipality.intervention.missed.v1", VISIT]
    assert (new.content, new.heartbeat_seconds) == ("full-resource", 60)
    assert new.headers == ("Authorization: Bearer receiver-token",)
    assert len(new.secret) >= 16  # generated when the partner gives none


@pytest.mark.parametrize(
    ("changes", "expression"),
    [
        ({"criteria": "https://samordna.se/fhir/SubscriptionTopic/nothing"}, "Subscription.criteria"),
        ({"criteria": TOPIC_TYPE + "se.samordna.unknown.v1"}, "Subscription.criteria"),
        ({"reason": ""}, "Subscription.reason"),
        ({"reason": "about 19620120-5835"}, "Subscription.reason"),
        ({"status": "off"}, "Subscription.status"),
        ({"channel": requested()["channel"] | {"type": "websocket"}}, "Subscription.channel.type"),
        ({"channel": requested()["channel"] | {"endpoint": "http://journal.example/n"}}, "Subscription.channel.endpoint"),  # noqa: E501
        ({"channel": requested()["channel"] | {"endpoint": "ftp://x"}}, "Subscription.channel.endpoint"),
        ({"channel": requested()["channel"] | {"payload": "application/xml"}}, "Subscription.channel.payload"),
        ({"channel": requested()["channel"] | {"header": ["Content-Type: text/plain"]}}, "Subscription.channel.header[0]"),  # noqa: E501
        ({"channel": requested()["channel"] | {"header": ["no colon"]}}, "Subscription.channel.header[0]"),
        ({"channel": requested()["channel"] | {"extension": [{"url": HEARTBEAT_PERIOD, "valueUnsignedInt": 0}]}},
         "Subscription.channel.extension"),
        ({"end": "tomorrow"}, "Subscription.end"),
        ({"extension": [{"url": SECRET_EXTENSION, "valueString": "short"}]}, "Subscription.extension"),
        ({"_criteria": {"extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
                                       "backport-filter-criteria", "valueString": "Communication?subject=x"}]}},
         "Subscription.criteria.extension"),
    ],
)  # fmt: skip
def test_a_wrong_subscription_is_refused_naming_the_element(changes, expression):
    with pytest.raises(SubscriptionRefused) as refused:
        read_subscription(requested(**changes), production=True)

    assert [e.field for e in refused.value.errors] == [expression]
    assert "19620120" not in " ".join(e.message for e in refused.value.errors)


def test_http_endpoints_are_taken_in_development():
    channel = requested()["channel"] | {"endpoint": "http://127.0.0.1:9000/n"}
    assert read_subscription(requested(channel=channel), production=False).endpoint == "http://127.0.0.1:9000/n"


# ---- the resources --------------------------------------------------------------------------


def test_a_subscription_reads_back_as_an_r4_backport_subscription_without_its_secret():
    resource = subscription_resource(kept(), BASE)

    StrictSubscription(resource, strict=True)
    sub = Subscription.model_validate(resource)
    assert sub.criteria == TOPIC_ALL and sub.status == "active"
    assert "secret" not in json.dumps(resource).lower()


def test_a_communication_carries_the_person_the_codes_and_the_event_byte_for_byte():
    item = notified(1)
    resource = communication(ALINGSAS, item)

    StrictCommunication(resource, strict=True)
    parsed = Communication.model_validate(resource)
    assert parsed.subject.identifier.system == PERSONNUMMER
    assert parsed.subject.identifier.value == "196201205835"
    assert parsed.topic.coding[0].code == VISIT
    assert base64.b64decode(resource["payload"][0]["contentAttachment"]["data"]).decode() == item.event
    assert {i["value"] for i in resource["identifier"]} == {"visit-1", "41"}


@given(
    kind=st.sampled_from(["handshake", "heartbeat", "event-notification", "query-event"]),
    content=st.sampled_from(["empty", "id-only", "full-resource"]),
    numbers=st.lists(st.integers(min_value=1, max_value=10**12), max_size=4, unique=True),
)
def test_every_notification_is_a_valid_r4_history_bundle_with_its_status_first(kind, content, numbers):
    events = [notified(n) for n in sorted(numbers)] if kind in ("event-notification", "query-event") else []
    bundle = notification_bundle(kept(content=content), BASE, ALINGSAS, kind, NOW, events)

    parsed = strictly_valid_bundle(bundle)
    assert parsed.type == "history"
    status = Parameters.model_validate(bundle["entry"][0]["resource"])
    values = {p.name: p for p in status.parameter}
    assert values["type"].valueCode == kind
    notified_numbers = [
        part.valueString for p in status.parameter if p.name == "notification-event" for part in p.part
        if part.name == "event-number"
    ]  # fmt: skip
    assert notified_numbers == [str(n) for n in sorted(numbers)] if events else notified_numbers == []
    focus = len(events) if content == "full-resource" else 0
    assert len(bundle["entry"]) == 1 + focus
    assert all(e["request"] and e["response"] for e in bundle["entry"])


def test_a_retried_notification_is_the_same_bundle():
    first = notification_bundle(kept(), BASE, ALINGSAS, "event-notification", NOW, [notified(3)])
    again = notification_bundle(kept(), BASE, ALINGSAS, "event-notification", NOW + timedelta(hours=1), [notified(3)])

    assert first == again


def test_status_answers_a_searchset_with_the_events_since_start():
    bundle = status_bundle(kept(events_since_start=12), BASE)

    strictly_valid_bundle(bundle)
    parameters = bundle["entry"][0]["resource"]["parameter"]
    assert {"name": "events-since-subscription-start", "valueString": "12"} in parameters
    assert {"name": "type", "valueCode": "query-status"} in parameters


# ---- the routes -----------------------------------------------------------------------------


async def test_a_system_creates_reads_lists_and_deletes_a_fhir_subscription():
    gateway = FakeGateway()
    async with gateway.api(resolver=public_dns) as api:
        created = await api.post("/fhir/Subscription", content=json.dumps(requested()), headers=FHIR)
        sub_id = created.json()["id"]
        read = await api.get(f"/fhir/Subscription/{sub_id}")
        listed = await api.get("/fhir/Subscription")
        deleted = await api.delete(f"/fhir/Subscription/{sub_id}")
        gone = await api.get(f"/fhir/Subscription/{sub_id}")

    assert created.status_code == 201 and created.headers["content-type"] == "application/fhir+json"
    assert created.headers["location"].endswith(f"/fhir/Subscription/{sub_id}")
    assert created.json()["status"] == "requested"
    StrictSubscription(read.json(), strict=True)
    assert [e["resource"]["id"] for e in strictly_valid_bundle(listed.json()).model_dump()["entry"]] == [sub_id]
    assert deleted.status_code == 204
    assert gone.status_code == 404 and gone.json()["resourceType"] == "OperationOutcome"


async def test_a_refused_subscription_is_a_422_outcome_with_an_issue_per_element():
    bad = requested(reason="", criteria="nope")
    async with FakeGateway().api(resolver=public_dns) as api:
        response = await api.post("/fhir/Subscription", content=json.dumps(bad), headers=FHIR)

    assert response.status_code == 422
    outcome = response.json()
    StrictOutcome(outcome, strict=True)
    assert sorted(i["expression"][0] for i in outcome["issue"]) == ["Subscription.criteria", "Subscription.reason"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"{not json", FHIR, 400),
        (json.dumps(requested()).encode(), {"Content-Type": "text/plain"}, 415),
        (b"[]", FHIR, 422),
        (b" " * (64 * 1024 + 1), FHIR, 413),
    ],
)
async def test_a_body_that_is_no_subscription_is_refused_as_an_outcome(body, headers, status):
    async with FakeGateway().api(resolver=public_dns) as api:
        response = await api.post("/fhir/Subscription", content=body, headers=headers)

    assert response.status_code == status
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("token", ["coordinator-token", "region-token", None])
async def test_only_the_principal_s_own_systems_use_its_fhir_endpoint(token):
    async with FakeGateway().api(token=token) as api:
        response = await api.get("/fhir/Subscription")

    assert response.status_code == (401 if token is None else 403)
    assert response.json()["resourceType"] == "OperationOutcome"


async def test_status_and_events_answer_from_the_subscription_s_numbered_events():
    gateway = FakeGateway()
    async with gateway.api(resolver=public_dns) as api:
        sub_id = (await api.post("/fhir/Subscription", content=json.dumps(requested()), headers=FHIR)).json()["id"]
        gateway.fhir.events_of[uuid.UUID(sub_id)] += [notified(n) for n in (1, 2, 3)]
        status = await api.get(f"/fhir/Subscription/{sub_id}/$status")
        events = await api.get(f"/fhir/Subscription/{sub_id}/$events", params={"eventsSinceNumber": 2})
        bad = await api.get(f"/fhir/Subscription/{sub_id}/$events", params={"content": "everything"})

    assert {"name": "events-since-subscription-start", "valueString": "3"} in status.json()["entry"][0]["resource"][
        "parameter"
    ]
    parsed = strictly_valid_bundle(events.json())
    assert [e.resource.id for e in parsed.entry[1:]] == ["102", "103"]
    assert bad.status_code == 400


async def test_a_delivered_event_reads_as_a_communication_and_others_are_not_found():
    gateway = FakeGateway()
    gateway.fhir.inbox[5] = notified(0, seq=5)
    async with gateway.api(resolver=public_dns) as api:
        found = await api.get("/fhir/Communication/5")
        missing = await api.get("/fhir/Communication/6")
        not_a_number = await api.get("/fhir/Communication/abc")

    StrictCommunication(found.json(), strict=True)
    assert missing.status_code == 404 and not_a_number.status_code == 400


async def test_an_endpoint_the_webhooks_may_not_call_is_refused_naming_the_channel_endpoint():
    """The webhooks' own rules (services/gateway/webhooks/targets.py): here an inward address."""

    async def inward(host: str, port: int) -> list[str]:
        return ["169.254.169.254"]

    async with FakeGateway().api(resolver=inward, webhook_allow_loopback=False) as api:
        response = await api.post("/fhir/Subscription", content=json.dumps(requested()), headers=FHIR)

    assert response.status_code == 422
    [issue] = response.json()["issue"]
    assert issue["expression"] == ["Subscription.channel.endpoint"]
    assert "169.254" not in response.text


async def test_the_capability_statement_lists_every_topic():
    async with FakeGateway().api(token=None) as api:
        statement = (await api.get("/fhir/metadata")).json()

    subscription = statement["rest"][0]["resource"][0]
    assert TOPIC_ALL in [e["valueCanonical"] for e in subscription["extension"]]
