"""What the chapter pages share: their result type, and small helpers on the panel and statistics.

Every chapter page has its own module (``analysis.pages.ch01`` … ``ch09``) whose ``chNN(outputs,
**parameters)`` glues that chapter's figures (house style, alt text stating the finding) and returns a
:class:`PageResult`: the strings the page glues for its prose and the tables it shows. Its
``parameters()`` reads the years and periods it compares from the settings (``pages`` and
``attribution.events``); its ``build()`` runs it on the panel with them. The Markdown pages hold no
computation, and no page module types a year or threshold of its own.

All the analyses are descriptive. Where two things are compared across the 32 partnerships the
result is an association at one point or over one period (level 1 of the Maryland Scientific
Methods Scale), never an effect of Community Planning.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import settings
from analysis.data import register
from analysis.errors import DataError
from analysis.pages import figures

#: Source groups of the indicators, by indicator-id prefix (anything else is NRS or ONS data
#: republished by the Scottish Government, or derived from it).
SOURCE_GROUPS = ("NRS and ONS", "ScotPHO", "CPOP", "LGBF")
SOURCE_COLOURS = dict(zip(SOURCE_GROUPS, [figures.OKABE_ITO[0], figures.OKABE_ITO[1], figures.OKABE_ITO[2],
                                          figures.OKABE_ITO[3]], strict=True))

GROUP_CASE, GROUP_PILOT, GROUP_OTHER = "case study", "pilot", "other"
GROUP_ORDER = (GROUP_CASE, GROUP_PILOT, GROUP_OTHER)
GROUP_COLOURS = {GROUP_CASE: figures.OKABE_ITO[0], GROUP_PILOT: figures.OKABE_ITO[5], GROUP_OTHER: "#7F7F7F"}

TIMELINE_FILE = "timeline.csv"


class Tables(dict):
    """A page's tables by name, each with the function that made it (:attr:`sources`: the function
    that put it here), so the page can link every table to its source."""

    def __init__(self, *args, **kwargs):
        super().__init__()
        self.sources: dict[str, str] = {}
        self.update(*args, **kwargs)

    def __setitem__(self, name: str, table: pd.DataFrame) -> None:
        self.sources[name] = figures.maker()
        super().__setitem__(name, table)

    def update(self, *args, **kwargs) -> None:
        for name, table in dict(*args, **kwargs).items():
            self.sources[name] = figures.maker()
            super().__setitem__(name, table)


@dataclass
class PageResult:
    """What a page needs: strings to glue into its prose, Markdown to glue as blocks, tables to show
    (with their display options); its figures are glued while it is built.

    A page's code is then two lines: ``page = chNN.build().glue()`` and, where a table stands,
    ``page.table("name")``.
    """

    text: dict[str, str] = field(default_factory=dict)
    tables: Tables = field(default_factory=Tables)
    markdown: dict[str, str] = field(default_factory=dict)
    options: dict[str, dict] = field(default_factory=dict)

    def add(self, prefix: str, values: dict[str, str]) -> None:
        """Add ``values`` to the text under ``prefix-<key>``."""
        self.text.update({f"{prefix}-{k}": v for k, v in values.items()})

    def glue(self) -> PageResult:
        """Glue every string and Markdown block for the page's ``{glue:text}`` and ``{glue:md}`` roles."""
        from IPython.display import Markdown
        from myst_nb import glue

        for key, value in self.text.items():
            figures.glue_text(key, value)
        for key, value in self.markdown.items():
            glue(key, Markdown(value), display=False)
        return self

    def table(self, name: str):
        """The table ``name`` as the cell's output (:func:`analysis.pages.tables.show`)."""
        from analysis.pages import tables

        source = self.tables.sources.get(name, "") if isinstance(self.tables, Tables) else ""
        return tables.show(self.tables[name], source=source, **self.options.get(name, {}))


# --------------------------------------------------------------------------------------------
# small helpers


def source_group(indicator: str) -> str:
    """The source group of an indicator id."""
    for prefix, name in (("scotpho_", "ScotPHO"), ("cpop_", "CPOP"), ("lgbf_", "LGBF")):
        if indicator.startswith(prefix):
            return name
    return "NRS and ONS"


def fmt_int(x: float) -> str:
    return f"{int(round(float(x))):,}"


def fmt(x: float, digits: int = 1) -> str:
    return f"{float(x):,.{digits}f}"


