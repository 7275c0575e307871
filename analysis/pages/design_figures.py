"""Figures of the attribution designs, in the house style, each with alt text stating its finding.

Each function takes a :class:`~analysis.attribution.base.DesignResult` (from the cached ledger
results), glues one figure under ``key`` and returns short strings for the caption.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import settings
from analysis.attribution.base import DesignResult
from analysis.pages import figures
from analysis.pages.common import alpha_level


def _p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def its_figure(res: DesignResult, series: pd.Series, *, title: str, unit: str, key: str) -> dict[str, str]:
    """The series, the fitted segments and the extrapolated pre-event trend."""
    d = res.details
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    ax.plot(series.index, series.values, "o", color=figures.OKABE_ITO[0], ms=4, label="observed")
    for name, colour, style, label in [
        ("fitted_pre", figures.OKABE_ITO[1], "-", "fitted before the event"),
        ("fitted_post", figures.OKABE_ITO[1], "-", "fitted after the event"),
        ("counterfactual", figures.OKABE_ITO[7], "--", "pre-event trend continued"),
    ]:
        pts = pd.Series(d[name]).sort_index()
        ax.plot(pts.index.astype(int), pts.values, style, color=colour, lw=2,
                label=label if name != "fitted_post" else None)
    ax.axvline(res.event - 0.5, color=figures.OKABE_ITO[5], lw=1.5)
    ax.text(res.event - 0.4, ax.get_ylim()[1], f" {res.event}", va="top", color=figures.OKABE_ITO[5])
    ax.set_xlabel("year")
    ax.set_ylabel(unit)
    ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    first, last = res.window
    direction = "above" if res.estimate > 0 else "below"
    alt = (
        f"{title}: over {first}–{last} the fitted path ran on average {abs(res.estimate):.3g} {direction} the "
        f"extrapolated pre-event trend (departure test of level and slope together {_p(res.p_value)}; the design "
        f"could detect a step of about {res.mde:.3g}); the series has no comparison group."
    )
    figures.glue_figure(key, fig, alt)
    return {"estimate": f"{res.estimate:.3g}", "ci": f"{res.ci_low:.3g} to {res.ci_high:.3g}", "p": _p(res.p_value),
            "gap-p": _p(res.estimate_p), "mde": f"{res.mde:.3g}", "window": f"{first}–{last}"}


def event_study_figure(res: DesignResult, *, title: str, key: str) -> dict[str, str]:
    """Event-study coefficients with intervals; leads left of the reference year."""
    coefs = pd.DataFrame(res.details["coefficients"]).sort_values("rel_year")
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    pre = coefs["rel_year"] < 0
    for mask, colour, label in [(pre, figures.OKABE_ITO[0], "before the event (leads)"),
                                (~pre, figures.OKABE_ITO[5], "after the event")]:
        sub = coefs[mask]
        ax.errorbar(sub["rel_year"], sub["coef"], yerr=[sub["coef"] - sub["ci_low"], sub["ci_high"] - sub["coef"]],
                    fmt="o", color=colour, capsize=3, label=label)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", lw=1, ls=":")
    ax.set_xlabel(f"years relative to {res.event} (reference: {res.event - 1}; end points binned)")
    ax.set_ylabel("difference from England and Wales (log points)")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    test = res.details.get("pretrend")
    pre_p = float(test["p"]) if test else float("nan")
    verdict = ("does not reject" if pre_p >= alpha_level() else "rejects") if test else "cannot compute"
    robust = res.sensitivity or {}
    alt = (
        f"{title}: Scottish areas' coefficients relative to England and Wales, before and after {res.event}, with "
        f"intervals from the spread of the placebo regions; the joint test of the leads {verdict} parallel "
        f"pre-trends ({_p(pre_p) if test else 'too few placebo regions'}); the post-event average is "
        f"{res.estimate:.3g} log points, and a violation of parallel trends of "
        f"{robust.get('breakdown_rm', float('nan')) if robust else 'unknown size'} times the largest pre-event one "
        "would be enough to explain it (relative-magnitudes breakdown value)."
    )
    figures.glue_figure(key, fig, alt)
    return {"estimate": f"{res.estimate:.3g}", "pretrend_p": _p(pre_p) if test else "not computed",
            "ci": f"{res.ci_low:.3g} to {res.ci_high:.3g}"}


def placebo_regions_figure(res: DesignResult, *, title: str, key: str) -> dict[str, str]:
    """Scotland's estimate among the placebo regions' (each English region and Wales treated as if it
    were Scotland), rescaled to Scotland's number of areas."""
    regions = res.details["placebo_regions"]
    names = sorted(regions, key=lambda r: regions[r]["rescaled"])
    values = [regions[r]["rescaled"] for r in names]
    fig, ax = figures.new_figure(width=8.5, height=0.32 * (len(names) + 1) + 1.4)
    ax.barh(names, values, color=figures.OKABE_ITO[4], label="placebo regions (rescaled)")
    ax.barh(["Scotland"], [res.estimate], color=figures.OKABE_ITO[5], label="Scotland")
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("estimate, log points")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    larger = sum(abs(v) >= abs(res.estimate) for v in values)
    route = next(i for i in res.inferences if i.min_p is not None)
    alt = (f"{title}: horizontal bars of the {len(values)} placebo regions' estimates and Scotland's "
           f"({res.estimate:.3g} log points); {larger} of the placebo estimates are at least as large in absolute "
           f"value, so the permutation p-value is {route.p_value:.3f} (it cannot go below {route.min_p:.3f}), and "
           f"the t-type test against their spread gives {_p(res.p_value)}.")
    figures.glue_figure(key, fig, alt)
    return {"n": str(len(values)), "larger": str(larger), "perm-p": f"{route.p_value:.3f}",
            "min-p": f"{route.min_p:.3f}", "p": _p(res.p_value)}


