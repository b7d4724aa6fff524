"""The workspace's forms, pure: built from the catalogue's JSON Schemas (the same schemas the
gateway validates with, contracts/schemas), and the browser's form posts turned into the APIs'
bodies. No I/O; the routes are in workspace.py and workspace_events.py.

    event_types_for(principal)            the types the principal's staff may register
    form_fields(spec)                     one FormField per payload field, Swedish label and help
    event_body(spec, form, event_id, now) (CloudEvent body, local field errors)
    consent_body(form, recorded_by)       (ConsentRequest body, local field errors)
    error_for(errors, name)               the message to show next to a field

A form's inputs are named by the API's own field paths (`subject`, `data.planned_at`,
`data.responsibilities.0.task`, `person`, `valid_until`), so the gateway's and the consent
service's 422 answers land next to the field they name.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contracts.catalogue import CATALOGUE, EventSpec, SenderKind, may_send
from contracts.person import normalize_person_id
from services.board.workspace_labels import CATEGORIES, FORMS, VALUES, field_text, in_swedish

try:
    LOCAL = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # pragma: no cover - a machine without tzdata
    LOCAL = UTC

REGISTERED_BY_STAFF = (SenderKind.REGION, SenderKind.MUNICIPALITY, SenderKind.EITHER)
ROWS_SHOWN = 3  # empty rows of a repeatable group shown at first; "Lägg till rad" adds one
INVALID_PERSON = "Ange ett giltigt personnummer eller samordningsnummer (ÅÅÅÅMMDD-NNNN)."
MAX_DAYS = 365  # a consent is valid at most a year (services/consent/consents.py)


@dataclass(frozen=True)
class FormField:
    name: str  # the input's name: the API's field path
    label: str
    help: str
    kind: str  # text | date | datetime | integer | select | lines | pairs | rows
    required: bool
    options: tuple[tuple[str, str], ...] = ()  # (value, label) of a select
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    columns: tuple["FormField", ...] = ()  # the fields of one row of a repeatable group


def event_types_for(principal: str) -> list[EventSpec]:
    """The types the principal's staff may register by hand, in the catalogue's order."""
    return [s for s in CATALOGUE.values() if s.sender in REGISTERED_BY_STAFF and may_send(s, principal)]


def spec_named(name: str, principal: str) -> EventSpec | None:
    return next((s for s in event_types_for(principal) if s.name == name), None)


def form_fields(spec: EventSpec, parties: tuple[str, ...] = ()) -> list[FormField]:
    """The payload's fields, required first as the schema orders them; `parties` are the choices of
    a field that names a principal."""
    schema = spec.payload.model_json_schema()
    required = set(schema.get("required", []))
    defs = schema.get("$defs", {})
    fields = [
        _field(spec.name, name, prop, name in required, defs, parties, f"data.{name}")
        for name, prop in schema["properties"].items()
    ]
    return sorted(fields, key=lambda f: not f.required)


def _field(event: str, name: str, prop: dict, required: bool, defs: dict, parties, path: str) -> FormField:
    label, help_text = field_text(event, name) or (name, "")
    prop = _non_null(prop)
    if "$ref" in prop:
        prop = defs[prop["$ref"].rsplit("/", 1)[-1]]
    base = {"name": path, "label": label, "help": help_text, "required": required, "max_length": prop.get("maxLength")}
    if "enum" in prop:
        options = tuple((v, VALUES.get(name, {}).get(v, v)) for v in prop["enum"])
        return FormField(kind="select", options=options, **base)
    if prop.get("type") == "array":
        items = _non_null(prop.get("items", {}))
        if "$ref" in items:
            row = defs[items["$ref"].rsplit("/", 1)[-1]]
            columns = tuple(
                _field(event, col, p, col in row.get("required", []), defs, parties, col)
                for col, p in row["properties"].items()
            )
            return FormField(kind="rows", columns=columns, **base)
        return FormField(kind="lines", **{**base, "max_length": items.get("maxLength")})
    if prop.get("type") == "object":
        return FormField(kind="pairs", minimum=0, maximum=10, **base)
    if prop.get("type") == "integer":
        return FormField(kind="integer", minimum=prop.get("minimum"), maximum=prop.get("maximum"), **base)
    if name == "party" or prop.get("pattern", "").startswith("^(region-"):
        return FormField(kind="select", options=tuple((p, p) for p in parties), **base)
    kind = {"date": "date", "date-time": "datetime"}.get(prop.get("format", ""), "text")
    return FormField(kind=kind, **base)


def _non_null(prop: dict) -> dict:
    """The non-null alternative of an optional field (`anyOf: [X, null]`), with its outer keys."""
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    return {**{k: v for k, v in prop.items() if k != "anyOf"}, **options[0]} if len(options) == 1 else prop


def _one(form: dict[str, list[str]], name: str) -> str:
    return (form.get(name) or [""])[0].strip()


def local_datetime(value: str) -> str:
    """A datetime-local input's value (Swedish wall-clock time) as an aware ISO instant."""
    return datetime.fromisoformat(value).replace(tzinfo=LOCAL).isoformat()


