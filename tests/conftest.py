"""Shared fixtures, markers and the test run's own cache.

* **A temporary cache.** Every test run (and every command a test runs) uses its own cache folder,
  set through ``CPP_CACHE_DIR`` before the package is imported; it starts as a copy of the
  project's ``data/cache`` (so results already computed are not computed again) and is thrown away
  afterwards, so no test writes into the project's cache.
* **Built-book tests** are marked ``book`` (a module's ``pytestmark``). They read ``_build/html`` and
  **fail** when the book has not been built: ``make test`` builds it first; ``make test-fast``
  leaves them out by their marker.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

_ROOT = Path(__file__).resolve().parents[1]
_CACHE = Path(tempfile.mkdtemp(prefix="cpp-test-cache-"))
if (_ROOT / "data" / "cache").is_dir():
    for cached in (_ROOT / "data" / "cache").glob("*.pkl"):
        shutil.copy2(cached, _CACHE / cached.name)
os.environ["CPP_CACHE_DIR"] = str(_CACHE)
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

from analysis import paths  # noqa: E402 - after the cache folder is set

BUILT_BOOK = paths.ROOT / "_build" / "html" / "index.html"


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("book") and not BUILT_BOOK.exists():
        pytest.fail(f"{BUILT_BOOK.relative_to(paths.ROOT)} is missing: build the book first (`make book`; "
                    "`make test` does it), or leave out the built-book tests with `make test-fast`")


@pytest.fixture
def raw_copy(tmp_path: Path) -> Path:
    """A writable copy of data/raw, for tampering."""
    dest = tmp_path / "raw"
    shutil.copytree(paths.RAW, dest)
    for path in dest.rglob("*"):
        path.chmod(0o644 if path.is_file() else 0o755)
    return dest


@pytest.fixture(scope="session")
def outputs():
    """The pipeline's outputs (built once per session, or read from the cache)."""
    from analysis.data import panel

    return panel.build()
