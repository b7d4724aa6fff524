class GatewayError(Exception):
    """Base of the gateway's domain errors."""


class EventIdConflict(GatewayError):
    """An event with this id was accepted before, with a different body."""
