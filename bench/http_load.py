"""Closed-loop HTTP load: N clients, each posting one request after the other for a while.

The client is a minimal HTTP/1.1 writer and reader on asyncio streams, so that what is measured
is the server and not the client library: the same code opens a connection per request
(`Connection: close`) or keeps one per client. `httpx` is there too, to compare against the
client partners are likely to use.
"""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

Body = Callable[[], bytes]


@dataclass
class Outcome:
    """What a run of the clients saw: latencies of the accepted requests, the others by status."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    items: int = 0  # events accepted (a batch request accepts many)
    refused: dict[int, int] = field(default_factory=dict)
    sample: list[bytes] = field(default_factory=list)  # a few accepted answers' bodies

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0

    def ms(self, q: int) -> float:
        if len(self.latencies) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies, n=100)[q - 1] * 1000


class RawClient:
    """One client's HTTP/1.1 connection (kept, or made again for every request)."""

    def __init__(self, url: str, headers: dict[str, str], keepalive: bool) -> None:
        parts = urlsplit(url)
        self._host, self._port, self._path = parts.hostname, parts.port or 80, parts.path
        self._keepalive = keepalive
        head = [f"POST {self._path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        if not keepalive:
            head.append("Connection: close")
        self._head = "\r\n".join(head).encode() + b"\r\nContent-Length: "
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        reused = self._streams is not None
        if self._streams is None:
            self._streams = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._streams
        writer.write(self._head + str(len(body)).encode() + b"\r\n\r\n" + body)
        status_line = await reader.readline()
        if not status_line and reused:
            # the server closed the kept connection while it was idle (uvicorn: after 5 s), as
            # HTTP/1.1 allows; a client sends the request again on a new one (events are
            # idempotent by id)
            await self.close()
            return await self.post(body)
        status = int(status_line.split()[1])
        length, closing = 0, not self._keepalive
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                closing = True
        answer = await reader.readexactly(length)
        if closing:
            await self.close()
        return status, answer

    async def close(self) -> None:
        if self._streams is not None:
            _, writer = self._streams
            self._streams = None
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass


async def run(
    url: str,
    headers: dict[str, str],
    body: Body,
    clients: int,
    seconds: float,
    mode: str,
    items_of: Callable[[int, bytes], int] = lambda status, answer: 1 if status == 202 else 0,
) -> Outcome:
    """`clients` loops posting `body()` to `url` for `seconds`. Modes: "fresh" (a connection per
    request), "keepalive" (one kept connection per client), "httpx" (one httpx.AsyncClient whose
    pool the clients share, as one would write it), "httpx-each" (an httpx.AsyncClient per client)."""
    outcome = Outcome()
    deadline = time.perf_counter() + seconds
    shared = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=clients)) if mode == "httpx" else None

    async def one_client() -> None:
        own = httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=1)) if mode == "httpx-each" else None
        http = shared or own
        raw = None if http else RawClient(url, headers, keepalive=mode == "keepalive")
        try:
            while time.perf_counter() < deadline:
                payload = body()
                started = time.perf_counter()
                if http is not None:
                    response = await http.post(url, content=payload, headers=headers)
                    status, answer = response.status_code, response.content
                else:
                    status, answer = await raw.post(payload)
                elapsed = time.perf_counter() - started
                accepted = items_of(status, answer)
                if accepted:
                    outcome.items += accepted
                    outcome.latencies.append(elapsed)
                    if len(outcome.sample) < 3:
                        outcome.sample.append(answer)
                else:
                    outcome.refused[status] = outcome.refused.get(status, 0) + 1
        finally:
            if raw is not None:
                await raw.close()
            if own is not None:
                await own.aclose()

    started = time.perf_counter()
    try:
        await asyncio.gather(*(one_client() for _ in range(clients)))
    finally:
        if shared is not None:
            await shared.aclose()
    outcome.seconds = time.perf_counter() - started
    return outcome
