"""The Methods appendix: the derived measures, each design's calibration on data shaped like the
book's (the time series' size by persistence, the difference-in-differences' size with shared
regional shocks), the parallel-trends sensitivity figure, the verdict rules and the change log
against the earlier ledger. :func:`build` gathers it all for the page, one section helper per part."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import paths, settings
from analysis.attribution import ledger, verdicts
from analysis.data import register
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.claims import HEADLINE_CLAIMS, fmt
from analysis.pages.common import PageResult, confidence, names_list


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
    from analysis.attribution import calibration

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
    from analysis.attribution import calibration, did

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
    rows = []
    for outcome, claim_id in claims.items():
        for r in ledger.result_for(claim_id).details.get("leave_one_out") or []:
            rows.append({"outcome": outcome, "donors dropped": r["dropped"], "donors left": int(r["n_donors"]),
                         "estimate (log points)": round(float(r["estimate"]), 4),
                         "interval": f"{r['ci_low']:.3f} to {r['ci_high']:.3f}", "p": round(float(r["p_value"]), 3)})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# the parallel-trends sensitivity figure and the change log


def sensitivity_figure(key: str = "fig-sensitivity") -> dict[str, str]:
    """Robust confidence sets of the headline event-study averages against M̄ (relative magnitudes)
    and M (smoothness), Rambachan & Roth (2023)."""
    names = {"gdp-es": "GDP per head", "gdhi-es": "household income per head"}
    fig, axes = figures.new_figure(width=11, height=4.2, ncols=2)
    facts = {}
    for j, (short, name) in enumerate(names.items()):
        res = ledger.result_for(HEADLINE_CLAIMS[short])
        s = res.sensitivity
        colour = figures.OKABE_ITO[j]
        if not s:
            facts[f"{short}-breakdown-rm"] = "not computed"
            facts[f"{short}-breakdown-sd"] = "not computed"
            continue
        for ax, grid, field, label in [(axes[0], s["rm"], "Mbar", "M̄ (relative magnitudes)"),
                                       (axes[1], s["sd"], "M", "M (smoothness, log points per year²)")]:
            xs = np.array([g[field] for g in grid], dtype=float)
            offset = (j - 0.5) * 0.06 * (xs.max() - xs.min() if xs.max() > xs.min() else 1)
            for x, g in zip(xs, grid, strict=True):
                if math.isfinite(g["lb"]) and math.isfinite(g["ub"]):
                    ax.plot([x + offset] * 2, [g["lb"], g["ub"]], color=colour, lw=2)
            ax.plot([], [], color=colour, lw=2, label=name)
            ax.axhline(0, color="black", lw=0.8)
            ax.set_xlabel(label)
        facts[f"{short}-breakdown-rm"] = fmt(s.get("breakdown_rm"))
        facts[f"{short}-breakdown-sd"] = fmt(s.get("breakdown_sd"))
    axes[0].set_ylabel(f"robust {confidence()} set for the average effect\n(log points)")
    axes[0].set_title("Relative magnitudes")
    axes[1].set_title("Smoothness")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("How large a violation of parallel trends would overturn the event-study averages (primary window)",
                 x=0.01, ha="left", fontweight="bold")
    fig.subplots_adjust(top=0.84, wspace=0.22)
    alt = ("Two panels of robust confidence sets for the event-study average effect on GDP and household income per "
           "head as the allowed violation of parallel trends grows. Breakdown values (the largest violation at which "
           f"the set still excludes zero): GDP M̄ = {facts['gdp-es-breakdown-rm']}, M = {facts['gdp-es-breakdown-sd']};"
           f" household income M̄ = {facts['gdhi-es-breakdown-rm']}, M = {facts['gdhi-es-breakdown-sd']} (n/a: "
           "the set includes zero already under exact parallel trends).")
    figures.glue_figure(key, fig, alt)
    return facts


CHANGE_LOG_FILE = "ledger_verdicts_2026-11.csv"


#: What changed in each design between the two ledgers (the Methods appendix gives the detail).
DESIGN_CHANGES = {
    "its": ("the estimand became the departure from the extrapolated trend (level and slope jointly) and the "
            "average gap; inference became fixed-b HAC calibrated by a prepivoted AR(1) bootstrap, with a "
            "persistence check that can fail; a significant change without a comparison group is now "
            "'change detected, not attributable' instead of 'a design assumption fails'"),
    "did": ("inference now treats the country as the unit of treatment (placebo regions) instead of clustering by "
            "area; the pre-trend test became a diagnostic and parallel trends is read through the Rambachan–Roth "
            "sensitivity analysis"),
    "event_study": ("as for the difference-in-differences: country-level inference, pre-trends as a diagnostic, "
                    "parallel trends through the sensitivity analysis"),
    "synth": ("the statistic became the studentised mean gap, so that the p-value, interval and estimate refer to "
              "the same quantity, and the MDE became the treated unit's own"),
}


#: The previous ledger's verdict labels in today's taxonomy (its "not distinguishable from zero" has
#: no counterpart: the new rules split it into "no effect larger than the margin" and "inconclusive").
OLD_VERDICTS = {
    "attributable": verdicts.ATTRIBUTABLE,
    "not attributable — a design assumption fails": verdicts.ASSUMPTION,
    "not attributable — effect not distinguishable from zero": None,
    "cannot be tested from outcome data": verdicts.UNTESTABLE,
}


def change_log(led: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every claim whose verdict changed between the previous ledger (``data/reference``; all post-event
    years, the old rules) and the same claim now (the full-period row), with what changed and why."""
    led = ledger.ledger() if led is None else led
    before = pd.read_csv(paths.REFERENCE / CHANGE_LOG_FILE, dtype=str, keep_default_na=False)
    now = led.set_index("claim_id")
    rows = []
    for r in before.itertuples(index=False):
        if r.design == "stakeholder perception":
            new_id = r.claim_id
        else:
            test_id, _, area = r.claim_id.partition(":")
            new_id = f"{test_id}:{ledger.FULL}:{area}"
        if new_id not in now.index:
            rows.append({"claim": r.claim_id, "before": r.verdict, "now": "(no longer in the ledger)",
                         "what changed": "the claim was removed from the settings"})
            continue
        after = now.loc[new_id]
        if r.verdict not in OLD_VERDICTS:
            raise ValueError(f"{CHANGE_LOG_FILE}: unknown verdict {r.verdict!r} for {r.claim_id}")
        if OLD_VERDICTS[r.verdict] == after["verdict_key"]:
            continue
        rows.append({"claim": new_id, "before": r.verdict, "now": after["verdict"],
                     "what changed": DESIGN_CHANGES.get(after["design"], "the verdict taxonomy was revised"),
                     "reason now": after["reason"]})
    return pd.DataFrame(rows, columns=["claim", "before", "now", "what changed", "reason now"])



