"""Keep ``environment.yml`` (for conda users) in step with ``requirements.txt`` (the pip lock).

``requirements.txt`` is the single source of the pins; ``environment.yml`` lists the same pins
under ``pip:``. ``python -m tools.lockfile`` (``make lock``) rewrites environment.yml; a test fails if they differ.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from analysis import paths
from analysis.environment import PIN, normalise, read_requirements  # noqa: F401 - part of this API


def read_environment(path: Path | None = None) -> dict[str, str]:
    path = Path(path or paths.ROOT / "environment.yml")
    env = yaml.safe_load(path.read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    pins = {}
    for item in pip_lists[0] if pip_lists else []:
        match = PIN.match(item.strip())
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


def main() -> int:
    print(f"wrote {write_environment()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
