"""The partnership profiles: their facts (:mod:`.facts`) and their generated pages (:mod:`.render`)."""

from __future__ import annotations

from pathlib import Path


def write_profiles(out_dir: str | Path | None = None, *, workers: int | None = None) -> list[Path]:
    """:func:`.render.write_profiles`, after a check that imports no plotting code: when the pages
    are current (:func:`.facts.current_pages`) they are returned as they are."""
    from analysis.pages.profiles import facts

    current = facts.current_pages(Path(out_dir) if out_dir is not None else facts.OUT_DIR)
    if current is not None:
        return current
    from analysis.pages.profiles import render

    return render.write_profiles(out_dir, workers=workers)


__all__ = ["write_profiles"]
