"""Chapter 3 (structures and roles): what differs between partnerships that the data can show.

All the analyses are descriptive (level 1 of the Maryland Scientific Methods Scale): associations
across the 32 partnerships, never effects of Community Planning.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.data import register
from analysis.data.panel import Outputs
from analysis.pages import figures
from analysis.pages.common import (
    GROUP_COLOURS,
    GROUP_ORDER,
    PageResult,
    alpha_level,
    correlation,
    council_values,
    fmt,
    fmt_int,
    fmt_p,
    names_list,
    page_settings,
    partnership_groups,
    population_axis,
    strength,
)

# --------------------------------------------------------------------------------------------
# Chapter 3: what differs between partnerships that the data can show

def ch03(outputs: Outputs, *, size_year: str, base: str, end: str, small: int, large: int) -> PageResult:
    """Partnership size against the change in the pooled alcohol-specific death rate from ``base`` to
    ``end``; ``small`` and ``large``: the population bounds of the small and large partnerships."""
    reg = register.load_register().set_index("code").sort_index()
    panel = outputs.panel
    pop = council_values(panel, "population", size_year)
    alc0 = council_values(panel, "alcohol_specific_death_rate_pooled", base)
    alc1 = council_values(panel, "alcohol_specific_death_rate_pooled", end)
    change = alc1 - alc0
    logpop = np.log10(pop)
    alpha = alpha_level()
    corr_change = correlation(logpop, change.loc[logpop.index], alpha)
    corr_level = correlation(logpop, alc0.loc[logpop.index], alpha)
    groups = partnership_groups()

    res = PageResult()
    conf = f"{1 - alpha:.0%}"
    res.text.update({
        "size-year": size_year, "base": base, "end": end, "conf": conf,
        "pop-min": fmt_int(pop.min()), "pop-min-name": register.name_of(pop.idxmin()),
        "pop-max": fmt_int(pop.max()), "pop-max-name": register.name_of(pop.idxmax()),
        "pop-ratio": fmt_int(pop.max() / pop.min()), "pop-median": fmt_int(pop.median()),
        "small": fmt_int(small), "large": fmt_int(large),
        "n-small": str(int((pop < small).sum())), "n-large": str(int((pop > large).sum())),
        "r-reading": strength(corr_change),
        "r-level-reading": strength(corr_level),
        "r": f"{corr_change.r:.2f}", "r-ci": f"{corr_change.ci_low:.2f} to {corr_change.ci_high:.2f}",
        "r-p": fmt_p(corr_change.p), "n": str(corr_change.n),
        "rho": f"{corr_change.rho:.2f}", "rho-p": fmt_p(corr_change.rho_p),
        "slope": fmt(corr_change.slope, 1),
        "slope-ci": f"{corr_change.slope_ci_low:.1f} to {corr_change.slope_ci_high:.1f}",
        "r-level": f"{corr_level.r:.2f}", "r-level-ci": f"{corr_level.ci_low:.2f} to {corr_level.ci_high:.2f}",
        "r-level-p": fmt_p(corr_level.p),
        "change-median": fmt(change.median(), 1), "n-fell": str(int((change < 0).sum())),
        "n-rose": str(int((change > 0).sum())),
    })
    # ITL3 geography
    n_parts = reg["itl3_codes"].map(lambda s: len(register.split_list(s)))
    split = reg.index[n_parts > 1]
    shared = reg.index[reg["itl3_shared"].astype(bool)]
    whole = reg.index[(n_parts == 1) & ~reg["itl3_shared"].astype(bool)]
    res.text.update({
        "n-split": str(len(split)), "split-names": names_list(split),
        "n-shared": str(len(shared)), "n-whole": str(len(whole)),
        "n-itl3": str(len({c for s in reg["itl3_codes"] for c in register.split_list(s)})),
    })
    fg = pd.crosstab(reg["lgbf_family_group_people"], reg["lgbf_family_group_other"])
    fg = fg.reindex(index=list(register.FAMILY_GROUPS), columns=list(register.FAMILY_GROUPS), fill_value=0)
    res.text["fg-diagonal"] = str(int(np.trace(fg.to_numpy())))
    res.text["fg-people4-other4"] = str(int(fg.loc[4, 4]))
    res.text["fg-people4-other1"] = str(int(fg.loc[4, 1]))
    res.text["fg-people4-other12"] = str(int(fg.loc[4, 1] + fg.loc[4, 2]))
    res.text["fg-people1-other4"] = str(int(fg.loc[1, 4]))
    fg_table = fg.copy()
    ends = {1: " (least deprived)", 4: " (most deprived)"}
    fg_table.index = [f"deprivation group {i}{ends.get(i, '')}" for i in fg.index]
    fg_table.columns = [f"area type {i}" + (" (most rural)" if i == 1 else " (most urban)" if i == 4 else "")
                        for i in fg.columns]
    res.tables["family_groups"] = fg_table.reset_index(names="LGBF family group")
    geo = pd.DataFrame({
        "Partnership": reg["name"],
        "ITL3 area(s)": reg["itl3_names"].map(lambda s: "; ".join(register.split_list(s))),
        "Split across ITL3 areas": np.where(n_parts > 1, "yes", ""),
        "ITL3 area shared with another council": np.where(reg["itl3_shared"].astype(bool), "yes", ""),
        f"Population {size_year}": pop.reindex(reg.index).map(fmt_int),
    })
    res.tables["geography"] = geo[(n_parts > 1) | reg["itl3_shared"].astype(bool)].sort_values("Partnership",
                                                                                                 ignore_index=True)

    fig, ax = figures.new_figure(width=7.5, height=4.6)
    for group in GROUP_ORDER:
        idx = groups.index[groups == group]
        ax.scatter(pop[idx], change[idx], s=40, color=GROUP_COLOURS[group], edgecolor="white", linewidth=0.6,
                   label=f"{group} ({len(idx)})", zorder=3)
    xs = np.linspace(logpop.min(), logpop.max(), 50)
    intercept = change.mean() - corr_change.slope * logpop.mean()
    ax.plot(10 ** xs, intercept + corr_change.slope * xs, color="#000000", lw=1.2, ls="--", label="least-squares line")
    ax.axhline(0, color="#000000", lw=0.6)
    population_axis(ax)
    for code in list(pop.nlargest(2).index) + list(pop.nsmallest(2).index) + [change.idxmax(), change.idxmin()]:
        ax.annotate(register.name_of(code), (pop[code], change[code]), fontsize=7.5, xytext=(4, 3),
                    textcoords="offset points")
    ax.set_xlabel(f"population, {size_year} (thousands, log scale)")
    ax.set_ylabel(f"change in deaths per 100,000\n({base} to {end}, pooled)")
    ax.set_title("Partnership size and the change in alcohol-specific deaths")
    ax.legend(fontsize=8, loc="best")
    alt = (
        f"Scatter plot of the {len(pop)} partnerships: population in {size_year} (log scale) against the change in the "
        f"pooled alcohol-specific death rate from {base} to {end}. The correlation is r = {res.text['r']} "
        f"({conf} interval {res.text['r-ci']}): {strength(corr_change)}; "
        f"{res.text['n-fell']} partnerships saw the rate fall and {res.text['n-rose']} saw it rise."
    )
    shown = pd.DataFrame({"name": [register.name_of(c) for c in pop.index], "group": groups.reindex(pop.index),
                          f"population {size_year}": pop, f"rate {base}": alc0.reindex(pop.index),
                          f"rate {end}": alc1.reindex(pop.index), "change": change.reindex(pop.index)})
    figures.glue_figure("fig-ch03-size", fig, alt, data=shown.rename_axis("area_code").reset_index())
    return res


def parameters() -> dict:
    """:func:`ch03`'s parameters, from the settings (``pages`` and ``attribution.events``)."""
    cfg = page_settings()["size"]
    return {"size_year": cfg["population_period"], "base": cfg["from"], "end": cfg["to"], "small": cfg["small"],
            "large": cfg["large"]}


def build(outputs: Outputs | None = None) -> PageResult:
    """The chapter on ``outputs`` (the pipeline's, built if not given), with the settings' parameters."""
    from analysis.data import panel

    return ch03(panel.build() if outputs is None else outputs, **parameters())
