"""The partnership profiles as generated pages: one plain MyST page per partnership, no kernel.

``python -m analysis profiles`` (run by ``make book`` before Sphinx) calls :func:`write_profiles`,
which writes ``book/profiles/``: ``index.md`` listing the 32 partnerships (case studies and the
pilot marked) and one page per partnership, named by :func:`~analysis.pages.profiles.facts.slug`
(``city-of-edinburgh.md``), with their figures as PNG files in ``book/profiles/figures/``. The folder
is generated at build time and not committed.

Each page is a template (:func:`page_text`) filled with the partnership's computed facts
(:func:`~analysis.pages.profiles.facts.profile_facts`): every number is computed when the book is
built, but nothing is executed when Sphinx reads the page. Figures are saved through the house
style (:func:`analysis.pages.figures.save_figure`: PNG, alt text that states the finding) and placed
with numbered, captioned ``{figure}`` directives; the ledger rows are an HTML table.

Pages and figures are written only when their content changes, so Sphinx re-reads only what
changed; when nothing the pages depend on has changed since the last run (the profile tables' key,
the code of this package and the settings), nothing is recomputed at all.
"""

from __future__ import annotations

import multiprocessing
import re
from pathlib import Path

from analysis import cache, settings
from analysis.data import register
from analysis.pages import figures, maps, tables
from analysis.pages.profiles import facts

#: Where the generated pages go (inside the book's source tree), and their figures.
OUT_DIR = facts.OUT_DIR
FIGURES = "figures"
#: Records the key of the inputs the pages were generated from (:func:`write_profiles`).
STAMP = ".inputs-key"



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
    return fig, alt


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
    return fig, facts.sii_facts(code)["sii-alt"]


def locator_figure(code: str):
    name = register.name_of(code)
    place = facts.population_facts(code)
    fig, ax = maps.locator(code, title=name)
    alt = (f"Map of Scotland's {place['n-councils']} council areas with {name} highlighted: it covers "
           f"{place['area-km2']} km², {place['area-share']} of Scotland's land area, the {place['area-rank']} "
           f"largest of the {place['n-councils']}.")
    return fig, alt


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
    return fig, alt


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


def page_text(code: str, figs: dict[str, tuple[str, str]]) -> str:
    """The template of one partnership's page, before :func:`fill` puts its facts in (``figs``: each
    figure's file, relative to the page, and its alt text)."""
    rec = facts.partnerships().set_index("code").loc[code]
    name = rec["name"]
    status = _status_paragraph(name, case_study=bool(rec["case_study"]), pilot=bool(rec["pilot"]))
    return f"""({f"profile-{code}"})=
# {name}

{status} Its council area code is {{glue:text}}`code`.

```{{figure}} {figs["locator"][0]}
:name: fig-{code}-locator
:alt: {figs["locator"][1]}
:figwidth: 320px

Where {name} lies among Scotland's council areas. {{glue:text}}`map-credit`
```

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

```{{figure}} {figs["outcomes"][0]}
:name: fig-{code}-outcomes
:alt: {figs["outcomes"][1]}

{name} (solid line) against the average of its people-services family group (dashed) and Scotland
(dotted). The dashed and dash-dotted vertical lines mark the start of the community planning duty and of
Single Outcome Agreements; values for multi-year windows and financial years are placed at the middle of
the period. {{glue:text}}`scotland-note`
```

## Inequality within {name}

The slope index of inequality (SII) is the difference in a rate between the most and the least deprived
ends of the partnership's own population, read from a line fitted across all its deprivation quintiles, so
that zero means no social gradient. {{glue:text}}`sii-sentence`

```{{figure}} {figs["inequality"][0]}
:name: fig-{code}-inequality
:alt: {figs["inequality"][1]}

Slope index of inequality in {{glue:text}}`sii-title` within {name} (solid line, with ScotPHO's interval
shaded) and within Scotland (dotted), by three-year window. Quintiles are of the partnership's own
population, so the two lines measure gradients within different populations.
```

## What the evidence ledger says

{{glue:text}}`ledger-sentence` The designs, the grading on the Maryland Scientific Methods Scale and the
verdict rules are explained in {{ref}}`methods-attribution`.

```{{raw}} html
{tables.html_table(facts.ledger_table(code), label=f"Evidence ledger rows about {name}")}
```
"""


