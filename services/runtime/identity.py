"""Who is calling: a principal and the role it acts in, however it proved that."""

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    SYSTEM = "system"
    COORDINATOR = "coordinator"
    OPS = "ops"


@dataclass(frozen=True)
class Caller:
    principal: str
    role: Role
