"""What each kind of bad input does: small, real demonstrations run when the book is built.

Each scenario copies one raw file into a temporary folder, breaks it the way real files break,
and runs the pipeline step that must catch it. The Reproducibility appendix shows the error each
raises; the tests check that every scenario raises its named error and that the message names the
file, the row and the column.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths
from analysis.data import panel, provenance, register
from analysis.data.sources.sgred import parse_population
from analysis.errors import DataError
from analysis.pages.common import PageResult

SAMPLE = "scotland/sgred_la_t20.csv"


@dataclass(frozen=True)
class Scenario:
    name: str
    expected: str  # the error class that must be raised
    run: Callable[[Path], None]  # given a temporary folder holding a copy of SAMPLE


def _sample(folder: Path) -> Path:
    return folder / SAMPLE


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    if old not in text:
        raise RuntimeError(f"scenario set-up: {old!r} not found in {path.name}")
    path.write_text(text.replace(old, new, count))


def _checksums(folder: Path) -> None:
    digest = hashlib.sha256(_sample(folder).read_bytes()).hexdigest()
    (folder / "SHA256SUMS").write_text(f"{digest}  ./{SAMPLE}\n")


def _tampered(folder: Path) -> None:
    _checksums(folder)
    _edit(_sample(folder), "214120", "214121")
    provenance.verify_raw(folder)


def _missing(folder: Path) -> None:
    _checksums(folder)
    _sample(folder).unlink()
    provenance.verify_raw(folder)


def _parse_and_resolve(folder: Path) -> pd.DataFrame:
    parsed = parse_population(_sample(folder))
    return panel._resolve(parsed)


def _unknown_name(folder: Path) -> None:
    _edit(_sample(folder), "\nFife,", "\nFyfe,")
    _parse_and_resolve(folder)


def _duplicate(folder: Path) -> None:
    path = _sample(folder)
    lines = path.read_text().splitlines(keepends=True)
    fife = next(line for line in lines if line.startswith("Fife,"))
    path.write_text("".join(lines) + fife)
    panel.check_unique(_parse_and_resolve(folder))


def _non_numeric(folder: Path) -> None:
    _edit(_sample(folder), "214120", "21412O")  # letter O for zero, a classic keying error
    _parse_and_resolve(folder)


def _year_out_of_range(folder: Path) -> None:
    _edit(_sample(folder), "Area,1991,", "Area,1891,")
    _parse_and_resolve(folder)


SCENARIOS = [
    Scenario("A raw file altered after its checksum was recorded", "ChecksumError", _tampered),
    Scenario("A raw file listed in SHA256SUMS is missing", "MissingRawFileError", _missing),
    Scenario("An area name the register does not know ('Fyfe')", "UnknownAreaError", _unknown_name),
    Scenario("The same council and year twice", "DuplicateRowError", _duplicate),
    Scenario("A non-numeric value ('21412O')", "NonNumericValueError", _non_numeric),
    Scenario("A year outside the documented range (1891)", "YearOutOfRangeError", _year_out_of_range),
]


def run(scenario: Scenario) -> DataError | None:
    """Run one scenario in a fresh temporary folder; return the error it raised (None if none)."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _sample(folder).parent.mkdir(parents=True)
        shutil.copy(paths.RAW / SAMPLE, _sample(folder))
        try:
            scenario.run(folder)
        except DataError as exc:
            return exc
    return None


def demonstrations() -> pd.DataFrame:
    """One row per scenario: the bad input, the error raised and its message."""
    register.load_register()
    rows = []
    for scenario in SCENARIOS:
        error = run(scenario)
        rows.append(
            {
                "bad input": scenario.name,
                "error raised": type(error).__name__ if error else "none (a defect: the input was accepted)",
                "message": str(error) if error else "",
            }
        )
    return pd.DataFrame(rows)


def notebook_pages() -> list[Path]:
    """The book's pages that hold code (MyST pages with a kernel in their front matter)."""
    import yaml

    out = []
    for source in sorted((paths.ROOT / "book").glob("*.md")):
        text = source.read_text(encoding="utf-8")
        if text.startswith("---\n") and "kernelspec" in (yaml.safe_load(text.split("---\n", 2)[1]) or {}):
            out.append(source)
    return out


def build() -> PageResult:
    """Everything the Reproducibility appendix glues and shows."""
    import platform

    import analysis
    from analysis import cache, environment

    panel.build()   # the panel's key below is that of the built panel
    pins = environment.read_requirements()
    page = PageResult()
    page.text.update({
        "version": analysis.__version__, "python": platform.python_version(), "n-pins": str(len(pins)),
        "jb-version": pins["jupyter-book"], "n-raw": str(len(provenance.read_checksums())),
        "panel-key": panel.cached_key()[:16], "pipeline-digest": cache.code_digest(panel.PIPELINE_CODE)[:16],
        "n-pages": str(len(notebook_pages())),
        "n-profiles": str(len(register.council_codes())),
    })
    page.tables["demos"] = demonstrations()
    return page
