"""A partner's Java system reads its deliveries with Kafka's own Java client and the settings of
docs/integration.md, taken from its properties block as they stand (only the host, the password
and the CA's path are this test broker's): docs/examples/DeliveriesConsumer.java, run from source
against the real broker's TLS listener; what it prints is read as the CloudEvents binding says.
(The same with confluent-kafka is in test_cloudevents_binding.py.)"""

import base64
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from contracts.topics import DELIVERY_SEQ_HEADER, deliveries_topic
from tests.support.client import StackClient
from tests.support.cloudevents_binding import read_cloudevent
from tests.support.personnummer import random_person_id

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "integration.md"
CONSUMER = REPO / "docs" / "examples" / "DeliveriesConsumer.java"
REGION, ALINGSAS = "region-14", "kommun-1489"
VISIT_MISSED = "se.samordna.region.visit.missed.v1"


def documented_properties() -> str:
    """The Java client's properties block of the integration guide."""
    (block,) = re.findall(r"```properties\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    return block


def settings_for(stack, principal: str, group: str) -> str:
    text = documented_properties()
    replaced = {
        r"^bootstrap\.servers=.*$": f"bootstrap.servers={stack.tls_bootstrap}",
        r"^ssl\.truststore\.location=.*$": f"ssl.truststore.location={stack.kafka_ca_file}",
        r'username="kommun-1489" password="…"': f'username="{principal}" password="{stack.kafka_password(principal)}"',
        r"^group\.id=kommun-1489\.case-system$": f"group.id={group}",
    }
    for pattern, value in replaced.items():
        text, count = re.subn(pattern, value.replace("\\", "\\\\"), text, flags=re.M)
        assert count == 1, f"the guide's properties changed: {pattern}"
    return text


async def test_the_java_client_reads_a_delivery_with_the_documented_settings(running_stack, tmp_path):
    java = shutil.which("java")
    if java is None:
        pytest.fail("java (17 or newer) is needed; the Kafka broker needs it too")
    client = StackClient(running_stack.stack_info())
    person = random_person_id()
    body = await client.deliver(REGION, ALINGSAS, VISIT_MISSED, person)
    group = f"{ALINGSAS}.java-system-{uuid.uuid4().hex[:8]}"
    settings = tmp_path / "consumer.properties"
    settings.write_text(settings_for(running_stack, ALINGSAS, group), encoding="utf-8")
    classpath = subprocess.run(
        [str(REPO / "deploy" / "kafka.sh"), "classpath"], capture_output=True, text=True, check=True
    ).stdout.strip()

    run = subprocess.run(
        [java, "-cp", classpath, str(CONSUMER), str(settings), deliveries_topic(ALINGSAS), "60", body["id"]],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    lines = [line.split(" ")[1:] for line in run.stdout.splitlines() if line.startswith("record ")]
    records = [
        (base64.b64decode(key), _headers(headers), base64.b64decode(value)) for _, _, key, headers, value in lines
    ]
    ours = [r for r in records if body["id"].encode() in r[2]]
    assert len(ours) == 1
    key, headers, value = ours[0]
    read = read_cloudevent(headers, key, value)
    assert (read["id"], read["type"], read["subject"]) == (body["id"], VISIT_MISSED, person.replace("-", ""))
    assert int(read[DELIVERY_SEQ_HEADER]) >= 1


def _headers(field: str) -> list[tuple[str, bytes]]:
    if field == "-":
        return []
    return [(name, base64.b64decode(value)) for name, value in (pair.split("=", 1) for pair in field.split(","))]
