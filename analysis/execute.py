"""Execute the book's pages before Sphinx reads them, in parallel, into Jupyter Book's cache.

Jupyter Book (myst-nb, ``execute_notebooks: cache``) runs each page that has no cached outputs
while Sphinx reads the pages, one after another, starting a Jupyter kernel for each, and a kernel
spends seconds starting Python and importing pandas, matplotlib and the ``analysis`` package
before it runs a line of the page. :func:`execute_pages` runs first (``python -m analysis
book-cache``, called by ``make book``) and fills the same cache, the one ``_config.yml`` names, with
every page whose code has no cached outputs yet. Sphinx then finds each page in the cache ("Using
cached notebook") and only renders it. A page missing from the cache (for example one added after
this step) is still executed by Jupyter Book itself, so the build never depends on this step for
its correctness.

Each page runs in its own process, forked from a process that has imported the common libraries
(:data:`PRELOAD`), one process per CPU at a time; inside it :mod:`analysis.inprocess` executes the
page's cells in a fresh IPython shell and keeps the outputs a kernel would keep (a test runs a
chapter both ways and compares them). As with kernels, nothing a page does reaches another page.

Pages are read with myst-nb's own reader, so the cache entries match what Sphinx reads: a page
matches an entry when its code cells and kernel are unchanged (jupyter-cache's hash); prose edits
do not force execution. A failing page stops the step with its traceback (:class:`PageError`).
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import paths

#: Imported once by the process the pages' processes are forked from, so no page pays for them.
PRELOAD = ("pandas", "matplotlib.pyplot", "IPython", "ipykernel.ipkernel", "myst_nb", "analysis.attribution.ledger",
           "analysis.attribution.did", "analysis.chapters", "analysis.evidence", "analysis.profiles", "analysis.maps")


#: The front matter that makes a MyST markdown page a notebook with a Python kernel; the generated
#: pages (:mod:`analysis.profiles`) and the tests' small books use it.
FRONT_MATTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---
"""


class PageError(RuntimeError):
    """A page failed to execute; the message names it and carries its traceback."""


@dataclass
class Report:
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0


def execution_config(root: Path = paths.ROOT) -> dict:
    """The ``execute`` section of ``_config.yml`` (cache folder, timeout per page, exclusions)."""
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    execute = config.get("execute", {})
    if execute.get("execute_notebooks") != "cache":
        raise ValueError(f"{root / '_config.yml'}: execute.execute_notebooks must be 'cache' for pre-execution")
    return {"cache": root / execute.get("cache", "_build/.jupyter_cache"),
            "timeout": float(execute.get("timeout", 30)),
            "exclude": list(execute.get("exclude_patterns", []))}


def read(path: str | Path):
    """A MyST markdown page as the notebook myst-nb makes of it."""
    from myst_nb.core.read import myst_nb_reader_plugin

    return myst_nb_reader_plugin(str(path))


def notebook_pages(root: Path = paths.ROOT) -> list[Path]:
    """The pages of the table of contents that are notebooks (MyST markdown with a kernel)."""
    from myst_nb.core.read import is_myst_markdown_notebook

    from .downloads import source_of, toc_docnames

    pages = [source_of(doc, root) for doc in toc_docnames(root)]
    return [p for p in pages if is_myst_markdown_notebook(p.read_text(encoding="utf-8"))]


def _relative(path: Path, root: Path) -> str:
    return path.resolve().relative_to(root.resolve()).as_posix()


def _run_page(path: str):
    from . import inprocess

    return inprocess.run_file(path, read)


def _run_forked(pages: list[Path], workers: int, timeout: float | None = None):
    """Yield ``(page, executed notebook)`` in order, each page run in a fresh process.

    A page whose result is not back ``timeout`` seconds after the previous one raises
    :class:`PageError` (Jupyter Book's ``execute.timeout``, applied here per page in turn).

    The processes are forked by multiprocessing's fork server, a single-threaded process that has
    imported :data:`PRELOAD`; forking this process instead, whose pool and cache threads may hold
    locks at that moment, can leave a child waiting for ever on a lock no thread will release.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    with context.Pool(processes=max(1, min(workers, len(pages))), maxtasksperchild=1) as pool:
        results = pool.imap(_run_page, [str(p) for p in pages], chunksize=1)
        for page in pages:
            try:
                yield page, results.next(timeout=timeout)
            except multiprocessing.TimeoutError:
                raise PageError(f"{page}: no result after {timeout:g} s (execute.timeout in _config.yml)") from None


def execute_pages(root: Path = paths.ROOT, *, workers: int | None = None) -> Report:
    """Execute every notebook page of the contents that has no cached outputs; return what ran."""
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    from .inprocess import CellError

    start = time.perf_counter()
    config = execution_config(root)
    cache = get_cache(config["cache"])
    report = Report()
    pending: list[Path] = []
    for page in notebook_pages(root):
        name = _relative(page, root)
        if any(fnmatch.fnmatch(name, pattern) for pattern in config["exclude"]):
            continue
        try:
            cache.match_cache_notebook(read(page))
            report.cached.append(name)
        except KeyError:
            pending.append(page)
    if pending:
        try:
            for page, nb in _run_forked(pending, workers or os.cpu_count() or 1, config["timeout"]):
                bundle = CacheBundleIn(nb, str(page), data={"execution_seconds": nb.metadata["execution"]["seconds"]})
                cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
                report.executed.append(_relative(page, root))
        except CellError as exc:
            raise PageError(str(exc)) from exc
    report.seconds = time.perf_counter() - start
    return report
