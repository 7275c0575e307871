"""Figures and facts for the Methods appendix (derived measures)."""

from __future__ import annotations

import pandas as pd

from . import figures, register
from .panel import Outputs


def smallest_councils(outputs: Outputs, n: int = 3) -> list[str]:
    """Codes of the ``n`` councils with the smallest mean population."""
    pop = outputs.panel[(outputs.panel["indicator"] == "population") & (outputs.panel["area_type"] == "council")]
    return pop.groupby("area_code")["value"].mean().nsmallest(n).index.tolist()


def volatility(series: pd.Series) -> float:
    """Mean absolute change between consecutive years (pairs with a gap are skipped)."""
    return float(series.sort_index().diff().abs().mean())


def pooling_figure(
    outputs: Outputs, indicator: str = "alcohol_specific_death_rate", key: str = "fig-pooling"
) -> dict[str, str]:
    """Annual against pooled rates for the smallest councils; glue the figure, return caption facts."""
    panel = outputs.panel
    codes = smallest_councils(outputs)
    annual = panel[(panel["indicator"] == indicator) & panel["area_code"].isin(codes)]
    pooled = panel[(panel["indicator"] == f"{indicator}_pooled") & panel["area_code"].isin(codes)]
    counts = panel[(panel["indicator"] == indicator.removesuffix("_rate") + "s") & panel["area_code"].isin(codes)
                   & (panel["year"] >= annual["year"].min())]
    window = pooled["period"].str.split("-").map(lambda p: int(p[1]) - int(p[0]) + 1).iloc[0]
    fig, axes = figures.new_figure(width=10, height=3.6, ncols=len(codes), sharey=True)
    ratios = []
    for ax, code, colour in zip(axes, codes, figures.OKABE_ITO, strict=False):
        years = range(int(annual["year"].min()), int(annual["year"].max()) + 1)
        # reindex on every year so that a gap in the source shows as a break in the line
        a = annual[annual["area_code"] == code].set_index("year")["value"].reindex(years)
        p = pooled[pooled["area_code"] == code].set_index("year")["value"].reindex(years)
        # plot a pooled window at its middle year
        ax.plot(a.index, a.values, color=colour, lw=1, alpha=0.6, label="annual")
        ax.plot(p.index + (window - 1) / 2, p.values, color="#000000", lw=2, label=f"pooled over {window} years")
        ax.set_title(register.name_of(code), fontsize=10)
        ax.set_xlabel("year")
        ratios.append(volatility(a) / volatility(p))
    axes[0].set_ylabel("deaths per 100,000 (crude)")
    axes[0].legend(loc="upper left", fontsize=8)
    median_count = counts["value"].median()
    low = min(ratios)
    names = ", ".join(register.name_of(c) for c in codes)
    alt = (
        f"Three small panels for {names}: annual alcohol-specific death rates jump from year to year, while "
        f"the {window}-year pooled rates move at least {low:.1f} times less between consecutive years."
    )
    figures.glue_figure(key, fig, alt)
    return {
        "councils": names,
        "median_count": f"{median_count:.0f}",
        "window": str(window),
        "min_ratio": f"{low:.1f}",
    }


def substitution_list(outputs: Outputs) -> str:
    """The substituted council-years in words, e.g. "Dundee City in 2003"."""
    subs = outputs.substitutions
    if subs.empty:
        return "none"
    return "; ".join(f"{register.name_of(c)} in {int(y)}" for c, y in zip(subs["area_code"], subs["year"], strict=True))


# --------------------------------------------------------------------------------------------
# attribution: the facts the Methods appendix states about the designs, computed


def attribution_values(led: pd.DataFrame) -> dict[str, str]:
    """Settings and ledger facts for the attribution section, formatted for glue."""
    from . import settings
    from .attribution import ledger, verdicts

    cfg = settings.load()["attribution"]
    out = {
        "alpha": f"{cfg['alpha']:.2f}", "power": f"{cfg['power']:.0%}",
        "duty-year": str(cfg["events"]["duty"]), "soa-year": str(cfg["events"]["soa"]),
        "min-sms": str(cfg["grading"]["min_sms_for_attribution"]),
        "n-claims": str(len(led)), "n-tests": str(int((led["outcome"] != "").sum())),
        "attribution-mbar": f"{cfg['sensitivity']['attribution_mbar']:g}",
        "margin-rule": "its own minimum detectable effect" if cfg["equivalence"]["margin"] == "mde"
        else f"{cfg['equivalence']['margin']}",
        "verdict-p": {"raw": "the raw p-value", "holm": "the Holm-adjusted p-value",
                      "bh": "the Benjamini–Hochberg-adjusted p-value"}[cfg["multiplicity"]["verdict_p"]],
        "confirmatory-family": " × ".join(cfg["multiplicity"]["confirmatory_family"]),
        "exploratory-family": " × ".join(cfg["multiplicity"]["exploratory_family"]),
        "phi-quantile": f"{cfg['its']['phi_quantile']:.0%}",
        "size-tolerance": f"{cfg['its']['size_tolerance']:g}",
        "its-draws": f"{cfg['its']['bootstrap_draws']:,}",
        "sd-grid": ", ".join(f"{m:g}" for m in cfg["sensitivity"]["sd_m"]),
        "rm-grid": ", ".join(f"{m:g}" for m in cfg["sensitivity"]["rm_mbar"]),
        "n-confirmatory": str(int((led["role"] == ledger.CONFIRMATORY).sum())),
    }
    for event, (first, last) in cfg["windows"].items():
        out[f"window-{event}"] = f"{first}–{last}"
    labels = verdicts.labels(cfg)
    for key in verdicts.KEYS:
        out[f"label-{key}"] = labels[key]
    return out


