"""The partnership profiles as generated pages: one plain MyST page per partnership, no kernel.

``python -m analysis profiles`` (run by ``make book`` before Sphinx) calls :func:`write_profiles`,
which writes ``book/profiles/``: ``index.md`` listing the 32 partnerships (case studies and the
pilot marked) and one page per partnership, named by :func:`~analysis.pages.profiles.facts.slug`
(``city-of-edinburgh.md``), with their figures as PNG files in ``book/profiles/figures/``. The folder
is generated at build time and not committed.

Each page is a template (:func:`page_text`) filled with the partnership's computed facts
(:func:`~analysis.pages.profiles.facts.profile_facts`): every number is computed when the book is
built, but nothing is executed when Sphinx reads the page. Figures are saved through the house
style (:func:`save`: :func:`analysis.pages.figures.save_figure`'s PNG, alt text that states the
finding, and beside it a CSV of the data the figure plots) and placed with numbered, captioned
``{figure}`` directives; the ledger rows and each synthetic twin's donors are HTML tables. Under
every figure and table a provenance line (:func:`provenance`), as on the executed pages, links to
the source of the function that made it and, for a figure, to its CSV.

The section "Against its own synthetic twin" (:func:`twin_text`, :func:`twin_figure`) shows the
partnership's council-level synthetic controls from the evidence ledger (primary window), for
household income and for GDP per head: paths, gap, interval, MDE, p-value, pre-fit check, verdict,
donors by name and the donor-pool robustness, and why the claimant count is described only.

Pages and figures are written only when their content changes, so Sphinx re-reads only what
changed; when nothing the pages depend on has changed since the last run (the profile tables' key,
the code of this package and the settings), nothing is recomputed at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import parallel, paths, settings
from analysis.data import geo, register
from analysis.pages import figures, maps, tables
from analysis.pages.profiles import facts

#: Where the generated pages go (inside the book's source tree), and their figures.
OUT_DIR = facts.OUT_DIR
FIGURES = "figures"
#: Records the key of the inputs the pages were generated from (:func:`write_profiles`).
STAMP = facts.STAMP
inputs_key = facts.inputs_key
#: The folder of the book's highlighted source pages (``sphinx.ext.viewcode``; ``tools.book_render``
#: registers every function a page marks with ``data-cpp-source``), at the root of the built HTML.
SOURCE_FOLDER = "_modules"
#: How many folders below the book's root the pages sit (``book/profiles``): a source link climbs out.
PAGE_DEPTH = len(OUT_DIR.relative_to(paths.ROOT).parts)



EVENT_NAMES = {"duty": "community planning duty", "soa": "Single Outcome Agreements"}


def _events(ax) -> list:
    """Mark the settings' events on ``ax``; return legend handles."""
    handles = []
    styles = ["--", "-."]
    for (event, year), ls in zip(settings.load()["attribution"]["events"].items(), styles, strict=False):
        handles.append(ax.axvline(int(year), color="0.35", lw=0.9, ls=ls, zorder=1,
                                  label=f"{EVENT_NAMES.get(event, event)} ({int(year)})"))
    return handles


def _year_axis(ax) -> None:
    from matplotlib.ticker import FormatStrFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.xaxis.set_major_formatter(FormatStrFormatter("%d"))


