"""Signing of webhook deliveries, for the gateway that sends them and the systems that receive them.

A delivery carries `Samordna-Timestamp` (unix seconds) and
`Samordna-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>`: the secret's UTF-8
bytes are the key, the hex is lowercase, the body is the raw bytes sent. The timestamp is signed
with the body so that a recorded delivery cannot be replayed later than the tolerance (a repeat
within it verifies: receivers de-duplicate by event id). docs/integration.md has it all.
Only the standard library is used, so a receiver can copy this file as it is.
"""

import hashlib
import hmac
import time
from collections.abc import Mapping

TIMESTAMP_HEADER = "Samordna-Timestamp"
SIGNATURE_HEADER = "Samordna-Signature"
EVENT_ID_HEADER = "Samordna-Event-Id"
SEQ_HEADER = "Samordna-Seq"
SUBSCRIPTION_HEADER = "Samordna-Subscription-Id"
SCHEME = "v1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The value of the signature header for `body` sent at `timestamp`: `v1=<hex>`."""
    return f"{SCHEME}={_digest(secret, timestamp, body)}"


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, tolerance_s: float = 300, now: float | None = None
) -> bool:
    """True if `body` was signed with `secret` no more than `tolerance_s` seconds from `now`.

    `headers` may be any mapping (header names in any case). The signature header may hold
    several comma-separated `v1=` values, so that a sender can sign with an old and a new secret
    while they are being rotated; one match is enough. Pass the raw body bytes, as received.
    """
    timestamp = _header(headers, TIMESTAMP_HEADER)
    signatures = _header(headers, SIGNATURE_HEADER)
    if timestamp is None or signatures is None or not timestamp.strip().isdigit():
        return False
    sent_at = int(timestamp.strip())
    if abs((time.time() if now is None else now) - sent_at) > tolerance_s:
        return False
    expected = _digest(secret, sent_at, body)
    return any(
        scheme.strip() == SCHEME and hmac.compare_digest(value.strip(), expected)
        for scheme, _, value in (part.partition("=") for part in signatures.split(","))
    )


def _digest(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)