def taxonomy_table(led: pd.DataFrame) -> pd.DataFrame:
    """The verdict taxonomy with the number of ledger rows in each verdict, by role."""
    from . import settings
    from .attribution import ledger, verdicts

    labels = verdicts.labels(settings.load()["attribution"])
    meaning = {
        verdicts.ATTRIBUTABLE: "a change is detected by a design that can attribute it and survives the "
                               "parallel-trends sensitivity analysis where there is one",
        verdicts.DETECTED: "a change is detected, but the design cannot attribute it (no comparison group, or the "
                           "change does not survive the sensitivity analysis)",
        verdicts.ASSUMPTION: "a testable assumption of the design fails; it is named",
        verdicts.EQUIVALENT: "no change is detected and both one-sided equivalence tests reject: an effect larger "
                             "than the margin is excluded",
        verdicts.INCONCLUSIVE: "no change is detected and none of the margin's size is excluded",
        verdicts.UNTESTABLE: "no design applies to outcome data, or the design refused to give inference here",
    }
    rows = []
    for key in verdicts.KEYS:
        counts = {role: int(((led["verdict_key"] == key) & (led["role"] == role)).sum())
                  for role in (ledger.CONFIRMATORY, ledger.EXPLORATORY, ledger.REPORT)}
        rows.append({"verdict": labels[key], "meaning": meaning[key], "confirmatory tests": counts[ledger.CONFIRMATORY],
                     "exploratory tests": counts[ledger.EXPLORATORY], "report claims": counts[ledger.REPORT]})
    return pd.DataFrame(rows)


def its_calibration(series: pd.Series, event: int, window: tuple[int, int]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The calibrated ITS tests' simulated size on the design of ``series`` over ``window``."""
    from . import settings
    from .attribution import calibration

    cfg = settings.load()["attribution"]
    years = series.index[series.index <= window[1]].to_numpy()
    table = calibration.its_size_table(years, event, cfg)
    values = table.drop(columns="test").to_numpy()
    facts = {"n": str(len(years)), "n-pre": str(int((years < event).sum())),
             "min": f"{values.min():.3f}", "max": f"{values.max():.3f}",
             "phis": ", ".join(f"{p:g}" for p in calibration.ITS_PHIS[:-1]) + " and a random walk",
             "pre-years": " and ".join(str(n) for n in calibration.ITS_PRE_YEARS),
             "post-years": " and ".join(str(n) for n in calibration.ITS_POST_YEARS),
             "series": f"{calibration.ITS_SERIES:,}",
             "band": f"{calibration.SIZE_BAND[0]:g}–{calibration.SIZE_BAND[1]:g}"}
    names = {"level": "level change", "slope": "slope change", "gap": "average gap", "departure": "departure (joint)"}
    table["test"] = table["test"].map(names)
    return table.round(3), facts


def did_calibration(frame: pd.DataFrame, event: int, window: tuple[int, int]) -> dict[str, str]:
    """Each DiD route's simulated size on null panels with the real panel's region-by-year shocks."""
    from . import settings
    from .attribution import calibration, did

    cfg = settings.load()["attribution"]
    layout = did.Layout.of(did.restrict(frame, window, event))
    process = calibration.did_process(did.Layout.of(frame))
    n = calibration.DID_PANELS
    size = calibration.did_size(layout, process, n=n, seed=int(cfg["seed"]) + 1, event=event,
                                es_window=tuple(cfg["did"]["event_window"]), alpha=float(cfg["alpha"]))
    out = {k: f"{v:.3f}" for k, v in size.items()}
    out.update({"n": f"{n:,}", "phi-region": f"{process['phi_region']:.2f}",
                "sd-region": f"{process['sd_region']:.4f}", "phi-area": f"{process['phi_area']:.2f}",
                "sd-area": f"{process['sd_area']:.4f}"})
    return out


def leave_one_out_table(claims: dict[str, str]) -> pd.DataFrame:
    """Scotland's synthetic-control fits refitted without each heavy donor and without London."""
    from .attribution import ledger

    rows = []
    for outcome, claim_id in claims.items():
        for r in ledger.result_for(claim_id).details.get("leave_one_out") or []:
            rows.append({"outcome": outcome, "donors dropped": r["dropped"], "donors left": int(r["n_donors"]),
                         "estimate (log points)": round(float(r["estimate"]), 4),
                         "interval": f"{r['ci_low']:.3f} to {r['ci_high']:.3f}", "p": round(float(r["p_value"]), 3)})
    return pd.DataFrame(rows)
