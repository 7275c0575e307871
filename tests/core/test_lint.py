"""The code passes the project's linter (ruff, pinned, configured in pyproject.toml), as CI sees it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from analysis import paths


def _ruff() -> str:
    beside = Path(sys.executable).with_name("ruff")  # the venv's own, at the pinned version
    return str(beside) if beside.exists() else (shutil.which("ruff") or "ruff")


def test_ruff_finds_nothing_in_the_project():
    result = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=paths.ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_would_catch_an_unused_import_and_an_undefined_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\n\ndef f():\n    return undefined_name\n")
    result = subprocess.run([_ruff(), "check", "--no-cache", "--output-format", "concise",
                             "--config", str(paths.ROOT / "pyproject.toml"), str(bad)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "F401" in result.stdout and "F821" in result.stdout
