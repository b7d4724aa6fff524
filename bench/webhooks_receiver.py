"""The fast webhook receiver of bench/webhooks.py and bench/e2e.py, in a process of its own (uvicorn,
a bare ASGI app), so that receiving costs the benchmark's process nothing and does not wait for
its load generator (`running` starts it and waits until it listens).

    .venv/bin/python -m bench.webhooks_receiver --port 26000 --secret SECRET [--by-path]

Every POST is verified (contracts/webhooks.py) and answered 204 at once; the first arrival of each
event id (header Samordna-Event-Id) is kept with the receiver's clock — with `--by-path`, of each
path and event id, as "path event-id" (the path without its slash: bench.e2e gives every
recipient its own). The benchmark asks:
  GET /wait?count=N&timeout=S  answers once N distinct events arrived (or S passed), with the counts;
  GET /arrivals                every event id with its first arrival (epoch seconds), then forgets them.
"""

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import uvicorn

from contracts import webhooks as signing
from deploy.layout import REPO


@asynccontextmanager
async def running(
    secret: str, log_path: Path, port: int | None = None, by_path: bool = False
) -> AsyncIterator[tuple[str, subprocess.Popen]]:
    """The receiver as a process of its own on 127.0.0.1 (`port`, or a free one): its base URL and
    process once it answers; stopped afterwards."""
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    command = [sys.executable, "-m", "bench.webhooks_receiver", "--port", str(port), "--secret", secret]
    with log_path.open("w") as log:
        process = subprocess.Popen([*command, *(["--by-path"] if by_path else [])], cwd=REPO, stdout=log,
                                   stderr=subprocess.STDOUT)  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            async with httpx.AsyncClient() as http:
                for _ in range(200):  # up to 20 s for uvicorn to listen
                    try:
                        await http.get(f"{url}/arrivals")
                        break
                    except httpx.TransportError:
                        if process.poll() is not None:
                            raise RuntimeError(
                                f"the webhook receiver exited ({process.returncode}): see {log_path}"
                            ) from None
                        await asyncio.sleep(0.1)
                else:
                    raise RuntimeError(f"the webhook receiver did not listen on {url} in 20 s: see {log_path}")
            yield url, process
        finally:
            process.terminate()
            process.wait(10)


class Receiver:
    def __init__(self, secret: str, by_path: bool = False) -> None:
        self.secret = secret
        self.by_path = by_path
        self.arrivals: dict[str, float] = {}
        self.posts = 0
        self.bad_signatures = 0
        self.without_event = 0  # FHIR handshakes and heartbeats
        self.changed = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST":
            await self._post(scope, receive, send)
        elif scope["path"] == "/wait":
            query = parse_qs(scope["query_string"].decode())
            await self._wait(int(query["count"][0]), float(query.get("timeout", ["60"])[0]))
            await _answer(send, 200, self._counts())
        elif scope["path"] == "/arrivals":
            answer = self._counts() | {"arrivals": self.arrivals}
            self.arrivals = {}
            await _answer(send, 200, answer)
            self.posts = self.bad_signatures = self.without_event = 0
        else:
            await _answer(send, 404, {})

    async def _post(self, scope, receive, send) -> None:
        at = time.time()
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.posts += 1
        if not signing.verify(self.secret, headers, body):
            self.bad_signatures += 1
        event_id = headers.get(signing.EVENT_ID_HEADER.lower())
        if event_id is None:
            self.without_event += 1
        else:
            key = f"{scope['path'].strip('/')} {event_id}" if self.by_path else event_id
            self.arrivals.setdefault(key, at)
            self.changed.set()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def _wait(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrivals) < count and (left := deadline - time.monotonic()) > 0:
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                return

    def _counts(self) -> dict:
        return {
            "events": len(self.arrivals),
            "posts": self.posts,
            "bad_signatures": self.bad_signatures,
            "without_event": self.without_event,
        }


async def _answer(send, status: int, body: dict) -> None:
    raw = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": raw})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--by-path", action="store_true", help="keep arrivals by path and event id")
    args = parser.parse_args()
    uvicorn.run(
        Receiver(args.secret, args.by_path), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
