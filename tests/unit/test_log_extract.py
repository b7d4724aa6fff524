"""The log extract's pure model (services/board/log_extract.py) and its Swedish wording: everything
about the person that the principal may know is in it, nothing of another person or of what another
principal withheld or looked at, and every code the services write has words a person understands."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from services.board import log_extract_words as words
from services.board.log_extract import ConsentChange, Decision, Look, extract
from services.consent.domain import Reason

ROOT = Path(__file__).resolve().parents[2]
PRINCIPALS = ["region-14", "kommun-1489", "kommun-1441"]
PERSONS = ["p-alice", "p-bertil"]
TYPES = ["se.samordna.region.visit.missed.v1", "se.samordna.municipality.intervention.decided.v1",
         "se.samordna.joint.sip.requested.v1"]  # fmt: skip
T0 = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(0, 10_000).map(lambda m: T0 + timedelta(minutes=m))

decisions = st.builds(
    Decision,
    person=st.sampled_from(PERSONS),
    event_id=st.uuids().map(str),
    event_type=st.sampled_from(TYPES),
    sender=st.sampled_from(PRINCIPALS),
    recipient=st.none() | st.sampled_from(PRINCIPALS),
    forwarded=st.booleans(),
    reason=st.sampled_from([r.value for r in Reason]),
    basis=st.sampled_from(["consent", "statutory", "none"]),
    consent_id=st.none() | st.uuids().map(str),
    legal_reference=st.none() | st.just("SFS 2017:612 2 kap. 2 §"),
    event_time=moments,
    decided_at=moments,
)
changes = st.builds(
    ConsentChange,
    person=st.sampled_from(PERSONS),
    consent_id=st.uuids().map(str),
    kind=st.sampled_from(sorted(words.CONSENT_CHANGES)),
    occurred_at=moments,
    parties=st.lists(st.sampled_from(PRINCIPALS), min_size=2, max_size=3, unique=True).map(tuple),
    categories=st.just(("attendance", "treatment")),
    excluded_categories=st.just(()),
    excluded_event_types=st.lists(st.sampled_from(TYPES), max_size=1).map(tuple),
    valid_from=moments,
    valid_until=moments,
    form=st.sampled_from(["written", "verbal"]),
)
looks = st.builds(
    Look,
    person=st.sampled_from(PERSONS),
    source=st.sampled_from(["board", "consent"]),
    at=moments,
    principal=st.sampled_from(PRINCIPALS),
    role=st.just("coordinator"),
    user=st.uuids().map(str),
    name=st.none() | st.just("Åsa Öberg"),
    hsa_id=st.none() | st.just("SE2321000131-E000000000001"),
    unit=st.none() | st.just("Beroendemottagningen"),
    action=st.sampled_from(sorted(words.ACTIONS)),
)


def _extract(principal, ds, cs, ls):
    return extract("19121212-1212", "p-alice", principal, ds, cs, ls, T0, "Åsa Öberg, Beroendemottagningen")


@given(st.sampled_from(PRINCIPALS), st.lists(decisions), st.lists(changes), st.lists(looks))
def test_everything_the_principal_may_know_is_in_and_nothing_else(principal, ds, cs, ls):
    x = _extract(principal, ds, cs, ls)
    mine = [d for d in ds if d.person == "p-alice"]
    crossed = [d for d in mine if d.forwarded and d.recipient and principal in (d.sender, d.recipient)]
    withheld = [d for d in mine if not d.forwarded and d.sender == principal]
    assert sorted(c.event_id for c in x.crossed) == sorted(d.event_id for d in crossed)
    assert sorted(w.event_id for w in x.withheld) == sorted(d.event_id for d in withheld)
    assert sorted(c.consent_id for c in x.consent_changes) == sorted(
        c.consent_id for c in cs if c.person == "p-alice" and principal in c.parties
    )
    assert len(x.accesses) == len([a for a in ls if a.person == "p-alice" and a.principal == principal])
    # nothing of another person, of another principal's withheld event or of another principal's look
    others = {d.event_id for d in ds if d.person != "p-alice"} | {
        d.event_id for d in ds if not d.forwarded and d.sender != principal
    }
    others -= {d.event_id for d in crossed + withheld}  # a uuid drawn twice is not a leak
    assert not others & ({c.event_id for c in x.crossed} | {w.event_id for w in x.withheld})
    assert all(a.principal == _name(principal) for a in x.accesses)


@given(st.sampled_from(PRINCIPALS), st.lists(decisions, min_size=1))
def test_each_withheld_event_says_why_in_swedish_and_each_crossing_its_basis(principal, ds):
    ds = [d.__class__(**{**d.__dict__, "person": "p-alice", "sender": principal}) for d in ds]
    x = _extract(principal, ds, [], [])
    for w in x.withheld:  # a refusal's own words; the words of none if a record names a reason for crossing
        assert w.why == words.REASONS.get(w.reason, words.UNKNOWN_REASON)
    for c in x.crossed:
        assert c.basis.startswith(("Ditt samtycke", "Lagstöd"))
        if c.basis.startswith("Lagstöd") and c.legal_reference:
            assert c.legal_reference in c.basis
        if c.basis.startswith("Ditt samtycke") and c.consent_id:
            assert c.consent_id in c.basis


@given(st.lists(decisions), st.lists(changes), st.lists(looks))
def test_each_part_is_oldest_first(ds, cs, ls):
    x = _extract("region-14", ds, cs, ls)
    for part in (x.crossed, x.withheld, x.consent_changes, x.accesses):
        assert [p.at for p in part] == sorted(p.at for p in part)


def test_every_reason_of_the_gate_has_words_a_person_understands():
    assert set(words.REASONS) >= {r.value for r in Reason if r not in (Reason.CONSENT, Reason.STATUTORY_BASIS)}
    for text in words.REASONS.values():
        assert text.endswith(".") and "_" not in text


def test_every_access_the_services_log_has_words():
    """Each action code written to an access log anywhere in services/ is worded for the person."""
    source = "\n".join(p.read_text() for p in (ROOT / "services").rglob("*.py"))
    # Access(who, "x.y", …), log_views(deps, staff, "x.y", …), the consent service's _logged(caller, "x.y", …)
    calls = r"(?:Access\([^,()]+(?:\([^()]*\))?,\s*|log_views\([^,]+,[^,]+,\s*|_logged\([^,]+,\s*)"
    codes = set(re.findall(calls + r"\"([a-z_]+\.[a-z_]+)\"", source))
    codes |= set(re.findall(r"\"(workspace\.[a-z_]+)\"", source))  # the workspace's, chosen in an expression too
    assert codes, "no access-log actions found: the pattern is stale"
    assert codes <= set(words.ACTIONS), sorted(codes - set(words.ACTIONS))


def test_an_unknown_code_still_reads_as_swedish():
    assert words.reason_in_words("something_new") == words.UNKNOWN_REASON
    assert words.action_in_words("something.new") == words.UNKNOWN_ACTION


def _name(principal: str) -> str:
    from contracts.principals import display_name

    return display_name(principal)
