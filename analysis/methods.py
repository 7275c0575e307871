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
