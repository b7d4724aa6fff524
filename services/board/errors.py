"""The board's domain errors, answered at the edge (`app.py`) as problem details by the API and
as the HTML page `not_found.html` by the web pages.

    BoardError
    └── PersonNotOnBoard     no person with this handle is on the caller's board
"""


class BoardError(Exception):
    """Something the board cannot answer as asked."""


class PersonNotOnBoard(BoardError):
    """Raised when a handle names no person on the caller's board: unknown, not shared with the
    caller's principal, or with nothing the principal may see. The three look alike on purpose."""

    def __init__(self) -> None:
        super().__init__("no such person on your board")
