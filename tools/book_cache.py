"""The book's execution step: keep Jupyter Book's execution cache honest, then fill it in parallel.

Two jobs, run by ``make book`` before Sphinx (``python -m tools.book_cache``):

1. **Honest cache** (:func:`sync`). Jupyter Book re-executes a page only when the page's own code
   changes; it cannot see that the data or the analysis code underneath changed. A key over every
   input a page can depend on — raw checksums, reference files, the code of the core, the data
   layer, the designs and the page modules, the settings, library versions — is recorded beside
   the execution cache; when it differs, the execution cache and Sphinx's parsed pages are cleared,
   so no page shows results from older inputs. The command line and the build tools in this folder
   are not in the key: editing the benchmark, the downloads or the PDF step re-executes nothing.
2. **Stock parallel execution** (:func:`execute`). The pages that are notebooks (MyST pages with a
   kernel in their front matter; the generated partnership profiles are plain MyST and are not)
   are added to Jupyter Book's own cache as a jupyter-cache project, read with myst-nb's reader
   plugin (``myst_nb_md``), and the ones without cached outputs are run by jupyter-cache's
   ``local-parallel`` executor, one kernel per core, in the page's own folder as myst-nb would.
   Sphinx then finds every page in the cache ("Using cached notebook") and only renders it; a page
   missing from it is still executed by myst-nb itself, so the build never depends on this step for
   its correctness, only for its speed. A failing page stops the step with its traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis import cache, paths
from analysis.data import panel, provenance
from tools.toc import source_of, toc_docnames

BUILD = paths.ROOT / "_build"
#: Jupyter's execution cache (the folder ``_config.yml`` names) and Sphinx's parsed pages: both must
#: go when the inputs change, or Sphinx would keep serving pages parsed from the old outputs.
EXECUTION_CACHE = BUILD / ".jupyter_cache"
CACHES = (EXECUTION_CACHE, BUILD / ".doctrees")
STAMP = BUILD / ".inputs-key"
#: jupyter-cache's reader for MyST notebooks, registered by myst-nb: the same reader myst-nb uses.
READ_DATA = {"name": "myst_nb_md", "type": "plugin"}


class PageError(RuntimeError):
    """A page failed to execute; the message names it and carries its traceback."""


#: The code a page can depend on: the core, the data layer, the designs and the page modules. The
#: command line (``analysis/__main__.py``) and the build tools in ``tools/`` are not in it.
PAGE_CODE = (*panel.PIPELINE_CODE, "environment.py", "attribution/", "pages/")


def current_key() -> str:
    """Key of everything a page can depend on: raw files, reference files, the page code (:data:`PAGE_CODE`)
    and the settings."""
    return cache.key(provenance.verify_raw(), code=PAGE_CODE, step="book")


def sync(caches: tuple[Path, ...] = CACHES, stamp: Path = STAMP) -> bool:
    """Clear ``caches`` if the inputs changed since they were filled; return whether any was cleared."""
    key = current_key()
    previous = stamp.read_text().strip() if stamp.exists() else None
    cleared = False
    if previous != key:
        for cache_dir in caches:
            if cache_dir.exists():
                shutil.rmtree(cache_dir)
                cleared = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(key + "\n")
    return cleared


def is_notebook(source: Path) -> bool:
    """A MyST page with a kernel in its front matter (the pages myst-nb executes)."""
    text = source.read_text(encoding="utf-8")
    if not text.startswith("---\n"):
        return False
    front = yaml.safe_load(text.split("---\n", 2)[1]) or {}
    return "kernelspec" in front


#: The generated partnership pages (``python -m analysis profiles``): plain MyST, never notebooks, and
#: possibly still being written while this step runs (``make book`` runs the two side by side).
GENERATED = "book/profiles/"


def notebook_pages(root: Path = paths.ROOT) -> list[Path]:
    """The book's notebook pages, in the order of the contents (the generated profiles are not read)."""
    docnames = [d for d in toc_docnames(root) if not d.startswith(GENERATED)]
    return [source for source in (source_of(d, root) for d in docnames) if is_notebook(source)]


def _timeout(root: Path = paths.ROOT) -> int:
    config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
    return int(config["execute"]["timeout"])


@dataclass
class Report:
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    seconds: float = 0.0


def execute(pages: list[Path], cache_path: Path = EXECUTION_CACHE, *, timeout: int | None = None) -> Report:
    """Run every page of ``pages`` that has no cached outputs, in parallel, into ``cache_path``."""
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    start = time.perf_counter()
    store = get_cache(str(cache_path))
    uris = [str(page.resolve()) for page in pages]
    known = {record.uri for record in store.list_project_records()}
    for uri in uris:
        if uri not in known:
            store.add_nb_to_project(uri, read_data=READ_DATA)
    todo = store.list_unexecuted(filter_uris=uris)
    report = Report(cached=sorted(set(uris) - {r.uri for r in todo}))
    if todo:
        executor = load_executor("local-parallel", cache=store)
        result = executor.run_and_cache(filter_pks=[r.pk for r in todo], timeout=timeout or _timeout(),
                                        allow_errors=False)
        failed = [*result.excepted, *result.errored]
        if failed:
            record = store.get_project_record(failed[0])
            raise PageError(f"{Path(failed[0]).relative_to(paths.ROOT)} failed to execute:\n{record.traceback or ''}")
        report.executed = sorted(result.succeeded)
    report.seconds = time.perf_counter() - start
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.book_cache", description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    cleared = sync()
    print("book execution cache cleared: its inputs changed" if cleared else "book execution cache is current")
    try:
        report = execute(notebook_pages())
    except PageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for uri in report.executed:
        print(f"executed: {os.path.relpath(uri, paths.ROOT)}")
    print(f"book pages executed: {len(report.executed)}, already cached: {len(report.cached)}, "
          f"in {report.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
