"""The soak's checker: a pure function from a recorded History to a Report.

The consent model of the soak is kept small so that what must happen to each event is exact:
a person has at most one consent, naming exactly two parties and every category. An event
from one of those parties about the person must reach the other; every other event must
reach no one. A consent revoked during the run makes the answer depend on time, on the
database's clock (audit `decided_at`) against the client's (when the revoke call started and
returned), both this machine's:
  - decided before the revoke call started: it must have been forwarded;
  - decided after the revoke call returned (or posted after that): it must not have been;
  - decided while the call was in flight: either is right.

Lost: an accepted event that should have reached its recipient and is not in its inbox, or
that nobody decided. Leaked: an event forwarded, on the deliveries topic or in the inbox of a
principal it should not have reached. Recovery: for each fault, from its end until every
canary posted right after it was in its recipient's inbox.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bench.soak_history import Accepted, ConsentLife, Decision, History

RECOVERY_LIMIT_SECONDS = 60.0
SAMPLES = 5  # event ids shown per finding


@dataclass
class Report:
    accepted: int = 0
    canaries: int = 0
    faults: Counter = field(default_factory=Counter)
    fault_errors: list[str] = field(default_factory=list)
    lost: dict[str, list[str]] = field(default_factory=dict)  # why -> event ids
    leaked: dict[str, list[str]] = field(default_factory=dict)  # how -> "event id -> principal"
    withheld_after_revocation: int = 0  # decided once the revoke call had started: right (or either way, in flight)
    twice_on_deliveries: list[str] = field(default_factory=list)
    twice_in_inbox: list[str] = field(default_factory=list)
    seq_gaps: dict[str, list[int]] = field(default_factory=dict)  # recipient -> missing numbers
    without_seq: int = 0
    decided_more_than_once: int = 0
    recoveries: dict[int, float | None] = field(default_factory=dict)  # fault index -> seconds (None: never)
    recovery_limit: float = RECOVERY_LIMIT_SECONDS
    collected: bool = True

    @property
    def lost_count(self) -> int:
        return sum(map(len, self.lost.values()))

    @property
    def leaked_count(self) -> int:
        return sum(map(len, self.leaked.values()))

    @property
    def longest_recovery(self) -> float | None:
        """The longest time to recover; infinity if some fault was never recovered from."""
        if not self.recoveries:
            return None
        return max(float("inf") if s is None else s for s in self.recoveries.values())

    @property
    def failed(self) -> bool:
        longest = self.longest_recovery
        return bool(
            not self.collected
            or self.lost_count
            or self.leaked_count
            or self.twice_in_inbox
            or (longest is not None and longest >= self.recovery_limit)
        )

    def render(self) -> str:
        longest = self.longest_recovery
        never = sum(s is None for s in self.recoveries.values())
        lines = [
            f"events accepted                 {self.accepted} ({self.canaries} canaries)",
            f"faults injected                 {sum(self.faults.values())}: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items())),
            f"lost                            {self.lost_count}" + _why(self.lost),
            f"leaked                          {self.leaked_count}" + _why(self.leaked),
            f"delivered twice before de-dup   {len(self.twice_on_deliveries)}",
            f"in an inbox twice               {len(self.twice_in_inbox)}",
            f"gaps in delivery numbers        {sum(map(len, self.seq_gaps.values()))}"
            + "".join(f"; {r}: {_numbers(m)}" for r, m in sorted(self.seq_gaps.items()) if m),
            f"deliveries without a number     {self.without_seq}",
            f"decided more than once          {self.decided_more_than_once}",
            f"withheld, consent revoked       {self.withheld_after_revocation}",
            "longest recovery                "
            + ("no faults" if longest is None else "never" if longest == float("inf") else f"{longest:.1f} s")
            + (f" ({never} of {len(self.recoveries)} faults never recovered from)" if never else ""),
        ]
        lines += [f"fault error: {error}" for error in self.fault_errors]
        if not self.collected:
            lines.append("NOT COLLECTED: the run was cut short before the inboxes, topics and audit were read")
        for title, found in (("lost", self.lost), ("leaked", self.leaked)):
            lines += [f"{title}, {why}: {', '.join(ids[:SAMPLES])}" for why, ids in sorted(found.items()) if ids]
        lines.append("FAILED" if self.failed else "PASSED")
        return "\n".join(lines)


def check(history: History, recovery_limit: float = RECOVERY_LIMIT_SECONDS) -> Report:
    report = Report(recovery_limit=recovery_limit, collected=history.collected_at is not None)
    consent_of = {c.person: c for c in history.consents}
    events = {e.id: e for e in history.accepted}
    decisions: dict[str, list[Decision]] = defaultdict(list)
    for d in history.decisions:
        decisions[d.event_id].append(d)
    inbox = Counter((i.principal, i.event_id) for i in history.inboxes)
    on_topic = Counter((d.recipient, d.event_id) for d in history.deliveries)

    accepted = [e for e in history.accepted if e.accepted_at is not None]
    report.accepted = len(accepted)
    report.canaries = sum(e.canary for e in accepted)
    for event in accepted:
        _account_for(event, consent_of.get(event.person), decisions[event.id], inbox, report)
    _find_leaks(events, consent_of, history, report)

    report.twice_on_deliveries = sorted(f"{e} -> {r}" for (r, e), n in on_topic.items() if n > 1)
    report.twice_in_inbox = sorted(f"{e} -> {p}" for (p, e), n in inbox.items() if n > 1)
    report.decided_more_than_once = sum(
        n - 1 for n in Counter((d.event_id, d.recipient) for d in history.decisions).values() if n > 1
    )
    report.seq_gaps, report.without_seq = _seq_gaps(history)
    report.faults = Counter(f.kind for f in history.faults)
    report.fault_errors = [f"{f.kind} {f.target}: {f.error}" for f in history.faults if f.error]
    report.recoveries = {
        i: _recovery(f.ended_at, f.canaries, history.first_seen) for i, f in enumerate(history.faults) if f.canaries
    }
    return report


def recipient_of(event: Accepted, consent: ConsentLife | None) -> str | None:
    """The one principal the event may reach: the other party of its person's consent, if the sender is one."""
    if consent is None or event.sender not in consent.parties:
        return None
    return next(p for p in consent.parties if p != event.sender)


