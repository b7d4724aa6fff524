"""schemathesis, an outside tool, against every running service and the OpenAPI document it
serves: generated requests (valid and invalid, seeded and bounded), and every answer checked —
no server error, a documented status, media type, headers and body schema, invalid requests
refused, 405 with a true `Allow`, authentication never ignored.

`positive_data_acceptance` is not asked for: the documents describe shapes, and a body of the
right shape is still refused for what no schema says (a personnummer's check digit, a consent
naming another principal, an event type the caller's principal may not send).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from deploy.stack import Stack

SEED = int(os.environ.get("SAMORDNA_SCHEMATHESIS_SEED", "20261201"))
EXAMPLES = int(os.environ.get("SAMORDNA_SCHEMATHESIS_EXAMPLES", "5"))
# The coverage phase (every boundary of every parameter, thousands of cases per gateway) is for
# a thorough run: SAMORDNA_SCHEMATHESIS_PHASES=examples,coverage,fuzzing,stateful
PHASES = os.environ.get("SAMORDNA_SCHEMATHESIS_PHASES", "examples,fuzzing,stateful")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "use_after_free",
        "ignored_auth",
    ]
)
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def _runs(stack: Stack) -> dict[str, tuple[str, str, str, list[str]]]:
    """name -> (service, principal, role, extra arguments)."""
    municipality = stack.municipalities[0]
    return {
        "consent": ("consent", stack.region, "coordinator", []),
        "region-gateway": (stack.region, stack.region, "system", []),
        "municipality-gateway": (municipality, municipality, "system", []),
        "board": ("board", stack.region, "coordinator", []),
        "board-ops": ("board", "ops", "ops", ["--include-path-regex", "^/v1/(ops|statistics)"]),
    }


@pytest.fixture(scope="module")
def runs(running_stack: Stack):
    return _runs(running_stack)


@pytest.mark.parametrize("name", ["consent", "region-gateway", "municipality-gateway", "board", "board-ops"])
def test_the_service_keeps_to_its_openapi_document(running_stack: Stack, runs, name, tmp_path):
    service, principal, role, extra = runs[name]
    base = running_stack.url(service)
    token = running_stack.stack_info()["tokens"][principal][role]
    before = _subscriptions(base, token) if role == "system" else set()
    try:
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                f"{base}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--phases",
                PHASES,
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--request-timeout",
                "30",
                "--generation-database",
                "none",
                "--no-color",
                "--report",
                "ndjson",
                "--report-dir",
                str(tmp_path),
                *extra,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
            env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        )
    finally:
        if role == "system":  # the generated subscriptions are not left to deliver for the rest of the session
            for sub_id in _subscriptions(base, token) - before:
                httpx.delete(f"{base}/v1/subscriptions/{sub_id}", headers={"Authorization": f"Bearer {token}"})
    summary = result.stdout[result.stdout.rfind("=== SUMMARY") :] if "SUMMARY" in result.stdout else result.stdout
    print(f"schemathesis {name}: seed {SEED}, phases {PHASES}, {EXAMPLES} examples per operation\n{summary[-1500:]}")
    assert result.returncode == 0, result.stdout[-12000:] + result.stderr[-3000:]


def _subscriptions(base: str, token: str) -> set[str]:
    response = httpx.get(f"{base}/v1/subscriptions", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return {s["id"] for s in json.loads(response.text)["subscriptions"]}
