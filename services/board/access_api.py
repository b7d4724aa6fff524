"""The access log over HTTP, for the principal's systematic follow-up (HSLF-FS 2016:40 4 kap. 3 §):

    POST /v1/access-log/search  {"person": "<personnummer>"?, "since": "...", "until": "..."}

answers what the caller's own principal's staff and systems looked at, newest first (at most
1000 entries), optionally for one person (named in the body, as the consent and audit searches do:
never in a URL). The search itself is an access to that person's data, so it is logged too.
"""

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from contracts import PersonId
from services.board.deps import DepsDep
from services.runtime.access_log import Access, Accessor
from services.runtime.auth import Caller, Role, require
from services.runtime.pseudonym import Pseudonymizer

router = APIRouter(prefix="/v1")


class AccessLogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: PersonId | None = None
    since: datetime | None = None
    until: datetime | None = None


@router.post("/access-log/search")
async def search_access_log(
    query: AccessLogQuery, deps: DepsDep, caller: Caller = Depends(require(Role.COORDINATOR))
) -> dict:
    person = Pseudonymizer(deps.settings.pseudonym_key).of(query.person) if query.person else None
    if person is not None:
        await deps.access_log.record([Access(Accessor.of_token(caller), "access_log.search", person)])
    entries = await deps.access_log.search(caller.principal, person, query.since, query.until)
    return {"principal": caller.principal, "entries": entries}
