class ConsentError(Exception):
    """Base of the consent service's domain errors."""


class ConsentNotFound(ConsentError):
    """No consent with this id that the caller may see."""


class NotAParty(ConsentError):
    """The caller's principal is not named in the consent."""