# --------------------------------------------------------------------------------------------
# the page


def _its_section(page: PageResult, outputs, led: pd.DataFrame, event: int, window: tuple[int, int]) -> None:
    """The interrupted time series: Scotland's alcohol-specific death rate over the primary window."""
    from analysis.pages import design_figures

    res = ledger.result_for(HEADLINE_CLAIMS["alcohol"])
    rows = ledger.single_period_rows(outputs.panel, "alcohol_specific_death_rate")
    series = ledger.annual_series(rows, register.SCOTLAND_CODE)
    page.add("its", design_figures.its_figure(
        res, series[series.index <= window[1]], title="Alcohol-specific death rate, Scotland (primary window)",
        unit="deaths per 100,000 (crude)", key="fig-its"))
    size, facts = its_calibration(series, event, window)
    page.add("its-size", facts)
    page.tables["its-size"] = size
    auto = res.details["autocorrelation"]
    page.text["its-phi"] = f"{auto['ar1_phi_median_unbiased']:.2f}"
    page.text["its-phi-used"] = f"{auto['ar1_phi']:.2f}"
    councils = led[led["claim_id"].str.startswith("alcohol-its:primary:") & led["mde"].notna()]
    means = rows.groupby("area_code")["value"].mean()
    levels = pd.Series({register.name_of(c): v for c, v in means.items()})
    page.add("mde", design_figures.mde_figure(
        councils, levels, event=event,
        title=f"What the time-series design could detect: alcohol deaths, {window[0]}–{window[1]}",
        key="fig-mde"))


