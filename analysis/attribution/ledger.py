"""The evidence ledger: one row per claim, computed once and shared by every chapter.

Claims come from two places: the report's own statements (``data/reference/report_claims.csv``,
graded as stakeholder perception) and the quantitative tests listed in ``settings.yml``
(``attribution.tests``), each run for every area it names. Every row carries its design, SMS
level, estimate, interval, p-value, minimum detectable effect, assumption checks and the verdict
the rules in :mod:`analysis.attribution.verdicts` give.

:func:`results` caches the design results under a key made of the raw checksums, the reference
files, the code, the settings and the library versions (:mod:`analysis.cache`), so a cold run
computes everything once and later calls read it back in well under a second.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import cache, panel, paths, provenance, register, settings
from . import verdicts
from .base import DesignResult

log = logging.getLogger(__name__)

LEDGER_COLUMNS = [
    "claim_id", "chapter", "source", "claim", "outcome", "design", "area_code", "area_name", "event",
    "sms_level", "estimate", "ci_low", "ci_high", "p_value", "p_kind", "mde", "scale", "n_pre", "n_post",
    "assumption_checks", "verdict", "reason",
]
_SINGLE_PERIOD = r"^\d{4}(/\d{2})?$"

EVENT_LABELS = {"duty": "the community planning duty began", "soa": "Single Outcome Agreements began"}
#: What each design's claim asserts, in words.
CLAIM_TEMPLATES = {
    "its": "{title} in {area} shifted from its prior trend when {event} ({year})",
    "did": "{title} in {area} changed relative to areas in England and Wales after {event} ({year})",
    "event_study": "{title} in {area} diverged, year by year, from areas in England and Wales after {event} ({year})",
    "synth": "{title} in {area} departed from its synthetic comparison after {event} ({year})",
}


@dataclass(frozen=True)
class Job:
    """One design run: a test from the settings applied to one area (or to all areas, for DiD)."""

    test_id: str
    outcome: str
    design: str
    area: str  # area code, or 'scotland-itl3' style labels for pooled designs
    event: int
    chapter: int


def _cfg() -> dict:
    return settings.load()["attribution"]


def _event_year(cfg: dict, event: str | int) -> int:
    return int(cfg["events"].get(event, event)) if isinstance(event, str) else int(event)


# --------------------------------------------------------------------------------------------
# series for the designs


def single_period_rows(p: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The outcome's rows for single years (2003) or financial years (2003/04), breakdown 'all'."""
    rows = p[(p["indicator"] == outcome) & (p["breakdown"] == "all")]
    return rows[rows["period"].str.match(_SINGLE_PERIOD)]


def annual_series(rows: pd.DataFrame, area_code: str) -> pd.Series:
    """One area's values from :func:`single_period_rows`, indexed by year."""
    return rows[rows["area_code"] == area_code].set_index("year")["value"].sort_index().astype(float)


def scotland_series(p: pd.DataFrame, rows: pd.DataFrame, test: dict) -> pd.Series:
    """Scotland's series: the source's own row if it has one, else the population-weighted mean of
    the councils (``scotland_from: {weight: <population indicator>}``) over years every council has."""
    own = annual_series(rows, register.SCOTLAND_CODE)
    if len(own):
        return own
    weight = (test.get("scotland_from") or {}).get("weight")
    if not weight:
        raise ValueError(f"test {test['id']}: {test['outcome']} has no Scotland series and no scotland_from rule")
    councils = register.council_codes()
    values = rows[rows["area_type"] == "council"][["area_code", "year", "value"]]
    weights = p[(p["indicator"] == weight) & (p["area_type"] == "council") & (p["breakdown"] == "all")][
        ["area_code", "year", "value"]].rename(columns={"value": "w"})
    joined = values.merge(weights, on=["area_code", "year"])
    complete = joined.groupby("year")["area_code"].nunique() == len(councils)
    joined = joined[joined["year"].isin(complete[complete].index)]
    return (joined.assign(vw=joined["value"] * joined["w"]).groupby("year")[["vw", "w"]].sum()
            .pipe(lambda d: d["vw"] / d["w"]))


def transform(series: pd.Series, how: str | None) -> pd.Series:
    if how is None:
        return series
    if how == "growth_percent":
        full = series.reindex(range(int(series.index.min()), int(series.index.max()) + 1))
        return (full.pct_change() * 100).dropna()
    raise ValueError(f"unknown transform {how!r}")


