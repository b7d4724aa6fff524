"""What the consent service holds for a person's log extract (loggutdrag, HSLF-FS 2016:40 4 kap.
10 §), as far as the caller's principal may know it: the gate's decisions about the person's
events that it sent (every recipient, forwarded or withheld) or that were forwarded to it (the
audit search's rule, `repository.audit_visible_to`), the person's consents naming it with every
change of each, and what its own staff and systems looked at or changed here (the access log).

Another principal's withheld events and its staff's looks are not in it: knowing of them is
itself a disclosure (SPEC invariant 1). Each principal answers the person for its own part.
Producing the data is itself an access to the person, and logged as `log_extract.read`.
"""

from dataclasses import dataclass

from services.consent.audit import AuditTrail
from services.consent.consents import Consents, ConsentView
from services.consent.ports import AccessLogReader, Row
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller
from services.runtime.pseudonym import Pseudonymizer


@dataclass(frozen=True)
class ExtractData:
    principal: str
    decisions: list[Row]
    consents: list[tuple[ConsentView, list[dict]]]  # each with its history, oldest change first
    accesses: list[dict]  # the access log's entries, newest first


class LogExtracts:
    def __init__(
        self, consents: Consents, audit: AuditTrail, access_log: AccessLogReader, pseudonyms: Pseudonymizer
    ) -> None:
        self._consents = consents
        self._audit = audit
        self._access_log = access_log  # records, and searches (services/runtime/access_log.AccessLog)
        self._pseudonyms = pseudonyms

    async def for_person(self, caller: Caller, person: str) -> ExtractData:
        pseudonym = self._pseudonyms.of(person)
        # the log is read before this look is added to it: the extract shows the looks before it
        accesses = await self._access_log.search(caller.principal, pseudonym)
        decisions = await self._audit.for_extract(caller, pseudonym)
        consents = await self._consents.with_history(caller, pseudonym)
        detail = {"decisions": len(decisions), "consents": len(consents), "accesses": len(accesses)}
        await self._access_log.record([Access(Accessor.of_token(caller), "log_extract.read", pseudonym, detail)])
        return ExtractData(caller.principal, decisions, consents, accesses)
