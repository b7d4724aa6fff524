"""The access log over HTTP, for the principal's systematic follow-up (HSLF-FS 2016:40 4 kap. 3 §):

    POST /v1/access-log/search  {"person": "<personnummer>"?, "since": "...", "until": "..."}

answers what the caller's own principal's staff and systems looked at or changed through this
service, newest first (at most 1000 entries), optionally for one person (named in the body, as the
consent and audit searches do: never in a URL). The search itself is an access to that person's
data, so it is logged too. The board and the consent service each answer for their own log.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict

from contracts import PersonId
from services.runtime.access_log import Access, AccessLog, Accessor
from services.runtime.auth import Caller, Role, require
from services.runtime.pseudonym import Pseudonymizer


class AccessLogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: PersonId | None = None
    since: datetime | None = None
    until: datetime | None = None


def access_log_router(
    access_log: Callable[..., AccessLog], pseudonyms: Callable[..., Pseudonymizer], responses: dict | None = None
) -> APIRouter:
    """The search route over the service's own log; `access_log` and `pseudonyms` are the
    dependencies (from the service's deps.py) that give them."""
    router = APIRouter(prefix="/v1")

    @router.post("/access-log/search", responses=responses)
    async def search_access_log(
        query: AccessLogQuery,
        log: Annotated[AccessLog, Depends(access_log)],
        pseudonymizer: Annotated[Pseudonymizer, Depends(pseudonyms)],
        caller: Caller = Depends(require(Role.COORDINATOR)),
    ) -> dict:
        person = pseudonymizer.of(query.person) if query.person else None
        if person is not None:
            await log.record([Access(Accessor.of_token(caller), "access_log.search", person)])
        entries = await log.search(caller.principal, person, query.since, query.until)
        return {"principal": caller.principal, "entries": entries}

    return router