def outcomes_figure(code: str):
    """Four outcomes over time: the partnership, its family-group average and Scotland."""
    t = facts.tables()
    name = register.name_of(code)
    fig, axes = figures.new_figure(8.0, 5.6, nrows=2, ncols=2)
    styles = {"council": dict(color=figures.OKABE_ITO[0], lw=2.0, ls="-", label=name),
              "family": dict(color=figures.OKABE_ITO[1], lw=1.4, ls="--", label="family-group average"),
              "scotland": dict(color=figures.OKABE_ITO[7], lw=1.2, ls=":", label="Scotland")}
    for ax, outcome in zip(axes.flat, facts.OUTCOMES, strict=True):
        frame = facts.comparison(code, outcome.indicator)
        for role, style in styles.items():
            s = frame[["x", role]].dropna()
            ax.plot(s["x"], s[role], marker="o" if len(s) < 4 else None, ms=3, **style)
        _events(ax)
        unit = t["series"].loc[t["series"]["indicator"] == outcome.indicator, "unit"].iloc[0]
        ax.set_title(t["titles"][outcome.indicator], fontsize="small")
        ax.set_ylabel(unit if len(unit) < 28 else unit.split(" (")[0], fontsize="x-small")
        ax.tick_params(labelsize="x-small")
        ax.grid(axis="x", visible=False)
        _year_axis(ax)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize="x-small")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    clauses = [facts.outcome_facts(code, o)["alt"] for o in facts.OUTCOMES]
    alt = f"Four line charts for {name} against Scotland and its family group. " + "; ".join(clauses) + "."
    return fig, alt, None


def inequality_figure(code: str):
    """The slope index of inequality over time, with ScotPHO's interval, against Scotland's."""
    t = facts.tables()
    sii = t["sii"]
    name = register.name_of(code)
    own = sii[sii["area_code"] == code].dropna(subset=["sii"])
    scot = sii[sii["area_code"] == register.SCOTLAND_CODE]
    fig, ax = figures.new_figure(7.0, 3.6)
    ax.fill_between(own["x"], own["sii_lowci"], own["sii_upci"], color=figures.OKABE_ITO[0], alpha=0.2, lw=0,
                    label=f"{name}: interval")
    ax.plot(own["x"], own["sii"], color=figures.OKABE_ITO[0], lw=2.0, label=name)
    ax.plot(scot["x"], scot["sii"], color=figures.OKABE_ITO[7], lw=1.2, ls=":", label="Scotland")
    ax.axhline(0, color="0.3", lw=0.8)
    _events(ax)
    ax.grid(axis="x", visible=False)
    _year_axis(ax)
    ax.set_title(f"Slope index of inequality: {t['titles'][facts.INEQUALITY].lower()}", fontsize="medium")
    ax.set_ylabel(own["unit"].iloc[0] if len(own) else "", fontsize="small")
    ax.set_xlabel("mid-point of the three-year window", fontsize="small")
    ax.legend(frameon=False, fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    cols = ["area_code", "period", "x", "sii", "sii_lowci", "sii_upci", "unit"]
    data = pd.concat([own.assign(area=name), scot.assign(area="Scotland")], ignore_index=True)
    return fig, facts.sii_facts(code)["sii-alt"], data[["area", *cols]]


def locator_figure(code: str):
    name = register.name_of(code)
    place = facts.population_facts(code)
    fig, ax = maps.locator(code, title=name)
    alt = (f"Map of Scotland's {place['n-councils']} council areas with {name} highlighted: it covers "
           f"{place['area-km2']} km², {place['area-share']} of Scotland's land area, the {place['area-rank']} "
           f"largest of the {place['n-councils']}.")
    km2 = facts.tables()["area_km2"]
    data = pd.DataFrame({"area_code": km2.index, "area_name": [register.name_of(c) for c in km2.index],
                         "highlighted": km2.index == code, "area_km2": km2.to_numpy()})
    return fig, alt, data


def index_map():
    """The overview map of the index page: each partnership's part in the report."""
    status = facts.status_frame()
    case = status.index[status == "case study"]
    pilot = status.index[status == "pilot"]
    fig, _ = maps.choropleth(status, title="The partnerships in the report", label="Part in the report",
                             highlight=case, categorical=True)
    others = len(status) - len(case) - len(pilot)
    alt = (f"Map of Scotland's {len(status)} council areas: the report's {facts.in_words(len(case))} case-study "
           f"partnerships, outlined, are {facts.join_names(sorted(register.name_of(c) for c in case))}; the pilot "
           f"was {facts.join_names([register.name_of(c) for c in pilot])}; the other {others} were not studied "
           "in it.")
    data = pd.DataFrame({"area_code": status.index, "area_name": [register.name_of(c) for c in status.index],
                         "part_in_report": status.astype(str).to_numpy()})
    return fig, alt, data


def twin_figure(code: str):
    """The partnership against its synthetic twin, one panel per outcome of :data:`facts.TWINS`:
    actual and synthetic paths in money per head, the primary window shaded, the events marked."""
    name = register.name_of(code)
    fig, axes = figures.new_figure(8.0, 3.6, ncols=len(facts.TWINS))
    clauses = []
    for ax, twin in zip(np.atleast_1d(axes), facts.TWINS, strict=True):
        row = facts.twin_row(code, twin)
        ax.set_title(twin.phrase[0].upper() + twin.phrase[1:], fontsize="small")
        clauses.append(facts.twin_facts(code, twin)["alt"])
        if not row["ran"]:
            ax.text(0.5, 0.5, "synthetic control not run", transform=ax.transAxes, ha="center", fontsize="small")
            ax.set_axis_off()
            continue
        first, last = row["window"]
        ax.axvspan(first, last, color=figures.OKABE_ITO[4], alpha=0.15, lw=0, label="primary window")
        for series, style in (("actual", dict(color=figures.OKABE_ITO[0], lw=2.0, ls="-", label=name)),
                              ("synthetic", dict(color=figures.OKABE_ITO[1], lw=1.6, ls="--",
                                                 label="synthetic twin"))):
            s = pd.Series(row[series]).sort_index()
            ax.plot(s.index.to_numpy(), s.to_numpy(), **style)
        _events(ax)
        ax.set_ylabel(row["unit"], fontsize="x-small")
        ax.tick_params(labelsize="x-small")
        ax.grid(axis="x", visible=False)
        _year_axis(ax)
    handles, labels = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, frameon=False, fontsize="x-small")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    alt = f"Two line charts of {name} against its synthetic twin, a weighted mix of English and Welsh districts: " \
        + "; ".join(clauses) + "."
    return fig, alt, None