def synth_figure(res: DesignResult, *, name: str, title: str, unit: str, key: str) -> dict[str, str]:
    """Actual against synthetic (left) and the treated gap among the placebo gaps (right).

    The post-event window the estimate averages (``details["window"]``) is shaded; years after it
    are drawn but enter no statistic. The rank is that of the test statistic, the studentised mean
    gap over the window (``details["statistic_value"]`` among ``details["placebos"]["statistic"]``).
    """
    d = res.details
    actual = pd.Series(d["actual"]).sort_index()
    synthetic = pd.Series(d["synthetic"]).sort_index()
    first, last = d["window"]
    fig, (left, right) = figures.new_figure(width=11, height=4.2, ncols=2)
    left.plot(actual.index.astype(int), actual.values, color=figures.OKABE_ITO[0], lw=2.2, label="actual")
    left.plot(synthetic.index.astype(int), synthetic.values, color=figures.OKABE_ITO[1], lw=2, ls="--",
              label="synthetic (weighted donors)")
    for ax in (left, right):
        ax.axvline(res.event - 0.5, color=figures.OKABE_ITO[5], lw=1.2)
        ax.axvspan(first - 0.5, last + 0.5, color=figures.OKABE_ITO[5], alpha=0.08, lw=0,
                   label=f"estimate's window, {first}–{last}" if ax is left else None)
        ax.set_xlabel("year")
    left.set_ylabel(unit)
    left.set_title("Actual and synthetic")
    left.legend(loc="upper left", fontsize=8)
    for gaps in d["placebos"]["gap"].values():
        g = pd.Series(gaps).sort_index()
        right.plot(g.index.astype(int), g.values, color="#BBBBBB", lw=0.6, alpha=0.7)
    gap = pd.Series(d["gap"]).sort_index()
    right.plot(gap.index.astype(int), gap.values, color=figures.OKABE_ITO[0], lw=2.4, label=name)
    right.axhline(0, color="black", lw=0.8)
    right.set_ylabel("gap: actual − synthetic (log points)")
    right.set_title(f"Gap among {d['placebos']['n']} placebo areas (grey)")
    right.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
    statistics = np.array(list(d["placebos"]["statistic"].values()))
    rank = int((statistics >= d["statistic_value"]).sum())
    alt = (
        f"{title}: before {res.event} the synthetic comparison tracks the actual series to within "
        f"{100 * d['pre_fit_ratio']:.1f}% of its level (cross-validated); over {first}–{last} the gap averages "
        f"{res.estimate:+.3f} log points and "
        f"{'lies inside the spread of' if res.p_value >= alpha_level() else 'stands out from'} the placebo gaps "
        f"({rank} of {len(statistics)} placebos have a studentised mean gap at least as large, permutation "
        f"{_p(res.p_value)}; detectable effect about {res.mde:.2f} log points)."
    )
    figures.glue_figure(key, fig, alt)
    return {"estimate": f"{res.estimate:+.3f}", "p": _p(res.p_value), "mde": f"{res.mde:.2f}",
            "rank": str(rank), "n_placebos": str(len(statistics)), "ci": f"{res.ci_low:+.3f} to {res.ci_high:+.3f}",
            "pre_fit": f"{100 * d['pre_fit_ratio']:.1f}%", "window": f"{first}–{last}"}


