"""Across the 32 partnerships: the attribution page's section on the council-level synthetic controls.

Every council-level synthetic control of the ledger (``analysis.attribution.overview``) estimates one
partnership's mean gap, treated − synthetic, in log points. Read one at a time they are exploratory
and weak; this section shows all of them at once and asks whether groups of partnerships differ:

* a caterpillar figure: each outcome's 32 gaps over the primary window, ranked, with the ledger's
  interval and coloured by the ledger's verdict, the report's case studies and the pilot marked;
* a map of the same gaps on a diverging, colour-blind-safe scale centred at zero;
* the randomisation tests of :func:`analysis.attribution.overview.overview` as a table, with their
  p-values Holm-adjusted across the section's tests;
* the donor-pool robustness of :func:`analysis.attribution.overview.pool_robustness_summary`.

Nothing here estimates anything: the gaps, verdicts and tests come from the ledger and the
attribution layer. The window shown is the one the settings call primary (``window_kind``); the
significance level is ``attribution.alpha``.
"""

from __future__ import annotations

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from analysis.attribution import ledger, verdicts
from analysis.attribution import overview as ov
from analysis.data import panel
from analysis.pages import figures, maps
from analysis.pages.claims import VERDICT_COLOURS, fmt, fmt_p, labels
from analysis.pages.common import GROUP_CASE, GROUP_OTHER, GROUP_PILOT, PageResult, alpha_level, confidence, names_list

#: The window the figures show (the conclusions' window, ``attribution.windows``).
PRIMARY = "primary"
#: Marker of each group in the caterpillar figure (shape, so that it does not rely on colour).
GROUP_MARKERS = {GROUP_CASE: "s", GROUP_PILOT: "D", GROUP_OTHER: "o"}
GROUP_LABELS = {GROUP_CASE: "case-study partnership", GROUP_PILOT: "the pilot", GROUP_OTHER: "other partnership"}
#: A diverging map that stays readable under the common colour-vision deficiencies (ColorBrewer's
#: purple–orange; purple for a negative gap, orange for a positive one).
DIVERGING = "PuOr_r"


def _titles() -> pd.Series:
    return panel.read_table("indicators").set_index("indicator")["title"]


def short_title(outcome: str) -> str:
    """An outcome's title without its geography ('…, districts of Great Britain')."""
    return str(_titles().get(outcome, outcome)).split(", districts")[0]


def _group(row) -> str:
    return GROUP_PILOT if row["pilot"] else GROUP_CASE if row["case_study"] else GROUP_OTHER


# --------------------------------------------------------------------------------------------
# the gaps with their verdicts


def caterpillar_table(led: pd.DataFrame | None = None, gaps: pd.DataFrame | None = None,
                      window_kind: str = PRIMARY) -> pd.DataFrame:
    """One row per council-level synthetic control of ``window_kind``: the gap (the verdict's donor
    pool, every donor), its interval and p-value, the ledger's verdict, the council's group, and
    its rank within the outcome (1 = the largest gap; ties by area code).

    Raises ``ValueError`` when a gap has no ledger row or an outcome does not have all 32 councils.
    """
    led = ledger.ledger() if led is None else led
    gaps = ov.council_gaps() if gaps is None else gaps
    gaps = gaps[gaps["window_kind"] == window_kind].copy()
    gaps["claim_id"] = gaps["test_id"] + ":" + gaps["window_kind"] + ":" + gaps["area_code"]
    rows = led.set_index("claim_id")
    missing = sorted(set(gaps["claim_id"]) - set(rows.index))
    if missing:
        raise ValueError(f"council gaps without a ledger row: {missing[:3]}")
    names = labels()
    gaps["verdict_key"] = rows.loc[gaps["claim_id"], "verdict_key"].to_numpy()
    gaps["verdict"] = gaps["verdict_key"].map(names)
    gaps["colour"] = gaps["verdict_key"].map(VERDICT_COLOURS)
    gaps["group"] = gaps.apply(_group, axis=1)
    gaps["outcome_title"] = gaps["outcome"].map(short_title)
    out = []
    for _, frame in gaps.groupby("test_id", sort=False):
        if frame["area_code"].nunique() != len(frame) or len(frame) != 32:
            raise ValueError(f"{frame['test_id'].iloc[0]}: {len(frame)} councils, not one row for each of the 32")
        frame = frame.sort_values(["estimate", "area_code"], ascending=[False, True], kind="stable")
        out.append(frame.assign(rank=np.arange(1, len(frame) + 1)))
    table = pd.concat(out, ignore_index=True)
    return table[["test_id", "outcome", "outcome_title", "window", "rank", "area_code", "area_name", "group",
                  "estimate", "ci_low", "ci_high", "p_value", "verdict_key", "verdict", "colour"]]