# --------------------------------------------------------------------------------------------
# running the tests


# The designs are imported where they run: reading the cached ledger (every page of the book, and
# each ``make book``) then does not pay for importing statsmodels, linearmodels and SciPy's optimisers.


def _its_jobs(p: pd.DataFrame, test: dict, cfg: dict) -> list[tuple[Job, DesignResult | Exception]]:
    from . import its

    event = _event_year(cfg, test["event"])
    out = []
    areas: list[str] = []
    for group in test.get("areas", ["scotland"]):
        if group == "scotland":
            areas.append(register.SCOTLAND_CODE)
        elif group == "councils":
            areas.extend(sorted(register.council_codes()))
        else:
            raise ValueError(f"test {test['id']}: ITS areas must be scotland or councils, not {group!r}")
    rows = single_period_rows(p, test["outcome"])
    for code in areas:
        series = scotland_series(p, rows, test) if code == register.SCOTLAND_CODE else annual_series(rows, code)
        series = transform(series, test.get("transform"))
        job = Job(test["id"], test["outcome"], "its", code, event, int(test["chapter"]))
        try:
            res = its.fit(series, event, outcome=test["outcome"], area=code, cfg=cfg)
        except ValueError as exc:  # too few points on one side: recorded, not dropped
            res = exc
        out.append((job, res))
    return out


def _did_jobs(p: pd.DataFrame, areas: pd.DataFrame, test: dict, cfg: dict) -> list[tuple[Job, DesignResult]]:
    from . import did

    event = _event_year(cfg, test["event"])
    frame = did.prepare(p, areas, test["outcome"], cfg)
    fit = did.fit_did if test["design"] == "did" else did.fit_event_study
    level = did.area_level(p, test["outcome"], cfg["did"]["area_level"])
    label = f"scotland:{level}"  # all Scottish areas of this level together
    res = fit(frame, event, outcome=test["outcome"], area=label, cfg=cfg)
    return [(Job(test["id"], test["outcome"], test["design"], label, event, int(test["chapter"])), res)]


def _synth_jobs(p: pd.DataFrame, areas: pd.DataFrame, test: dict, cfg: dict) -> list[tuple[Job, DesignResult]]:
    from . import synth

    event = _event_year(cfg, test["event"])
    problem = synth.prepare(p, areas, test["outcome"], cfg)
    placebos = synth.placebo_distribution(problem.wide, problem.donors, event, cfg)
    treated: list[str] = []
    for group in test.get("areas", ["scotland"]):
        if group == "scotland":
            treated.append(problem.scotland)
        elif group == "itl3":
            treated.extend(problem.scottish_areas)
        else:
            raise ValueError(f"test {test['id']}: synthetic-control areas must be scotland or itl3, not {group!r}")
    out = []
    for code in treated:
        res = synth.fit(problem.wide, code, problem.donors, event, outcome=test["outcome"], cfg=cfg, placebos=placebos,
                        window=cfg["windows"].get(test["event"]), loo=code == problem.scotland)
        out.append((Job(test["id"], test["outcome"], "synth", code, event, int(test["chapter"])), res))
    return out


def run_tests(
    tests: list[dict] | None = None, *, progress: bool | None = None
) -> list[tuple[Job, DesignResult | Exception]]:
    """Run the configured tests (or ``tests``) on the panel; return (job, result) pairs in order."""
    cfg = _cfg()
    tests = tests if tests is not None else cfg["tests"]
    outputs = panel.build()
    p, areas = outputs.panel, outputs.areas
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm import tqdm

    results: list[tuple[Job, DesignResult | Exception]] = []
    for test in tqdm(tests, desc="attribution tests", unit="test", disable=not show):
        design = test["design"]
        if design == "its":
            results.extend(_its_jobs(p, test, cfg))
        elif design in {"did", "event_study"}:
            results.extend(_did_jobs(p, areas, test, cfg))
        elif design == "synth":
            results.extend(_synth_jobs(p, areas, test, cfg))
        else:
            raise ValueError(f"test {test['id']}: unknown design {design!r}")
    return results


def results(*, force: bool = False, progress: bool | None = None) -> list[tuple[Job, DesignResult | Exception]]:
    """The design results for every configured test, from the cache when the inputs are unchanged."""
    key = cache.key(provenance.verify_raw(), code=panel.PIPELINE_CODE + ("attribution/",),
                    settings_sections=("data", "attribution"), step="attribution")
    return cache.cached("attribution", key, lambda: run_tests(progress=progress), force=force)


