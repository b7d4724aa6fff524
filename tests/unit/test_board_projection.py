"""The board's projection as a pure function: forwarded events and consent changes folded into
what the board keeps, with no broker and no database — examples of each rule, and Hypothesis
properties of the invariants that are the projection's own."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.catalogue import ConsentChange
from services.board.projection import BoardState, Writes, apply, apply_all, persons_visible_to
from tests.unit.fakes_board import ALINGSAS, LERUM, NOW, PSEUDONYMS, REGION, consent, crossed, forwarded

SAMPLE = "se.samordna.region.sample.positive.v1"
VISIT = "se.samordna.region.visit.missed.v1"
P1, P2 = "199001012380", "198505052389"
C1, C2, C3 = (f"00000000-0000-0000-0000-00000000000{i}" for i in (1, 2, 3))
GRANTED, REVOKED, EXPIRED, EXPIRING = (ConsentChange.GRANTED, ConsentChange.REVOKED, ConsentChange.EXPIRED,
                                       ConsentChange.EXPIRING)  # fmt: skip
TO_ALINGSAS, TO_LERUM = (REGION, ALINGSAS), (REGION, LERUM)
REVOKED_AT = NOW - timedelta(days=3)


def fold(*changes) -> BoardState:
    return apply_all(BoardState(), changes).state


def seen_by(state: BoardState, principal: str) -> set[str]:
    return {e.event_id for p in persons_visible_to(state, principal, NOW) for e in p.events}


def test_an_event_is_kept_once_and_moves_its_sender_and_recipients():
    sample = forwarded(crossed(SAMPLE, P1, TO_ALINGSAS, event_id="s"), C1)
    first = apply(fold(consent(GRANTED, C1, P1, TO_ALINGSAS)), sample)
    again = apply(first.state, sample)

    assert first.moved == {REGION, ALINGSAS} and again.moved == frozenset()
    assert again.state == first.state
    assert seen_by(first.state, ALINGSAS) == {"s"} and seen_by(first.state, LERUM) == set()


def test_a_person_is_on_a_board_only_while_a_consent_naming_the_principal_has_not_ended():
    sample = forwarded(crossed(SAMPLE, P1, TO_ALINGSAS, event_id="s"), C1)
    assert seen_by(fold(sample), ALINGSAS) == set(), "an event alone makes no row"
    assert seen_by(fold(sample, consent(GRANTED, C1, P1, TO_ALINGSAS)), ALINGSAS) == {"s"}
    ended = consent(GRANTED, C1, P1, TO_ALINGSAS, valid_for=timedelta(days=59))
    assert seen_by(fold(sample, ended), ALINGSAS) == set()
    assert seen_by(fold(sample, consent(GRANTED, C1, P1, TO_ALINGSAS), consent(EXPIRED, C1, P1, TO_ALINGSAS)),
                   ALINGSAS) == set()  # fmt: skip


def test_a_revocation_forgets_what_only_its_consent_held_and_keeps_what_another_consent_holds():
    before = crossed(SAMPLE, P1, TO_ALINGSAS, event_id="before", days_ago=5)
    on_other = crossed(VISIT, P1, TO_LERUM, event_id="on-c2", days_ago=4)
    on_both = crossed(VISIT, P1, (REGION, ALINGSAS, LERUM), event_id="on-both", days_ago=4)
    statutory = crossed(VISIT, P1, TO_LERUM, event_id="statutory", days_ago=4)
    after = crossed(VISIT, P1, TO_LERUM, event_id="after", days_ago=1)
    state = fold(
        consent(GRANTED, C1, P1, TO_ALINGSAS),
        consent(GRANTED, C2, P1, TO_LERUM),
        forwarded(before, C1),
        forwarded(on_other, C2),
        forwarded(on_both, C1, C2),
        forwarded(statutory),
        forwarded(after, C2),
    )

    outcome = apply(state, consent(REVOKED, C1, P1, TO_ALINGSAS, at=REVOKED_AT))

    kept = {(REGION, "on-c2"), (REGION, "on-both"), (REGION, "after")}
    assert set(outcome.state.events) == kept, "what the other consent holds stays (issue 19)"
    assert outcome.moved == {REGION, ALINGSAS, LERUM}, "everyone who saw a forgotten event"
    assert seen_by(outcome.state, LERUM) == {"on-c2", "on-both", "after"}
    assert seen_by(outcome.state, ALINGSAS) == set(), "no consent in force names Alingsås any more"
    assert Writes.between(state, outcome.state) == Writes(
        events_forgotten=((REGION, "before"), (REGION, "statutory")),
        consents_dropped=(C1,),
        revocations_added=(outcome.state.revocations[C1],),
    )


def test_an_expiry_forgets_like_a_revocation_and_the_last_end_leaves_nothing():
    state = fold(
        consent(GRANTED, C1, P1, TO_ALINGSAS),
        consent(GRANTED, C2, P1, TO_LERUM),
        forwarded(crossed(VISIT, P1, TO_ALINGSAS, event_id="c1", days_ago=5), C1),
        forwarded(crossed(VISIT, P1, TO_LERUM, event_id="c2", days_ago=4), C2),
    )

    expired = apply(state, consent(EXPIRED, C1, P1, TO_ALINGSAS, at=REVOKED_AT)).state
    assert set(expired.events) == {(REGION, "c2")} and C1 in expired.revocations
    gone = apply(expired, consent(REVOKED, C2, P1, TO_LERUM, at=REVOKED_AT)).state
    assert gone.events == {} and gone.consents == {}
    late = forwarded(crossed(VISIT, P1, TO_ALINGSAS, event_id="late", days_ago=6), C1)
    assert apply(gone, late).state == gone, "a record read again after both ended adds nothing"


def test_a_late_event_held_only_by_ended_consents_is_not_added_again():
    revoked = fold(consent(GRANTED, C2, P1, TO_LERUM), consent(REVOKED, C1, P1, TO_ALINGSAS, at=REVOKED_AT))
    decided_before = forwarded(crossed(VISIT, P1, TO_LERUM, event_id="late", days_ago=4), C2)
    only_on_revoked = forwarded(crossed(VISIT, P1, TO_ALINGSAS, event_id="c1", days_ago=1), C1)
    statutory_before = forwarded(crossed(VISIT, P1, TO_LERUM, event_id="statutory", days_ago=4))
    decided_after = forwarded(crossed(VISIT, P1, TO_LERUM, event_id="new", days_ago=1), C2)

    assert set(apply(revoked, decided_before).state.events) == {(REGION, "late")}, "C2 still holds it"
    assert apply(revoked, only_on_revoked).state == revoked, "held only by consents since revoked"
    assert apply(revoked, statutory_before).state == revoked, "held by none, decided before an end"
    assert set(apply(revoked, decided_after).state.events) == {(REGION, "new")}


def test_a_revoked_consent_read_again_is_not_kept_and_the_first_copy_of_a_consent_wins():
    state = fold(consent(REVOKED, C1, P1, TO_ALINGSAS, at=REVOKED_AT), consent(GRANTED, C1, P1, TO_ALINGSAS))
    assert state.consents == {}
    first = consent(GRANTED, C2, P1, TO_LERUM)
    assert (
        fold(first, consent(EXPIRING, C2, P1, TO_LERUM, valid_for=timedelta(days=70))).consents == fold(first).consents
    )


def test_every_consent_change_moves_its_parties_for_an_expiring_one_brings_an_alert():
    state = fold(consent(GRANTED, C1, P1, TO_ALINGSAS))
    assert apply(state, consent(EXPIRING, C1, P1, TO_ALINGSAS)).moved == {REGION, ALINGSAS}


# --- properties ---------------------------------------------------------------------------------

PRINCIPALS = (REGION, ALINGSAS, LERUM)
CONSENTS = {P1: {C1: TO_ALINGSAS, C2: TO_LERUM}, P2: {C3: (REGION, ALINGSAS, LERUM)}}
# A consent is revoked once, at one time: a revocation read again carries the same time.
REVOKED_ON = {C1: NOW - timedelta(days=3), C2: NOW - timedelta(days=5), C3: NOW - timedelta(days=2)}


@st.composite
def changes_of(draw, person: str):
    consents = CONSENTS[person]
    if draw(st.booleans()):
        consent_id = draw(st.sampled_from(sorted(consents)))
        kind = draw(st.sampled_from(list(ConsentChange)))
        return consent(kind, consent_id, person, consents[consent_id], at=REVOKED_ON[consent_id])
    n = draw(st.integers(min_value=0, max_value=5))  # an event id stands for one event, always the same
    sender, recipient = [(REGION, ALINGSAS), (ALINGSAS, REGION), (REGION, LERUM), (LERUM, ALINGSAS)][n % 4]
    event = crossed(VISIT, person, (sender, recipient), event_id=f"{person}-{n}", days_ago=n, decided_days_ago=n)
    ids = draw(st.sets(st.sampled_from(sorted(consents)), max_size=2))
    return forwarded(event, *ids)


def histories(person: str | None = None, max_size: int = 12):
    changes = changes_of(person) if person else st.sampled_from([P1, P2]).flatmap(changes_of)
    return st.lists(changes, max_size=max_size)


@settings(max_examples=300)
@given(histories(), st.sampled_from([P1, P2]).flatmap(changes_of))
def test_applying_the_same_change_twice_changes_nothing(history, change):
    once = apply(fold(*history), change)
    twice = apply(once.state, change)

    assert twice.state == once.state
    assert not Writes.between(once.state, twice.state)


@settings(max_examples=300)
@given(histories(P1), st.sampled_from(sorted(CONSENTS[P1])), histories(P1, max_size=6))
def test_after_a_revocation_the_board_keeps_only_what_a_consent_still_in_force_holds(before, consent_id, after):
    revoked_at = REVOKED_ON[consent_id]
    revocation = consent(REVOKED, consent_id, P1, CONSENTS[P1][consent_id], at=revoked_at)

    state = fold(*before, revocation, *after)

    for e in (e for e in state.events.values() if e.pseudonym == PSEUDONYMS.of(P1)):
        if e.consent_ids:
            assert e.consent_ids - state.revocations.keys(), "held by a consent that has not ended"
        else:
            assert all(r.revoked_at < e.decided_at for r in state.revocations.values() if r.pseudonym == e.pseudonym)


@settings(max_examples=300)
@given(histories(P1), histories(P2), st.randoms(use_true_random=False))
def test_the_order_of_unrelated_persons_changes_does_not_matter(first, second, random):
    interleaved, a, b = [], list(first), list(second)
    while a or b:
        source = a if a and (not b or random.random() < 0.5) else b
        interleaved.append(source.pop(0))

    assert fold(*interleaved) == fold(*first, *second)


@settings(max_examples=300)
@given(histories(max_size=20))
def test_a_principal_sees_only_what_it_sent_or_was_forwarded_while_a_consent_names_it(history):
    state = fold(*history)
    for principal in PRINCIPALS:
        for person in persons_visible_to(state, principal, NOW):
            assert all(principal == e.sender or principal in e.parties for e in person.events)
            named = [c for c in state.consents.values() if c.pseudonym == person.pseudonym]
            assert any(principal in c.parties and c.valid_until > NOW for c in named)