def placebo_ratio_figure(res: DesignResult, *, name: str, title: str, key: str) -> dict[str, str]:
    """The placebo-in-space distribution of the test statistic with the treated unit marked.

    The statistic is the one the p-value ranks: the studentised mean gap over the window, |mean
    gap| / leave-one-year-out pre-period RMSPE. (The name is kept for the pages that call it; the
    RMSPE ratio of Abadie et al. 2010 is reported in ``details["rmspe_ratio"]``.) Returns the
    treated unit's statistic under ``ratio`` and ``statistic``, and the share of placebos at or above it.
    """
    d = res.details
    statistics = np.sort(np.array(list(d["placebos"]["statistic"].values())))
    value = d["statistic_value"]
    first, last = d["window"]
    fig, ax = figures.new_figure(width=8.5, height=3.8)
    ax.hist(statistics[np.isfinite(statistics)], bins=30, color=figures.OKABE_ITO[4], edgecolor="white",
            label="placebo areas")
    ax.axvline(value, color=figures.OKABE_ITO[5], lw=2.5, label=name)
    ax.set_xlabel(f"|mean gap {first}–{last}| / leave-one-year-out pre-event RMSPE")
    ax.set_ylabel("number of areas")
    ax.set_title(title)
    ax.legend(fontsize=8)
    share = float((statistics >= value).mean())
    alt = (
        f"{title}: histogram of {len(statistics)} placebo statistics; {name}'s studentised mean gap of {value:.2f} "
        f"is reached or exceeded by {share:.0%} of the placebos, so its departure over {first}–{last} is not "
        f"unusual (permutation {_p(res.p_value)})." if res.p_value >= alpha_level() else
        f"{title}: histogram of {len(statistics)} placebo statistics; {name}'s studentised mean gap of {value:.2f} "
        f"is reached or exceeded by only {share:.0%} of the placebos (permutation {_p(res.p_value)})."
    )
    figures.glue_figure(key, fig, alt)
    return {"ratio": f"{value:.2f}", "statistic": f"{value:.2f}", "share": f"{share:.0%}"}


def did_trends_figure(frame: pd.DataFrame, event: int, *, title: str, key: str) -> dict[str, str]:
    """Mean log outcome of treated and comparison areas, each relative to its own pre-event year."""
    means = frame.assign(treated=frame["treated"].astype(bool)).groupby(["treated", "year"])["y"].mean().unstack(0)
    base = means.loc[event - 1]
    rel = means - base
    fig, ax = figures.new_figure(width=8.5, height=4.2)
    ax.plot(rel.index, rel[True], color=figures.OKABE_ITO[0], lw=2.2, label="Scottish areas")
    ax.plot(rel.index, rel[False], color=figures.OKABE_ITO[1], lw=2.2, ls="--", label="English and Welsh areas")
    ax.axvline(event - 0.5, color=figures.OKABE_ITO[5], lw=1.2)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("year")
    ax.set_ylabel(f"mean log value relative to {event - 1}")
    ax.set_title(title)
    ax.legend(fontsize=8)
    first = int(rel.index.min())
    pre_gap = float(rel.loc[first, True] - rel.loc[first, False])
    last = int(rel.index.max())
    post_gap = float(rel.loc[last, True] - rel.loc[last, False])
    alt = (
        f"{title}: relative to {event - 1}, Scottish areas stood {pre_gap:+.3f} log points against English and Welsh "
        f"areas in {first} and {post_gap:+.3f} in {last}; whether their paths ran parallel before {event} is tested "
        f"by the event study."
    )
    figures.glue_figure(key, fig, alt)
    return {"pre_gap": f"{pre_gap:+.3f}", "post_gap": f"{post_gap:+.3f}", "first": str(first), "last": str(last)}


def mde_figure(rows: pd.DataFrame, levels: pd.Series, *, event: int, title: str, key: str) -> dict[str, str]:
    """Minimum detectable level change of each area's ITS, relative to the area's mean level."""
    rel = (rows.set_index("area_name")["mde"] / levels.reindex(rows["area_name"]).to_numpy() * 100).sort_values()
    fig, ax = figures.new_figure(width=8.5, height=0.22 * len(rel) + 1.4)
    colours = [figures.OKABE_ITO[5] if name == "Scotland" else figures.OKABE_ITO[0] for name in rel.index]
    ax.barh(rel.index, rel.values, color=colours)
    cfg = settings.load()["attribution"]
    ax.set_xlabel(f"minimum detectable level change, % of the area's mean rate ({cfg['power']:.0%} power, "
                  f"{cfg['alpha']:.0%} level)")
    ax.set_title(title)
    ax.tick_params(axis="y", labelsize=8)
    scot = float(rel.get("Scotland", np.nan))
    alt = (
        f"{title}: bars for {len(rel)} series; the smallest detectable change ranges from {rel.min():.0f}% to "
        f"{rel.max():.0f}% of the mean rate (Scotland {scot:.0f}%), so only large shifts at {event} could have been "
        "seen in single councils."
    )
    figures.glue_figure(key, fig, alt)
    return {"min": f"{rel.min():.0f}%", "max": f"{rel.max():.0f}%", "scotland": f"{scot:.0f}%",
            "median": f"{rel.median():.0f}%"}
