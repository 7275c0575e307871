"""The pinned environment: ``requirements.txt``, the single source of the exact pins."""

from __future__ import annotations

import re
from pathlib import Path

from analysis import paths

PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)$")


def read_requirements(path: Path | None = None) -> dict[str, str]:
    """``{normalised name: version}`` from a requirements file; every line must be an exact pin."""
    path = Path(path or paths.ROOT / "requirements.txt")
    pins: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if not match:
            raise ValueError(f"{path.name}, row {lineno}: {line!r} is not an exact pin (name==version)")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
