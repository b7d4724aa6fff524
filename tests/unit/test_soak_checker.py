"""The soak's checker over synthetic histories: each kind of wrong is reported, a clean one passes."""

from dataclasses import replace

from bench.soak_checker import check
from bench.soak_history import Accepted, ConsentLife, Decision, Delivery, Fault, History, InboxItem

REGION, ALINGSAS, LERUM = "region-14", "kommun-1489", "kommun-1441"
T0 = 1_700_000_000.0
CONSENT = ConsentLife(id="c-1", person="p1", parties=(REGION, ALINGSAS), granted_at=T0)
CANARY_CONSENT = ConsentLife(id="c-k", person="canary", parties=(REGION, ALINGSAS), granted_at=T0)  # never revoked


def _event(event_id: str, at: float, sender: str = REGION, person: str = "p1", **extra) -> Accepted:
    return Accepted(id=event_id, sender=sender, person=person, posted_at=at, accepted_at=at + 0.01, **extra)


def _forwarded(event_id: str, at: float, to: str = ALINGSAS, consent: str = "c-1") -> Decision:
    return Decision(event_id, to, True, "consent", consent, at)


def _delivered(event_id: str, seq: int, to: str = ALINGSAS) -> tuple[Delivery, InboxItem]:
    return Delivery(to, event_id, seq), InboxItem(to, event_id, seq)


def _clean() -> History:
    """Two events that crossed, one from Lerum that could go nowhere, one fault recovered from in 4 s."""
    history = History(seed=1, minutes=1, cluster=False, consents=[CONSENT, CANARY_CONSENT], collected_at=T0 + 99)
    history.accepted = [
        _event("e1", T0 + 1),
        _event("e2", T0 + 2, sender=ALINGSAS),
        _event("e3", T0 + 3, sender=LERUM),
        _event("k1", T0 + 20, person="canary", canary=True),
    ]
    history.decisions = [
        _forwarded("e1", T0 + 1.5),
        _forwarded("e2", T0 + 2.5, to=REGION),
        Decision("e3", None, False, "no_consent", None, T0 + 3.5),
        _forwarded("k1", T0 + 23, consent="c-k"),
    ]
    for event_id, seq, to in (("e1", 1, ALINGSAS), ("e2", 1, REGION), ("k1", 2, ALINGSAS)):
        delivery, item = _delivered(event_id, seq, to)
        history.deliveries.append(delivery)
        history.inboxes.append(item)
    history.faults = [Fault("broker_kill", "kafka", T0 + 10, T0 + 20, canaries=("k1",))]
    history.first_seen = {"k1": T0 + 24}
    return history


def test_a_clean_history_passes():
    report = check(_clean())
    assert not report.failed, report.render()
    assert (report.accepted, report.canaries, report.lost_count, report.leaked_count) == (4, 1, 0, 0)
    assert report.faults == {"broker_kill": 1}
    assert report.longest_recovery == 4.0
    assert "PASSED" in report.render()


def test_an_event_forwarded_but_not_in_the_inbox_is_lost():
    history = _clean()
    history.inboxes = [i for i in history.inboxes if i.event_id != "e1"]
    report = check(history)
    assert report.lost == {f"forwarded, not in {ALINGSAS}'s inbox": ["e1"]}
    assert report.failed


def test_an_event_nobody_decided_is_lost_even_when_no_one_may_receive_it():
    history = _clean()
    history.decisions = [d for d in history.decisions if d.event_id != "e3"]
    report = check(history)
    assert report.lost == {"never decided": ["e3"]}
    assert report.failed


def test_an_event_withheld_although_its_consent_was_active_is_lost():
    history = _clean()
    history.decisions[0] = Decision("e1", ALINGSAS, False, "no_consent", None, T0 + 1.5)
    history.inboxes = [i for i in history.inboxes if i.event_id != "e1"]
    history.deliveries = [d for d in history.deliveries if d.event_id != "e1"]
    report = check(history)
    assert report.lost == {"withheld under an active consent": ["e1"]}


