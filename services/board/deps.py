"""What the board's routes and pages declare: the typed dependencies the lifespan put in
`app.state.deps` (the one look-up of it), the service layer built from them, the live pages'
counters, and the caller behind the web pages' login cookie."""

from typing import Annotated

from fastapi import Depends, Request

from services.board.bootstrap import Deps
from services.board.live import Changes
from services.board.ports import OpsNumbers
from services.board.views import BoardViews
from services.runtime.auth import Caller, Role, TokenRegistry

COOKIE = "samordna_tavla"


def get_deps(request: Request) -> Deps:
    return request.app.state.deps


def get_views(deps: Annotated[Deps, Depends(get_deps)]) -> BoardViews:
    return deps.views


def get_changes(deps: Annotated[Deps, Depends(get_deps)]) -> Changes:
    return deps.changes


def get_ops(deps: Annotated[Deps, Depends(get_deps)]) -> OpsNumbers:
    return deps.ops


def get_tokens(request: Request) -> TokenRegistry:
    return request.app.state.tokens  # the runtime's auth keeps them there (services/runtime/http.py)


def page_caller(request: Request, tokens: Annotated[TokenRegistry, Depends(get_tokens)]) -> Caller | None:
    """The coordinator or ops behind the login cookie, if any; system tokens do not log in."""
    token = request.cookies.get(COOKIE)
    caller = tokens.caller_for(token) if token else None
    return caller if caller and caller.role in (Role.COORDINATOR, Role.OPS) else None


DepsDep = Annotated[Deps, Depends(get_deps)]
ViewsDep = Annotated[BoardViews, Depends(get_views)]
ChangesDep = Annotated[Changes, Depends(get_changes)]
OpsDep = Annotated[OpsNumbers, Depends(get_ops)]
TokensDep = Annotated[TokenRegistry, Depends(get_tokens)]
PageCaller = Annotated[Caller | None, Depends(page_caller)]
