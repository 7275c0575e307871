"""Keep ``environment.yml`` (for conda users) in step with ``requirements.txt`` (the pip lock).

``requirements.txt`` is the single source of the pins; ``environment.yml`` lists the same pins
under ``pip:``. ``python -m analysis lock`` rewrites environment.yml; a test fails if they differ.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from . import paths

_PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;#]+)$")


def read_requirements(path: Path | None = None) -> dict[str, str]:
    """``{normalised name: version}`` from a requirements file; every line must be an exact pin."""
    path = Path(path or paths.ROOT / "requirements.txt")
    pins: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            raise ValueError(f"{path.name}, row {lineno}: {line!r} is not an exact pin (name==version)")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_environment(path: Path | None = None) -> dict[str, str]:
    path = Path(path or paths.ROOT / "environment.yml")
    env = yaml.safe_load(path.read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    pins = {}
    for item in pip_lists[0] if pip_lists else []:
        match = _PIN.match(item.strip())
        if not match:
            raise ValueError(f"{path.name}: {item!r} is not an exact pin")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def render_environment(pins: dict[str, str], python: str = "3.11") -> str:
    lines = [
        "# Conda environment with the same exact pins as requirements.txt (generated: make lock).",
        "name: cpp-book",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={python}",
        "  - pip",
        "  - pip:",
    ]
    lines += [f"      - {name}=={version}" for name, version in sorted(pins.items())]
    return "\n".join(lines) + "\n"


def write_environment() -> Path:
    path = paths.ROOT / "environment.yml"
    path.write_text(render_environment(read_requirements()))
    return path