# --------------------------------------------------------------------------------------------
# filling the template

_GLUE = re.compile(r"\{glue:text\}`([^`]+)`")


def fill(template: str, values: dict[str, str]) -> str:
    """Put each ``{glue:text}`key``` of ``template`` in from ``values`` (a missing key is an error)."""
    def value(match: re.Match) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"the profile template uses {key!r}, which the facts do not give")
        return values[key]

    return _GLUE.sub(value, template)


#: The report paragraph that names the case studies and the pilot.
REPORT_CITE = "{cite:p}`stevenson2002{executive summary, para 2}`"


def _status_paragraph(n: str, *, case_study: bool, pilot: bool) -> str:
    if case_study:
        return (f"{n} was one of the {{glue:text}}`n-case-studies` case-study partnerships whose members the "
                f"report interviewed {REPORT_CITE}, so the report's account of how Community Planning worked "
                f"draws in part on it.")
    if pilot:
        return (f"{n} was not one of the report's case studies, but the pilot exercise that supplied further "
                f"evidence to the report was carried out there {REPORT_CITE}.")
    return (f"{n} was neither one of the report's case-study partnerships nor the site of its pilot exercise "
            f"{REPORT_CITE}, so none of the report's evidence came from it directly; its data are shown for "
            f"comparison.")


#: Which function makes each figure of a page (its provenance line links to its source).
MAKERS: dict[str, Callable] = {"locator": locator_figure, "outcomes": outcomes_figure,
                               "inequality": inequality_figure, "twin": twin_figure}
#: A figure as the template sees it: its PNG and CSV (relative to the page) and its alt text.
Figure = tuple[str, str, str]


