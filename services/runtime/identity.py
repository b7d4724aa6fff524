"""Who is calling: a principal and the role it acts in, however it proved that."""

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    COORDINATOR = "coordinator"
    OPS = "ops"


@dataclass(frozen=True)
class Caller:
    principal: str
    role: Role
    # the person behind a member of staff's own token (HSA-id, else the provider's subject), for the
    # record of who did what; not part of who the caller is (equality), and None for a system
    user: str | None = field(default=None, compare=False)
