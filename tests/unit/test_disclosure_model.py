"""The reference model of tests/support/disclosure_model.py on its own: the rule of the Samordna
specification's "Consent" section (docs/sources.md), case by case, before it is trusted to judge
the real stack."""

from datetime import UTC, datetime, timedelta

from contracts.catalogue import CATALOGUE
from tests.support.disclosure_model import CATEGORY_OF, Consent, Event, Model, may_send

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
SAMPLE = "se.samordna.region.sample.positive.v1"
VISIT = "se.samordna.region.visit.missed.v1"
DECIDED = "se.samordna.municipality.intervention.decided.v1"
PERSON = "person-a"


def consent(id_: str, *parties: str, **fields) -> Consent:
    fields.setdefault("valid_from", NOW - timedelta(days=10))
    fields.setdefault("valid_until", NOW + timedelta(days=100))
    return Consent(id_, fields.pop("person", PERSON), frozenset(parties), **fields)


def posted(model: Model, event_type: str, sender: str = REGION, time: datetime = NOW, n: int = 0):
    return model.post(Event(f"e{len(model.events)}-{n}", sender, event_type, PERSON, time), NOW)


def model(*consents: Consent) -> Model:
    m = Model((REGION, ALINGSAS, LERUM))
    for c in consents:
        m.grant(c)
    return m


def test_a_consent_forwards_to_the_parties_it_names_and_no_one_else():
    m = model(consent("a", REGION, ALINGSAS))
    decided = posted(m, SAMPLE)
    assert decided.forwarded_to == {ALINGSAS}
    assert m.visible_to(LERUM) == set() and m.visible_to(REGION) == {decided.event.id}


def test_an_excluded_category_or_type_is_withheld_from_that_consents_parties_only():
    m = model(
        consent("a", REGION, ALINGSAS), consent("b", REGION, LERUM, excluded_categories=frozenset({"test_results"}))
    )
    assert posted(m, SAMPLE).forwarded_to == {ALINGSAS}
    m = model(consent("b", REGION, LERUM, excluded_types=frozenset({VISIT})))
    assert posted(m, VISIT).forwarded_to == frozenset() and posted(m, SAMPLE).forwarded_to == {LERUM}


def test_a_category_not_covered_is_withheld():
    m = model(consent("a", REGION, ALINGSAS, categories=frozenset({"attendance"})))
    assert posted(m, VISIT).forwarded_to == {ALINGSAS} and posted(m, SAMPLE).forwarded_to == frozenset()


def test_a_revocation_binds_every_later_decision_and_makes_the_board_forget_what_only_it_allowed():
    m = model(consent("a", REGION, ALINGSAS, excluded_types=frozenset({SAMPLE})), consent("b", REGION, LERUM))
    before = posted(m, VISIT)
    only_b = posted(m, SAMPLE)
    m.revoke("b")
    after = posted(m, VISIT)
    assert before.forwarded_to == {ALINGSAS, LERUM} and after.forwarded_to == {ALINGSAS}
    assert only_b.forwarded_to == {LERUM}
    assert m.delivered_to(LERUM) == {before.event.id, only_b.event.id}  # what crossed stays in the inbox
    # what a allowed stays on the board (issue 19); what only b allowed is forgotten
    assert m.on_board(REGION, PERSON, NOW) == {before.event.id, after.event.id}
    assert m.on_board(ALINGSAS, PERSON, NOW) == {before.event.id, after.event.id}
    assert m.on_board(LERUM, PERSON, NOW) == set()  # no live consent names Lerum
    m.revoke("a")
    assert m.on_board(REGION, PERSON, NOW) == set(), "the last consent gone: the person left the model"


def test_validity_at_the_decision_and_of_the_event_time():
    pending = consent("p", REGION, ALINGSAS, valid_from=NOW + timedelta(days=1))
    ended = consent("x", REGION, LERUM, valid_from=NOW - timedelta(days=300), valid_until=NOW - timedelta(days=1))
    m = model(pending, ended)
    assert posted(m, VISIT).forwarded_to == frozenset()
    m = model(consent("a", REGION, ALINGSAS, valid_from=NOW - timedelta(days=1)))
    assert posted(m, VISIT, time=NOW - timedelta(days=2)).forwarded_to == frozenset()
    assert posted(m, VISIT, time=NOW - timedelta(hours=1)).forwarded_to == {ALINGSAS}


def test_a_consent_recorded_late_never_shows_what_crossed_before_between_others():
    m = model(consent("a", REGION, ALINGSAS))
    early = posted(m, VISIT)
    m.grant(consent("late", REGION, LERUM))
    late = posted(m, VISIT)
    assert m.visible_to(LERUM) == {late.event.id}
    assert m.on_board(LERUM, PERSON, NOW) == {late.event.id}
    assert early.event.id not in m.on_board(LERUM, PERSON, NOW)


def test_a_municipality_to_municipality_consent():
    m = model(consent("m", ALINGSAS, LERUM))
    assert posted(m, DECIDED, sender=ALINGSAS).forwarded_to == {LERUM}
    assert posted(m, VISIT).forwarded_to == frozenset()  # the region is not named


def test_the_board_holds_only_what_crossed():
    m = model(consent("a", REGION, ALINGSAS, excluded_types=frozenset({VISIT})))
    withheld = posted(m, VISIT)
    assert withheld.event.id in m.visible_to(REGION)
    assert m.on_board(REGION, PERSON, NOW) == set()


def test_audit_search_shows_the_sender_everything_and_a_recipient_only_its_forwards():
    m = model(consent("a", REGION, ALINGSAS), consent("b", REGION, LERUM, excluded_types=frozenset({SAMPLE})))
    event_id = posted(m, SAMPLE).event.id
    region, lerum, alingsas = (m.audit_rows(p, PERSON) for p in (REGION, LERUM, ALINGSAS))
    assert region.judge(event_id, LERUM, False) is None and region.judge(event_id, ALINGSAS, True) is None
    assert region.judge(event_id, LERUM, True) == "wrong"
    assert lerum.judge(event_id, LERUM, False) == "extra"  # knowing it was withheld is a disclosure
    assert alingsas.judge(event_id, ALINGSAS, True) is None
    assert alingsas.judge(event_id, LERUM, False) == "extra"


def test_the_categories_copied_from_the_spec_are_the_catalogues():
    assert {t: CATALOGUE[t].category.value for t in CATEGORY_OF} == CATEGORY_OF
    for event_type, spec in CATALOGUE.items():
        if event_type in CATEGORY_OF:
            for principal in (REGION, ALINGSAS):
                assert may_send(principal, event_type) == (
                    spec.sender.value == "either"
                    or spec.sender.value == ("region" if "region" in principal else "municipality")
                )
