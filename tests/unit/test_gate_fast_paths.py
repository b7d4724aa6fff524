"""The gate's fast paths give exactly what the slow, obvious code gives (docs/performance.md)."""

import uuid

from hypothesis import given
from hypothesis import strategies as st
from personnummer import personnummer

from contracts.person import _plain, _plain_unicode, normalize_person_id
from contracts.text import _unstorable_paths, unstorable_paths
from services.consent.plan import _DECISION_IDS, decision_id
from tests.support.personnummer import random_person_id

# ASCII (spaces and control characters included), then anything, surrogates included
texts = st.text(st.characters(max_codepoint=127)) | st.text(st.characters(codec=None, exclude_categories=()))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts | st.integers(), inner, max_size=4),
    max_leaves=12,
)


@given(texts)
def test_plain_text_is_the_same_on_the_ascii_fast_path(text):
    assert _plain(text) == _plain_unicode(text)


@given(json_values, st.sampled_from(["", "data"]))
def test_unstorable_paths_are_the_same_with_the_precheck(value, path):
    assert list(unstorable_paths(value, path)) == list(_unstorable_paths(value, path))


def test_a_nul_or_a_lone_surrogate_anywhere_is_found():
    for bad in ("a\x00b", "\ud800", "x\udfffy"):
        assert list(unstorable_paths({"data": {"k": [1, bad]}})) == ["data.k.1"]
        assert list(unstorable_paths({bad: 1})) == ["body"]
    assert list(unstorable_paths({"t": "spells \\u0000 only"})) == []


@given(st.text(st.characters(codec="utf-8")))
def test_decision_ids_are_uuid5(name):
    assert decision_id(name) == str(uuid.uuid5(_DECISION_IDS, name))


@given(
    texts, st.dictionaries(texts, json_values, max_size=3), st.lists(st.sampled_from(["k1", "k2", "k3"]), min_size=1)
)
def test_a_sealed_copy_is_the_same_bytes_as_the_models(text, data, kids):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from contracts import sealing

    envelope = {"id": "e-1", "source": "/journal", "type": "se.samordna.region.visit.missed.v1",
                "time": "2026-12-01T10:00:00+00:00", "principal": "region-14", "category": "attendance"}  # fmt: skip
    clear = {"parties": ["region-14", "kommun-1489"], "consent_ids": [text], "decided_at": "2026-12-01T10:00:01"}
    secret = {"subject": "198407247777", "data": data}
    keys = {kid: bytes(32) for kid in kids}

    def sealed(seal, keks):
        counter = iter(range(1 << 16))
        real = sealing.os.urandom, sealing.new_key
        sealing.os.urandom = lambda n: bytes([next(counter) % 256]) * n  # the same "randomness" both times
        sealing.new_key = lambda: sealing.os.urandom(32)
        try:
            return seal(envelope, "p-1", clear, secret, keks)
        finally:
            sealing.os.urandom, sealing.new_key = real

    try:
        model = sealed(sealing.seal_event, keys).to_json()
    except (UnicodeEncodeError, ValueError):  # a lone surrogate cannot be UTF-8 either way
        return
    assert sealed(sealing.seal_event_json, {k: AESGCM(v) for k, v in keys.items()}) == model


def _by_the_package(written: str) -> str | None:
    try:
        return personnummer.parse(written).format(long_format=True)
    except (personnummer.PersonnummerException, ValueError, TypeError):
        return None


def _by_normalize(written: str) -> str | None:
    try:
        return normalize_person_id(written)
    except ValueError:
        return None


# twelve digits: random ones (nearly all invalid), and valid numbers with one digit changed or not
twelve_digits = st.text(st.sampled_from("0123456789"), min_size=12, max_size=12) | st.builds(
    lambda number, position, digit, change: number[:position] + digit + number[position + 1 :] if change else number,
    st.builds(random_person_id, st.randoms(use_true_random=False)).map(lambda p: p.replace("-", "")),
    st.integers(0, 11),
    st.sampled_from("0123456789"),
    st.booleans(),
)


@given(twelve_digits)
def test_the_canonical_form_is_judged_as_the_personnummer_package_judges_it(written):
    assert _by_normalize(written) == _by_the_package(written)


def test_the_canonical_fast_path_refuses_what_the_package_refuses():
    assert _by_the_package("190001010008") is None
    assert _by_normalize("190001010008") is None  # serial 000, with the right check digit
    assert _by_normalize("190001019991") == _by_the_package("190001019991") == "190001019991"  # serial 999
    assert _by_normalize("000001010000") is None
    assert _by_normalize("19000230" + "0000") is None  # 30 February
    assert all(_by_normalize(number) == _by_the_package(number) for number in ("198112189876", "198112789876"))
