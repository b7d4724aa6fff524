"""One webhook delivery sent: a signed POST, and in words without personal data why it failed."""

import asyncio
import socket
import ssl
import time

import aiohttp

from contracts import webhooks as signing
from services.gateway.webhooks.queue import Claimed
from services.gateway.webhooks.subscriptions import Endpoint
from services.gateway.webhooks.targets import GuardedClient, TargetRefusedAtConnect

MAX_ANSWER_BYTES = 4096


def signed_headers(endpoint: Endpoint, claimed: Claimed, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        signing.EVENT_ID_HEADER: claimed.event_id,
        signing.SEQ_HEADER: str(claimed.seq),
        signing.SUBSCRIPTION_HEADER: str(endpoint.subscription_id),
        signing.TIMESTAMP_HEADER: str(timestamp),
        signing.SIGNATURE_HEADER: signing.sign(endpoint.secret, timestamp, claimed.body),
    }


async def send(http: GuardedClient, endpoint: Endpoint, claimed: Claimed, timeout: float) -> str | None:
    """None if the endpoint answered 2xx, else why not, in words that hold no personal data."""
    headers = signed_headers(endpoint, claimed, int(time.time()))
    return await post(http, endpoint.url, claimed.body, headers, timeout)


async def post(http: GuardedClient, url: str, body: bytes, headers: dict[str, str], timeout: float) -> str | None:
    """One POST: None if the endpoint answered 2xx, else why not, in words without personal data."""
    try:
        # The whole exchange is bounded: an endpoint that trickles its answer would otherwise
        # hold a slot for ever. Of the response body at most MAX_ANSWER_BYTES are read (so that a
        # short answer keeps the connection for the next delivery), and dropped: it could hold
        # personal data and we do not keep it.
        async with asyncio.timeout(timeout):
            async with http.post(url, body, headers) as response:
                status = response.status
                await _drain(response)
    except TimeoutError:
        return f"timeout after {timeout:g} s"
    except TargetRefusedAtConnect as exc:
        return f"refused: {exc.reason}"
    except socket.gaierror:  # a numeric host the system could not read (checked before connecting)
        return "host name not resolved"
    except aiohttp.ClientConnectorError as exc:
        return connect_failure(exc)
    except (aiohttp.ClientError, ValueError) as exc:  # ValueError: a URL aiohttp cannot use
        return f"request failed ({type(exc).__name__})"
    return None if 200 <= status < 300 else f"HTTP {status}"


async def _drain(response: aiohttp.ClientResponse) -> None:
    read = 0
    while read < MAX_ANSWER_BYTES:
        chunk = await response.content.readany()
        if not chunk:
            return
        read += len(chunk)


def connect_failure(exc: BaseException) -> str:
    """Why a connection failed, from the causes aiohttp wraps."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    refused = next((c for c in causes if isinstance(c, TargetRefusedAtConnect)), None)
    if refused is not None:
        return f"refused: {refused.reason}"
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "host name not resolved"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return "TLS handshake failed"
    return "connection failed"
