"""A PDF's text as `pdftotext` (poppler-utils, from Debian: deploy/pdf.sh) reads it back."""

import shutil
import subprocess
from pathlib import Path

import pytest


def pdf_text(path: Path, *, layout: bool = False) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("no pdftotext: run deploy/pdf.sh (as root; `make test` runs it)", pytrace=False)
    command = ["pdftotext", *(["-layout"] if layout else []), str(path), "-"]
    return subprocess.run(command, capture_output=True, check=True, text=True).stdout  # noqa: S603, S607