def excludes_zero(frame: pd.DataFrame) -> pd.Series:
    return (frame["ci_low"] > 0) | (frame["ci_high"] < 0)


def caterpillar_facts(table: pd.DataFrame) -> dict[str, dict]:
    """Per test, the numbers the figure's alt text and the prose state."""
    names = labels()
    out = {}
    for test_id, frame in table.groupby("test_id", sort=False):
        frame = frame.sort_values("rank")
        labelled = frame[frame["group"] != GROUP_OTHER]
        counts = frame["verdict_key"].value_counts()
        out[test_id] = {
            "title": frame["outcome_title"].iloc[0], "window": frame["window"].iloc[0], "n": len(frame),
            "n_excl": int(excludes_zero(frame).sum()),
            "excl_names": frame.loc[excludes_zero(frame), "area_name"].tolist(),
            "n_positive": int((frame["estimate"] > 0).sum()),
            "top": frame.iloc[0], "bottom": frame.iloc[-1],
            "labelled_ranks": labelled["rank"].tolist(), "n_labelled": len(labelled),
            "n_case": int((frame["group"] == GROUP_CASE).sum()),
            "labelled_median_rank": float(np.median(labelled["rank"])),
            "labelled_top_half": int((labelled["rank"] <= len(frame) / 2).sum()),
            "verdicts": ", ".join(f"{int(counts[k])} {names[k]}" for k in verdicts.KEYS if k in counts),
        }
    return out


def _signed(x: float) -> str:
    return fmt(x).replace("-", "−") if x < 0 else f"+{fmt(x)}"


def caterpillar_figure(key: str, table: pd.DataFrame) -> dict[str, str]:
    """The caterpillar figure (one panel per outcome), glued under ``key``; returns its facts as text."""
    tests = list(dict.fromkeys(table["test_id"]))
    names = labels()
    fig, axes = figures.new_figure(width=11, height=0.23 * 32 + 2.4, ncols=len(tests), squeeze=False)
    for ax, test_id in zip(axes[0], tests, strict=True):
        frame = table[table["test_id"] == test_id].sort_values("rank")
        y = frame["rank"].to_numpy()
        ax.hlines(y, frame["ci_low"], frame["ci_high"], colors=frame["colour"].tolist(), lw=1.6, zorder=2)
        for group, marker in GROUP_MARKERS.items():
            sub = frame[frame["group"] == group]
            ax.scatter(sub["estimate"], sub["rank"], marker=marker, c=sub["colour"].tolist(),
                       s=46 if group != GROUP_OTHER else 30, edgecolors="black", linewidths=0.6, zorder=3,
                       label=GROUP_LABELS[group], gid=f"{test_id}:{group}")
        ax.axvline(0, color="black", lw=0.8, zorder=1)
        ax.set_yticks(y, frame["area_name"].tolist(), fontsize=7.5)
        for tick, group in zip(ax.get_yticklabels(), frame["group"], strict=True):
            if group != GROUP_OTHER:
                tick.set_fontweight("bold")
        ax.set_ylim(len(frame) + 0.8, 0.2)
        ax.set_xlabel(f"mean gap, treated − synthetic (log points), {frame['window'].iloc[0]}\n"
                      f"line: {confidence()} interval", fontsize=8.5)
        ax.set_title(frame["outcome_title"].iloc[0], fontsize=9.5)
        ax.tick_params(axis="x", labelsize=8)
    present = [k for k in verdicts.KEYS if k in set(table["verdict_key"])]
    handles = [Line2D([], [], color=VERDICT_COLOURS[k], lw=2.5, label=names[k]) for k in present]
    handles += [Line2D([], [], ls="", marker=m, color="white", markeredgecolor="black", markersize=7,
                       label=GROUP_LABELS[g]) for g, m in GROUP_MARKERS.items()]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    facts = caterpillar_facts(table)
    parts = []
    for f in facts.values():
        top, bottom = f["top"], f["bottom"]
        ranks = f["labelled_ranks"]
        parts.append(
            f"{f['title']}: gaps from {_signed(bottom['estimate'])} ({bottom['area_name']}) to "
            f"{_signed(top['estimate'])} ({top['area_name']}), {f['n_positive']} of {f['n']} above zero, "
            f"{f['n_excl']} of {f['n']} intervals excluding zero; verdicts: {f['verdicts']}; the {f['n_case']} case "
            f"studies and the pilot rank from {min(ranks)} to {max(ranks)} "
            f"(median rank {f['labelled_median_rank']:g}), "
            f"{f['labelled_top_half']} of them in the top half")
    alt = (f"Caterpillar plots of the {len(table) // len(tests)} partnerships' synthetic-control gaps over "
           f"{table['window'].iloc[0]}, ranked from largest to smallest and coloured by verdict. "
           + ". ".join(parts) + ".")
    figures.glue_figure(key, fig, alt, data=table.drop(columns=["colour"]))
    first = table[table["test_id"] == tests[0]]
    out = {"window": str(table["window"].iloc[0]), "n": str(len(first)),
           "n-case": str(int((first["group"] == GROUP_CASE).sum())),
           "pilot": names_list(first.loc[first["group"] == GROUP_PILOT, "area_code"]),
           "n-labelled-shown": str(int((first["group"] != GROUP_OTHER).sum()))}
    for test_id, f in facts.items():
        out[f"{test_id}-excl"] = str(f["n_excl"])
        out[f"{test_id}-positive"] = str(f["n_positive"])
        out[f"{test_id}-top"] = f"{f['top']['area_name']} ({_signed(f['top']['estimate'])})"
        out[f"{test_id}-bottom"] = f"{f['bottom']['area_name']} ({_signed(f['bottom']['estimate'])})"
        out[f"{test_id}-labelled-top-half"] = str(f["labelled_top_half"])
    return out


