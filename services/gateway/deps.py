"""The gateway's dependencies as the routes declare them: the one look-up of `app.state.deps`.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, a hand-off
per dependency and request that cost the ingest path more than the look-up itself."""

from collections.abc import Awaitable, Callable
from dataclasses import fields
from typing import Annotated

from fastapi import Depends, Request

from services.gateway.bootstrap import Deps
from services.gateway.ports import DeadLetters, Deliveries, FhirSubscriptions, Inbox, Outbox, Receipts, Subscriptions
from services.runtime.access_log import AccessLog
from services.runtime.pseudonym import Pseudonymizer


async def get_deps(request: Request) -> Deps:
    return request.app.state.deps


def _part(name: str) -> Callable[[Request], Awaitable[object]]:
    """A dependency answering one field of `Deps` (a store, by the name bootstrap gives it)."""
    if name not in {f.name for f in fields(Deps)}:
        raise ValueError(f"Deps has no field {name!r}")

    async def part(request: Request) -> object:
        return getattr(request.app.state.deps, name)

    part.__name__ = f"get_{name}"
    return part


access_log = _part("access_log")
pseudonyms = _part("pseudonyms")

DepsDep = Annotated[Deps, Depends(get_deps)]
OutboxDep = Annotated[Outbox, Depends(_part("outbox"))]
InboxDep = Annotated[Inbox, Depends(_part("inbox"))]
ReceiptsDep = Annotated[Receipts, Depends(_part("receipts"))]
SubscriptionsDep = Annotated[Subscriptions, Depends(_part("subscriptions"))]
DeliveriesDep = Annotated[Deliveries, Depends(_part("deliveries"))]
DeadLettersDep = Annotated[DeadLetters, Depends(_part("dead_letters"))]
FhirSubscriptionsDep = Annotated[FhirSubscriptions, Depends(_part("fhir_subscriptions"))]
AccessLogDep = Annotated[AccessLog, Depends(access_log)]
PseudonymsDep = Annotated[Pseudonymizer, Depends(pseudonyms)]