def provenance(maker: Callable, csv: str | None = None) -> str:
    """The line under a figure or table, in MyST: a link to the source of the function that made it
    (marked ``data-cpp-source`` for ``tools.book_render``, which gives viewcode the function, so the
    link's page and anchor exist) and, for a figure, a download link to the data it plots."""
    module, name = maker.__module__, maker.__qualname__
    href = "../" * PAGE_DEPTH + f"{SOURCE_FOLDER}/{module.replace('.', '/')}.html#{name}"
    line = f'Made by <a class="cpp-source" data-cpp-source="{module}:{name}" href="{href}">`{module}.{name}()`</a>'
    if csv:
        line += f" · {{download}}`plotted data (CSV) <{csv}>`"
    return f"```{{rst-class}} cpp-provenance\n```\n\n{line}"


def figure_block(fig: Figure, label: str, caption: str, maker: Callable, *, width: str | None = None) -> str:
    """A numbered, captioned figure with its alt text and, under the caption, its provenance line
    (the outer fence is longer than the inner one of the provenance line)."""
    png, alt, csv = fig
    options = f":name: {label}\n:alt: {alt}\n" + (f":figwidth: {width}\n" if width else "")
    return f"````{{figure}} {png}\n{options}\n{caption.strip()}\n\n{provenance(maker, csv)}\n````"


def table_block(table: pd.DataFrame, label: str, maker: Callable) -> str:
    """An HTML table (:func:`analysis.pages.tables.html_table`) and the line naming its maker."""
    return f"```{{raw}} html\n{tables.html_table(table, label=label)}\n```\n\n{provenance(maker)}"


def twin_text(code: str, name: str, fig: Figure) -> str:
    """The section on the partnership's synthetic twins (template: every number is a glue key)."""
    parts = []
    for twin in facts.TWINS:
        key = f"twin-{twin.key}"
        donors = facts.twin_donors(code, twin)
        table = (table_block(donors, f"Donors of {facts.possessive(name)} synthetic twin: {twin.phrase}",
                             facts.twin_donors) if len(donors) else "")
        parts.append(f"""### {twin.phrase[0].upper() + twin.phrase[1:]}

{{glue:text}}`{key}-gap` {{glue:text}}`{key}-test` {{glue:text}}`{key}-fit`

{{glue:text}}`{key}-verdict`

{{glue:text}}`{key}-pools`

{{glue:text}}`{key}-donors`

{table}
""")
    caption = (f"{name} (solid line) against its synthetic twin (dashed) in each outcome's units per head. The "
               "twin is fitted to the years before the duty; the shaded years are the primary window, "
               "{glue:text}`twin-window`, over which the gap is averaged, and the dashed and dash-dotted vertical "
               "lines mark the start of the community planning duty and of Single Outcome Agreements.")
    subsections = "\n".join(parts)
    return f"""## Against its own synthetic twin

Every partnership took on the duty on the same day, so no Scottish council is an untreated comparison for another.
A synthetic control gives each council a twin instead: the weighted mix of districts of England and Wales whose
path before the duty ({{glue:text}}`twin-event`) came closest to the council's own. The gap between the council and
its twin after the duty is the design's estimate; it is read against the council's own minimum detectable effect
and a placebo test in which every donor district in turn plays the treated council, and it is averaged over the
primary window, {{glue:text}}`twin-window`, before the Single Outcome Agreements and the financial crisis
({{ref}}`methods-attribution`). The districts of England and Wales had partnership regimes of their own, so the
comparison is between regimes, not against no partnership working; these are exploratory rows of the ledger.

{figure_block(fig, f"fig-{code}-twin", caption, twin_figure)}

{subsections}
### The claimant count

{{glue:text}}`twin-claimant`
"""


