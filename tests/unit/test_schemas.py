"""The JSON Schemas committed under contracts/schemas/ are exactly what the models export."""

import json

import pytest

from contracts import CATALOGUE
from contracts.export_schemas import differences, main, render, write

RECORDS = {"cloudevent.json", "sealed-event.json", "gate-decision.json", "dead-letter.json"}


def test_the_committed_json_schemas_match_the_models():
    assert differences() == [], "run `make schemas` and commit contracts/schemas/"


def test_there_is_one_schema_per_type_and_per_record():
    assert set(render()) >= {f"{t}.json" for t in CATALOGUE} | RECORDS


def test_an_event_schema_fixes_its_type_and_category_and_describes_its_payload():
    schema = json.loads(render()["se.samordna.region.sample.positive.v1.json"])

    assert schema["properties"]["type"]["const"] == "se.samordna.region.sample.positive.v1"
    assert schema["properties"]["category"]["const"] == "test_results"
    assert schema["properties"]["data"]["required"] == ["sample_type", "substances", "sampled_at"]


def test_rendering_is_deterministic_and_ends_with_a_newline():
    first, second = render(), render()

    assert first == second
    assert all(text.endswith("}\n") for text in first.values())


def test_a_changed_missing_or_extra_file_is_named(tmp_path):
    write(tmp_path)
    (tmp_path / "cloudevent.json").write_text("{}\n")
    (tmp_path / "dead-letter.json").unlink()
    (tmp_path / "old.json").write_text("{}\n")

    assert differences(tmp_path) == [
        "dead-letter.json (missing)",
        "cloudevent.json (differs)",
        "old.json (not a contract any more)",
    ]


def test_writing_removes_what_is_no_longer_a_contract(tmp_path):
    (tmp_path / "old.json").write_text("{}\n")

    write(tmp_path)

    assert differences(tmp_path) == []


def test_check_exits_1_when_the_schemas_differ(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc_info:
        main(["--check"], directory=tmp_path)

    assert exc_info.value.code == 1
    assert "cloudevent.json (missing)" in capsys.readouterr().out
