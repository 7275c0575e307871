"""The facts of the partnership profiles: everything a profile page states, computed for all 32.

:mod:`analysis.pages.profiles.render` turns these into pages. Everything a page shows is computed
here from the panel (:func:`analysis.data.panel.build`) and the evidence ledger
(:func:`analysis.attribution.ledger.ledger`):

* status in the report (case study, pilot, neither) and LGBF family groups, from the register;
* population (NRS mid-year estimates) against Scotland's, and land area (from the boundaries);
* four outcomes over time against Scotland and the average of the partnership's LGBF family group
  for people services (:data:`OUTCOMES`);
* inequality within the partnership: ScotPHO's slope index of inequality over time
  (:data:`INEQUALITY`);
* the ledger rows about the partnership itself and about the ITL3 areas that contain it;
* the partnership against its own synthetic twin (:data:`TWINS`): the council-level synthetic
  controls of the ledger, primary window, with their paths, donors by name, donor-pool robustness
  and verdicts, and the claimant count, which no design can use (:func:`twin_facts`).

The tables the pages need are small; they are computed once for all 32 partnerships and kept in
``data/cache`` under a key of the raw checksums, the reference files, the code and the settings
(:mod:`analysis.cache`).
"""

from __future__ import annotations

import functools
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import cache, paths, settings
from analysis.data import provenance, register

log = logging.getLogger(__name__)

#: Where the generated pages go (inside the book's source tree).
OUT_DIR = paths.ROOT / "book" / "profiles"
#: LGBF family-group column used for outcome comparisons: the people-services groups, which are
#: formed by deprivation, the circumstance most of these outcomes depend on.
FAMILY_COLUMN = "lgbf_family_group_people"


@dataclass(frozen=True)
class Outcome:
    key: str  # glue-key prefix
    indicator: str


#: The outcomes every profile shows (panel indicator ids), in panel order on the figure.
OUTCOMES = (
    Outcome("alcohol", "alcohol_specific_death_rate_pooled"),  # NRS deaths, pooled 3-year crude rate
    Outcome("admissions", "scotpho_alcohol_admissions"),  # ScotPHO, age-sex standardised
    Outcome("employment", "employment_rate"),  # annual population survey, percent
    Outcome("mortality", "cpop_early_mortality"),  # CPOP outcome
)
@dataclass(frozen=True)
class Twin:
    key: str  # glue-key prefix
    test_id: str  # the ledger's council-level synthetic-control test (settings: attribution.tests)
    phrase: str  # the outcome in prose ("household income per head")


#: The council-level synthetic controls every profile shows, in the order of the twin figure's panels.
TWINS = (
    Twin("gdhi", "gdhi-council-synth", "gross disposable household income per head"),
    Twin("gdp", "gdp-council-synth", "GDP per head (chained volume)"),
)
#: The ScotPHO indicator whose within-partnership slope index of inequality is shown.
INEQUALITY = "scotpho_deaths_all_ages"
#: Population indicator used to weight councils into a Scotland series when a source has none
#: and the ledger's settings give no rule for that outcome.
DEFAULT_WEIGHT = "population"

_SII = ("sii", "sii_lowci", "sii_upci")
#: Confidence level of ScotPHO's published intervals (fixed by the publisher, not by our settings).
SCOTPHO_CI_LEVEL = 95
_CODE = re.compile(r"^S12\d{6}$")


# --------------------------------------------------------------------------------------------
# names and slugs


def slug(code: str) -> str:
    """File name stem of a partnership's page: its official name, lower case, words joined by '-'."""
    name = register.name_of(code).casefold().replace("&", " and ")
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-")


#: In the pages' folder: the key of the inputs the pages were generated from.
STAMP = ".inputs-key"


def inputs_key() -> str:
    """Key of what the pages depend on: raw and reference files, the data, attribution and page code,
    the settings (:func:`analysis.cache.key`)."""
    from analysis.data import panel

    return cache.key(provenance.verify_raw(), code=panel.PIPELINE_CODE + ("attribution/", "pages/"),
                     step="profile-pages")


def current_pages(out: Path) -> list[Path] | None:
    """The pages in ``out`` if it holds every one, generated under the current :func:`inputs_key`;
    else None. Imports no plotting code, so a build with nothing to remake stays quick."""
    names = ["index.md", *(f"{slug(c)}.md" for c in partnerships()["code"])]
    stamp = Path(out) / STAMP
    if stamp.exists() and stamp.read_text().strip() == inputs_key() and all((out / n).exists() for n in names):
        return [out / n for n in sorted(names)]
    return None


