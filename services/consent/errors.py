"""The consent service's domain errors, answered as problem details by `services/consent/app.py`.

    ConsentError            base; never raised itself
    ├── ConsentNotFound     404: no consent with this id names the caller's principal
    └── NotAParty           403: the caller records a consent that does not name its principal

Each message is the problem's detail, as it was before errors were problem details: it names
the consent and principals, never the person.
"""

from uuid import UUID


class ConsentError(Exception):
    """Base of the consent service's domain errors."""


class ConsentNotFound(ConsentError):
    """Raised when a consent is looked up (history, revocation) by an id that no consent naming the
    caller's principal has: one that does not exist and one of others look the same."""

    def __init__(self, consent_id: UUID, principal: str) -> None:
        super().__init__(f"no consent {consent_id} names {principal}")


class NotAParty(ConsentError):
    """Raised when a principal records a consent that does not name it among the parties."""

    def __init__(self, principal: str) -> None:
        super().__init__(f"a consent recorded by {principal} must name {principal}")
