"""One parser per raw file.

Each parser takes the path of its raw file and returns a long frame with the columns listed in
:data:`analysis.data.sources._common.PARSED_COLUMNS`. Parsers only read; they never resolve area
names (that is :mod:`analysis.data.register`'s job) and never compute derived measures.

:data:`PARSERS` maps each raw file (path relative to ``data/raw``) to its parser, so the pipeline
can check that every vendored data file has exactly one parser.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

Parser = Callable[[Path], pd.DataFrame]

#: raw file (relative to data/raw) -> parser. Filled in by the parser modules below.
PARSERS: dict[str, Parser] = {}


def register_parser(relpath: str) -> Callable[[Parser], Parser]:
    """Decorator recording ``func`` as the parser of ``relpath`` (relative to ``data/raw``)."""

    def wrap(func: Parser) -> Parser:
        if relpath in PARSERS:
            raise RuntimeError(f"two parsers registered for {relpath}")
        PARSERS[relpath] = func
        return func

    return wrap

from analysis.data.sources import cpop, lgbf, nrs, ons_els, ons_gb, scotpho, sgred  # noqa: E402,F401 - importing registers the parsers
