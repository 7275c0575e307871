"""Cache keys: results are reused only when every input they depend on is unchanged.

A key hashes the raw files' checksums, the hand-curated reference files, the analysis code, the
settings file and the versions of the numerical libraries. Any change to any of them gives a new
key, so a stale result is never read.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from . import __version__, paths, settings


def _hash_files(files: list[Path], root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(files):
        out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def code_digest(parts: tuple[str, ...] | None = None) -> str:
    """SHA-256 over the package version and the Python files of the ``analysis`` package.

    ``parts`` limits it to files whose path inside the package starts with one of them (e.g.
    ``("sources/", "panel.py")``), so a result is keyed only on the code that computes it.
    """
    package = Path(__file__).resolve().parent
    files = [
        p for p in package.rglob("*.py")
        if "__pycache__" not in p.parts
        and (parts is None or p.relative_to(package).as_posix().startswith(parts))
    ]
    payload = {"version": __version__, "files": _hash_files(files, package)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def reference_digest() -> str:
    """SHA-256 over the hand-curated reference files in ``data/reference``."""
    files = [p for p in paths.REFERENCE.rglob("*") if p.is_file()]
    return hashlib.sha256(json.dumps(_hash_files(files, paths.REFERENCE), sort_keys=True).encode()).hexdigest()


def key(
    raw_checksums: dict[str, str],
    *,
    code: tuple[str, ...] | None = None,
    settings_sections: tuple[str, ...] | None = None,
    **extra: object,
) -> str:
    """The cache key for a result computed from the raw files, the code and the settings.

    ``code`` and ``settings_sections`` narrow the key to the code files and settings sections the
    result depends on (all of them by default).
    """
    payload = {
        "raw": dict(sorted(raw_checksums.items())),
        "reference": reference_digest(),
        "code": code_digest(code),
        "settings": settings.digest(sections=settings_sections),
        "libraries": {"numpy": np.__version__, "pandas": pd.__version__},
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