def index_text(figs: dict[str, tuple[str, str]]) -> str:
    items = []
    for rec in facts.partnerships().itertuples(index=False):
        mark = {"case study": " (case study)", "pilot": " (pilot)"}.get(facts._status(rec), "")
        items.append(f"- {{doc}}`{rec.slug}`{mark}")
    listing = "\n".join(items)
    return f"""(profiles-index)=
# Partnership profiles

This part has one page for each of Scotland's {{glue:text}}`profiles-n` Community Planning Partnerships,
one per council area. Every page is generated from the same template when the book is built, and every
number on it is computed from the data. Each shows the partnership's part in the report, its family groups,
its population and place on the map, four outcomes over time against Scotland and its family group,
inequality within it, and the rows of the evidence ledger that concern it. The report's
{{glue:text}}`profiles-n-case-studies` case-study partnerships and its pilot are marked
{REPORT_CITE}.

```{{figure}} {figs["map"][0]}
:name: fig-profiles-map
:alt: {figs["map"][1]}

The partnerships by their part in the report: case studies (outlined), the pilot, and the rest.
{{glue:text}}`map-credit`
```

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
    names = ("map",) if code_or_index == "index" else ("locator", "outcomes", "inequality")
    return {name: out / FIGURES / f"{stem}-{name}.png" for name in names}


def partnership_page(code: str, out: Path) -> tuple[str, str]:
    """Save one partnership's figures and return ``(file name, page text)``."""
    files = _figure_files(code, out)
    figs = {}
    for name, make in (("locator", locator_figure), ("outcomes", outcomes_figure), ("inequality", inequality_figure)):
        fig, alt = make(code)
        figs[name] = (files[name].relative_to(out).as_posix(), figures.save_figure(files[name], fig, alt))
    values = facts.profile_facts(code)
    return f"{facts.slug(code)}.md", fill(page_text(code, figs), values)


def index_page(out: Path) -> str:
    files = _figure_files("index", out)
    fig, alt = index_map()
    figs = {"map": (files["map"].relative_to(out).as_posix(), figures.save_figure(files["map"], fig, alt))}
    status = facts.status_frame()
    values = {"profiles-n": str(len(status)), "map-credit": maps.MAP_CREDIT,
              "profiles-n-case-studies": facts.in_words(int((status == "case study").sum()))}
    return fill(index_text(figs), values)


def _page_worker(args: tuple[str, str]) -> tuple[str, str]:
    code, out = args
    return partnership_page(code, Path(out))


def inputs_key() -> str:
    """Key of what the pages depend on: raw and reference files, the data, attribution and page code,
    the settings (:func:`analysis.cache.key`)."""
    from analysis.data import panel, provenance

    return cache.key(provenance.verify_raw(), code=panel.PIPELINE_CODE + ("attribution/", "pages/"),
                     step="profile-pages")


def write_profiles(out_dir: str | Path | None = None, *, workers: int | None = None) -> list[Path]:
    """Write ``index.md`` and one page per partnership into ``out_dir`` (default ``book/profiles``).

    Stale pages and figures are removed, so the folder holds exactly the 33 pages and their figures.
    When the inputs' key matches the one recorded in ``out_dir`` and every page exists, nothing is
    recomputed. Pages are made in parallel, one process per core.
    """
    out = Path(out_dir) if out_dir is not None else OUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    codes = list(facts.partnerships()["code"])
    names = ["index.md", *(f"{facts.slug(c)}.md" for c in codes)]
    key = inputs_key()
    stamp = out / STAMP
    if stamp.exists() and stamp.read_text().strip() == key and all((out / n).exists() for n in names):
        return [out / n for n in sorted(names)]
    facts.tables()   # computed (or read from the cache) once, before the workers fork
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers or min(len(codes), multiprocessing.cpu_count())) as pool:
        pages = dict(pool.map(_page_worker, [(c, str(out)) for c in codes]))
    pages["index.md"] = index_page(out)
    wanted_figures = {p for c in [*codes, "index"] for p in _figure_files(c, out).values()}
    for old in out.glob("*.md"):
        if old.name not in pages:
            old.unlink()
    for old in (out / FIGURES).glob("*.png"):
        if old not in wanted_figures:
            old.unlink()
    for name, text in pages.items():
        _write(out / name, text)
    stamp.write_text(key + "\n")
    return [out / n for n in sorted(pages)]
