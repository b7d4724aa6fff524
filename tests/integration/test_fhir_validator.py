"""Every kind of FHIR resource the services answer or send, checked by HL7's own validator engine
(tests/support/fhir_validation.py: offline, against the R4 core definitions and value sets).

The Subscriptions backport's profiles are not published where this machine can fetch them
(packages.fhir.org), so the one message the validator may give about them is that it could
not find them; what those profiles add is checked by tests/unit/test_gateway_fhir.py."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from contracts.fhir import TOPIC_CATEGORY
from services.consent.consents import ConsentView
from services.consent.fhir import capability_statement as consent_capabilities
from services.consent.fhir import consent_resource, search_bundle
from services.gateway.fhir.api import capability_statement as gateway_capabilities
from services.gateway.fhir.resources import (
    BACKPORT,
    communication,
    notification_bundle,
    searchset,
    status_bundle,
    subscription_resource,
)
from services.runtime.fhir import operation_outcome
from tests.support.fhir_validation import validate
from tests.unit.test_gateway_fhir import kept, notified

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
BASE = "https://gw.example/fhir"
ALINGSAS, REGION = "kommun-1489", "region-14"


def consent(**changes) -> ConsentView:
    fields = dict(
        id=uuid.uuid4(), person="196201205835", parties=[REGION, ALINGSAS], categories=["attendance", "treatment"],
        excluded_categories=[], excluded_event_types=[], valid_from=NOW, valid_until=NOW + timedelta(days=365),
        form="written", recorded_by=None, recorded_by_principal=REGION, recorded_at=NOW, revoked_at=None,
        status="active",
    )  # fmt: skip
    return ConsentView(**(fields | changes))


def everything() -> dict[str, dict]:
    excluding = consent(
        excluded_categories=["treatment"], excluded_event_types=["se.samordna.region.visit.missed.v1"],
        recorded_by="SE2321000131-E000000000001",
    )  # fmt: skip
    revoked = consent(status="revoked", revoked_at=NOW + timedelta(days=2), person="196201805832")
    sub = kept(topic=TOPIC_CATEGORY + "attendance")
    events = [notified(1), notified(2)]
    resources = {
        "consent-excluding": consent_resource(excluding),
        "consent-revoked": consent_resource(revoked),
        "consent-pending": consent_resource(consent(status="pending", form="verbal")),
        "consent-searchset": search_bundle([excluding, revoked], "https://consent.example/fhir"),
        "consent-capabilities": consent_capabilities(NOW),
        "gateway-capabilities": gateway_capabilities(ALINGSAS, NOW),
        "outcome": operation_outcome(400, "bad", [("patient:identifier", "not a valid personnummer")]),
        "subscription": subscription_resource(sub, BASE),
        "subscription-in-error": subscription_resource(
            kept(
                status="error",
                error="handshake failed: HTTP 503",
                heartbeat_seconds=None,
                headers=(),
                end=NOW + timedelta(days=30),
            ),
            BASE,
        ),  # fmt: skip
        "subscriptions": searchset([subscription_resource(sub, BASE)], BASE),
        "communication": communication(ALINGSAS, events[0]),
        "status": status_bundle(sub, BASE),
    }
    for kind in ("handshake", "heartbeat"):
        resources[kind] = notification_bundle(sub, BASE, ALINGSAS, kind, NOW)
    for content in ("empty", "id-only", "full-resource"):
        resources[f"event-{content}"] = notification_bundle(
            sub, BASE, ALINGSAS, "event-notification", NOW, events, content
        )
    resources["query-event"] = notification_bundle(sub, BASE, ALINGSAS, "query-event", NOW, events, "full-resource")
    return resources


def _unfindable_backport_profile(message) -> bool:
    return BACKPORT in message.text and ("could not be found" in message.text or "Failed to retrieve" in message.text)


@pytest.fixture(scope="module")
def messages(tmp_path_factory):
    resources = everything() | {
        # the validator is not taken on trust: this one must fail (no such status, no scope)
        "broken": {"resourceType": "Consent", "status": "revoked", "category": [{"text": "x"}]},
    }
    return validate(resources, tmp_path_factory.mktemp("fhir"))


def test_hl7_s_validator_finds_no_error_in_any_resource_the_services_produce(messages):
    errors = [
        m for m in messages
        if m.severity in ("error", "fatal") and m.name != "broken" and not _unfindable_backport_profile(m)
    ]  # fmt: skip

    assert errors == []
    assert {m.name for m in messages} - {"broken"}  # it looked at them (warnings: unknown Samordna code systems)


def test_hl7_s_validator_refuses_a_broken_consent(messages):
    broken = {m.location.split(".")[-1] for m in messages if m.name == "broken" and m.severity == "error"}

    assert {"status", "scope"} & broken
