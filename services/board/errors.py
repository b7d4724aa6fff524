"""The board's domain errors, answered at the edge (`app.py`) as problem details by the API and
as the HTML page `not_found.html` by the web pages.

    BoardError
    ├── PersonNotOnBoard     no person with this handle is on the caller's board
    └── InvalidPeriod        the statistics' period is not whole months in the past, in order
"""

from contracts.envelope import FieldError


class BoardError(Exception):
    """Something the board cannot answer as asked."""


class PersonNotOnBoard(BoardError):
    """Raised when a handle names no person on the caller's board: unknown, not shared with the
    caller's principal, or with nothing the principal may see. The three look alike on purpose."""

    def __init__(self) -> None:
        super().__init__("no such person on your board")


class InvalidPeriod(BoardError):
    """Raised when the statistics are asked for a period that is not one: a month not written
    YYYY-MM, in the future, the first after the last, or longer than a report covers."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.errors = [FieldError(field, message)]  # answered as problem details naming the field
