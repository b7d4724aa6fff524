"""The gateway's dependencies as the routes declare them: the one look-up of `app.state.deps`.

They are coroutines: FastAPI runs a plain function dependency in a worker thread, a hand-off
per dependency and request that cost the ingest path more than the look-up itself."""

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.bootstrap import Deps
from services.gateway.ports import DeadLetters, Deliveries, FhirSubscriptions, Inbox, Outbox, Receipts, Subscriptions


async def get_deps(request: Request) -> Deps:
    return request.app.state.deps


async def _outbox(request: Request) -> Outbox:
    return request.app.state.deps.outbox


async def _inbox(request: Request) -> Inbox:
    return request.app.state.deps.inbox


async def _receipts(request: Request) -> Receipts:
    return request.app.state.deps.receipts


async def _subscriptions(request: Request) -> Subscriptions:
    return request.app.state.deps.subscriptions


async def _deliveries(request: Request) -> Deliveries:
    return request.app.state.deps.deliveries


async def _fhir_subscriptions(request: Request) -> FhirSubscriptions:
    return request.app.state.deps.fhir_subscriptions


async def _dead_letters(request: Request) -> DeadLetters:
    return request.app.state.deps.dead_letters


DepsDep = Annotated[Deps, Depends(get_deps)]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
InboxDep = Annotated[Inbox, Depends(_inbox)]
ReceiptsDep = Annotated[Receipts, Depends(_receipts)]
SubscriptionsDep = Annotated[Subscriptions, Depends(_subscriptions)]
DeliveriesDep = Annotated[Deliveries, Depends(_deliveries)]
DeadLettersDep = Annotated[DeadLetters, Depends(_dead_letters)]
FhirSubscriptionsDep = Annotated[FhirSubscriptions, Depends(_fhir_subscriptions)]
