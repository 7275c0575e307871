"""The book's execution step: keep Jupyter Book's execution cache honest, then fill it in parallel.

Two jobs, run by ``make book`` before Sphinx (``python -m tools.book_cache``):

1. **Honest cache** (:func:`sync`). Jupyter Book re-executes a page only when the page's own code
   changes; it cannot see that the data or the analysis code underneath changed. A key over every
   input a page can depend on — raw checksums, reference files, the code of the core, the data
   layer, the designs and the page modules, the settings, library versions — is recorded beside
   the execution cache; when it differs, the execution cache and Sphinx's parsed pages are cleared,
   so no page shows results from older inputs. The command line and the build tools in this folder
   are not in the key: editing the benchmark, the downloads or the PDF step re-executes nothing.
2. **Parallel execution in warm kernels** (:func:`execute`). The pages that are notebooks (MyST pages
   with a kernel in their front matter; the generated partnership profiles are plain MyST and are not)
   are added to Jupyter Book's own cache as a jupyter-cache project, read with myst-nb's reader plugin
   (``myst_nb_md``), and the ones without cached outputs are run by nbclient, as jupyter-cache's
   executors run them, in one kernel per core. Each kernel runs page after page (:class:`_Lane`):
   before each page it empties its namespace and starts a new session, so the cell counter is back at
   1, and it moves to the page's own folder, as myst-nb would; only the imported modules carry over,
   which saves a kernel start and about two seconds of imports per page. The executed pages are
   identical, output for output, to those run in a new kernel each (a test checks). Sphinx then finds
   every page in the cache ("Using cached notebook") and only renders it; a page missing from it is
   still executed by myst-nb itself, so the build never depends on this step for its correctness,
   only for its speed. A failing page stops the step with its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
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


#: Pages that take longest, started first so that no lane is left with a long page at the end (the order
#: only affects how long the step takes; a page not named here runs after these, in contents order).
SLOW_FIRST = ("book/appendix-methods.md", "book/attribution.md", "book/ch05-achievements-benefits.md",
              "book/ch01-background-methodology.md", "book/ch06-aspirations.md", "book/appendix-data.md")

#: Run in a lane's kernel before each page: an empty namespace and a cell counter at 1 (as in a new
#: kernel), no open figures, and the page's own folder as the working directory. Modules stay imported:
#: that is the lane's point.
FRESH_NAMESPACE = """\
get_ipython().reset(new_session=True)
import os as _os, sys as _sys
_os.chdir({folder!r})
if "matplotlib.pyplot" in _sys.modules:
    _sys.modules["matplotlib.pyplot"].close("all")
del _os, _sys
"""


def _kernel_name(nb) -> str:
    return nb.metadata.get("kernelspec", {}).get("name", "python3")


class _Lane:
    """One kernel that runs page after page: nbclient's own executor, given a kernel it does not own."""

    def __init__(self, timeout: int):
        self.timeout = timeout
        self.km = self.kc = None
        self.sockets: str | None = None
        self.name: str | None = None

    async def start(self, name: str, folder: str) -> None:
        from jupyter_client.manager import AsyncKernelManager

        await self.stop()
        # IPC: Unix sockets in a folder of the lane's own, named by absolute path (the kernel runs in the
        # page's folder, so a relative name would not meet the client's); local only, so the kernel has no
        # reason to warn, as it does over TCP, that its ports are unencrypted
        self.sockets = tempfile.mkdtemp(prefix="cpp-kernel-")
        self.km = AsyncKernelManager(kernel_name=name, transport="ipc", ip=os.path.join(self.sockets, "kernel"))
        await self.km.start_kernel(cwd=folder)
        self.kc = self.km.client()
        self.kc.start_channels()
        await self.kc.wait_for_ready(timeout=60)
        self.name = name

    async def run(self, nb, folder: str) -> float:
        """Execute ``nb`` in place in a fresh namespace with ``folder`` as working directory; its seconds."""
        from nbclient import NotebookClient

        if self.km is None or _kernel_name(nb) != self.name:
            await self.start(_kernel_name(nb), folder)
        reply = await self.kc.execute_interactive(FRESH_NAMESPACE.format(folder=folder), silent=True,
                                                  store_history=False, timeout=60)
        if reply["content"]["status"] != "ok":
            raise RuntimeError(f"the kernel could not reset its namespace: {reply['content']}")
        # record_timing off, as jupyter-cache runs it: timings in the cells' metadata would change the
        # notebook's hash, and Sphinx would not find the page in the cache
        client = NotebookClient(nb, km=self.km, timeout=self.timeout, allow_errors=False, record_timing=False,
                                resources={"metadata": {"path": folder}})
        client.kc = self.kc
        start = time.perf_counter()
        await client.async_execute()
        return time.perf_counter() - start

    async def stop(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None:
            await self.km.shutdown_kernel(now=True)
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
        self.km = self.kc = self.sockets = None


def _order(records: list, root: Path = paths.ROOT) -> list:
    rank = {str((root / page).resolve()): i for i, page in enumerate(SLOW_FIRST)}
    return sorted(records, key=lambda r: rank.get(r.uri, len(rank)))


async def _run_lanes(store, records: list, timeout: int, workers: int) -> list[str]:
    """Run ``records`` in ``workers`` kernels, each page in turn taken by the next free kernel, caching each
    executed page; stop at the first failure (:class:`PageError`). Returns the URIs executed."""
    from jupyter_cache.base import CacheBundleIn
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    queue = list(records)
    done: list[str] = []
    failures: list[PageError] = []

    async def lane() -> None:
        kernel = _Lane(timeout)
        try:
            while queue and not failures:
                record = queue.pop(0)
                nb = store.get_project_notebook(record.pk).nb
                try:
                    seconds = await kernel.run(nb, str(Path(record.uri).parent))
                except (CellExecutionError, CellTimeoutError) as exc:
                    failures.append(PageError(f"{_relative(record.uri)} failed to execute:\n{exc}"))
                    return
                store.cache_notebook_bundle(CacheBundleIn(nb, record.uri, data={"execution_seconds": seconds}),
                                            check_validity=False, overwrite=True)
                done.append(record.uri)
        finally:
            await kernel.stop()

    await asyncio.gather(*(lane() for _ in range(max(1, min(workers, len(records))))))
    if failures:
        raise failures[0]
    return done


def _relative(uri: str) -> str:
    return os.path.relpath(uri, paths.ROOT)


def execute(pages: list[Path], cache_path: Path = EXECUTION_CACHE, *, timeout: int | None = None,
            workers: int | None = None) -> Report:
    """Run every page of ``pages`` that has no cached outputs into ``cache_path``: ``workers`` kernels
    (default one per core), each running page after page in a fresh namespace (:class:`_Lane`)."""
    from jupyter_cache import get_cache

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
        executed = asyncio.run(_run_lanes(store, _order(todo), timeout or _timeout(), workers or os.cpu_count() or 1))
        report.executed = sorted(executed)
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
        print(f"executed: {_relative(uri)}")
    print(f"book pages executed: {len(report.executed)}, already cached: {len(report.cached)}, "
          f"in {report.seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
