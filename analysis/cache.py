"""Cache keys: results are reused only when every input they depend on is unchanged.

A key hashes the raw files' checksums, the hand-curated reference files, the analysis code, the
settings file and the versions of the numerical libraries. Any change to any of them gives a new
key, so a stale result is never read. :func:`cached` keeps a result in ``data/cache`` under its key.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis import __version__, paths, settings

T = TypeVar("T")


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


def cached(prefix: str, key: str, compute: Callable[[], T], *, force: bool = False) -> T:
    """``compute()``, kept in ``data/cache/<prefix>-<key[:24]>.pkl``.

    The file is read while ``key`` is unchanged (``force`` computes anew regardless). Under a new
    key the result is computed again and the prefix's files for other keys are removed. The file is
    written to a temporary name and then renamed, so a process reading it meanwhile (pages execute
    in parallel) sees either no file or a whole one.
    """
    target = paths.CACHE / f"{prefix}-{key[:24]}.pkl"
    if target.exists() and not force:
        with open(target, "rb") as handle:
            return pickle.load(handle)
    value = compute()
    paths.CACHE.mkdir(parents=True, exist_ok=True)
    own = re.compile(rf"{re.escape(prefix)}-[0-9a-f]{{24}}\.pkl")
    for old in paths.CACHE.glob(f"{prefix}-*.pkl"):
        if own.fullmatch(old.name) and old != target:
            old.unlink(missing_ok=True)
    with tempfile.NamedTemporaryFile("wb", dir=paths.CACHE, prefix=f".{prefix}-", suffix=".tmp",
                                     delete=False) as handle:
        pickle.dump(value, handle)
    os.replace(handle.name, target)
    return value