def level_facts(outputs: Outputs) -> dict[str, str]:
    """Why the council level is primary, in numbers: how ITL3 areas and partnerships fail to line up,
    and the years each comparison's series cover."""
    from collections import Counter

    reg = register.load_register().set_index("code")
    parts = reg["itl3_codes"].map(register.split_list)
    per_area = Counter(code for codes in parts for code in codes)
    p = outputs.panel
    years = {}
    for key, indicator in (("gdhi-lad", "gdhi_per_head_lad"), ("gdp-lad", "gdp_cvm_per_head_lad"),
                           ("gdhi-nuts3", "gdhi_per_head"), ("gdp-itl3", "gdp_per_head")):
        rows = p[(p["indicator"] == indicator) & (p["area_type"] != register.COUNCIL)
                 & ~p["area_code"].isin([register.SCOTLAND_CODE])]
        rows = rows[rows["area_type"].isin(["lad", "itl3", "nuts3"])]
        years[f"{key}-years"] = f"{int(rows['year'].min())}–{int(rows['year'].max())}"
    return {
        "n-itl3": str(len(per_area)),
        "n-itl3-combined": str(sum(1 for n in per_area.values() if n > 1)),
        "n-split": str(int((parts.map(len) > 1).sum())),
        "split-names": names_list(reg.index[parts.map(len) > 1]),
        **years,
    }


def _did_section(page: PageResult, outputs, cfg: dict, event: int, window: tuple[int, int]) -> None:
    """Difference-in-differences and event study: GDP per head, council areas against districts
    (primary), with the ITL3 layout's calibration beside it."""
    from analysis.attribution import did
    from analysis.pages import design_figures

    frame = did.prepare(outputs.panel, outputs.areas, "gdp_cvm_per_head_lad", cfg, level=did.DISTRICT)
    page.add("did", design_figures.did_trends_figure(
        frame, event, title="GDP per head (chained volume): Scottish council areas against English and Welsh districts",
        key="fig-did-trends"))
    es = ledger.result_for(HEADLINE_CLAIMS["gdp-es"])
    page.add("es", design_figures.event_study_figure(
        es, title="Event study: GDP per head, Scotland's council areas (primary window)", key="fig-event-study"))
    res = ledger.result_for(HEADLINE_CLAIMS["gdp-did"])
    page.add("regions", design_figures.placebo_regions_figure(
        res, title="GDP per head: Scotland among the placebo regions", key="fig-placebo-regions"))
    page.text.update({"did-n-treated": str(res.details["n_treated"]),
                      "did-n-comparison": str(res.details["n_comparison"]), "did-df": str(res.details["df"])})
    page.add("did-size", did_calibration(frame, event, window))
    itl3 = did.prepare(outputs.panel, outputs.areas, "gdp_per_head", cfg)
    page.add("did-size-itl3", did_calibration(itl3, event, window))
    page.text["did-itl3-n-treated"] = str(int(itl3.loc[itl3["treated"] == 1, "area_code"].nunique()))
    page.text["did-itl3-n-comparison"] = str(int(itl3.loc[itl3["treated"] == 0, "area_code"].nunique()))
    page.add("level", level_facts(outputs))
    page.add("sens", sensitivity_figure("fig-sensitivity"))


