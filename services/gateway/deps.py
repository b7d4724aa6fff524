"""The gateway's dependencies as the routes declare them: the one look-up of `app.state.deps`."""

from typing import Annotated

from fastapi import Depends, Request

from services.gateway.bootstrap import Deps
from services.gateway.ports import DeadLetters, Deliveries, FhirSubscriptions, Inbox, Outbox, Receipts, Subscriptions


def get_deps(request: Request) -> Deps:
    return request.app.state.deps


def _outbox(request: Request) -> Outbox:
    return get_deps(request).outbox


def _inbox(request: Request) -> Inbox:
    return get_deps(request).inbox


def _receipts(request: Request) -> Receipts:
    return get_deps(request).receipts


def _subscriptions(request: Request) -> Subscriptions:
    return get_deps(request).subscriptions


def _deliveries(request: Request) -> Deliveries:
    return get_deps(request).deliveries


def _fhir_subscriptions(request: Request) -> FhirSubscriptions:
    return get_deps(request).fhir_subscriptions


def _dead_letters(request: Request) -> DeadLetters:
    return get_deps(request).dead_letters


DepsDep = Annotated[Deps, Depends(get_deps)]
OutboxDep = Annotated[Outbox, Depends(_outbox)]
InboxDep = Annotated[Inbox, Depends(_inbox)]
ReceiptsDep = Annotated[Receipts, Depends(_receipts)]
SubscriptionsDep = Annotated[Subscriptions, Depends(_subscriptions)]
DeliveriesDep = Annotated[Deliveries, Depends(_deliveries)]
DeadLettersDep = Annotated[DeadLetters, Depends(_dead_letters)]
FhirSubscriptionsDep = Annotated[FhirSubscriptions, Depends(_fhir_subscriptions)]
