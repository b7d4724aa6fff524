"""What the board's routes and pages declare: the typed dependencies the lifespan put in
`app.state.deps` (the one look-up of it), the service layer built from them, the live pages'
counters, and the member of staff behind the web pages' session cookie."""

from typing import Annotated

from fastapi import Depends, Request

from services.board.bootstrap import Deps
from services.board.live import Changes
from services.board.ports import OpsNumbers
from services.board.sessions import Kind, Session
from services.board.views import BoardViews
from services.runtime.access_log import Accessor
from services.runtime.auth import Caller
from services.runtime.oidc import Staff

COOKIE = "samordna_tavla"  # the signed-in session's key, nothing else
PENDING_COOKIE = "samordna_inloggning"  # a sign-in under way, sent back only to the callback
PASSIVE_PATHS = frozenset({"/live", "/rader"})  # what the open page asks by itself: not activity


def get_deps(request: Request) -> Deps:
    return request.app.state.deps


def get_views(deps: Annotated[Deps, Depends(get_deps)]) -> BoardViews:
    return deps.views


def get_changes(deps: Annotated[Deps, Depends(get_deps)]) -> Changes:
    return deps.changes


def get_ops(deps: Annotated[Deps, Depends(get_deps)]) -> OpsNumbers:
    return deps.ops


async def page_session(request: Request, deps: Annotated[Deps, Depends(get_deps)]) -> Session | None:
    """The live signed-in session behind the cookie; why it ended, if it did, is in request.state."""
    touch = request.url.path not in PASSIVE_PATHS
    session, ended = await deps.sessions.find(request.cookies.get(COOKIE), Kind.STAFF, deps.clock(), touch)
    request.state.session_ended = ended
    return session


def page_staff(session: Annotated[Session | None, Depends(page_session)]) -> Staff | None:
    return Staff.from_dict(session.data["staff"]) if session else None


def page_caller(staff: Annotated[Staff | None, Depends(page_staff)]) -> Caller | None:
    """The coordinator or ops signed in, if any (only staff roles sign in: services/runtime/oidc.py)."""
    return staff.caller if staff else None


def accessor_of(staff: Staff) -> Accessor:
    return Accessor(
        staff.caller.principal, str(staff.caller.role), f"{staff.subject}@{staff.issuer}",
        staff.name, staff.hsa_id, staff.unit,
    )  # fmt: skip


DepsDep = Annotated[Deps, Depends(get_deps)]
ViewsDep = Annotated[BoardViews, Depends(get_views)]
ChangesDep = Annotated[Changes, Depends(get_changes)]
OpsDep = Annotated[OpsNumbers, Depends(get_ops)]
PageSession = Annotated[Session | None, Depends(page_session)]
PageStaff = Annotated[Staff | None, Depends(page_staff)]
PageCaller = Annotated[Caller | None, Depends(page_caller)]