def partnerships() -> pd.DataFrame:
    """The 32 partnerships with slug, status and family groups, sorted by name."""
    reg = register.load_register()
    out = pd.DataFrame({
        "code": reg["code"], "name": reg["name"], "slug": reg["code"].map(slug),
        "case_study": reg["case_study"], "pilot": reg["pilot"],
        "family_people": reg["lgbf_family_group_people"], "family_other": reg["lgbf_family_group_other"],
        "itl3_codes": reg["itl3_codes"],
    })
    if out["slug"].duplicated().any():
        raise ValueError(f"two partnerships share a page name: {sorted(out['slug'][out['slug'].duplicated()])}")
    return out.sort_values("name", ignore_index=True)


def _status(rec) -> str:
    return "case study" if rec.case_study else ("pilot" if rec.pilot else "")


_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]


def in_words(n: int) -> str:
    return _WORDS[n] if 0 <= n < len(_WORDS) else f"{n:,}"


def possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def join_names(names: list[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# --------------------------------------------------------------------------------------------
# periods


def period_mid(period: str) -> float:
    """Mid-point of a period label, in years: 2005 → 2005.5; 2005/06 → 2005.75 (April to March);
    2002-2004 → 2003.5; 2002/03-2004/05 → 2003.75. Used to place windows on a time axis."""
    years = [int(y) for y in re.findall(r"\d{4}", period)]
    if not years or len(years) > 2:
        raise ValueError(f"cannot read period {period!r}")
    start, end = years[0], years[-1]
    offset = 0.25 if "/" in period else 0.0  # financial years run April to March
    return (start + end + 1) / 2 + offset


# --------------------------------------------------------------------------------------------
# the tables behind the pages (computed once for all partnerships, cached on disk)


def _scotland_weight(outcome: str) -> str:
    for test in settings.load()["attribution"]["tests"]:
        weight = (test.get("scotland_from") or {}).get("weight")
        if test["outcome"] == outcome and weight:
            return weight
    return DEFAULT_WEIGHT


def _weighted_scotland(p: pd.DataFrame, rows: pd.DataFrame, weight: str) -> pd.DataFrame:
    """Scotland as the weighted mean of the 32 councils, in periods every council has."""
    w = p[(p["indicator"] == weight) & (p["area_type"] == "council") & (p["breakdown"] == "all")]
    joined = rows.merge(w[["area_code", "year", "value"]].rename(columns={"value": "w"}), on=["area_code", "year"])
    n = len(register.council_codes())
    complete = joined.groupby("period")["area_code"].nunique().loc[lambda s: s == n].index
    joined = joined[joined["period"].isin(complete)]
    out = (joined.assign(vw=joined["value"] * joined["w"]).groupby("period")[["vw", "w"]].sum()
           .pipe(lambda d: d["vw"] / d["w"]).rename("value").reset_index())
    return out


def _series_table(p: pd.DataFrame, indicator: str, reg: pd.DataFrame) -> pd.DataFrame:
    """One indicator (breakdown 'all'): every council, Scotland and each family-group average."""
    rows = p[(p["indicator"] == indicator) & (p["breakdown"] == "all")]
    if rows.empty:
        raise KeyError(f"indicator {indicator!r} is not in the panel")
    council = rows[rows["area_type"] == "council"][["area_code", "period", "year", "value"]]
    scot = rows[rows["area_code"] == register.SCOTLAND_CODE][["period", "value"]]
    scotland_source = "own"
    if scot.empty:
        weight = _scotland_weight(indicator)
        scot = _weighted_scotland(p, council, weight)
        scotland_source = weight
    groups = council.merge(reg[["code", FAMILY_COLUMN]], left_on="area_code", right_on="code")
    size = reg[FAMILY_COLUMN].value_counts()
    fam = groups.groupby([FAMILY_COLUMN, "period"])["value"].agg(["mean", "count"]).reset_index()
    fam = fam[fam["count"] == fam[FAMILY_COLUMN].map(size)]  # complete groups only
    parts = [
        council.assign(role="council")[["role", "area_code", "period", "value"]],
        scot.assign(role="scotland", area_code=register.SCOTLAND_CODE)[["role", "area_code", "period", "value"]],
        fam.assign(role="family", area_code=fam[FAMILY_COLUMN].map(lambda g: f"family:{g}"),
                   value=fam["mean"])[["role", "area_code", "period", "value"]],
    ]
    out = pd.concat(parts, ignore_index=True)
    out["indicator"] = indicator
    out["x"] = out["period"].map(period_mid)
    out["unit"] = rows["unit"].iloc[0]
    out["scotland_source"] = scotland_source
    return out.sort_values(["role", "area_code", "x"], ignore_index=True)


def _sii_table(p: pd.DataFrame) -> pd.DataFrame:
    rows = p[(p["indicator"] == INEQUALITY) & p["breakdown"].isin(_SII)]
    wide = rows.pivot_table(index=["area_code", "period"], columns="breakdown", values="value", aggfunc="first")
    wide = wide.reset_index()
    wide.columns.name = None
    wide["x"] = wide["period"].map(period_mid)
    wide["unit"] = rows.loc[rows["breakdown"] == "sii", "unit"].iloc[0]
    return wide.sort_values(["area_code", "x"], ignore_index=True)


def _ledger_rows(reg: pd.DataFrame) -> pd.DataFrame:
    from analysis.attribution import ledger

    frame = ledger.ledger()
    codes = set(reg["code"])
    itl3 = {c for cell in reg["itl3_codes"] for c in register.split_list(cell)}
    return frame[frame["area_code"].isin(codes | itl3)].reset_index(drop=True)


def _twin_rows(reg: pd.DataFrame, indicators: pd.DataFrame) -> pd.DataFrame:
    """One row per partnership and :data:`TWINS` test (primary window): what the twin section and
    figure need from the design result behind the ledger row (read from the ledger's cache once, for
    all partnerships). A unit whose design could not be run, or a test the settings no longer list,
    gets a row with ``ran`` False and the reason in ``error``."""
    from analysis.attribution import ledger
    from analysis.attribution.base import DesignResult

    wanted = {f"{t.test_id}:{ledger.PRIMARY}:{code}": (t, code) for t in TWINS for code in reg["code"]}
    units = indicators.set_index("indicator")["unit"]
    found: dict[str, dict] = {}
    for job, res in ledger.results():
        if job.claim_id not in wanted:
            continue
        entry: dict[str, object] = {"claim_id": job.claim_id, "outcome": job.outcome,
                                    "unit": str(units.get(job.outcome, ""))}
        if isinstance(res, DesignResult):
            d = res.details
            fit = next((c for c in res.checks if c.name == "good pre-period fit"), None)
            entry.update(
                ran=True, error="", actual={int(k): float(v) for k, v in d["actual"].items()},
                synthetic={int(k): float(v) for k, v in d["synthetic"].items()},
                weights={str(k): float(v) for k, v in d["weights"].items() if v > 0},
                pools=[{k: v for k, v in row.items() if k != "weights"} for row in d["donor_pools"]],
                pre_fit_ratio=float(d["pre_fit_ratio"]), pre_fit_ok=None if fit is None else fit.passed,
                window=tuple(int(y) for y in d["window"]), n_candidates=int(d["donor_pool"]["n_candidates"]),
                n_placebos=int(d["donor_pools"][0]["n_placebos"]), n_pre=int(res.n_pre))
        else:
            entry.update(ran=False, error=str(res))
        found[job.claim_id] = entry
    rows = []
    for claim_id, (twin, code) in wanted.items():
        entry = found.get(claim_id) or {"claim_id": claim_id, "ran": False, "unit": "",
                                         "error": f"the ledger has no row {claim_id} (is {twin.test_id} configured?)"}
        rows.append({"area_code": code, "test_id": twin.test_id, **entry})
    return pd.DataFrame(rows)


def _districts() -> pd.DataFrame:
    from analysis.data import districts

    return districts.table()[["code", "name", "country", "region_name"]]


def _claimant():
    from analysis.attribution import descriptive

    return descriptive.claimant_count()


def compute_tables() -> dict[str, object]:
    """Every table the profile pages read, for all partnerships at once."""
    from analysis.data import geo, panel

    outputs = panel.build()
    p = outputs.panel
    reg = register.load_register()
    titles = outputs.indicators.set_index("indicator")["title"].to_dict()
    pop = p[(p["indicator"] == "population") & (p["breakdown"] == "all")
            & p["area_type"].isin([register.COUNCIL, register.SCOTLAND])][["area_code", "year", "value"]]
    # a population blank in its source (Dundee City 2003) is filled by the pipeline's documented
    # substitution, as the death rates are
    subs = outputs.substitutions
    subs = subs[subs["replaces"].str.startswith("population ")][["area_code", "year", "value"]]
    have = set(zip(pop["area_code"], pop["year"], strict=True))
    subs = subs[[(a, int(y)) not in have for a, y in zip(subs["area_code"], subs["year"], strict=True)]]
    pop = pd.concat([pop, subs.astype({"year": "int64"})], ignore_index=True)
    return {
        "series": pd.concat([_series_table(p, o.indicator, reg) for o in OUTCOMES], ignore_index=True),
        "sii": _sii_table(p),
        "population": pop.sort_values(["area_code", "year"], ignore_index=True),
        "area_km2": geo.areas_km2(),
        "ledger": _ledger_rows(reg),
        "twins": _twin_rows(reg, outputs.indicators),
        "districts": _districts(),
        "claimant": _claimant(),
        "titles": {k: titles[k] for k in [o.indicator for o in OUTCOMES] + [INEQUALITY]
                   + [_scotland_weight(o.indicator) for o in OUTCOMES]},
    }


def _cache_key() -> str:
    from analysis.data import panel

    return cache.key(provenance.verify_raw(), code=panel.PIPELINE_CODE + ("attribution/", "pages/profiles/facts.py"),
                     settings_sections=("data", "attribution"), step="profiles")


@functools.cache
def tables() -> dict[str, object]:
    """:func:`compute_tables`, read from ``data/cache`` when its inputs are unchanged."""
    return cache.cached("profiles", _cache_key(), compute_tables)


# --------------------------------------------------------------------------------------------
# facts for the prose


def _fmt(value: float, unit: str = "") -> str:
    if unit == "persons":
        return f"{value:,.0f}"
    return f"{value:,.1f}"


def _unit_phrase(unit: str) -> str:
    """Unit as it reads after a number: 'percent' → '%', rates keep their wording."""
    return "%" if unit == "percent" else f" {unit}"


def comparison(code: str, indicator: str) -> pd.DataFrame:
    """Periods (rows) × council, family, scotland (columns) for one partnership and outcome."""
    t = tables()["series"]
    t = t[t["indicator"] == indicator]
    group = int(register.load_register().set_index("code").at[code, FAMILY_COLUMN])
    pick = {"council": t[t["area_code"] == code], "family": t[t["area_code"] == f"family:{group}"],
            "scotland": t[t["area_code"] == register.SCOTLAND_CODE]}
    frame = pd.concat({k: v.set_index("period")["value"] for k, v in pick.items()}, axis=1)
    frame["x"] = frame.index.map(period_mid)
    return frame.sort_values("x")


def relation(council: pd.Series, other: pd.Series, other_name: str) -> str:
    """How a partnership's series sat against another over their common periods, in words."""
    both = pd.concat([council, other], axis=1, keys=["c", "o"]).dropna()
    if both.empty:
        return f"no period to compare with {other_name}"
    above = int((both["c"] > both["o"]).sum())
    below = int((both["c"] < both["o"]).sum())
    n = len(both)
    span = f"from {both.index[0]} to {both.index[-1]}" if n > 1 else f"in {both.index[0]}"
    if above == n:
        return f"above {other_name} in every period {span}" if n > 1 else f"above {other_name} {span}"
    if below == n:
        return f"below {other_name} in every period {span}" if n > 1 else f"below {other_name} {span}"
    return f"above {other_name} in {above} and below it in {below} of the {n} periods {span}"


def _versus(a: float, b: float) -> str:
    if np.isclose(a, b, rtol=0, atol=0.05):
        return "level with"
    return "above" if a > b else "below"


@functools.cache  # the page's prose and its figure's alt text both ask; computed once per page
def outcome_facts(code: str, outcome: Outcome) -> dict[str, str]:
    """Glue-ready strings about one outcome: title, a sentence for the prose, a clause for alt text."""
    t = tables()
    frame = comparison(code, outcome.indicator)
    unit = t["series"].loc[t["series"]["indicator"] == outcome.indicator, "unit"].iloc[0]
    title = t["titles"][outcome.indicator]
    common = frame.dropna(subset=["council", "family", "scotland"])
    if common.empty:
        raise ValueError(f"{code}: no period where {outcome.indicator} has the partnership, its family and Scotland")
    last = common.iloc[-1]
    period = common.index[-1]
    u = _unit_phrase(unit)
    sentence = (
        f"{_fmt(last['council'])}{u} in {period}, {_versus(last['council'], last['scotland'])} Scotland "
        f"({_fmt(last['scotland'])}) and {_versus(last['council'], last['family'])} the family-group average "
        f"({_fmt(last['family'])}); {relation(frame['council'], frame['scotland'], 'Scotland')}."
    )
    alt = f"{title}: {relation(frame['council'], frame['scotland'], 'Scotland')}"
    return {"title": title, "sentence": sentence, "alt": alt, "latest": _fmt(last["council"]), "period": period,
            "scotland": _fmt(last["scotland"]), "family": _fmt(last["family"]), "unit": unit}


@functools.cache
def population_facts(code: str) -> dict[str, str]:
    t = tables()
    pop = t["population"]
    own = pop[pop["area_code"] == code].set_index("year")["value"].sort_index()
    scot = pop[pop["area_code"] == register.SCOTLAND_CODE].set_index("year")["value"]
    year = int(own.index.max())
    base = int(settings.load()["attribution"]["events"]["duty"])
    change = (own[year] / own[base] - 1) * 100
    verb = "grew by" if change > 0.05 else ("fell by" if change < -0.05 else "changed by")
    area = float(t["area_km2"][code])
    areas = t["area_km2"].sort_values(ascending=False)
    return {
        "population": _fmt(own[year], "persons"),
        "population-year": str(year),
        "population-share": f"{own[year] / scot[year] * 100:.1f}%",
        "population-base-year": str(base),
        "population-change": f"{verb} {abs(change):.1f}%",
        "area-km2": f"{area:,.0f}",
        "area-share": f"{area / areas.sum() * 100:.1f}%",
        "area-rank": _ordinal(int(list(areas.index).index(code)) + 1),
        "n-councils": str(len(areas)),
    }


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def family_facts(code: str) -> dict[str, str]:
    reg = register.load_register().set_index("code")
    out = {}
    for col, key in ((FAMILY_COLUMN, "family-people"), ("lgbf_family_group_other", "family-other")):
        group = int(reg.at[code, col])
        members = sorted(reg.index[(reg[col] == group) & (reg.index != code)].map(register.name_of))
        out[key] = str(group)
        out[f"{key}-members"] = join_names(members)
        out[f"{key}-size"] = in_words(len(members) + 1)
    return out


@functools.cache
def sii_facts(code: str) -> dict[str, str]:
    t = tables()
    sii = t["sii"]
    own = sii[sii["area_code"] == code].dropna(subset=["sii"]).set_index("period")
    scot = sii[sii["area_code"] == register.SCOTLAND_CODE].set_index("period")
    unit = sii["unit"].iloc[0]
    title = t["titles"][INEQUALITY].lower()
    first, last = own.index[0], own.index[-1]
    excludes = int(((own["sii_lowci"] > 0) | (own["sii_upci"] < 0)).sum())
    n = len(own)
    name = register.name_of(code)
    start, end = float(own.at[first, "sii"]), float(own.at[last, "sii"])
    little = float(settings.load()["pages"]["profiles"]["little_change"])
    trend = (f"changed little (by less than {little:.0%})" if abs(end - start) < little * abs(start) else
             "narrowed" if abs(end) < abs(start) else "widened")
    interval = ("its interval excluded zero in every period" if excludes == n else
                f"its interval excluded zero in {excludes} of the {n} periods")
    sentence = (
        f"For {title}, the gap in {name} was {_fmt(own.at[first, 'sii'])} {unit} in {first} and "
        f"{_fmt(own.at[last, 'sii'])} in {last}, so it {trend}; Scotland's was {_fmt(scot.at[first, 'sii'])} "
        f"and {_fmt(scot.at[last, 'sii'])} in the same periods. ScotPHO publishes a {SCOTPHO_CI_LEVEL}% interval "
        f"for each value: {interval}."
    )
    alt = (
        f"{possessive(name)} slope index of inequality in {title} was {_fmt(own.at[first, 'sii'])} {unit} in {first} "
        f"and {_fmt(own.at[last, 'sii'])} in {last} (Scotland {_fmt(scot.at[first, 'sii'])} and "
        f"{_fmt(scot.at[last, 'sii'])}); the gap {trend}, and {interval}."
    )
    return {"sii-sentence": sentence, "sii-alt": alt, "sii-title": title,
            "sii-first": first, "sii-last": last}


# --------------------------------------------------------------------------------------------
# the ledger


def ledger_rows(code: str) -> pd.DataFrame:
    """Ledger rows about the partnership (``area_code`` = its code), then rows about the ITL3
    areas that contain it, with a column saying which."""
    t = tables()["ledger"]
    reg = register.load_register().set_index("code")
    itl3 = register.split_list(reg.at[code, "itl3_codes"])
    own = t[t["area_code"] == code].assign(scope="this partnership", area=lambda d: d["area_name"])
    wider = t[t["area_code"].isin(itl3)].assign(
        scope="ITL3 area containing it", area=lambda d: d["area_name"] + " (ITL3 area " + d["area_code"] + ")")
    return pd.concat([own, wider], ignore_index=True)


def _num(x: float) -> str:
    if x is None or not np.isfinite(x):
        return ""
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def ledger_table(code: str) -> pd.DataFrame:
    rows = ledger_rows(code)
    level = 100 * (1 - float(settings.load()["attribution"]["alpha"]))
    interval = [f"{_num(lo)} to {_num(hi)}" if np.isfinite(lo) and np.isfinite(hi) else ""
                for lo, hi in zip(rows["ci_low"].astype(float), rows["ci_high"].astype(float), strict=True)]
    return pd.DataFrame({
        "Area": rows["area"],
        "Claim": rows["claim"],
        "Design": rows["design"],
        "Window": rows["window"],
        "SMS level": rows["sms_level"].astype(int),
        "Estimate": [_num(float(x)) for x in rows["estimate"]],
        f"{level:.0f}% interval": interval,
        "Scale": rows["scale"].replace({"level": "outcome's unit"}),
        "Verdict": rows["verdict"],
    })


def ledger_facts(code: str) -> dict[str, str]:
    from analysis.attribution import verdicts

    rows = ledger_rows(code)
    own = int((rows["scope"] == "this partnership").sum())
    wider = len(rows) - own
    attributable = int((rows["verdict_key"] == verdicts.ATTRIBUTABLE).sum())
    name = register.name_of(code)
    parts = [f"The evidence ledger has {in_words(own)} row{'s' if own != 1 else ''} about {name} itself"]
    if wider:
        areas = "areas that contain" if wider != 1 else "area that contains"
        parts.append(f" and {in_words(wider)} about the wider ITL3 {areas} it")
    verdict = ("none of them supports attributing a change to Community Planning" if attributable == 0 else
               f"{in_words(attributable)} of them {'supports' if attributable == 1 else 'support'} attribution")
    return {"ledger-sentence": "".join(parts) + f"; {verdict}.", "ledger-rows": str(len(rows))}


# --------------------------------------------------------------------------------------------
# the synthetic twin


def twin_row(code: str, twin: Twin) -> dict[str, object]:
    """The twin table's row for one partnership and test (:func:`_twin_rows`), with the ledger row's
    values (``ledger``: the row as a Series, or None when the ledger has no such claim)."""
    t = tables()
    rows = t["twins"]
    hit = rows[(rows["area_code"] == code) & (rows["test_id"] == twin.test_id)]
    if len(hit) != 1:
        raise KeyError(f"{code}: {len(hit)} twin rows for {twin.test_id}")
    out = {k: v for k, v in hit.iloc[0].items() if not (isinstance(v, float) and np.isnan(v))}
    led = t["ledger"]
    match = led[led["claim_id"] == out["claim_id"]]
    out["ledger"] = match.iloc[0] if len(match) else None
    return out


def twin_donors(code: str, twin: Twin) -> pd.DataFrame:
    """The donors of the partnership's twin with positive weight, by name, heaviest first."""
    row = twin_row(code, twin)
    weights = pd.Series(row.get("weights") or {}, dtype=float)
    weights = weights[weights > 0].sort_values(ascending=False, kind="stable")
    names = tables()["districts"].set_index("code")
    unknown = sorted(set(weights.index) - set(names.index))
    if unknown:
        raise register.UnknownAreaError(f"{code}: donors {unknown} of {twin.test_id} are not districts of "
                                        "Great Britain")
    return pd.DataFrame({
        "District": [names.at[c, "name"] for c in weights.index],
        "Region": [names.at[c, "region_name"] for c in weights.index],
        "Country": [names.at[c, "country"] for c in weights.index],
        "Weight": [_weight(w) for w in weights],
    })


def _weight(w: float) -> str:
    """A donor weight: three decimals, two significant digits below a thousandth."""
    return f"{w:.3f}" if w >= 0.001 else f"{w:.2g}"


def _level() -> int:
    return int(round(100 * (1 - float(settings.load()["attribution"]["alpha"]))))


def _direction(x: float) -> str:
    return "above" if x > 0 else ("below" if x < 0 else "level with")


def _pool_decision(pool: dict, alpha: float) -> str:
    """What the detection test decides under one donor-pool rule, in words."""
    if not pool.get("pre_fit_ok", True):
        return "fails the pre-fit check"
    return "rejects “no effect”" if float(pool["p_value"]) < alpha else "does not reject “no effect”"


#: How prose names the ledger's adjusted p-values (``attribution.multiplicity.verdict_p``).
ADJUSTED_P = {"holm": ("p_holm", "Holm"), "bh": ("p_bh", "Benjamini–Hochberg")}


def _adjusted_p(led: pd.Series) -> str:
    """The clause on the multiplicity-adjusted p-value the verdict uses, or "" if it uses the raw one."""
    from analysis.pages import claims

    chosen = settings.load()["attribution"]["multiplicity"]["verdict_p"]
    if chosen not in ADJUSTED_P:
        return ""
    column, method = ADJUSTED_P[chosen]
    value = claims.fmt_p(float(led[column]))
    return f" ({method}-adjusted within its family of tests, the p-value the verdict uses: {value})"


def _pool_sentence(row: dict) -> str:
    """The estimate under each alternative donor-pool rule against the verdict's rule."""
    from analysis.pages import claims

    pools = list(row.get("pools") or [])
    if len(pools) < 2:
        return "No other donor-pool rule was run for this twin."
    alpha = float(settings.load()["attribution"]["alpha"])
    base = pools[0]
    base_decision = _pool_decision(base, alpha)
    parts = []
    for alt in pools[1:]:
        decision = _pool_decision(alt, alpha)
        same = (f"the placebo test's decision (unadjusted p against {alpha:g}) is the same under both rules: it "
                f"{decision}" if decision == base_decision else
                f"the placebo test's decision (unadjusted p against {alpha:g}) changes: it {decision}, where with "
                f"{base['label']} it {base_decision}")
        parts.append(
            f"With {alt['label']} as the donor pool instead of {base['label']} ({in_words(int(base['n_donors']))} "
            f"districts), the gap is {claims.fmt(float(alt['estimate']))} log points ({_level()}% interval "
            f"{claims.interval(float(alt['ci_low']), float(alt['ci_high']))}, "
            f"p = {claims.fmt_p(float(alt['p_value']))}) "
            f"against {claims.fmt(float(base['estimate']))}, so {same}.")
    return " ".join(parts)


def _fit_sentence(name: str, row: dict) -> str:
    limit = float(settings.load()["attribution"]["synth"]["max_pre_rmspe_ratio"])
    years = sorted(y for y in row["actual"] if y < int(row["ledger"]["event"])) if row.get("ledger") is not None \
        else []
    span = f" over the {in_words(len(years))} years {years[0]}–{years[-1]}" if years else ""
    ok = row.get("pre_fit_ok")
    verdict = {True: "passed", False: "failed", None: "could not be checked"}[ok]
    return (f"The pre-duty fit {verdict}: predicting each year before the duty from the others, the twin missed "
            f"{possessive(name)} path{span} by {row['pre_fit_ratio']:.2%} of its mean level (the pre-fit ratio; the "
            f"limit is {limit:.0%}).")


@functools.cache
def twin_facts(code: str, twin: Twin) -> dict[str, str]:
    """Glue-ready strings about one twin: the gap, the test, the verdict, the donor pools, the
    donors, and a clause for the figure's alt text."""
    from analysis.pages import claims

    name = register.name_of(code)
    row = twin_row(code, twin)
    led = row["ledger"]
    names = claims.labels()
    verdict = (f"Ledger verdict: **{names[led['verdict_key']]}** — {claims.short_reason(led).rstrip('.')}."
               if led is not None else "The ledger has no verdict for it.")
    if not row["ran"] or led is None or not np.isfinite(float(led["estimate"])):
        why = row.get("error") or "the design gave no estimate"
        sentence = f"The synthetic control of {possessive(name)} {twin.phrase} could not be run: {why}."
        return {"gap": sentence, "test": "", "fit": "", "verdict": verdict, "pools": "",
                "donors": "With no twin there are no donors to show.",
                "alt": f"{possessive(name)} {twin.phrase} has no synthetic twin ({why})", "estimate": "",
                "interval": ""}
    est, lo, hi = float(led["estimate"]), float(led["ci_low"]), float(led["ci_high"])
    power = float(settings.load()["attribution"]["power"])
    window = str(led["window"])
    pct = abs(100 * np.expm1(est))
    gap = (f"Over {window}, the mean gap between {possessive(name)} {twin.phrase} and its synthetic twin, {name} "
           f"minus twin, was {claims.fmt(est)} log points (about {pct:.1f}% {_direction(est)} the twin; {_level()}% "
           f"interval {claims.interval(lo, hi)}). The smallest effect this comparison could detect for {name} with "
           f"{power:.0%} power, its own minimum detectable effect, is {claims.fmt(float(led['mde']))} log points.")
    test = (f"In the placebo test, in which each of the {row['n_placebos']:,} donor districts in turn plays the "
            f"treated unit, p = {claims.fmt_p(float(led['p_value']))}{_adjusted_p(led)}; the smallest p-value those "
            f"placebos allow "
            f"is {claims.fmt_p(float(led['min_p']))}.")
    donors = twin_donors(code, twin)
    alt = (f"{possessive(name)} {twin.phrase} ran {claims.fmt(abs(est))} log points {_direction(est)} its synthetic "
           f"twin over {window} ({_level()}% interval {claims.interval(lo, hi)}; verdict: {names[led['verdict_key']]})")
    return {
        "gap": gap, "test": test, "fit": _fit_sentence(name, row), "verdict": verdict,
        "pools": _pool_sentence(row),
        "donors": (f"The twin is a weighted mix of {in_words(len(donors))} of the {row['n_candidates']:,} districts "
                   "of England and Wales, the weights summing to one:"),
        "alt": alt, "estimate": claims.fmt(est), "interval": claims.interval(lo, hi),
    }


def claimant_sentence(code: str) -> str:
    """Why the claimant count is shown in no design, with the partnership's own rate against the
    published rates of Scotland and of Great Britain in the first and the last year."""
    c = tables()["claimant"]
    name = register.name_of(code)
    own = c.councils[c.councils["area_code"] == code].set_index("year")["value"]
    nat = c.national.set_index(["group", "year"])
    first, last = c.first_year, c.last_year
    scot = [nat.at[("Scotland", y), "published"] for y in (first, last)]
    gb = [nat.at[("Great Britain", y), "published"] for y in (first, last)]
    years = ", ".join(str(y) for y in c.pre_event_years) or "none"
    n_pre = c.n_pre_event_years
    head = (f"No design of the book uses the claimant count: it starts in {first}, so it has {in_words(n_pre)} "
            f"year{'s' if n_pre != 1 else ''} before the duty ({years}), while estimating a pre-duty trend needs at "
            f"least {in_words(c.min_pre_years)}; it cannot support attribution and is described only."
            if not c.supports_attribution else
            f"The claimant count has {in_words(n_pre)} years before the duty ({years}).")
    if first not in own.index or last not in own.index:
        return head + f" {name} lacks a claimant-count value in {first} or in {last}."
    return head + (
        f" {possessive(name)} rate was {own[first]:.1f}% of residents aged {_ages(c.unit)} in {first} and "
        f"{own[last]:.1f}% in {last}, against {scot[0]:.1f}% and {scot[1]:.1f}% for Scotland and {gb[0]:.1f}% and "
        f"{gb[1]:.1f}% for Great Britain (the national rates as ONS publishes them).")


def _ages(unit: str) -> str:
    """The age band of the claimant count's unit ('percent of residents aged 16-64' → '16–64')."""
    match = re.search(r"aged (\d+)-(\d+)", unit)
    return f"{match.group(1)}–{match.group(2)}" if match else unit


def twin_summary() -> dict[str, str]:
    """For the index page: how many partnerships' twins have each verdict, per outcome."""
    from analysis.pages import claims

    names = claims.labels()
    led = tables()["ledger"]
    parts = []
    for twin in TWINS:
        rows = led[led["claim_id"].str.startswith(f"{twin.test_id}:primary:")]
        counts = rows["verdict_key"].value_counts()
        listed = [f"{int(counts[k])} “{names[k]}”" for k in counts.index]
        listed[0] = listed[0].replace(" “", " have the verdict “", 1)
        parts.append(f"of the {len(rows)} twins for {twin.phrase}, {join_names(listed)}")
    return {"twin-summary": "Over the primary window, " + "; ".join(parts) + "."}


def twin_page_facts(code: str) -> dict[str, str]:
    """Every twin string of a page, keyed ``twin-<outcome key>-<part>``, and the claimant sentence."""
    out = {}
    for twin in TWINS:
        for k, v in twin_facts(code, twin).items():
            out[f"twin-{twin.key}-{k}"] = v
    out["twin-claimant"] = claimant_sentence(code)
    cfg = settings.load()["attribution"]
    first, last = cfg["windows"]["duty"]
    out["twin-window"] = f"{int(first)}–{int(last)}"
    out["twin-event"] = str(int(cfg["events"]["duty"]))
    return out


# --------------------------------------------------------------------------------------------
# every fact of one page


def profile_facts(code: str) -> dict[str, str]:
    """Every string a profile page glues (keys are page-local)."""
    from analysis.pages import maps

    if not _CODE.match(code) or code not in register.council_codes():
        raise register.UnknownAreaError(f"{code!r} is not a current council area code")
    facts: dict[str, str] = {"code": code, "name": register.name_of(code), "map-credit": maps.MAP_CREDIT,
                             "n-case-studies": in_words(len(register.case_study_codes()))}
    facts.update(population_facts(code))
    facts.update(family_facts(code))
    for outcome in OUTCOMES:
        for k, v in outcome_facts(code, outcome).items():
            facts[f"{outcome.key}-{k}"] = v
    facts.update(sii_facts(code))
    facts.update(ledger_facts(code))
    facts.update(twin_page_facts(code))
    facts["scotland-note"] = scotland_note()
    return facts


def scotland_note() -> str:
    """A sentence for the outcomes caption on how Scotland's series was formed where a source has none."""
    t = tables()
    series = t["series"]
    made = series.loc[series["scotland_source"] != "own", ["indicator", "scotland_source"]].drop_duplicates()
    if made.empty:
        return "Scotland's series are the sources' own."
    parts = [f"{t['titles'][ind].lower()}: the mean of the councils weighted by {t['titles'][w].lower()}"
             for ind, w in zip(made["indicator"], made["scotland_source"], strict=True)]
    return "Where a source has no Scotland row, Scotland is formed from the councils (" + "; ".join(parts) + ")."


def status_frame() -> pd.Series:
    """Each partnership's part in the report, indexed by code (ordered categories)."""
    reg = register.load_register().set_index("code")
    labels = np.where(reg["case_study"], "case study", np.where(reg["pilot"], "pilot", "neither"))
    return pd.Series(pd.Categorical(labels, categories=["case study", "pilot", "neither"]), index=reg.index,
                     name="status")
