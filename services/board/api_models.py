"""What the board's JSON API answers, as models for its OpenAPI document.

Times and dates are ISO 8601 strings as the routes write them, not re-parsed.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
IsoDate = Annotated[str, WithJsonSchema({"type": "string", "format": "date"})]
Month = Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]


class PlanEntry(BaseModel):
    date: IsoDate
    what: str


class AlertOut(BaseModel):
    kind: str
    label: str
    text: str
    since: IsoTime
    event_id: str | None


class BoardRowOut(BaseModel):
    handle: str = Field(description="the person's pseudonym: names the person in URLs, never the personnummer")
    patient: str
    start: IsoDate
    goal: str | None
    current: str | None
    ongoing: list[str]
    planning: list[PlanEntry]
    next_planned: IsoDate | None
    alerts: list[AlertOut]
    parties: list[str]


class Board(BaseModel):
    columns: dict[str, str] = Field(description="the columns' Swedish headings, by member name")
    alert_kinds: dict[str, str] = Field(description="each alert kind and its Swedish label")
    rows: list[BoardRowOut]


class TimelineItem(BaseModel):
    time: IsoTime
    label: str
    sender: str
    type: str
    data: dict[str, Any] = Field(description="the details shown on the board for the event")


class Timeline(BaseModel):
    patient: str
    timeline: list[TimelineItem]


class PersonsInMonth(BaseModel):
    month: Month
    persons: int


class GroupCount(BaseModel):
    group: str
    count: int


class EventsOfTypeInMonth(BaseModel):
    month: Month
    event_type: str
    label: str
    events: int


class StatisticsPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    first: Month = Field(alias="from", description="the first month counted, YYYY-MM")
    last: Month = Field(alias="to", description="the last month counted, YYYY-MM")
    as_of: IsoDate = Field(description="the day the age bands and referral sources are of: the period's last or today")


class Statistics(BaseModel):
    scope: str = Field(description="the caller's principal, or `all` for ops")
    period: StatisticsPeriod
    persons_per_month: list[PersonsInMonth]
    age_bands: list[GroupCount]
    referral_sources: list[GroupCount]
    events_per_type_per_month: list[EventsOfTypeInMonth]
    disclosure_control: str = Field(description="how small counts are protected (the cell-key method)")


class OpsSummary(BaseModel):
    services: dict[str, dict[str, bool | float]] = Field(
        description="per service: `up`, and its totals (and `…_per_minute` rates) of events, decisions, backlogs"
    )
    consumer_lag: dict[str, dict[str, int]] = Field(description="per consumer group, per topic: records behind")
    sampled_seconds_ago: float | None
