"""Webhook signatures as a receiver checks them, with contracts/webhooks.py alone."""

import time

from contracts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

SECRET = "a-secret-of-thirty-two-characters"
BODY = b'{"seq":7,"received_at":"2026-11-22T09:30:00+00:00","event":{"id":"journal-4711"}}'


def signed_headers(body: bytes = BODY, secret: str = SECRET, timestamp: int | None = None) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def test_a_signed_body_verifies():
    assert verify(SECRET, signed_headers(), BODY)


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_in_hex():
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, BODY) == f"v1={expected}"


def test_header_names_are_matched_in_any_case():
    headers = {name.lower(): value for name, value in signed_headers().items()}
    assert verify(SECRET, headers, BODY)


def test_a_tampered_body_fails():
    assert not verify(SECRET, signed_headers(), BODY.replace(b"journal-4711", b"journal-4712"))


def test_another_secret_fails():
    assert not verify("another-secret-of-enough-length", signed_headers(), BODY)


def test_an_old_timestamp_fails_even_with_a_valid_signature():
    old = int(time.time()) - 301
    assert not verify(SECRET, signed_headers(timestamp=old), BODY)
    assert verify(SECRET, signed_headers(timestamp=old), BODY, tolerance_s=600)


def test_a_timestamp_from_the_future_beyond_the_tolerance_fails():
    assert not verify(SECRET, signed_headers(timestamp=int(time.time()) + 301), BODY)


def test_a_changed_timestamp_fails():
    headers = signed_headers(timestamp=1700000000)
    headers[TIMESTAMP_HEADER] = "1700000001"
    assert not verify(SECRET, headers, BODY, now=1700000001)


def test_missing_or_malformed_headers_fail():
    headers = signed_headers()
    assert not verify(SECRET, {SIGNATURE_HEADER: headers[SIGNATURE_HEADER]}, BODY)
    assert not verify(SECRET, {TIMESTAMP_HEADER: headers[TIMESTAMP_HEADER]}, BODY)
    assert not verify(SECRET, headers | {TIMESTAMP_HEADER: "yesterday"}, BODY)
    assert not verify(SECRET, headers | {SIGNATURE_HEADER: headers[SIGNATURE_HEADER].replace("v1=", "v0=")}, BODY)


def test_one_matching_signature_of_several_is_enough_while_secrets_rotate():
    timestamp = int(time.time())
    both = f"{sign('the-old-secret-being-retired', timestamp, BODY)}, {sign(SECRET, timestamp, BODY)}"
    assert verify(SECRET, {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: both}, BODY)


def test_the_worked_example_in_the_integration_guide_is_what_sign_gives():
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "integration.md").read_text(encoding="utf-8")
    example = sign("webhook-secret-for-docs-0123", 1795000000, b'{"seq":1}')
    assert f"Samordna-Signature: {example}" in guide
