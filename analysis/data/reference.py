"""The hand-curated reference tables in ``data/reference`` (each row with its source)."""

from __future__ import annotations

import pandas as pd

from analysis.paths import REFERENCE


def reference_table(name: str) -> pd.DataFrame:
    """A hand-curated table from ``data/reference`` with every cell as a string."""
    return pd.read_csv(REFERENCE / name, dtype=str, keep_default_na=False)
