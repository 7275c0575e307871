"""The designs run on published studies, for the Methods appendix's Validation section.

Benchmarks live in ``data/benchmarks/`` (provenance and SHA-256 in its README); the published
results to compare against are in ``data/benchmarks/published.csv``, each with its source. The
tests (``tests/test_benchmark_*.py``) assert the comparisons with stated tolerances; the Methods
appendix shows the same numbers, computed by these functions when the book is built.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from .. import paths, settings
from . import synth

BENCHMARKS = paths.ROOT / "data" / "benchmarks"
BASQUE, SPAIN, BASQUE_EVENT = 17, 1, 1970


def published(study: str) -> dict[str, float]:
    """The published values of one study (``published.csv``), by quantity."""
    table = pd.read_csv(BENCHMARKS / "published.csv")
    rows = table[table["study"] == study]
    if rows.empty:
        raise KeyError(f"no published values for {study!r} in published.csv")
    return dict(zip(rows["quantity"], rows["value"].astype(float), strict=True))


def basque_data() -> tuple[pd.DataFrame, str, list[str]]:
    """(GDP per head, years × region names; the Basque Country's name; the 16 donor regions' names)."""
    frame = pd.read_csv(BENCHMARKS / "basque.csv")
    frame = frame[frame["regionno"] != SPAIN]
    names = frame.drop_duplicates("regionno").set_index("regionno")["regionname"]
    wide = frame.pivot(index="year", columns="regionname", values="gdpcap")
    wide.index = wide.index.astype(int)
    return wide, str(names[BASQUE]), [str(names[r]) for r in sorted(names.index) if r != BASQUE]


@functools.cache
def basque() -> dict[str, object]:
    """The book's synthetic control on the Basque Country (Abadie & Gardeazabal 2003)."""
    cfg = settings.load()["attribution"]
    wide, treated, donors = basque_data()
    placebos = synth.placebo_distribution(wide, donors, BASQUE_EVENT, cfg)

    def run(alpha: float, window=None):
        return synth.fit(wide, treated, donors, BASQUE_EVENT, outcome="gdpcap", cfg=cfg | {"alpha": alpha},
                         placebos=placebos, window=window)

    main, at_ten = run(float(cfg["alpha"])), run(2 * float(cfg["alpha"]))
    later = run(float(cfg["alpha"]), window=(1980, int(wide.index.max())))
    pub = published("Abadie & Gardeazabal (2003)")
    weights = pd.Series(0.0, index=donors)
    weights["Cataluna"], weights["Madrid (Comunidad De)"] = pub["weight Cataluna"], pub["weight Madrid"]
    published_gap = np.log(wide[treated]) - np.log(wide[donors]) @ weights
    statistics = np.array(list(main.details["placebos"]["statistic"].values()))
    return {
        "result": main, "at_ten": at_ten, "later": later, "published": pub,
        "weights": main.details["weights"], "n_donors": len(donors),
        "published_weights_gap": float(published_gap.loc[BASQUE_EVENT:].mean()),
        "published_weights_pre_rmspe": float(np.sqrt((published_gap.loc[:BASQUE_EVENT - 1] ** 2).mean())),
        "rank": int((statistics >= main.details["statistic_value"]).sum()) + 1,
    }
