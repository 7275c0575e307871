"""The designs run on published studies, for the Methods appendix's Validation section.

Benchmarks live in ``data/benchmarks/`` (provenance and SHA-256 in its README); the published
results to compare against are in ``data/benchmarks/published.csv``, each with its source. The
tests (``tests/attribution/test_benchmark_*.py``) assert the comparisons with stated tolerances; the Methods
appendix shows the same numbers, computed by these functions when the book is built.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from analysis import paths, settings
from analysis.attribution import synth

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


# --------------------------------------------------------------------------------------------
# difference-in-differences: Kessler & Roth (2014), California's switch to active choice

ORGAN_TREATED = "California"
#: Q3 2011, the quarters numbered from Q4 2010 = 1 (causaldata's ``Quarter_Num``).
ORGAN_EVENT = 4


def quarter_number(label: str) -> int:
    """``'Q32011'`` → 4: quarters counted from Q4 2010 = 1."""
    import re

    match = re.fullmatch(r"Q([1-4])(\d{4})", label)
    if match is None:
        raise ValueError(f"not a quarter label: {label!r}")
    quarter, year = int(match.group(1)), int(match.group(2))
    return 4 * (year - 2010) + quarter - 3


def organ_frame() -> pd.DataFrame:
    """The design frame (``did.COLUMNS``): each state its own region, California treated; the
    quarter number stands in the ``year`` column."""
    from analysis.attribution import did

    raw = pd.read_csv(BENCHMARKS / "organ_donation.csv")
    out = pd.DataFrame({"area_code": raw["State"], "country": "United States", "region": raw["State"],
                        "year": raw["Quarter"].map(quarter_number).astype(int), "y": raw["Rate"].astype(float),
                        "treated": (raw["State"] == ORGAN_TREATED).astype(int)})
    return out[did.COLUMNS].sort_values(["area_code", "year"], ignore_index=True)


def organ_cfg() -> dict:
    """The book's settings with the event window set to the whole six-quarter panel, in levels."""
    import copy

    cfg = copy.deepcopy(settings.load()["attribution"])
    cfg["did"]["event_window"] = [-3, 2]
    cfg["did"]["log_outcome"] = False
    return cfg


@functools.cache
def organ_donations() -> dict[str, object]:
    """The book's difference-in-differences on Kessler & Roth's (2014) California natural experiment."""
    from analysis.attribution import did

    df, cfg = organ_frame(), organ_cfg()
    res = did.fit_did(df, ORGAN_EVENT, outcome="organ_donor_registration_rate", area=ORGAN_TREATED, cfg=cfg)
    es = did.fit_event_study(df, ORGAN_EVENT, outcome="organ_donor_registration_rate", area=ORGAN_TREATED, cfg=cfg)
    regressors = pd.DataFrame({"x": df["treated"] * (df["year"] >= ORGAN_EVENT)}, index=df.index)
    clustered = did.twfe(df, regressors)
    se = float(np.sqrt(clustered.cov.iloc[0, 0]))
    route = {i.role: i for i in res.inferences}
    permutation = next(i for i in res.inferences if i.min_p is not None)
    placebos = res.details["placebo_regions"]
    widest = max(placebos, key=lambda r: abs(placebos[r]["estimate"]))
    without = df[df["region"] != widest]
    res_without = did.fit_did(without, ORGAN_EVENT, outcome="organ_donor_registration_rate", area=ORGAN_TREATED,
                              cfg=cfg)
    leads = [c for c in es.details["coefficients"] if c["rel_year"] < -1]
    return {"result": res, "event_study": es, "published": published("Kessler & Roth (2014)"),
            "clustered_estimate": float(clustered.params.iloc[0]), "clustered_se": se,
            "spread_ratio": res.details["se"] / se, "verdict_route": route["verdict"], "permutation": permutation,
            "n_placebos": len(placebos), "widest": widest, "widest_estimate": placebos[widest]["estimate"],
            "larger": int(sum(abs(p["rescaled"]) >= abs(res.estimate) for p in placebos.values())),
            "without_widest": res_without, "leads": [c["coef"] for c in leads],
            "pretrend_p": (es.details["pretrend"] or {}).get("p")}
