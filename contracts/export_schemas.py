"""Export the contracts as JSON Schemas to contracts/schemas/.

python -m contracts.export_schemas           # write
python -m contracts.export_schemas --check   # exit 1 if the committed files differ
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from contracts.catalogue import CATALOGUE, EventSpec, sender_rule
from contracts.envelope import CloudEvent, DeadLetter, DecisionBatch, GateDecision
from contracts.examples import EXAMPLE_DATA
from contracts.kafka_binding import SCHEMA_BASE
from contracts.sealing import SealedEvent

SCHEMAS = Path(__file__).with_name("schemas")
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _event_schema(spec: EventSpec) -> dict:
    schema = CloudEvent.model_json_schema()
    schema["title"] = spec.type
    schema["description"] = (
        f"{spec.label_sv} ({spec.name}); consent category {spec.category}; {sender_rule(spec)}. "
        "A gateway fills in principal and category when a posted event leaves them out."
    )
    schema["properties"]["type"] = {"const": spec.type, "type": "string"}
    schema["properties"]["category"] = {"const": spec.category.value, "type": "string"}
    payload = spec.payload.model_json_schema(ref_template="#/$defs/{model}")
    schema.setdefault("$defs", {}).update(payload.pop("$defs", {}))
    schema["properties"]["data"] = payload | {"examples": [EXAMPLE_DATA[spec.type]]}
    return schema


def render() -> dict[str, str]:
    """File name -> content of every schema, deterministic."""
    schemas: dict[str, dict] = {f"{t}.json": _event_schema(spec) for t, spec in CATALOGUE.items()}
    records: dict[str, type[BaseModel]] = {
        "cloudevent.json": CloudEvent,
        "sealed-event.json": SealedEvent,
        "gate-decision.json": GateDecision,
        "decision-batch.json": DecisionBatch,
        "dead-letter.json": DeadLetter,
    }
    schemas |= {name: model.model_json_schema() for name, model in records.items()}
    return {
        name: json.dumps(_identified(name, schema), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in schemas.items()
    }


def _identified(name: str, schema: dict) -> dict:
    """The schema with its dialect (pydantic writes JSON Schema 2020-12) and the URI it is published
    at, which the binary-mode records' `ce_dataschema` and docs/asyncapi.yaml name."""
    return {"$schema": DIALECT, "$id": SCHEMA_BASE + name, **schema}


def differences(directory: Path = SCHEMAS) -> list[str]:
    """Files that are missing, changed or extra compared with the models, one line each."""
    expected = render()
    present = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    missing = [f"{n} (missing)" for n in sorted(set(expected) - present)]
    changed = [f"{n} (differs)" for n in sorted(present & set(expected)) if _read(directory / n) != expected[n]]
    extra = [f"{n} (not a contract any more)" for n in sorted(present - set(expected))]
    return missing + changed + extra


def write(directory: Path = SCHEMAS) -> None:
    expected = render()
    directory.mkdir(exist_ok=True)
    for stale in {p.name for p in directory.glob("*.json")} - set(expected):
        (directory / stale).unlink()
    for name, text in expected.items():
        (directory / name).write_text(text, encoding="utf-8")


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def main(argv: list[str] | None = None, directory: Path = SCHEMAS) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 listing the files that differ")
    if parser.parse_args(argv).check:
        diff = differences(directory)
        if diff:
            print("schemas differ from the models (run `make schemas`):\n  " + "\n  ".join(diff))
            sys.exit(1)
        print("schemas match the models")
    else:
        write(directory)
        print(f"wrote {len(render())} schemas to {directory}")


if __name__ == "__main__":
    main()
