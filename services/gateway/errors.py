"""The gateway's domain errors: the conditions its service layer refuses a request for.

    GatewayError
    ├── EventRefused           an event posted by the principal's own system is not taken
    │   ├── EventTooLarge      the body is over the envelope's size limit
    │   ├── InvalidEvent       the body is not a valid event (errors name each field)
    │   └── EventIdConflict    the id was accepted before with another body
    ├── ReceiptRefused         an acknowledgement cannot be made
    │   ├── NotInInbox         no delivered event has the id
    │   └── AmbiguousEventId   two senders delivered events with the id
    └── WebhookError           a webhook subscription or delivery request cannot be served
        ├── TargetRefused      the URL may not be called (services/gateway/webhooks/targets.py)
        │   ├── InsecureEndpoint   an http endpoint where only https is allowed
        │   ├── HostNotAllowed     the host is not on the principal's allow-list
        │   ├── HostUnresolved     the host name does not resolve
        │   └── AddressRefused     the host resolves to a loopback, private, link-local, … address
        ├── SubscriptionNotFound
        └── DeliveryNotFound

Each message is safe to answer with: it names fields and ids, never a personnummer. The HTTP
edge (services/gateway/app.py) says which status and problem slug each one gets.
"""

from contracts.envelope import FieldError


class GatewayError(Exception):
    """Base of the gateway's domain errors."""


class EventRefused(GatewayError):
    """Base of the reasons an event posted to the gateway is not accepted."""


class EventTooLarge(EventRefused):
    """Raised when a posted body is larger than the envelope allows (contracts.MAX_EVENT_BYTES)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"event is {size} bytes; the limit is {limit}")


class InvalidEvent(EventRefused):
    """Raised when a posted body does not parse as an event of the catalogue; `errors` name the fields."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(
            self.errors[0].message
            if len(self.errors) == 1
            else "; ".join(f"{e.field}: {e.message}" for e in self.errors)
        )


class EventIdConflict(EventRefused):
    """Raised when an event id was accepted before with a different body."""

    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        super().__init__(f"event {event_id} was accepted before with a different body")


class ReceiptRefused(GatewayError):
    """Base of the reasons an acknowledgement (kvittens) cannot be made."""


class NotInInbox(ReceiptRefused):
    """Raised when no event with this id was delivered to this principal."""

    def __init__(self, event_id: str = "") -> None:
        self.event_id = event_id
        super().__init__("no delivered event has this id")


class AmbiguousEventId(ReceiptRefused):
    """Raised when two senders delivered events with this id and the caller did not name the sender."""

    def __init__(self, senders: list[str]) -> None:
        self.senders = senders
        super().__init__(f"events from {', '.join(senders)} have this id: name the sender")


class WebhookError(GatewayError):
    """Base of the reasons a webhook subscription or delivery request cannot be served."""


class TargetRefused(WebhookError):
    """Base of the reasons a webhook URL may not be called. Messages name the host the caller
    gave, never an address it resolved to."""


class InsecureEndpoint(TargetRefused):
    """Raised when a subscription names an http endpoint in production, where only https is allowed."""

    def __init__(self) -> None:
        super().__init__("must be an https URL in production")


class HostNotAllowed(TargetRefused):
    """Raised when the URL's host is not on this principal's allow-list (SAMORDNA_WEBHOOK_ALLOWED_HOSTS)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"the host {host[:253]!r} is not on this principal's allow-list of webhook hosts")


class HostUnresolved(TargetRefused):
    """Raised when the URL's host name does not resolve to any address."""

    def __init__(self, host: str) -> None:
        super().__init__(f"the host {host[:253]!r} does not resolve")


class AddressRefused(TargetRefused):
    """Raised when the host is, or resolves to, an address a webhook may not reach (`reason`:
    "a loopback address", "a private address", …)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"the host resolves to {reason}, which webhooks may not reach")


class SubscriptionNotFound(WebhookError, LookupError):
    """Raised when no subscription of this principal has the id (or the id is no UUID)."""

    def __init__(self, subscription_id: str = "") -> None:
        self.subscription_id = subscription_id
        super().__init__("no subscription has this id")


class DeliveryNotFound(WebhookError, LookupError):
    """Raised when the subscription has no delivery of this inbox seq."""

    def __init__(self, seq: int = 0) -> None:
        self.seq = seq
        super().__init__("the subscription has no such delivery")