def _account_for(event: Accepted, consent: ConsentLife | None, decided: list[Decision], inbox, report: Report) -> None:
    recipient = recipient_of(event, consent)
    if recipient is not None and inbox[(recipient, event.id)]:
        return
    if not decided:
        report.lost.setdefault("never decided", []).append(event.id)
        return
    if recipient is None:
        return  # withheld, with its reason on record
    if any(d.forwarded and d.recipient == recipient for d in decided):
        report.lost.setdefault(f"forwarded, not in {recipient}'s inbox", []).append(event.id)
    elif consent.revoke_started is None or all(d.decided_at < consent.revoke_started for d in decided):
        report.lost.setdefault("withheld under an active consent", []).append(event.id)
    else:
        report.withheld_after_revocation += 1


def _find_leaks(events: dict[str, Accepted], consent_of: dict, history: History, report: Report) -> None:
    def may_reach(event_id: str, principal: str) -> bool:
        event = events.get(event_id)
        return event is not None and recipient_of(event, consent_of.get(event.person)) == principal

    leaks: dict[str, set[str]] = defaultdict(set)
    for d in history.decisions:
        if not d.forwarded:
            continue
        if not may_reach(d.event_id, d.recipient):
            leaks["forwarded to a principal no consent names"].add(f"{d.event_id} -> {d.recipient}")
            continue
        event = events[d.event_id]
        consent = consent_of[event.person]
        revoked = consent.revoke_returned
        if revoked is not None and (d.decided_at > revoked or event.posted_at > revoked):
            leaks["forwarded after the revocation had returned"].add(f"{d.event_id} -> {d.recipient}")
        elif d.consent_id != consent.id:
            leaks["forwarded on another basis than the consent"].add(f"{d.event_id} -> {d.recipient}")
    for where, pairs in (
        ("on a deliveries topic it may not reach", {(d.recipient, d.event_id) for d in history.deliveries}),
        ("in an inbox it may not reach", {(i.principal, i.event_id) for i in history.inboxes}),
    ):
        for principal, event_id in pairs:
            if not may_reach(event_id, principal):
                leaks[where].add(f"{event_id} -> {principal}")
    report.leaked = {how: sorted(found) for how, found in leaks.items()}


def _seq_gaps(history: History) -> tuple[dict[str, list[int]], int]:
    """Per recipient, the delivery numbers missing from 1 to the highest seen (the stack starts fresh)."""
    seqs: dict[str, set[int]] = defaultdict(set)
    without = 0
    for d in history.deliveries:
        if d.seq is None:
            without += 1
        else:
            seqs[d.recipient].add(d.seq)
    return {r: sorted(set(range(1, max(s) + 1)) - s) for r, s in seqs.items()}, without


def _recovery(ended_at: float, canaries: tuple[str, ...], first_seen: dict[str, float]) -> float | None:
    seen = [first_seen.get(c) for c in canaries]
    if any(s is None for s in seen):
        return None
    return max(0.0, max(seen) - ended_at)


def _why(found: dict[str, list[str]]) -> str:
    return "".join(f"; {why}: {len(ids)}" for why, ids in sorted(found.items()) if ids)


def _numbers(missing: list[int]) -> str:
    shown = ", ".join(map(str, missing[:10]))
    return shown + (f", … ({len(missing)})" if len(missing) > 10 else "")