def event_body(
    spec: EventSpec, form: dict[str, list[str]], event_id: str, now: datetime, parties: tuple[str, ...] = ()
) -> tuple[dict, dict[str, str]]:
    """The CloudEvent a form post describes, and what could not even be read (field -> message);
    everything else is the gateway's to judge. `source` is set by the gateway."""
    errors: dict[str, str] = {}
    data: dict = {}
    for f in form_fields(spec, parties):
        value = _value(f, form, errors)
        if value not in (None, "", [], {}):
            data[f.name.removeprefix("data.")] = value
    body = {
        "specversion": "1.0", "id": event_id, "source": "samordna-arbetsyta", "type": spec.type,
        "subject": _one(form, "subject"), "time": now.astimezone(UTC).isoformat(), "data": data,
    }  # fmt: skip
    return body, errors


def _value(f: FormField, form: dict[str, list[str]], errors: dict[str, str]):
    raw = _one(form, f.name)
    if f.kind == "datetime" and raw:
        try:
            return local_datetime(raw)
        except ValueError:
            errors[f.name] = "Ange datum och tid."
            return None
    if f.kind == "integer" and raw:
        try:
            return int(raw)
        except ValueError:
            errors[f.name] = "Ange ett heltal."
            return None
    if f.kind == "lines":
        return [line.strip() for line in raw.splitlines() if line.strip()]
    if f.kind == "pairs":
        return _pairs(f.name, raw, errors)
    if f.kind == "rows":
        return rows_of(f, form)
    return raw


def _pairs(name: str, raw: str, errors: dict[str, str]) -> dict[str, int]:
    pairs = {}
    for line in (line.strip() for line in raw.splitlines()):
        key, sep, value = line.rpartition(":")
        if not line:
            continue
        if not sep or not key.strip() or not value.strip().lstrip("-").isdigit():
            errors[name] = "Skriv en skattning per rad som namn: värde, till exempel Mående: 6."
            return {}
        pairs[key.strip()] = int(value.strip())
    return pairs


def row_count(f: FormField, form: dict[str, list[str]]) -> int:
    """How many rows of a repeatable group the form shows: those posted (at least ROWS_SHOWN), and
    one more when "Lägg till rad" was pressed."""
    posted = {int(k.split(".")[2]) for k in form if k.startswith(f"{f.name}.") and k.split(".")[2].isdigit()}
    shown = _one(form, f"{f.name}.count")  # how many the page showed (empty rows are not posted)
    count = max([ROWS_SHOWN, *(i + 1 for i in posted), int(shown) if shown.isdigit() else 0])
    count = min(count, 50)  # the schemas' most
    return count + (1 if _one(form, "add_row") == f.name else 0)


def rows_of(f: FormField, form: dict[str, list[str]]) -> list[dict]:
    """The filled rows of a repeatable group, renumbered from 0 in order; empty rows left out."""
    rows = []
    for i in range(row_count(f, form)):
        row = {c.name: _one(form, f"{f.name}.{i}.{c.name}") for c in f.columns}
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v})
    return rows


def consent_body(form: dict[str, list[str]], recorded_by: str | None, today: date) -> tuple[dict, dict[str, str]]:
    """The consent service's ConsentRequest a consent form describes, and the errors found here."""
    errors: dict[str, str] = {}
    person = _one(form, "person")
    try:
        person = normalize_person_id(person)
    except ValueError:
        errors["person"] = INVALID_PERSON
    valid_from = _date(form, "valid_from", errors) or today
    valid_until = _date(form, "valid_until", errors)
    if valid_until is not None and valid_until > valid_from + timedelta(days=MAX_DAYS):
        errors["valid_until"] = "Ett samtycke gäller högst ett år."
    body = {
        "person": person,
        "parties": sorted(set(form.get("parties", []))),
        "categories": sorted(set(form.get("categories", [])) & set(CATEGORIES)),
        "excluded_categories": sorted(set(form.get("excluded_categories", [])) & set(CATEGORIES)),
        "excluded_event_types": sorted(set(form.get("excluded_event_types", [])) & set(CATALOGUE)),
        "valid_from": valid_from.isoformat(),
        "form": _one(form, "form") if _one(form, "form") in FORMS else "",
        "recorded_by": recorded_by,
    }
    if valid_until is not None:
        body["valid_until"] = valid_until.isoformat()
    if not body["form"]:
        errors["form"] = "Välj om samtycket är skriftligt eller muntligt."
    if not body["categories"]:
        errors["categories"] = "Välj minst en sorts uppgifter."
    return body, errors


def _date(form: dict[str, list[str]], name: str, errors: dict[str, str]) -> date | None:
    raw = _one(form, name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Ange ett datum (ÅÅÅÅ-MM-DD)."
        return None


def default_until(valid_from: date) -> date:
    """The consent's default end: a year after it starts, the longest it may be."""
    return valid_from + timedelta(days=MAX_DAYS)


def error_for(errors: dict[str, str], name: str) -> str | None:
    """The message for the field `name`: its own, else the first about a part of it (`data.goals.1`)."""
    message = errors.get(name) or next((m for k, m in errors.items() if k.startswith(f"{name}.")), None)
    return in_swedish(message) if message else None


def unplaced(errors: dict[str, str], names: list[str]) -> dict[str, str]:
    """The errors no field of the form shows (the page lists them at the top)."""
    return {k: in_swedish(m) for k, m in errors.items() if not any(k == n or k.startswith(f"{n}.") for n in names)}
