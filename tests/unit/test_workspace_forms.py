"""The workspace's forms, pure: every field of every type staff may register has a Swedish label
and help text, the forms follow the catalogue's schemas, and form posts become the bodies the
gateway and the consent service validate (the same validation as a system's: parse_event)."""

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import parse_event
from contracts.catalogue import CATALOGUE, SenderKind
from contracts.examples import EXAMPLE_DATA
from contracts.person import normalize_person_id
from services.board.workspace_forms import (
    FormField,
    consent_body,
    error_for,
    event_body,
    event_types_for,
    form_fields,
    local_datetime,
    row_count,
    rows_of,
    spec_named,
    unplaced,
)
from services.board.workspace_labels import CATEGORIES, VALUES, WITHHELD, field_text
from tests.support.personnummer import make_person_id

REGION, ALINGSAS = "region-14", "kommun-1489"
PARTIES = (REGION, ALINGSAS)
NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
PERSON = make_person_id(date(1984, 3, 17), 238)
STAFF_TYPES = [s for s in CATALOGUE.values() if s.sender in (SenderKind.REGION, SenderKind.MUNICIPALITY,
                                                              SenderKind.EITHER)]  # fmt: skip


@pytest.mark.parametrize("spec", STAFF_TYPES, ids=lambda s: s.name)
def test_every_field_of_every_type_staff_may_register_has_a_swedish_label_and_help(spec):
    schema = spec.payload.model_json_schema()
    names = list(schema["properties"]) + [
        column for d in schema.get("$defs", {}).values() if "properties" in d for column in d["properties"]
    ]
    for name in names:
        text = field_text(spec.name, name)
        assert text is not None and all(text), f"{spec.name}.{name} has no Swedish label and help"
    for field in form_fields(spec, PARTIES):
        assert field.label != field.name.removeprefix("data.")
        for value, label in field.options:
            assert field.name.endswith(("party",)) or label != value or value.isupper(), (spec.name, value)


def test_the_categories_and_the_gates_reasons_have_words_a_person_understands():
    from contracts.catalogue import Category
    from services.consent.domain import Reason

    assert set(CATEGORIES) == {c.value for c in Category} - {"consent"}
    assert set(WITHHELD) == {r.value for r in Reason} - {"consent", "statutory_basis"}
    assert all(VALUES.values())


def test_a_region_registers_region_and_joint_types_and_a_municipality_its_own_and_joint():
    region = {s.name for s in event_types_for(REGION)}
    municipality = {s.name for s in event_types_for(ALINGSAS)}

    assert {"visit.missed", "sip.requested", "sip.plan_updated"} <= region
    assert "intervention.missed" not in region and "visit.missed" not in municipality
    assert {"intervention.missed", "sip.plan_updated"} <= municipality
    assert not any(name.startswith(("receipt.", "consent.")) for name in region | municipality)
    assert spec_named("intervention.missed", REGION) is None


def test_the_form_of_a_type_follows_its_schema_required_first():
    fields = {f.name: f for f in form_fields(spec_named("sample.positive", REGION), PARTIES)}

    assert [f.required for f in fields.values()] == sorted((f.required for f in fields.values()), reverse=True)
    assert fields["data.sample_type"].kind == "select"
    assert ("urine", "Urin") in fields["data.sample_type"].options
    assert fields["data.substances"].kind == "lines" and fields["data.sampled_at"].kind == "datetime"
    assert not fields["data.unit"].required


def test_the_sip_plan_has_repeatable_rows_of_who_does_what():
    plan = {f.name: f for f in form_fields(spec_named("sip.plan_updated", ALINGSAS), PARTIES)}
    rows = plan["data.responsibilities"]

    assert rows.kind == "rows" and [c.name for c in rows.columns] == ["party", "task"]
    assert rows.columns[0].kind == "select" and [v for v, _ in rows.columns[0].options] == list(PARTIES)
    assert plan["data.next_follow_up"].kind == "date" and plan["data.goals"].kind == "lines"


