"""An access-log entry as the log extract carries it: what the consent service answers in
`POST /v1/log-extract`'s `accesses` and what the board reads there and in its own access log
(both from services/runtime/access_log.AccessLog.search), in one shape."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AccessEntry(BaseModel):
    """One look at a person by a principal's staff or systems (`user` "token": a system)."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    principal: str
    role: str
    user: str
    name: str | None
    hsa_id: str | None
    unit: str | None
    action: str
