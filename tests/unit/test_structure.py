"""The shape of the code, held: who may import whom, how large a file may grow, where the
dependencies are looked up. `python -m tests.unit.test_structure` prints the import graph
between packages and the largest files, to compare a change with main."""

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted(p for top in ("services", "contracts", "deploy") for p in (REPO / top).rglob("*.py"))
MAX_LINES = 400
# A region's and a municipality's gateway are the one gateway, configured for their principal.
RUNS_THE_GATEWAY = {"services.region", "services.municipality"}


def package_of(path: Path) -> str:
    """`services.consent`, `services.runtime`, `contracts`, `deploy`, … for a source file."""
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:2]) if parts[0] == "services" else parts[0]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    found = set()
    for name in names:
        parts = name.split(".")
        if parts[0] == "services" and len(parts) > 1:
            found.add(".".join(parts[:2]))
        elif parts[0] in ("contracts", "deploy"):
            found.add(parts[0])
    return found


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SOURCES:
        edges[package_of(path)] |= imported_packages(path) - {package_of(path)}
    return edges


def test_no_service_imports_another_and_contracts_import_no_service():
    refused = []
    for package, imports in graph().items():
        if package == "contracts":
            refused += [(package, i) for i in imports if i != "contracts"]
        elif package.startswith("services."):
            allowed = {"contracts", "services.runtime"} | (
                {"services.gateway"} if package in RUNS_THE_GATEWAY else set()
            )
            refused += [(package, i) for i in imports if i not in allowed]
    assert refused == []


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_source_file_grows_past_the_limit(path):
    assert len(path.read_text().splitlines()) <= MAX_LINES


def test_routes_and_pages_take_their_dependencies_by_declaration():
    """`request.app.state` is read in one place per service (its deps.py), never in a route."""
    reading = [
        str(p.relative_to(REPO))
        for p in SOURCES
        if package_of(p).startswith("services.")
        and package_of(p) != "services.runtime"  # auth and readiness, for every service
        and p.name != "deps.py"
        and "request.app.state" in p.read_text()
    ]
    assert reading == []


if __name__ == "__main__":
    for package, imports in sorted(graph().items()):
        print(f"{package:24} -> {', '.join(sorted(imports)) or '-'}")
    sizes = sorted(((len(p.read_text().splitlines()), p.relative_to(REPO)) for p in SOURCES), reverse=True)
    print(f"\n{len(SOURCES)} files, {sum(n for n, _ in sizes)} lines; the largest:", file=sys.stdout)
    for lines, path in sizes[:10]:
        print(f"{lines:5}  {path}")