def page_text(code: str, figs: dict[str, Figure]) -> str:
    """The template of one partnership's page, before :func:`fill` puts its facts in (``figs``: each
    figure's PNG and CSV files, relative to the page, and its alt text)."""
    rec = facts.partnerships().set_index("code").loc[code]
    name = rec["name"]
    status = _status_paragraph(name, case_study=bool(rec["case_study"]), pilot=bool(rec["pilot"]))
    locator = figure_block(figs["locator"], f"fig-{code}-locator",
                           f"Where {name} lies among Scotland's council areas. {{glue:text}}`map-credit`",
                           locator_figure, width="320px")
    outcomes = figure_block(figs["outcomes"], f"fig-{code}-outcomes", f"""
{name} (solid line) against the average of its people-services family group (dashed) and Scotland
(dotted). The dashed and dash-dotted vertical lines mark the start of the community planning duty and of
Single Outcome Agreements; values for multi-year windows and financial years are placed at the middle of
the period. {{glue:text}}`scotland-note`""", outcomes_figure)
    inequality = figure_block(figs["inequality"], f"fig-{code}-inequality", f"""
Slope index of inequality in {{glue:text}}`sii-title` within {name} (solid line, with ScotPHO's interval
shaded) and within Scotland (dotted), by three-year window. Quintiles are of the partnership's own
population, so the two lines measure gradients within different populations.""", inequality_figure)
    ledger = table_block(facts.ledger_table(code), f"Evidence ledger rows about {name}", facts.ledger_table)
    return f"""({f"profile-{code}"})=
# {name}

{status} Its council area code is {{glue:text}}`code`.

{locator}

## People and place

{name} had {{glue:text}}`population` residents in {{glue:text}}`population-year`, {{glue:text}}`population-share`
of Scotland's population. Since {{glue:text}}`population-base-year`, when the community planning duty began, its
population {{glue:text}}`population-change`. It covers {{glue:text}}`area-km2` km², the {{glue:text}}`area-rank`
largest of Scotland's {{glue:text}}`n-councils` council areas.

The Local Government Benchmarking Framework compares councils within family groups {{cite:p}}`islgbf`. For people
services, where councils are grouped by the deprivation of the people they serve, {name} is in family group
{{glue:text}}`family-people` with {{glue:text}}`family-people-members`. For other services, grouped by how rural or
urban councils are, it is in family group {{glue:text}}`family-other` with {{glue:text}}`family-other-members`.

## Outcomes over time

The outcomes below set {name} against Scotland and against the average of the
{{glue:text}}`family-people-size` councils in its people-services family group, in the latest period all
three have:

- **{{glue:text}}`alcohol-title`:** {{glue:text}}`alcohol-sentence`
- **{{glue:text}}`admissions-title`:** {{glue:text}}`admissions-sentence`
- **{{glue:text}}`employment-title`:** {{glue:text}}`employment-sentence`
- **{{glue:text}}`mortality-title`:** {{glue:text}}`mortality-sentence`

Higher is worse for the death and admission rates and better for employment. These are descriptions, not
effects: every partnership took on the duty at the same time, so the gap to Scotland or to the family group
does not show what Community Planning did ({{ref}}`attribution`).

{outcomes}

## Inequality within {name}

The slope index of inequality (SII) is the difference in a rate between the most and the least deprived
ends of the partnership's own population, read from a line fitted across all its deprivation quintiles, so
that zero means no social gradient. {{glue:text}}`sii-sentence`

{inequality}

{twin_text(code, name, figs["twin"])}
## What the evidence ledger says

{{glue:text}}`ledger-sentence` The designs, the grading on the Maryland Scientific Methods Scale and the
verdict rules are explained in {{ref}}`methods-attribution`.

{ledger}
"""


def index_text(figs: dict[str, Figure]) -> str:
    items = []
    for rec in facts.partnerships().itertuples(index=False):
        mark = {"case study": " (case study)", "pilot": " (pilot)"}.get(facts._status(rec), "")
        items.append(f"- {{doc}}`{rec.slug}`{mark}")
    listing = "\n".join(items)
    overview = figure_block(figs["map"], "fig-profiles-map", """
The partnerships by their part in the report: case studies (outlined), the pilot, and the rest.
{glue:text}`map-credit`""", index_map)
    return f"""(profiles-index)=
# Partnership profiles

This part has one page for each of Scotland's {{glue:text}}`profiles-n` Community Planning Partnerships,
one per council area. Every page is generated from the same template when the book is built, and every
number on it is computed from the data. Each shows the partnership's part in the report, its family groups,
its population and place on the map, four outcomes over time against Scotland and its family group,
inequality within it, the partnership against its own synthetic twin built from districts of England and
Wales, and the rows of the evidence ledger that concern it. The report's
{{glue:text}}`profiles-n-case-studies` case-study partnerships and its pilot are marked
{REPORT_CITE}.

{{glue:text}}`twin-summary`

{overview}

{listing}
"""