def _synth_section(page: PageResult) -> None:
    """Synthetic control: Scotland's GDP per head, its placebos, leave-one-out and conformal routes."""
    from analysis.pages import design_figures

    res = ledger.result_for(HEADLINE_CLAIMS["gdp-synth"])
    page.add("synth", design_figures.synth_figure(
        res, name="Scotland", title="Synthetic control: Scotland's GDP per head",
        unit="GDP per head, £ (current prices)", key="fig-synth"))
    page.add("placebo", design_figures.placebo_ratio_figure(
        res, name="Scotland", title="Placebo-in-space distribution: GDP per head", key="fig-placebos"))
    loo = leave_one_out_table({"GDP per head": HEADLINE_CLAIMS["gdp-synth"],
                               "household income per head": HEADLINE_CLAIMS["gdhi-synth"]})
    refits = loo.loc[loo["donors dropped"] != "none", "estimate (log points)"]
    page.text["loo-n"] = str(len(refits))
    page.text["loo-range"] = f"{refits.min():.3f} to {refits.max():.3f}"
    page.tables["leave-one-out"] = loo
    conformal = res.details["conformal"]
    page.text["conformal-iid-p"] = f"{conformal['iid']['p_value']:.3f}"
    page.text["conformal-block-p"] = f"{conformal['moving_block']['p_value']:.3f}"
    page.text["synth-min-p"] = f"{res.min_p:.4f}"


def _validation_section(page: PageResult) -> None:
    """The designs on the published studies (:mod:`analysis.attribution.validation`)."""
    from analysis.attribution import validation

    basque = validation.basque()
    pub = basque["published"]
    page.add("basque", {
        "gap": f"{basque['result'].estimate:.3f}", "later-gap": f"{basque['later'].estimate:.3f}",
        "published-gap": f"{pub['gap']:.2f}", "published-weights-gap": f"{basque['published_weights_gap']:.3f}",
        "weights": "; ".join(f"{name} {w:.3f}" for name, w in basque["weights"].items()),
        "published-weights": f"Cataluña {pub['weight Cataluna']:.3f}, Madrid {pub['weight Madrid']:.3f}",
        "p": f"{basque['result'].p_value:.3f}", "min-p": f"{basque['result'].min_p:.3f}",
        "rank": str(basque["rank"]), "n": str(basque["n_donors"] + 1), "mde-10": f"{basque['at_ten'].mde:.3f}",
    })
    organ = validation.organ_donations()
    page.add("organ", {
        "estimate": f"{organ['clustered_estimate']:.4f}",
        "published": f"{organ['published']['post x California']:.3f}",
        "se": f"{organ['clustered_se']:.4f}", "published-se": f"{organ['published']['clustered se']:.3f}",
        "n": str(organ["n_placebos"]), "spread": f"{organ['spread_ratio']:.1f}",
        "p": f"{organ['result'].p_value:.2f}",
        "ci": f"{organ['result'].ci_low:.3f} to {organ['result'].ci_high:.3f}",
        "perm-p": f"{organ['permutation'].p_value:.3f}", "min-p": f"{organ['permutation'].min_p:.3f}",
        "larger": str(organ["larger"]), "widest": organ["widest"],
        "widest-estimate": f"{organ['widest_estimate']:+.3f}",
        "without": f"{organ['without_widest'].estimate:.3f}", "without-p": f"{organ['without_widest'].p_value:.2f}",
        "leads": " and ".join(f"{x:+.3f}" for x in organ["leads"]), "pretrend-p": f"{organ['pretrend_p']:.2f}",
    })


def build() -> PageResult:
    """Everything the Methods appendix glues and shows."""
    from analysis.data import panel
    from analysis.pages import claims

    outputs = panel.build()
    cfg = settings.load()
    page = PageResult()
    page.text["conf"], page.text["conf-eq"] = confidence(), confidence(equivalence=True)
    page.text["rate-per"] = f"{cfg['data']['rate_per']:,}"
    page.add("pooling", pooling_figure(outputs, key="fig-pooling"))
    page.text["substituted"] = substitution_list(outputs)
    led = ledger.ledger()
    page.text.update(attribution_values(led))
    acfg = cfg["attribution"]
    event, window = int(acfg["events"]["duty"]), tuple(int(y) for y in acfg["windows"]["duty"])
    _its_section(page, outputs, led, event, window)
    _did_section(page, outputs, acfg, event, window)
    _synth_section(page)
    page.add("mult", claims.multiplicity_values(led))
    page.tables["multiplicity"] = claims.multiplicity_summary(led)
    page.tables["taxonomy"] = taxonomy_table(led)
    _validation_section(page)
    changes = change_log(led)
    page.text["n-changed"] = str(len(changes))
    page.tables["changes"] = changes
    return page