# --------------------------------------------------------------------------------------------
# the ledger


def _checks_text(res: DesignResult) -> str:
    mark = {True: "holds", False: "FAILS", None: "not testable"}
    return "; ".join(f"{c.name}: {mark[c.passed]}" for c in res.checks)


def _area_names() -> dict[str, str]:
    """Names for every area code a ledger row can carry, including the pooled Scottish areas."""
    areas = panel.read().areas
    names = dict(zip(areas["area_code"], areas["area_name"], strict=True))
    for level in ("itl3", "nuts3"):
        n = int(((areas["area_type"] == level) & (areas["country"] == "Scotland")).sum())
        names[f"scotland:{level}"] = f"Scotland's {n} {level.upper()} areas"
    return names


def report_rows(cfg: dict) -> list[dict]:
    claims = pd.read_csv(paths.REFERENCE / "report_claims.csv", dtype=str)
    sms = int(cfg["grading"]["sms_levels"]["perception"])
    rows = []
    for claim in claims.itertuples(index=False):
        verdict = verdicts.decide(None, sms_level=sms, alpha=cfg["alpha"],
                                  min_sms=cfg["grading"]["min_sms_for_attribution"],
                                  untestable_reason=claim.why_untestable)
        rows.append({
            "claim_id": claim.claim_id, "chapter": int(claim.chapter), "source": claim.source, "claim": claim.claim,
            "outcome": "", "design": claim.evidence_type, "area_code": "", "area_name": "case-study partnerships",
            "event": np.nan, "sms_level": sms, "assumption_checks": "", "verdict": verdict.verdict,
            "reason": verdict.reason, "scale": "",
        })
    return rows


def test_rows(cfg: dict, pairs: list[tuple[Job, DesignResult | Exception]]) -> list[dict]:
    titles = panel.read().indicators.set_index("indicator")["title"]
    grading = cfg["grading"]
    event_names = {int(v): k for k, v in cfg["events"].items()}
    names = _area_names()
    rows = []
    for job, res in pairs:
        sms = int(grading["sms_levels"][job.design])
        title = titles.get(job.outcome, job.outcome)
        area_name = names.get(job.area, job.area)
        claim = CLAIM_TEMPLATES[job.design].format(
            title=title, area=area_name, event=EVENT_LABELS.get(event_names.get(job.event), "the event"), year=job.event
        )
        row = {
            "claim_id": f"{job.test_id}:{job.area}", "chapter": job.chapter, "source": f"analysis ({job.test_id})",
            "claim": claim, "outcome": job.outcome, "design": job.design, "area_code": job.area,
            "area_name": area_name, "event": job.event, "sms_level": sms,
        }
        if isinstance(res, Exception):
            verdict = verdicts.decide(None, sms_level=sms, alpha=cfg["alpha"],
                                      min_sms=grading["min_sms_for_attribution"],
                                      untestable_reason=f"the design cannot be run on this series: {res}")
            row.update(assumption_checks="", verdict=verdict.verdict, reason=verdict.reason, scale="")
        else:
            verdict = verdicts.decide(res, sms_level=sms, alpha=cfg["alpha"],
                                      min_sms=grading["min_sms_for_attribution"])
            row.update(
                estimate=res.estimate, ci_low=res.ci_low, ci_high=res.ci_high, p_value=res.p_value, p_kind=res.p_kind,
                mde=res.mde, scale=res.scale, n_pre=res.n_pre, n_post=res.n_post, assumption_checks=_checks_text(res),
                verdict=verdict.verdict, reason=verdict.reason,
            )
        rows.append(row)
    return rows


def ledger(*, force: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """The evidence ledger: report claims, then every quantitative test, in a stable order."""
    cfg = _cfg()
    pairs = results(force=force, progress=progress)
    frame = pd.DataFrame(report_rows(cfg) + test_rows(cfg, pairs), columns=LEDGER_COLUMNS)
    return frame.astype({"chapter": "int64", "sms_level": "int64"})


def result_for(claim_id: str) -> DesignResult:
    """The full design result behind one ledger row (for figures)."""
    for job, res in results():
        if f"{job.test_id}:{job.area}" == claim_id:
            if isinstance(res, Exception):
                raise KeyError(f"{claim_id}: the design could not be run ({res})")
            return res
    raise KeyError(claim_id)
