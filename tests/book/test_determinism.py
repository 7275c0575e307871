"""Two clean runs give the same numbers.

Two independent runs, each with its own empty output and cache folders (``CPP_PROCESSED_DIR``,
``CPP_CACHE_DIR``), build the tidy data, then the evidence ledger, then execute chapters as notebooks
(converted with Jupytext, executed with nbclient as the book build does). The data files must be
byte-identical, the ledger identical, and every value a chapter glues into its prose or figures
identical.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import paths

pytestmark = pytest.mark.slow

#: Chapters whose glued values are compared: the headline numbers from the ledger, and the chapter
#: that glues the most values and figures (interrupted time series, event study, maps of benefits).
CHAPTERS = ["book/executive-summary.md", "book/ch05-achievements-benefits.md"]
GLUE_PREFIX = "application/papermill.record/"


def _env(run: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["CPP_PROCESSED_DIR"] = str(run / "processed")
    env["CPP_CACHE_DIR"] = str(run / "cache")
    env["PYTHONHASHSEED"] = "random"  # the numbers must not depend on hash order
    return env


def _run_each(args: list[str], runs: list[Path]) -> list[str]:
    """Run ``python -m analysis <args>`` once per run folder (one after the other: side by side, the
    two runs compete for the machine's two cores and take longer); return their stdouts."""
    outs = []
    for run in runs:
        proc = subprocess.run([sys.executable, "-m", "analysis", *args], env=_env(run), cwd=paths.ROOT,
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, f"python -m analysis {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
        outs.append(proc.stdout)
    return outs


def _digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[Path]:
    """Two clean runs of the data step and the ledger (each from empty folders)."""
    runs = [tmp_path_factory.mktemp(f"run{i}") for i in (1, 2)]
    _run_each(["data", "--force"], runs)
    ledgers = _run_each(["ledger", "--json", "--force"], runs)
    for run, text in zip(runs, ledgers, strict=True):
        (run / "ledger.json").write_text(text)
    return runs


def test_two_clean_runs_write_identical_data(runs):
    first, second = (_digests(run / "processed") for run in runs)
    assert "panel.csv" in first and "datapackage.json" in first
    assert first == second, {k: (first.get(k), second.get(k)) for k in first.keys() | second.keys()
                             if first.get(k) != second.get(k)}


def test_two_clean_runs_give_an_identical_ledger(runs):
    first, second = ((run / "ledger.json").read_text() for run in runs)
    assert '"rows"' in first
    assert first == second


def _glued(chapter: str, run: Path, monkeypatch) -> dict[str, dict]:
    """Execute one chapter as a notebook with ``run``'s folders; return its glued values by key."""
    import jupytext
    from nbclient import NotebookClient

    for key, value in _env(run).items():
        if key.startswith("CPP_"):
            monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    nb = jupytext.read(paths.ROOT / chapter)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(paths.ROOT / "book")}}).execute()
    glued = {}
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                assert name not in glued, f"{chapter}: {name!r} glued twice"
                glued[name] = {k[len(GLUE_PREFIX):]: v for k, v in output["data"].items()}
    return glued


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_two_clean_runs_glue_identical_values(chapter, runs, monkeypatch):
    first, second = (_glued(chapter, run, monkeypatch) for run in runs)
    assert first, f"{chapter} glues nothing"
    differ = sorted(k for k in first.keys() | second.keys() if first.get(k) != second.get(k))
    assert not differ, f"{chapter}: glued values differ between two clean runs: {differ}"
