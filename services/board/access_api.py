"""The board's access log over HTTP (services/runtime/access_log_api.py): what the caller's
principal's staff and systems looked at on the board, for its systematic follow-up."""

from services.board.deps import DepsDep
from services.runtime.access_log import AccessLog
from services.runtime.access_log_api import access_log_router
from services.runtime.pseudonym import Pseudonymizer


def _access_log(deps: DepsDep) -> AccessLog:
    return deps.access_log


def _pseudonyms(deps: DepsDep) -> Pseudonymizer:
    return Pseudonymizer(deps.settings.pseudonym_key)


router = access_log_router(_access_log, _pseudonyms)
