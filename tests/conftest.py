"""Shared fixtures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis import paths


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A writable copy of data/raw, for tampering."""
    dest = tmp_path / "raw"
    shutil.copytree(paths.RAW, dest)
    for path in dest.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return dest


@pytest.fixture(scope="session")
def outputs():
    """The pipeline's outputs (built once per session, or read from the cache)."""
    from analysis import panel

    return panel.build()
