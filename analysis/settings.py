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


def digest(path: Path = SETTINGS_FILE, sections: tuple[str, ...] | None = None) -> str:
    """SHA-256 of the settings: of the whole file, or of the named top-level sections only."""
    if sections is None:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    chosen = {name: load(path).get(name) for name in sections}
    return hashlib.sha256(yaml.safe_dump(chosen, sort_keys=True).encode()).hexdigest()
