"""Composition root of the board: consumes what passed the gate, serves the samordningstavla."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI

from services.board import access_api, api, inbox_web, log_extract_web, signin, web, workspace, workspace_events
from services.board.bootstrap import Deps, bootstrap
from services.board.errors import InvalidPeriod, PersonNotOnBoard
from services.board.settings import BoardSettings
from services.board.upstream import SignInAgain
from services.runtime.http import service_app
from services.runtime.problems import Answer

Bootstrap = Callable[[BoardSettings], AbstractAsyncContextManager[Deps]]
ERRORS = {PersonNotOnBoard: Answer(404, "not-found", field="handle"), InvalidPeriod: Answer(422, "invalid-request")}


def create_app(settings: BoardSettings, bootstrap: Bootstrap = bootstrap) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with bootstrap(settings) as deps:
            app.state.deps = deps
            app.state.checks.update(deps.checks)
            yield

    app = service_app("Samordna board (samordningstavla)", lifespan, api.router, settings, errors=ERRORS)
    app.include_router(access_api.router)
    app.include_router(web.router)
    app.include_router(signin.router)
    app.include_router(workspace.router)
    app.include_router(workspace_events.router)
    app.add_exception_handler(SignInAgain, signin.sign_in_again)
    app.include_router(inbox_web.router)
    app.include_router(log_extract_web.router)
    app.mount("/static", web.static_files(), name="static")
    return app
