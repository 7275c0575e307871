"""The analysis settings (``settings.yml`` at the repository root), loaded once."""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path
from typing import Any

import yaml

from . import paths

SETTINGS_FILE = Path(os.environ.get("CPP_SETTINGS", paths.ROOT / "settings.yml"))


@functools.cache
def load(path: Path = SETTINGS_FILE) -> dict[str, Any]:
    return yaml.safe_load(Path(path).read_text())


def digest(path: Path = SETTINGS_FILE) -> str:
    """SHA-256 of the settings file's bytes: part of every cache key."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
