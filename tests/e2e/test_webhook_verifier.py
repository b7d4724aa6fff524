"""The webhook receiver of docs/examples/verify-webhook.mjs (Node.js, written from
docs/integration.md alone) verifies a real delivery from the running gateway, and holds to what
the documentation says: the secret as UTF-8, lowercase hex, several `v1=` values and several
secrets while rotating, a repeat inside the five minutes verifies (so it is de-duplicated by the
event's id, not refused), and an old timestamp, another body or uppercase hex do not."""

import asyncio
import base64
import hashlib
import hmac
import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from contracts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from tests.e2e.test_webhooks import ALINGSAS, REGION, Webhooks, cross
from tests.support.client import eventually

VERIFIER = Path(__file__).resolve().parents[2] / "docs" / "examples" / "verify-webhook.mjs"
SECRET = "hemlighet-för-webhooks-åäö-0123"  # not ASCII: signed as its UTF-8 bytes
RETIRED = "the-secret-being-retired-0123"


class NodeReceiver:
    """The example receiver as a process; its JSON lines arrive on a queue."""

    def __init__(self, secrets: list[str]) -> None:
        env = {**os.environ, "SAMORDNA_WEBHOOK_SECRETS": json.dumps(secrets)}
        self.process = subprocess.Popen(
            [shutil.which("node") or "node", str(VERIFIER), "0"], env=env, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[dict] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.port = self.next(lambda line: "listening" in line)["listening"]

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(json.loads(line))

    def next(self, match, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if match(line):
                return line
        raise AssertionError("the receiver printed no such line")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/samordna"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


@pytest.fixture
def node_receiver():
    if shutil.which("node") is None:
        pytest.fail("node (Node.js 18 or newer) is needed: the AsyncAPI CLI needs it too (README)")
    receiver = NodeReceiver([RETIRED, SECRET])
    yield receiver
    receiver.stop()


async def test_the_node_verifier_accepts_a_real_delivery_and_refuses_what_the_docs_say_it_refuses(
    client, node_receiver, person
):
    hooks = Webhooks(client)
    try:
        await client.grant(REGION, person, [REGION, ALINGSAS])
        response = await hooks.call(
            "POST", ALINGSAS, "/v1/subscriptions", json={"url": node_receiver.url, "secret": SECRET}
        )
        assert response.status_code == 201, response.text
        hooks.created.append((ALINGSAS, response.json()["id"]))
        item = await cross(client, person)
        event_id = item["event"]["id"]

        first = await _line(node_receiver, lambda line: line.get("event_id") == event_id)
        assert (first["valid"], first["duplicate"], first["seq"]) == (True, False, item["seq"])
        delivery = await eventually(
            lambda: hooks.delivery(ALINGSAS, response.json()["id"], event_id), lambda d: d["status"] == "delivered"
        )
        assert delivery["attempts"] == 1  # the 204 counted as delivered

        headers = {k: v for k, v in first["raw"]["headers"].items() if k.lower() not in ("host", "content-length")}
        body = base64.b64decode(first["raw"]["body"])
        timestamp = int(headers[TIMESTAMP_HEADER.lower()])
        right = headers[SIGNATURE_HEADER.lower()]
        assert right == right.lower() and right.startswith("v1=")
        async with httpx.AsyncClient() as http:

            async def post(content: bytes = body, **changed: str) -> tuple[int, dict]:
                replaced = {**headers, **{name.lower(): value for name, value in changed.items()}}
                sent = await http.post(node_receiver.url, content=content, headers=replaced)
                return sent.status_code, await _line(node_receiver, lambda line: "valid" in line)

            status, replay = await post()  # a repeat inside the window verifies: de-duplicate it
            assert (status, replay["valid"], replay["duplicate"]) == (204, True, True)
            both = f"{sign('another-secret-entirely-0123', timestamp, body)}, {right}"
            assert (await post(**{SIGNATURE_HEADER: both}))[0] == 204  # one of several v1= matching
            assert (await post(body.replace(b'"seq"', b'"seq" ')))[0] == 401  # another body
            assert (await post(**{SIGNATURE_HEADER: "v1=" + right[3:].upper()}))[0] == 401  # hex is lowercase
            old = int(time.time()) - 301
            stale = {TIMESTAMP_HEADER: str(old), SIGNATURE_HEADER: sign(SECRET, old, body)}
            assert (await post(**stale))[0] == 401  # signed right, but outside the five minutes
            latin1 = hmac.new(SECRET.encode("latin-1"), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
            assert (await post(**{SIGNATURE_HEADER: f"v1={latin1}"}))[0] == 401  # the key is the UTF-8 bytes
    finally:
        await hooks.close()


async def _line(receiver: NodeReceiver, match) -> dict:
    return await asyncio.to_thread(receiver.next, match)


def test_the_worked_example_of_the_docs_verifies_in_node():
    script = (
        f"import {{ verify }} from {json.dumps(VERIFIER.as_uri())};"
        "const headers = {'samordna-timestamp': '1795000000', 'samordna-signature': process.argv[1]};"
        "const ok = (now, body) => verify({secrets: ['webhook-secret-for-docs-0123'], headers, body, now});"
        "const body = Buffer.from('{\"seq\":1}');"
        "console.log(JSON.stringify([ok(1795000100, body), ok(1795000301, body),"
        " ok(1795000000, Buffer.from('{\"seq\": 1}'))]));"
    )
    signature = sign("webhook-secret-for-docs-0123", 1795000000, b'{"seq":1}')
    result = subprocess.run(
        [shutil.which("node") or "node", "--input-type=module", "-e", script, signature],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert json.loads(result.stdout) == [True, False, False]  # in the window; too late; another body
