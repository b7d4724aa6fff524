"""Sealed records: what Samordna keeps about a person in Kafka for the board, readable only while
a key in the consent service's PostgreSQL says it may be (crypto-shredding, docs/architecture.md).

A sealed record is a structured-mode CloudEvent: the envelope of the event it carries (`id`,
`source`, `type`, `time`, `principal`, `category`) without `subject`, and `data` holding the
clear, pseudonymised facts a reader needs to act without the key (who crossed, on which
consents, the person's pseudonym) and `sealed`: the personnummer and the payload, encrypted.
`datacontenttype` says that `data` is this form, not the type's payload.

Envelope encryption: each record has a data key of its own (AES-256-GCM), wrapped by every
key-encryption key that holds the record — one per consent that let it cross, and one per
statutory basis and person. Deleting a key-encryption key makes every record only it holds
unreadable, in every copy of the log. The associated data binds the ciphertext and each wrapped
key to the record (sender, event id, person pseudonym): a sealed part moved to another record
does not open.
"""

import base64
import binascii
import json
import os
from collections.abc import Mapping
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import from_json

from contracts.principals import PrincipalId

SEALED_CONTENT_TYPE = "application/vnd.samordna.sealed+json"
KEY_BYTES = 32  # AES-256
_NONCE_BYTES = 12
_AAD_PREFIX = b"samordna-sealed-v1"


def new_key() -> bytes:
    """A fresh key-encryption key (or data key)."""
    return AESGCM.generate_key(bit_length=8 * KEY_BYTES)


class WrappedKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kid: str = Field(min_length=1, max_length=200)
    nonce: str
    wrapped: str


class Sealed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    alg: Literal["A256GCM"] = "A256GCM"
    nonce: str
    ciphertext: str
    keys: list[WrappedKey] = Field(min_length=1)


class SealedEvent(BaseModel):
    """A structured-mode CloudEvent whose personal part is sealed (see the module)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1, max_length=128)
    source: str = Field(min_length=1, max_length=256)
    type: str
    time: str
    datacontenttype: Literal["application/vnd.samordna.sealed+json"] = SEALED_CONTENT_TYPE
    principal: PrincipalId
    category: str
    data: dict[str, Any]

    @property
    def pseudonym(self) -> str:
        return self.data["person_pseudonym"]

    @property
    def sealed(self) -> Sealed | None:
        """None on a record that carries nothing personal but the pseudonym."""
        return Sealed.model_validate(self.data["sealed"]) if "sealed" in self.data else None

    @property
    def clear(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k != "sealed"}

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()


def seal_event(
    envelope: Mapping[str, Any],
    pseudonym: str,
    clear: Mapping[str, Any],
    secret: Mapping[str, Any],
    keks: Mapping[str, bytes | AESGCM],
) -> SealedEvent:
    """`envelope` (an event's attributes; its `subject` and `data` are not used) with `clear` in
    the open and `secret` sealed under a new data key wrapped by each of `keks` (kid -> key, or
    the key's AESGCM already made)."""
    # our own values, of the model's types: constructed, not validated again
    return SealedEvent.model_construct(**_sealed_fields(envelope, pseudonym, clear, secret, keks))


def seal_event_json(
    envelope: Mapping[str, Any],
    pseudonym: str,
    clear: Mapping[str, Any],
    secret: Mapping[str, Any],
    keks: Mapping[str, bytes | AESGCM],
) -> bytes:
    """`seal_event(...).to_json()`, the same bytes, without a model in between (the gate seals
    every copy for the board: docs/performance.md)."""
    return _JSON.encode(_sealed_fields(envelope, pseudonym, clear, secret, keks)).encode()


# compact, and UTF-8 kept as it is: the way pydantic writes the model
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
_SECRET_JSON = json.JSONEncoder(separators=(",", ":"))  # json.dumps(secret, separators=...), made once


def _sealed_fields(envelope, pseudonym, clear, secret, keks) -> dict[str, Any]:
    """SealedEvent's fields, in its order."""
    if not keks:
        raise ValueError("a sealed record needs at least one key that holds it")
    aad = _aad(envelope["principal"], envelope["id"], pseudonym)
    dek, nonce = new_key(), os.urandom(_NONCE_BYTES)
    ciphertext = AESGCM(dek).encrypt(nonce, _SECRET_JSON.encode(secret).encode(), aad)
    wrapped = []
    for kid, kek in sorted(keks.items()):
        wrap_nonce = os.urandom(_NONCE_BYTES)
        aead = kek if isinstance(kek, AESGCM) else AESGCM(kek)
        wrapped_key = aead.encrypt(wrap_nonce, dek, _kid_aad(aad, kid))
        wrapped.append({"kid": kid, "nonce": _b64(wrap_nonce), "wrapped": _b64(wrapped_key)})
    sealed = {"alg": "A256GCM", "nonce": _b64(nonce), "ciphertext": _b64(ciphertext), "keys": wrapped}
    return {
        "specversion": "1.0",
        "id": str(envelope["id"]),
        "source": str(envelope["source"]),
        "type": str(envelope["type"]),
        "time": _iso(envelope["time"]),
        "datacontenttype": SEALED_CONTENT_TYPE,
        "principal": str(envelope["principal"]),
        "category": str(envelope["category"]),  # a category is an enum
        "data": {**clear, "person_pseudonym": pseudonym, "sealed": sealed},
    }


def kids_of(record: SealedEvent) -> list[str]:
    """The keys any one of which opens the record."""
    sealed = record.sealed
    return [k.kid for k in sealed.keys] if sealed else []


def open_sealed(record: SealedEvent, keks: Mapping[str, bytes]) -> dict[str, Any] | None:
    """The sealed part, or None when no key that holds the record is left (it has been erased).
    A key that is there but does not open it (another record's part, a changed byte) raises."""
    sealed = record.sealed
    if sealed is None:
        return {}
    aad = _aad(record.principal, record.id, record.pseudonym)
    for wrapped in sealed.keys:
        kek = keks.get(wrapped.kid)
        if kek is None:
            continue
        try:
            dek = AESGCM(kek).decrypt(_unb64(wrapped.nonce), _unb64(wrapped.wrapped), _kid_aad(aad, wrapped.kid))
            plain = AESGCM(dek).decrypt(_unb64(sealed.nonce), _unb64(sealed.ciphertext), aad)
        except InvalidTag:
            raise ValueError(f"sealed record {record.id}: key {wrapped.kid} does not open it") from None
        return from_json(plain)  # json.loads' answer, parsed in Rust
    return None


def _aad(principal: str, event_id: str, pseudonym: str) -> bytes:
    return b"\n".join((_AAD_PREFIX, principal.encode(), event_id.encode(), pseudonym.encode()))


def _kid_aad(aad: bytes, kid: str) -> bytes:
    return aad + b"\nkid:" + kid.encode()


def _iso(value: Any) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str) -> bytes:
    # base64.b64decode(text, validate=True) without its Python wrapper; strict also refuses bad padding
    return binascii.a2b_base64(text, strict_mode=True)
