"""What a proposed consent would mean: which of the person's recent events would have crossed, to whom.

Staff show this to the person before the consent is signed. Only events the caller's own
principal sent or already received are shown, so a preview discloses nothing new.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from contracts import spec_for
from services.consent.consents import ConsentRequest
from services.consent.domain import Consent, decide
from services.consent.ports import AccessRecorder, AuditStore
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller
from services.runtime.pseudonym import Pseudonymizer

LOOKBACK = timedelta(days=90)


@dataclass(frozen=True)
class PastEvent:
    event_id: str
    principal: str
    type: str
    category: str
    time: datetime


class Previews:
    def __init__(self, audit: AuditStore, pseudonyms: Pseudonymizer, access: AccessRecorder) -> None:
        self._audit = audit
        self._pseudonyms = pseudonyms
        self._access = access

    async def preview(self, caller: Caller, proposal: ConsentRequest) -> list[dict]:
        """What would have crossed under `proposal`, oldest event first. No consent is recorded;
        the look at the person's events is, in the access log."""
        pseudonym = self._pseudonyms.of(proposal.person)
        now, rows = await self._audit.seen_by(pseudonym, caller.principal, LOOKBACK)
        await self._access.record(
            [Access(Accessor.of_token(caller), "consent.preview", pseudonym, {"events": len(rows)})]
        )
        items = outcomes(proposal, pseudonym, [PastEvent(**dict(row)) for row in rows], now)
        return sorted(items, key=lambda item: item["event_time"])


def outcomes(proposal: ConsentRequest, pseudonym: str, events: list[PastEvent], now: datetime) -> list[dict]:
    """For each past event, to whom it would have crossed under `proposal`, decided at `now` (or
    the nearest moment within the proposed validity)."""
    consent = Consent(
        id=uuid.uuid4(),
        person_pseudonym=pseudonym,
        parties=frozenset(proposal.parties),
        categories=frozenset(proposal.categories),
        excluded_categories=frozenset(proposal.excluded_categories),
        excluded_types=frozenset(proposal.excluded_event_types),
        valid_from=proposal.starts,
        valid_until=proposal.ends,
    )
    decide_at = max(proposal.starts, min(now, proposal.ends - timedelta(microseconds=1)))
    return [_outcome(event, consent, decide_at) for event in events]


def _outcome(event: PastEvent, consent: Consent, decide_at: datetime) -> dict:
    decisions = decide(event, [consent], {}, decide_at)
    return {
        "event_id": event.event_id,
        "event_type": event.type,
        "label": spec_for(event.type).label_sv,
        "sender": event.principal,
        "event_time": event.time,
        "would_cross_to": [d.recipient for d in decisions if d.forwarded],
        "withheld": {d.recipient: d.reason for d in decisions if not d.forwarded and d.recipient},
    }