# --------------------------------------------------------------------------------------------
# the map


def gap_map_figure(key: str, table: pd.DataFrame) -> dict[str, str]:
    """The gaps of ``table`` mapped, one map per outcome on one scale centred at zero, the case
    studies and the pilot outlined; glued under ``key``."""
    tests = list(dict.fromkeys(table["test_id"]))
    bound = float(np.abs(table["estimate"]).max())
    norm = mpl.colors.TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound)
    cmap = mpl.colormaps[DIVERGING]
    fig, axes = figures.new_figure(width=10, height=6.4, ncols=len(tests), squeeze=False)
    parts = []
    for ax, test_id in zip(axes[0], tests, strict=True):
        frame = table[table["test_id"] == test_id].set_index("area_code")
        lit = set(frame.index[frame["group"] != GROUP_OTHER])
        maps.shade(ax, frame["estimate"], norm=norm, cmap=cmap, highlight=lit)
        ax.set_title(frame["outcome_title"].iloc[0], fontsize=9.5)
        ordered = frame.sort_values("rank")
        top = ordered.head(3)
        bottom = ordered.tail(3).iloc[::-1]
        parts.append(f"{frame['outcome_title'].iloc[0]}: largest positive gaps in "
                     + ", ".join(f"{r.area_name} ({_signed(r.estimate)})" for r in top.itertuples())
                     + "; most negative in "
                     + ", ".join(f"{r.area_name} ({_signed(r.estimate)})" for r in bottom.itertuples()))
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=list(axes[0]), shrink=0.6, pad=0.02,
                       orientation="horizontal", location="bottom")
    bar.set_label(f"mean gap, treated − synthetic (log points), {table['window'].iloc[0]}\n"
                  "outlined: the case studies and the pilot", fontsize=9)
    bar.outline.set_visible(False)
    alt = (f"Two maps of the {len(table) // len(tests)} council areas coloured by their synthetic-control gap over "
           f"{table['window'].iloc[0]}, purple below zero and orange above, case studies and the pilot outlined. "
           + ". ".join(parts) + ".")
    figures.glue_figure(key, fig, alt, data=table[["test_id", "outcome", "window", "area_code", "area_name", "group",
                                                    "estimate", "verdict"]])
    return {"credit": maps.MAP_CREDIT}


# --------------------------------------------------------------------------------------------
# the randomisation tests