# --------------------------------------------------------------------------------------------
# writing the pages


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` unless it already holds it (unchanged pages keep their dates)."""
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def _figure_files(code_or_index: str, out: Path) -> dict[str, Path]:
    stem = "index" if code_or_index == "index" else facts.slug(code_or_index)
    names = ("map",) if code_or_index == "index" else tuple(MAKERS)
    return {name: out / FIGURES / f"{stem}-{name}.png" for name in names}


def save(path: Path, out: Path, fig, alt: str, data: pd.DataFrame | None = None) -> Figure:
    """Save a figure's PNG (:func:`analysis.pages.figures.save_figure`) and, beside it, its data as
    CSV (``data``, or what the figure plots: :func:`analysis.pages.figures.plotted_data`); return
    the two files relative to ``out`` (the page's folder) and the checked alt text."""
    table = figures.plotted_data(fig) if data is None else data
    alt = figures.save_figure(path, fig, alt)
    csv = path.with_suffix(".csv")
    _write(csv, table.to_csv(index=False))
    return path.relative_to(out).as_posix(), alt, csv.relative_to(out).as_posix()


def partnership_page(code: str, out: Path) -> tuple[str, str]:
    """Save one partnership's figures and return ``(file name, page text)``."""
    files = _figure_files(code, out)
    figs = {name: save(files[name], out, *make(code)) for name, make in MAKERS.items()}
    values = facts.profile_facts(code)
    return f"{facts.slug(code)}.md", fill(page_text(code, figs), values)


def index_page(out: Path) -> str:
    files = _figure_files("index", out)
    figs = {"map": save(files["map"], out, *index_map())}
    status = facts.status_frame()
    values = {"profiles-n": str(len(status)), "map-credit": maps.MAP_CREDIT,
              "profiles-n-case-studies": facts.in_words(int((status == "case study").sum())),
              **facts.twin_summary()}
    return fill(index_text(figs), values)


def _page_worker(args: tuple[str, str]) -> tuple[str, str]:
    code, out = args
    return partnership_page(code, Path(out))


def write_profiles(out_dir: str | Path | None = None, *, workers: int | None = None) -> list[Path]:
    """Write ``index.md`` and one page per partnership into ``out_dir`` (default ``book/profiles``).

    Stale pages and figures are removed, so the folder holds exactly the 33 pages and their figures.
    When the inputs' key matches the one recorded in ``out_dir`` and every page exists, nothing is
    recomputed. Pages are made in parallel, one process per core.
    """
    out = Path(out_dir) if out_dir is not None else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    current = facts.current_pages(out)
    if current is not None:
        return current
    codes = list(facts.partnerships()["code"])
    key = inputs_key()
    stamp = out / STAMP
    facts.tables()   # computed (or read from the cache) once, before the workers fork
    figures.apply_style()  # and seaborn with scipy.stats imported once, not in every worker
    geo.drawing_boundaries(maps.TOLERANCE)  # the map's boundaries read once
    pages = dict(parallel.fork_map(_page_worker, [(c, str(out)) for c in codes], workers=workers))
    pages["index.md"] = index_page(out)
    pngs = {p for c in [*codes, "index"] for p in _figure_files(c, out).values()}
    wanted_figures = pngs | {p.with_suffix(".csv") for p in pngs}
    for old in out.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for old in [*(out / FIGURES).glob("*.png"), *(out / FIGURES).glob("*.csv")]:
        if old not in wanted_figures:
            old.unlink()
    for name, text in pages.items():
        _write(out / name, text)
    stamp.write_text(key + "\n")
    return [out / n for n in sorted(pages)]