def test_an_event_never_accepted_is_not_counted_or_expected():
    history = _clean()
    history.accepted.append(replace(_event("e9", T0 + 30), accepted_at=None))
    report = check(history)
    assert report.accepted == 4 and not report.failed


def test_a_duplicate_on_the_deliveries_topic_is_reported_and_one_in_the_inbox_fails():
    history = _clean()
    history.deliveries.append(Delivery(ALINGSAS, "e1", 3))
    report = check(history)
    assert report.twice_on_deliveries == [f"e1 -> {ALINGSAS}"]
    assert not report.failed  # the inbox de-duplicated it
    history.inboxes.append(InboxItem(ALINGSAS, "e1", 3))
    report = check(history)
    assert report.twice_in_inbox == [f"e1 -> {ALINGSAS}"]
    assert report.failed


def test_a_forward_decided_after_the_revocation_returned_is_a_leak():
    history = _clean()
    history.consents[0] = replace(CONSENT, revoke_started=T0 + 4, revoke_returned=T0 + 5)
    history.accepted.append(_event("e4", T0 + 4.5))  # posted while the revoke call was in flight
    history.decisions.append(_forwarded("e4", T0 + 6))
    delivery, item = _delivered("e4", 3)
    history.deliveries.append(delivery)
    history.inboxes.append(item)
    report = check(history)
    assert report.leaked == {"forwarded after the revocation had returned": [f"e4 -> {ALINGSAS}"]}
    assert report.failed


def test_a_forward_or_a_refusal_while_the_revoke_call_was_in_flight_is_right_either_way():
    history = _clean()
    history.consents[0] = replace(CONSENT, revoke_started=T0 + 4, revoke_returned=T0 + 5)
    history.accepted += [_event("e4", T0 + 3.9), _event("e5", T0 + 3.95)]
    history.decisions += [
        _forwarded("e4", T0 + 4.5),
        Decision("e5", ALINGSAS, False, "consent_revoked", "c-1", T0 + 4.6),
    ]
    delivery, item = _delivered("e4", 3)
    history.deliveries.append(delivery)
    history.inboxes.append(item)
    report = check(history)
    assert not report.failed, report.render()
    assert report.withheld_after_revocation == 1


def test_an_event_in_the_inbox_of_a_principal_no_consent_names_is_a_leak():
    history = _clean()
    history.inboxes.append(InboxItem(LERUM, "e1", 1))
    history.deliveries.append(Delivery(LERUM, "e3", 1))
    report = check(history)
    assert report.leaked == {
        "in an inbox it may not reach": [f"e1 -> {LERUM}"],
        "on a deliveries topic it may not reach": [f"e3 -> {LERUM}"],
    }


def test_a_gap_in_a_recipients_delivery_numbers_is_reported():
    history = _clean()
    history.deliveries = [replace(d, seq=5) if d.event_id == "k1" else d for d in history.deliveries]
    report = check(history)
    assert report.seq_gaps[ALINGSAS] == [2, 3, 4]
    assert report.seq_gaps[REGION] == []
    assert "gaps in delivery numbers        3" in report.render()


def test_a_fault_never_recovered_from_or_recovered_from_slowly_fails():
    history = _clean()
    history.first_seen = {}
    report = check(history)
    assert report.recoveries == {0: None} and report.failed
    history.first_seen = {"k1": T0 + 20 + 61}
    assert check(history).failed
    history.first_seen = {"k1": T0 + 20 + 59}
    assert not check(history).failed


def test_a_run_cut_short_before_collecting_fails():
    history = replace(_clean(), collected_at=None)
    report = check(history)
    assert report.failed and "NOT COLLECTED" in report.render()


def test_a_history_survives_its_json_file(tmp_path):
    history = _clean()
    history.save(tmp_path / "history.json")
    assert History.load(tmp_path / "history.json") == history