def example_form(spec) -> dict[str, list[str]]:
    """The catalogue's example of the type, as a browser would post its form."""
    form = {"subject": [PERSON]}
    for field in form_fields(spec, PARTIES):
        value = EXAMPLE_DATA[spec.type].get(field.name.removeprefix("data."))
        if value is None:
            continue
        if field.kind == "datetime":
            value = datetime.fromisoformat(value).astimezone(local_zone()).strftime("%Y-%m-%dT%H:%M")
        elif field.kind == "lines":
            value = "\n".join(value)
        elif field.kind == "pairs":
            value = "\n".join(f"{k}: {v}" for k, v in value.items())
        elif field.kind == "rows":
            for i, row in enumerate(value):
                form |= {f"{field.name}.{i}.{k}": [v] for k, v in row.items()}
            continue
        form[field.name] = [str(value)]
    return form


def local_zone():
    from services.board.workspace_forms import LOCAL

    return LOCAL


@pytest.mark.parametrize("spec", STAFF_TYPES, ids=lambda s: s.name)
def test_the_catalogues_example_posted_as_a_form_is_an_event_the_gateway_accepts(spec):
    sender = REGION if spec.sender is not SenderKind.MUNICIPALITY else ALINGSAS

    body, errors = event_body(spec, example_form(spec), "ev-1", NOW, PARTIES)

    assert errors == {}
    parsed = parse_event(body, sender=sender)
    assert parsed.data == parse_event({**body, "data": EXAMPLE_DATA[spec.type]}, sender=sender).data


@given(st.lists(st.tuples(st.sampled_from(PARTIES + ("",)), st.text("abc åäö", max_size=8)), max_size=6))
def test_rows_keep_the_filled_ones_in_order_and_leave_the_empty_out(rows):
    field = form_fields(spec_named("sip.plan_updated", REGION), PARTIES)[1]
    form = {f"data.responsibilities.{i}.party": [p] for i, (p, _) in enumerate(rows)}
    form |= {f"data.responsibilities.{i}.task": [t] for i, (_, t) in enumerate(rows)}

    found = rows_of(field, form)

    expected = [{k: v for k, v in {"party": p, "task": t.strip()}.items() if v} for p, t in rows]
    assert found == [r for r in expected if r]
    assert row_count(field, form) == max(3, len(rows))
    assert row_count(field, form | {"add_row": ["data.responsibilities"]}) == max(3, len(rows)) + 1
    shown = {"data.responsibilities.count": ["5"], "add_row": ["data.responsibilities"]}
    assert row_count(field, shown) == 6  # pressed again on a page of five empty rows


def test_a_wall_clock_time_is_swedish_time_and_unreadable_input_is_named_at_its_field():
    assert local_datetime("2026-07-01T09:30") == "2026-07-01T09:30:00+02:00"
    spec = spec_named("assessment.recorded", REGION)

    _, errors = event_body(spec, {"data.score": ["tolv"], "data.assessed_on": ["2026-11-01"]}, "e", NOW)

    assert errors == {"data.score": "Ange ett heltal."}


@given(st.dates(date(1990, 1, 1), date(2090, 1, 1)), st.integers(1, 400))
def test_a_consent_form_becomes_the_request_with_at_most_a_year_of_validity(start, days):
    from datetime import timedelta

    form = {"person": [PERSON], "parties": [REGION, ALINGSAS, REGION], "categories": ["attendance", "bogus"],
            "excluded_event_types": ["se.samordna.region.sample.positive.v1"], "form": ["written"],
            "valid_from": [start.isoformat()], "valid_until": [(start + timedelta(days=days)).isoformat()]}  # fmt: skip

    body, errors = consent_body(form, "SE2321000014-E00000000001", NOW.date())

    assert body["person"] == normalize_person_id(PERSON) and body["parties"] == [ALINGSAS, REGION]
    assert body["categories"] == ["attendance"] and body["recorded_by"] == "SE2321000014-E00000000001"
    assert ("valid_until" in errors) == (days > 365)


def test_a_consent_form_without_a_valid_person_or_form_is_named_at_those_fields():
    body, errors = consent_body({"person": ["19840317-0000"], "categories": ["attendance"]}, None, NOW.date())

    assert set(errors) == {"person", "form"}
    assert body["valid_from"] == NOW.date().isoformat() and "valid_until" not in body


def test_an_apis_error_lands_at_its_field_or_at_the_top():
    errors = {"data.goals.1": "String should have at least 1 character", "time": "bad"}

    assert error_for(errors, "data.goals") == "Fyll i fältet."
    assert error_for(errors, "data.next_follow_up") is None
    assert unplaced(errors, ["data.goals"]) == {"time": "bad"}
    assert isinstance(form_fields(spec_named("visit.missed", REGION))[0], FormField)
