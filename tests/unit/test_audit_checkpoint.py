"""Signed checkpoints of the audit chain's head: forged ones are refused, and a chain that was cut
short or recomputed from genesis (which the rows alone cannot show) is named. And the audit
key's settings: production refuses to start without a key of its own."""

from datetime import UTC, datetime

import pytest

from services.consent import checkpoint
from services.consent.settings import DEVELOPMENT_AUDIT_KEY, ConsentSettings
from services.runtime.settings import ConfigurationError
from tests.unit.test_audit_chain import KEY, chain, keyed_chain, rehash_plainly, walk

SIGNING = checkpoint.signing_key(b"the audit secret")


def head_of(rows: list[dict]) -> checkpoint.Checkpoint:
    keyed = [r["seq"] for r in rows if r.get("chain_version") == 2]
    return checkpoint.Checkpoint(
        seq=rows[-1]["seq"],
        row_hash=rows[-1]["row_hash"],
        keyed_from=min(keyed) if keyed else None,
        published_at=datetime(2026, 11, 3, tzinfo=UTC),
        publisher="gate-0",
    )


def held(rows: list[dict], anchor: checkpoint.Checkpoint) -> list[str]:
    return checkpoint.held_against(walk(rows, remember=anchor.seq), anchor)


def test_a_signed_checkpoint_reads_back_and_a_forged_one_is_refused():
    anchor = head_of(keyed_chain(3))
    value = checkpoint.signed(SIGNING, anchor)

    assert checkpoint.read(SIGNING, value) == anchor
    forged = value.replace(f'"seq": {anchor.seq}'.encode(), b'"seq": 2')
    with pytest.raises(checkpoint.BadCheckpoint, match="signature does not hold"):
        checkpoint.read(SIGNING, forged)
    with pytest.raises(checkpoint.BadCheckpoint, match="signature does not hold"):
        checkpoint.read(checkpoint.signing_key(b"another secret"), value)
    for junk in (b"", b"[]", b'{"seq": 1}', b"\xff"):
        with pytest.raises(checkpoint.BadCheckpoint):
            checkpoint.read(SIGNING, junk)


def test_the_chain_and_its_latest_checkpoint_agree_also_when_rows_came_after_it():
    rows = keyed_chain(5)
    anchor = head_of(rows[:3])

    assert held(rows, anchor) == []


def test_rows_dropped_from_the_end_are_named_as_a_truncation():
    rows = keyed_chain(6)
    anchor = head_of(rows)

    assert walk(rows[:4]).problems == []  # the rows alone still look whole
    assert held(rows[:4], anchor) == [
        "truncated: seq 5..6 missing (2 rows; the checkpoint published 2026-11-03T00:00:00+00:00 by gate-0 "
        "saw the chain at seq 6)"
    ]


def test_a_chain_recomputed_from_genesis_with_plain_sha256_contradicts_the_checkpoint():
    rows = keyed_chain(4, after=chain(2))
    anchor = head_of(rows)
    rows[3]["forwarded"] = False
    rehash_plainly(rows, 0, as_legacy=True)  # every row "legacy": nothing in the rows shows it

    assert walk(rows).problems == []
    problems = held(rows, anchor)
    assert problems[0].startswith("rewritten: seq 6 does not have the hash")
    assert problems[1].startswith("rewritten: keyed rows begin nowhere")


def test_an_empty_chain_and_its_checkpoint_agree():
    anchor = checkpoint.Checkpoint(
        seq=0, row_hash="0" * 64, keyed_from=None, published_at=datetime.now(UTC), publisher="gate-0"
    )
    assert checkpoint.held_against(walk([], key=KEY, remember=0), anchor) == []


# ---- the audit key's settings -------------------------------------------------------------------

PRODUCTION = {
    "environment": "production",
    "pseudonym_secret": "p" * 64,
    "tokens_file": "/dev/null",
    "kafka_security_protocol": "SASL_SSL",
    "kafka_username": "samordna-gate",
    "kafka_password": "x",
}


@pytest.fixture(autouse=True)
def no_samordna_environment(monkeypatch):
    import os

    for name in [name for name in os.environ if name.startswith("SAMORDNA_")]:
        monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (None, "SAMORDNA_AUDIT_KEY or SAMORDNA_AUDIT_KEY_FILE must be set in production"),
        (DEVELOPMENT_AUDIT_KEY, "SAMORDNA_AUDIT_KEY is the development default"),
        ("p" * 64, "SAMORDNA_AUDIT_KEY must not be the pseudonym secret"),
    ],
)
def test_production_refuses_a_missing_default_or_shared_audit_key(key, message):
    with pytest.raises(ConfigurationError, match=message):
        ConsentSettings(**PRODUCTION, **({"audit_key": key} if key else {}))


def test_the_audit_key_comes_from_a_secret_file(tmp_path):
    (tmp_path / "audit-key").write_text("a" * 64 + "\n")

    settings = ConsentSettings(**PRODUCTION, audit_key_file=tmp_path / "audit-key")

    assert settings.audit_secret == b"a" * 64
    with pytest.raises(ConfigurationError, match="SAMORDNA_AUDIT_KEY_FILE: No such file"):
        ConsentSettings(**PRODUCTION, audit_key_file=tmp_path / "missing")
    with pytest.raises(ConfigurationError, match="not both"):
        ConsentSettings(**PRODUCTION, audit_key="b" * 64, audit_key_file=tmp_path / "audit-key")


def test_development_has_a_default_key_and_the_interval_must_be_positive():
    assert ConsentSettings().audit_secret == DEVELOPMENT_AUDIT_KEY.encode()
    with pytest.raises(ConfigurationError, match="SAMORDNA_AUDIT_CHECKPOINT_SECONDS"):
        ConsentSettings(audit_checkpoint_seconds=0)


def test_the_publisher_signs_only_a_head_that_extends_the_last_checkpoint():
    rows = keyed_chain(5)
    previous = head_of(rows[:3])

    assert checkpoint.refusal(None, 0, None) is None
    assert checkpoint.refusal(previous, 5, rows[2]["row_hash"]) is None
    assert checkpoint.refusal(previous, 3, rows[2]["row_hash"]) is None  # nothing new: signed again
    assert "truncated" in checkpoint.refusal(previous, 2, None)
    assert "rewritten" in checkpoint.refusal(previous, 5, "f" * 64)


def test_the_newest_checkpoint_is_the_one_that_saw_the_longest_chain():
    rows = keyed_chain(4)
    older, newer = head_of(rows[:2]), head_of(rows)

    assert checkpoint.newest([newer, older]) == newer
    assert checkpoint.newest([]) is None
