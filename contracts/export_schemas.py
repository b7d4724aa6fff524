"""Export the contracts as JSON Schemas to contracts/schemas/.

python -m contracts.export_schemas           # write
python -m contracts.export_schemas --check   # exit 1 if the committed files differ
"""

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from contracts.catalogue import CATALOGUE, EventSpec
from contracts.envelope import CloudEvent, DeadLetter, ForwardedEvent, GateDecision

SCHEMAS = Path(__file__).with_name("schemas")


def _event_schema(spec: EventSpec) -> dict:
    schema = CloudEvent.model_json_schema()
    schema["title"] = spec.type
    schema["description"] = f"{spec.label_sv} ({spec.name}); consent category {spec.category}."
    schema["properties"]["type"] = {"const": spec.type, "type": "string"}
    schema["properties"]["category"] = {"const": spec.category.value, "type": "string"}
    payload = spec.payload.model_json_schema(ref_template="#/$defs/{model}")
    schema.setdefault("$defs", {}).update(payload.pop("$defs", {}))
    schema["properties"]["data"] = payload
    return schema


def render() -> dict[str, str]:
    """File name -> content of every schema, deterministic."""
    schemas: dict[str, dict] = {f"{t}.json": _event_schema(spec) for t, spec in CATALOGUE.items()}
    records: dict[str, type[BaseModel]] = {
        "cloudevent.json": CloudEvent,
        "forwarded-event.json": ForwardedEvent,
        "gate-decision.json": GateDecision,
        "dead-letter.json": DeadLetter,
    }
    schemas |= {name: model.model_json_schema() for name, model in records.items()}
    return {
        name: json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        for name, schema in schemas.items()
    }


def differences(directory: Path = SCHEMAS) -> list[str]:
    """Files that are missing, changed or extra compared with the models."""
    expected = render()
    present = {p.name for p in directory.glob("*.json")} if directory.exists() else set()
    changed = [n for n, text in expected.items() if n not in present or (directory / n).read_text() != text]
    extra = sorted(present - set(expected))
    return sorted(changed) + [f"{n} (not a contract any more)" for n in extra]


def write(directory: Path = SCHEMAS) -> None:
    directory.mkdir(exist_ok=True)
    for stale in set(p.name for p in directory.glob("*.json")) - set(render()):
        (directory / stale).unlink()
    for name, text in render().items():
        (directory / name).write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    if parser.parse_args().check:
        diff = differences()
        if diff:
            print("schemas differ from the models (run `make schemas`):\n  " + "\n  ".join(diff))
            sys.exit(1)
        print("schemas match the models")
    else:
        write()
        print(f"wrote {len(render())} schemas to {SCHEMAS}")


if __name__ == "__main__":
    main()
