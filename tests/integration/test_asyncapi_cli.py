"""docs/asyncapi.yaml validated by the AsyncAPI CLI itself (@asyncapi/cli from npm, installed by
deploy/asyncapi.sh from the committed package-lock.json): no error and no warning. That its
`$ref`s to contracts/schemas/ land on files is tests/unit/test_asyncapi.py."""

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_asyncapi_cli_finds_the_document_valid():
    result = subprocess.run(
        [str(REPO / "deploy" / "asyncapi.sh"), "validate", str(REPO / "docs" / "asyncapi.yaml")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is valid" in result.stdout, result.stdout
    assert "0 errors, 0 warnings" in result.stdout, result.stdout
