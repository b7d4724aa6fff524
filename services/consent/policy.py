"""Event types that cross without consent, on a statutory basis: data, not code."""

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from contracts.principals import PrincipalId
from services.consent.domain import StatutoryBasis


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_type: str
    legal_reference: str = Field(min_length=1)
    recipients: list[PrincipalId] = Field(min_length=1)


def load_statutory_bases(path: Path) -> dict[str, StatutoryBasis]:
    entries = TypeAdapter(list[_Entry]).validate_python(json.loads(path.read_text()))
    return {e.event_type: StatutoryBasis(e.event_type, e.legal_reference, frozenset(e.recipients)) for e in entries}
