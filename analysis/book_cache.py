"""Keep Jupyter Book's execution cache honest.

Jupyter Book re-executes a page only when the page's own code changes; it cannot see that the data
or the analysis code underneath changed. Before each build, :func:`sync` compares a key over every
input a page can depend on (raw checksums, reference files, all the analysis code, all settings,
library versions) with the key recorded beside the execution cache, and clears the execution cache
and Sphinx's parsed pages when they differ, so no page shows results from older inputs. The pages
are then executed into the emptied cache by :mod:`analysis.execute`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from . import cache, paths, provenance

BUILD = paths.ROOT / "_build"
#: Jupyter's execution cache and Sphinx's parsed pages: both must go when the inputs change, or
#: Sphinx would keep serving pages parsed from the old outputs.
CACHES = (BUILD / ".jupyter_cache", BUILD / ".doctrees")
STAMP = BUILD / ".inputs-key"


def current_key() -> str:
    """Key of everything a page can depend on: raw files, reference files, all code, all settings."""
    return cache.key(provenance.verify_raw(), step="book")


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