def tests_table(tests: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.attribution.overview.overview` with its p-values Holm-adjusted across every row
    (the section's family of tests) and whether each rejects at alpha before and after."""
    alpha = alpha_level()
    out = tests.copy()
    out["p_holm"] = verdicts.holm([float(p) for p in out["p_value"]])
    out["rejects"] = out["p_value"] <= alpha
    out["rejects_holm"] = out["p_holm"] <= alpha
    return out


def _how(row) -> str:
    if row["exact"]:
        return f"exact: all {row['n_permutations']:,} assignments"
    return f"Monte Carlo: {row['n_permutations']:,} permutations of {row['n_assignments']:,} assignments"


def _means(row) -> str:
    named = (lambda g: g) if row["comparison"] == "case_study" else (lambda g: f"group {g}")
    return "; ".join(f"{named(name)} {_signed(m)} ({row['groups'][name]})" for name, m in row["means"].items())


def tests_display(table: pd.DataFrame) -> pd.DataFrame:
    """The tests as the page shows them."""
    comparison = {"case_study": "case studies and pilot against the rest",
                  "lgbf_family_group_people": "LGBF family groups (people services)",
                  "lgbf_family_group_other": "LGBF family groups (other services)"}
    return pd.DataFrame({
        "outcome": table["outcome"].map(short_title),
        "window": [f"{w} ({k})" for w, k in zip(table["window"], table["window_kind"], strict=True)],
        "comparison": table["comparison"].map(lambda c: comparison.get(c, c)),
        "statistic": table["statistic_kind"],
        "value": [_signed(d) if k == ov.DIFFERENCE else fmt(s) for d, s, k in
                  zip(table["difference"], table["statistic"], table["statistic_kind"], strict=True)],
        "mean gap by group (councils)": [_means(r) for _, r in table.iterrows()],
        "p": table["p_value"].map(fmt_p),
        "p (Holm)": table["p_holm"].map(fmt_p),
        "how": [_how(r) for _, r in table.iterrows()],
        "smallest attainable p": table["min_p"].map(lambda p: f"{p:.2g}"),
    })


def _p_text(p: float) -> str:
    shown = fmt_p(p)
    return f"p {shown}" if shown.startswith("<") else f"p = {shown}"


def tests_results(table: pd.DataFrame) -> str:
    """The tests in words, one list item per outcome and window (the primary window first)."""
    order = {PRIMARY: 0}
    table = table.assign(_o=table["window_kind"].map(lambda k: order.get(k, 1))).sort_values("_o", kind="stable")
    items = []
    for (outcome, window, kind), frame in table.groupby(["outcome", "window", "window_kind"], sort=False):
        by = frame.set_index("comparison")
        case = by.loc["case_study"]
        means = case["means"]
        sentence = (f"- *{short_title(outcome)}, {window}* ({kind} window): the case studies and the pilot had a mean "
                    f"gap of {_signed(means[ov.CASE_STUDY_OR_PILOT])} log points against "
                    f"{_signed(means[ov.REST])} for the other {case['groups'][ov.REST]}, a difference of "
                    f"{_signed(case['difference'])} ({_p_text(case['p_value'])}); across the LGBF family groups, "
                    f"{_p_text(by.loc['lgbf_family_group_people', 'p_value'])} (people services) and "
                    f"{_p_text(by.loc['lgbf_family_group_other', 'p_value'])} (other services).")
        items.append(sentence)
    return "\n".join(items)


def tests_values(table: pd.DataFrame) -> dict[str, str]:
    """Counts and settings of the tests for the prose."""
    alpha = alpha_level()
    first = table.iloc[0]
    case = table[table["comparison"] == "case_study"].iloc[0]
    rejected = table[table["rejects"]]
    names = []
    for r in rejected.itertuples():
        names.append(f"{short_title(r.outcome).lower()} over {r.window}, "
                     f"{tests_display(table.loc[[r.Index]])['comparison'].iloc[0]}, {_p_text(r.p_value)}, "
                     f"Holm-adjusted {fmt_p(r.p_holm)}")
    if not table["rejects_holm"].any():
        reading = ("After that adjustment, neither the case-study partnerships with the pilot nor the family groups "
                   "show gaps that differ by more than a random reassignment of the labels readily produces.")
    else:
        reading = (f"{int(table['rejects_holm'].sum())} of the tests still reject after that adjustment: the groups' "
                   "gaps differ there by more than a random reassignment of the labels readily produces.")
    return {
        "reading": reading,
        "n-tests": str(len(table)), "n-reject": str(len(rejected)),
        "n-reject-holm": str(int(table["rejects_holm"].sum())),
        "rejected": "; ".join(names) if names else "none",
        "alpha": f"{alpha:g}", "n-councils": str(int(first["n"])),
        "n-labelled": str(case["groups"][ov.CASE_STUDY_OR_PILOT]), "n-rest": str(case["groups"][ov.REST]),
        "n-family": str(len(table[table["comparison"] == "lgbf_family_group_people"].iloc[0]["groups"])),
        "family-size": str(int(next(iter(table[table["comparison"] == "lgbf_family_group_people"].iloc[0]["groups"]
                                       .values())))),
        "n-assign-case": f"{int(case['n_assignments']):,}",
        "n-perm": f"{int(first['n_permutations']):,}",
        "min-p": f"{float(first['min_p']):.2g}",
        "all-monte-carlo": "every one of them is Monte Carlo" if not table["exact"].any() else
        f"{int((~table['exact']).sum())} of them are Monte Carlo and {int(table['exact'].sum())} exact",
    }


# --------------------------------------------------------------------------------------------
# donor-pool robustness


def pool_display(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`analysis.attribution.overview.pool_robustness_summary` for each alternative donor pool."""
    alt = summary[summary["rule"] != summary.groupby(["test_id", "window_kind"])["rule"].transform("first")]
    base = summary.groupby(["test_id", "window_kind"])["n_rejected"].first()
    outcomes = ov.council_gaps()[["test_id", "outcome"]].drop_duplicates().set_index("test_id")["outcome"]
    return pd.DataFrame({
        "outcome": alt["test_id"].map(outcomes).map(short_title),
        "window": alt["window_kind"],
        "donor pool": alt["rule"],
        "partnerships": alt["n"].astype(int),
        "correlation with every donor": alt["correlation_with_default"].map(lambda r: f"{r:.2f}"),
        "same sign": alt["same_sign"].map(lambda s: f"{s:.0%}"),
        "same decision": alt["same_decision"].map(lambda s: f"{s:.0%}"),
        "rejecting (every donor → this pool)": [f"{base[(t, k)]} → {n}" for t, k, n in
                                                zip(alt["test_id"], alt["window_kind"], alt["n_rejected"],
                                                    strict=True)],
        "median absolute shift": alt["median_abs_shift"].map(fmt),
    }).reset_index(drop=True)


def pool_values(summary: pd.DataFrame) -> dict[str, str]:
    alt = summary[summary["rule"] != summary.groupby(["test_id", "window_kind"])["rule"].transform("first")]
    primary = alt[alt["window_kind"] == PRIMARY]
    labels_ = ov.pool_robustness()[["rule", "label"]].drop_duplicates().set_index("rule")["label"]
    return {
        "rules": ", ".join(labels_.get(r, r) for r in dict.fromkeys(alt["rule"])),
        "r-min": f"{primary['correlation_with_default'].min():.2f}",
        "r-max": f"{primary['correlation_with_default'].max():.2f}",
        "same-decision-min": f"{primary['same_decision'].min():.0%}",
        "same-decision-max": f"{primary['same_decision'].max():.0%}",
        "same-sign-min": f"{primary['same_sign'].min():.0%}",
        "same-sign-max": f"{primary['same_sign'].max():.0%}",
    }


# --------------------------------------------------------------------------------------------
# the section


def add(page: PageResult, led: pd.DataFrame | None = None) -> PageResult:
    """Glue the section's figures and add its strings (``ov-…``) and tables to ``page``."""
    led = ledger.ledger() if led is None else led
    pairs = ledger.results()
    table = caterpillar_table(led, ov.council_gaps(pairs))
    page.add("ov", caterpillar_figure("fig-overview-gaps", table))
    page.add("ov-map", gap_map_figure("fig-overview-map", table))
    tests = tests_table(ov.overview(pairs))
    page.add("ov", tests_values(tests))
    page.markdown["ov-results"] = tests_results(tests)
    page.tables["overview-tests"] = tests_display(tests)
    page.options["overview-tests"] = {"label": "Randomisation tests across the partnerships"}
    summary = ov.pool_robustness_summary(pairs)
    page.add("ov-pool", pool_values(summary))
    page.tables["overview-pools"] = pool_display(summary)
    page.options["overview-pools"] = {"label": "Donor-pool robustness of the partnerships' gaps"}
    return page
