"""HL7's FHIR validator engine, run offline on resources the services produce.

tests/support/fhir_validator/ holds the Maven project (the validator from Maven Central, with the
R4 core definitions) and the single-file Java program that runs it. The classpath is resolved once
per content of the pom.xml and cached; every later run needs neither network nor Maven.
"""

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent / "fhir_validator"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "samordna"  # as deploy/kafka.sh


@dataclass(frozen=True)
class Message:
    name: str  # the resource's name in the run
    severity: str  # information, warning, error, fatal
    location: str
    text: str


def classpath() -> str:
    pom = HERE / "pom.xml"
    cached = CACHE / f"fhir-validator-classpath-{hashlib.sha256(pom.read_bytes()).hexdigest()[:16]}.txt"
    if cached.exists() and all(Path(jar).exists() for jar in cached.read_text().split(os.pathsep)):
        return cached.read_text()
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    subprocess.run(
        ["mvn", "-B", "-q", "-f", str(pom), "dependency:build-classpath", f"-Dmdep.outputFile={partial}"],  # noqa: S607
        check=True,
        capture_output=True,
        timeout=900,
    )
    partial.rename(cached)
    return cached.read_text()


def validate(resources: dict[str, dict], workdir: Path) -> list[Message]:
    """Every message HL7's validator gives on `resources` (name -> FHIR JSON), in one JVM."""
    files = []
    for name, resource in resources.items():
        path = workdir / f"{name}.json"
        path.write_text(json.dumps(resource))
        files.append(str(path))
    run = subprocess.run(
        ["java", "-cp", classpath(), str(HERE / "Validate.java"), *files],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    )
    messages = []
    for line in run.stdout.splitlines():
        file, severity, location, text = line.split("\t", 3)
        messages.append(Message(Path(file).stem, severity.lower(), location, text))
    return messages