def fmt_p(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def alpha_level() -> float:
    return float(settings.load()["attribution"]["alpha"])


def page_settings() -> dict:
    """The ``pages`` section of the settings: the years and periods the chapters compare."""
    return settings.load()["pages"]


def event_years() -> dict[str, int]:
    """The years of the events every partnership experienced at once (``attribution.events``)."""
    return {name: int(year) for name, year in settings.load()["attribution"]["events"].items()}


def confidence(alpha: float | None = None, *, equivalence: bool = False) -> str:
    """The level of a test's interval at ``alpha`` as a percentage: '95%' at 0.05, or for two one-sided
    tests (``equivalence``) the matching '90%'."""
    alpha = alpha_level() if alpha is None else alpha
    return f"{1 - (2 * alpha if equivalence else alpha):.0%}"


def council_rows(panel: pd.DataFrame, indicator: str, breakdown: str = "all") -> pd.DataFrame:
    rows = panel[(panel["area_type"] == register.COUNCIL) & (panel["indicator"] == indicator)
                 & (panel["breakdown"] == breakdown)]
    if rows.empty:
        raise DataError(f"the panel has no council rows for indicator {indicator!r}, breakdown {breakdown!r}")
    return rows


def council_values(panel: pd.DataFrame, indicator: str, period: str, breakdown: str = "all") -> pd.Series:
    """One value per council for one indicator and period, indexed by council code.

    Raises if any of the 32 councils has no value: a comparison of partnerships must not silently
    drop one of them.
    """
    rows = council_rows(panel, indicator, breakdown)
    rows = rows[rows["period"] == period]
    values = rows.set_index("area_code")["value"].astype(float)
    absent = sorted(set(register.council_codes()) - set(values.index))
    if absent:
        raise DataError(f"{indicator} {period}: no value for {', '.join(register.name_of(c) for c in absent)}",
                        column="value")
    return values.reindex(sorted(values.index))


def scotland_series(panel: pd.DataFrame, indicator: str, breakdown: str = "all") -> pd.Series:
    rows = panel[(panel["area_type"] == register.SCOTLAND) & (panel["indicator"] == indicator)
                 & (panel["breakdown"] == breakdown)]
    return rows.set_index("year")["value"].astype(float).sort_index()


def partnership_groups() -> pd.Series:
    """'case study', 'pilot' or 'other' for each council code, from the register."""
    reg = register.load_register().set_index("code")
    group = pd.Series(GROUP_OTHER, index=reg.index, dtype=object)
    group[reg["case_study"].astype(bool)] = GROUP_CASE
    group[reg["pilot"].astype(bool)] = GROUP_PILOT
    return group.sort_index()


def names_list(codes) -> str:
    names = sorted(register.name_of(c) for c in codes)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------------------------
# correlation with a confidence interval


@dataclass(frozen=True)
class Correlation:
    """Pearson correlation with a Fisher-z interval, Spearman's rho and the OLS slope."""

    r: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    rho: float
    rho_p: float
    slope: float
    slope_ci_low: float
    slope_ci_high: float


def correlation(x, y, alpha: float = 0.05) -> Correlation:
    """Pearson's r of ``x`` and ``y`` with a (1 - alpha) interval from Fisher's z transform.

    Pairs with a missing value raise an error rather than being dropped.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of equal length")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("x and y must be finite: missing pairs are not dropped silently")
    n = len(x)
    if n < 4:
        raise ValueError("a correlation interval needs at least 4 pairs")
    r, p = stats.pearsonr(x, y)
    z = math.atanh(max(min(r, 1 - 1e-12), -1 + 1e-12))
    half = stats.norm.ppf(1 - alpha / 2) / math.sqrt(n - 3)
    rho, rho_p = stats.spearmanr(x, y)
    fit = stats.linregress(x, y)
    t = stats.t.ppf(1 - alpha / 2, n - 2)
    return Correlation(
        r=float(r), ci_low=math.tanh(z - half), ci_high=math.tanh(z + half), p=float(p), n=n,
        rho=float(rho), rho_p=float(rho_p), slope=float(fit.slope),
        slope_ci_low=float(fit.slope - t * fit.stderr), slope_ci_high=float(fit.slope + t * fit.stderr),
    )


def strength(c: Correlation) -> str:
    """A plain-words reading of a correlation and its interval."""
    size = "weak" if abs(c.r) < 0.3 else "moderate" if abs(c.r) < 0.5 else "strong"
    sign = "negative" if c.r < 0 else "positive"
    if c.ci_low <= 0 <= c.ci_high:
        return f"a {size} {sign} association whose interval includes no association at all"
    return f"a {size} {sign} association whose interval excludes zero"


def mean_difference(a, b, alpha: float = 0.05) -> tuple[float, float, float, float]:
    """Difference of means ``mean(a) - mean(b)`` with a Welch interval and p-value."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(1 - alpha)
    return float(a.mean() - b.mean()), float(ci.low), float(ci.high), float(res.pvalue)


# --------------------------------------------------------------------------------------------
# indicator coverage (chapters 4, 8 and 9)


def council_indicator_years(panel: pd.DataFrame) -> pd.DataFrame:
    """One row per (indicator, year) with council-level data (breakdown 'all'): the indicator's
    source group and the number of councils with a value. A period is dated by its first year."""
    rows = panel[(panel["area_type"] == register.COUNCIL) & (panel["breakdown"] == "all")]
    out = rows.groupby(["indicator", "year"])["area_code"].nunique().rename("councils").reset_index()
    out["source_group"] = out["indicator"].map(source_group)
    return out.sort_values(["indicator", "year"], ignore_index=True)


def coverage_by_year(panel: pd.DataFrame, years: range | None = None) -> pd.DataFrame:
    """Number of indicators with council-level data in each year, by source group (years × groups)."""
    iy = council_indicator_years(panel)
    table = iy.groupby(["year", "source_group"])["indicator"].nunique().unstack(fill_value=0)
    table = table.reindex(columns=list(SOURCE_GROUPS), fill_value=0)
    if years is None:
        years = range(int(iy["year"].min()), int(iy["year"].max()) + 1)
    table = table.reindex(list(years), fill_value=0)
    table.index.name = "year"
    table.columns.name = None
    return table.astype(int)
def population_axis(ax) -> None:
    """A log-scale x axis labelled in thousands of people."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator([20_000, 50_000, 100_000, 200_000, 500_000]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:,.0f}"))
