"""The evidence ledger: one row per claim, computed once and shared by every chapter.

Claims come from two places: the report's own statements (``data/reference/report_claims.csv``,
graded as stakeholder perception) and the quantitative tests listed in ``settings.yml``
(``attribution.tests``). Each test runs for every area it names and **twice**: over the
pre-specified primary window of its event (``attribution.windows``) and over every post-event
year. A test marked ``confirmatory`` makes its Scotland-level row in the primary window
confirmatory (for DiD and event study the pooled row of all Scottish areas of its level); every
other row (single councils and areas, the full period) is exploratory. The conclusions rest on the
confirmatory rows.

GB designs run at the test's ``area_level``: ITL3/NUTS3 (the default) or ``district``, the 32
council areas against the 318 English and Welsh districts (pooled rows ``scotland:district``; one
synthetic control per partnership, ``areas: [councils]``). Every synthetic control also reports its
unit under each donor-pool rule of ``synth.robustness_pools`` (``details["donor_pools"]``), each
rule's placebo distribution computed once per outcome. :mod:`analysis.attribution.overview` reads
the council-level synthetic controls back from the cached results for the tests across partnerships.

Every row carries its design, SMS level, estimand, estimate, intervals, detection p-value with
Holm and Benjamini–Hochberg adjustments within its family (``attribution.multiplicity``), minimum
detectable effect, equivalence margin, parallel-trends breakdown value (where the design has one),
assumption checks and the verdict the rules of :mod:`analysis.attribution.verdicts` give.

:func:`results` caches the design results under a key made of the raw checksums, the reference
files, the code, the settings and the library versions (:mod:`analysis.cache`), so a cold run
computes everything once and later calls read it back in well under a second.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis import cache, parallel, paths, settings
from analysis.attribution import verdicts
from analysis.attribution.base import DesignResult
from analysis.data import panel, provenance, register

log = logging.getLogger(__name__)

LEDGER_COLUMNS = [
    "claim_id", "chapter", "source", "claim", "outcome", "design", "area_code", "area_name", "event", "window",
    "window_kind", "role", "family", "sms_level", "estimand", "estimate", "ci_low", "ci_high", "eq_low", "eq_high",
    "p_value", "p_holm", "p_bh", "estimate_p", "min_p", "p_permutation", "min_p_permutation", "p_kind", "mde",
    "margin", "breakdown_rm", "breakdown_sd",
    "scale", "n_pre", "n_post", "assumption_checks", "verdict_key", "verdict", "why", "reason",
]
_SINGLE_PERIOD = r"^\d{4}(/\d{2})?$"
PRIMARY, FULL = "primary", "full"
#: Roles of a row: a confirmatory or an exploratory test, or one of the report's own claims.
CONFIRMATORY, EXPLORATORY, REPORT = "confirmatory", "exploratory", "report claim"

EVENT_LABELS = {"duty": "the community planning duty began", "soa": "Single Outcome Agreements began"}
#: What each design's claim asserts, in words.
CLAIM_TEMPLATES = {
    "its": "{title} in {area} departed from its pre-{year} trend after {event} ({year}), over {span}",
    "did": "{title} in {area} changed relative to areas in England and Wales after {event} ({year}), over {span}",
    "event_study": ("{title} in {area} diverged, year by year, from areas in England and Wales after {event} "
                    "({year}), over {span}"),
    "synth": "{title} in {area} departed from its synthetic comparison after {event} ({year}), over {span}",
}


@dataclass(frozen=True)
class Job:
    """One design run: a test from the settings, for one area (or all areas, for DiD), one window."""

    test_id: str
    outcome: str
    design: str
    area: str  # area code, or 'scotland:itl3' style labels for pooled designs
    event: int
    chapter: int
    window_kind: str
    window: tuple[int, int] | None   # None: every post-event year
    role: str

    @property
    def claim_id(self) -> str:
        return f"{self.test_id}:{self.window_kind}:{self.area}"


def _cfg() -> dict:
    return settings.load()["attribution"]


def _event_year(cfg: dict, event: str | int) -> int:
    return int(cfg["events"].get(event, event)) if isinstance(event, str) else int(event)


def windows(cfg: dict, test: dict) -> list[tuple[str, tuple[int, int] | None]]:
    """The test's windows: the primary window of its event, then every post-event year."""
    event = test["event"]
    if not isinstance(event, str) or event not in cfg["windows"]:
        primary = None
    else:
        first, last = cfg["windows"][event]
        primary = (int(first), int(last))
    out: list[tuple[str, tuple[int, int] | None]] = []
    if primary is not None:
        out.append((PRIMARY, primary))
    out.append((FULL, None))
    return out


def _role(test: dict, window_kind: str, scotland_level: bool) -> str:
    return CONFIRMATORY if test.get("confirmatory") and window_kind == PRIMARY and scotland_level else EXPLORATORY


# --------------------------------------------------------------------------------------------
# series for the designs


def single_period_rows(p: pd.DataFrame, outcome: str | None) -> pd.DataFrame:
    """The outcome's rows for single years (2003) or financial years (2003/04), breakdown 'all'
    (``outcome=None``: those rows of every outcome)."""
    rows = p[p["breakdown"] == "all"] if outcome is None else p[(p["indicator"] == outcome) & (p["breakdown"] == "all")]
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

Pairs = list[tuple[Job, DesignResult | Exception]]


def _job(test: dict, design: str, area: str, event: int, window_kind: str, window, scotland_level: bool) -> Job:
    return Job(test["id"], test["outcome"], design, area, event, int(test["chapter"]), window_kind, window,
               _role(test, window_kind, scotland_level))


def _its_jobs(p: pd.DataFrame, test: dict, cfg: dict) -> Pairs:
    from analysis.attribution import its

    event = _event_year(cfg, test["event"])
    areas: list[str] = []
    for group in test.get("areas", ["scotland"]):
        if group == "scotland":
            areas.append(register.SCOTLAND_CODE)
        elif group == "councils":
            areas.extend(sorted(register.council_codes()))
        else:
            raise ValueError(f"test {test['id']}: ITS areas must be scotland or councils, not {group!r}")
    rows = single_period_rows(p, test["outcome"])
    out: Pairs = []
    for code in areas:
        series = scotland_series(p, rows, test) if code == register.SCOTLAND_CODE else annual_series(rows, code)
        series = transform(series, test.get("transform"))
        for kind, window in windows(cfg, test):
            job = _job(test, "its", code, event, kind, window, code == register.SCOTLAND_CODE)
            try:
                res: DesignResult | Exception = its.fit(series, event, outcome=test["outcome"], area=code, cfg=cfg,
                                                        window=window)
            except ValueError as exc:  # too few points on one side: recorded, not dropped
                res = exc
            out.append((job, res))
    return out


def _did_jobs(p: pd.DataFrame, areas: pd.DataFrame, test: dict, cfg: dict) -> Pairs:
    from analysis.attribution import did

    event = _event_year(cfg, test["event"])
    level = did.area_level(p, test["outcome"], did.level_of(cfg, test))
    frame = did.prepare(p, areas, test["outcome"], cfg, level=level)
    fit = did.fit_did if test["design"] == "did" else did.fit_event_study
    label = f"scotland:{level}"  # all Scottish areas of this level together
    out: Pairs = []
    for kind, window in windows(cfg, test):
        try:
            res: DesignResult | Exception = fit(frame, event, outcome=test["outcome"], area=label, cfg=cfg,
                                                window=window)
        except did.Refusal as exc:
            res = exc
        out.append((_job(test, test["design"], label, event, kind, window, True), res))
    return out


def _synth_jobs(p: pd.DataFrame, areas: pd.DataFrame, test: dict, cfg: dict) -> Pairs:
    """Every unit the test names, each window, against the default donor pool (every donor: the
    verdict's), with each alternative rule of ``synth.robustness_pools`` reported beside it. Each
    rule's placebo distribution is computed once per outcome and shared by every unit and window."""
    from analysis.attribution import did, synth

    event = _event_year(cfg, test["event"])
    problem = synth.prepare(p, areas, test["outcome"], cfg, level=did.level_of(cfg, test))
    placebos = synth.placebo_distribution(problem.wide, problem.donors, event, cfg)
    alternatives = [synth.placebo_distribution(problem.wide, problem.donors, event, cfg, in_time=False, rule=rule)
                    for rule in synth.robustness_rules(cfg)]
    treated: list[str] = []
    for group in test.get("areas", ["scotland"]):
        if group == "scotland" and problem.scotland is not None:
            treated.append(problem.scotland)
        elif group in ("itl3", "councils") and (group == "councils") == (problem.level == did.DISTRICT):
            treated.extend(problem.scottish_areas)
        else:
            raise ValueError(f"test {test['id']}: synthetic-control areas at the {problem.level} level must be "
                             f"{'councils' if problem.level == did.DISTRICT else 'scotland or itl3'}, not {group!r}")
    out: Pairs = []
    for code in treated:
        for kind, window in windows(cfg, test):
            scotland = code == problem.scotland
            res = synth.fit(problem.wide, code, problem.donors, event, outcome=test["outcome"], cfg=cfg,
                            placebos=placebos, window=window, loo=scotland and kind == PRIMARY,
                            alternatives=alternatives)
            out.append((_job(test, "synth", code, event, kind, window, scotland), res))
    return out


def _run_test(p: pd.DataFrame, areas: pd.DataFrame, test: dict, cfg: dict) -> Pairs:
    design = test["design"]
    if design == "its":
        return _its_jobs(p, test, cfg)
    if design in {"did", "event_study"}:
        return _did_jobs(p, areas, test, cfg)
    if design == "synth":
        return _synth_jobs(p, areas, test, cfg)
    raise ValueError(f"test {test['id']}: unknown design {design!r}")


#: What a forked worker runs on: the panel, the areas, the tests and the settings, set by the
#: parent before it forks (so nothing large is pickled) and inherited by the workers.
_WORK: tuple[pd.DataFrame, pd.DataFrame, list[dict], dict] | None = None
#: Rough relative cost of a test by design, to start the long ones first (a synthetic control
#: fits every donor as a placebo; council-level runs have 318 donors).
_COST = {"synth": 3, "its": 2, "event_study": 1, "did": 1}


def _worker(index: int) -> Pairs:
    assert _WORK is not None
    p, areas, tests, cfg = _WORK
    return _run_test(p, areas, tests[index], cfg)


def _cost(test: dict) -> tuple[int, int]:
    return (_COST.get(test["design"], 1), int(test.get("area_level") == "district"))


def run_tests(tests: list[dict] | None = None, *, progress: bool | None = None,
              workers: int | None = None) -> Pairs:
    """Run the configured tests (or ``tests``) on the panel; return (job, result) pairs in order.

    ``workers`` processes share the tests (default: one per core for the configured tests, one for
    an explicit list). Each test is computed whole in one process from the same inputs and seeds,
    so the results do not depend on how many workers there are (a test checks this); BLAS runs on one
    thread in every case (:func:`analysis.parallel.one_blas_thread`).
    """
    global _WORK
    cfg = _cfg()
    outputs = panel.build()
    p, areas = outputs.panel, outputs.areas
    configured = tests is None
    if configured:   # the configured tests: each must fit its outcome's data (one clear error if not)
        from analysis.attribution import checks

        checks.check_data(cfg, p, file=settings.SETTINGS_FILE)
        tests = cfg["tests"]
    if workers is None:
        workers = (os.cpu_count() or 1) if configured else 1
    workers = max(1, min(workers, len(tests)))
    show = sys.stderr.isatty() if progress is None else progress
    from tqdm import tqdm

    by_test: dict[int, Pairs] = {}
    # one BLAS thread in either branch, so one worker and several give the same floating-point results
    with parallel.one_blas_thread(), tqdm(total=len(tests), desc="attribution tests", unit="test",
                                          disable=not show) as bar:
        if workers == 1:
            for i, test in enumerate(tests):
                by_test[i] = _run_test(p, areas, test, cfg)
                bar.update()
        else:
            order = sorted(range(len(tests)), key=lambda i: _cost(tests[i]), reverse=True)
            _WORK = (p, areas, tests, cfg)
            try:
                by_test = dict(zip(order, parallel.fork_map(_worker, order, workers=workers), strict=True))
            finally:
                _WORK = None
            bar.update(len(tests))
    return [pair for i in range(len(tests)) for pair in by_test[i]]


def results_key() -> str:
    """The cache key of the design results: the raw files, the reference files, the panel's and the
    attribution code, and the data and attribution settings (everything the ledger depends on)."""
    return cache.key(provenance.verify_raw(), code=panel.PIPELINE_CODE + ("attribution/",),
                     settings_sections=("data", "attribution"), step="attribution")


def results(*, force: bool = False, progress: bool | None = None) -> Pairs:
    """The design results for every configured test, from the cache when the inputs are unchanged."""
    return cache.cached("attribution", results_key(), lambda: run_tests(progress=progress), force=force)


# --------------------------------------------------------------------------------------------
# the ledger


def _checks_text(res: DesignResult) -> str:
    mark = {True: "holds", False: "FAILS", None: "not testable"}
    return "; ".join(f"{c.name}: {mark[c.passed]}" + ("" if c.gate else " (diagnostic)") for c in res.checks)


def _area_names() -> dict[str, str]:
    """Names for every area code a ledger row can carry, including the pooled Scottish areas."""
    areas = panel.read_table("areas")
    names = dict(zip(areas["area_code"], areas["area_name"], strict=True))
    for level in ("itl3", "nuts3"):
        n = int(((areas["area_type"] == level) & (areas["country"] == "Scotland")).sum())
        names[f"scotland:{level}"] = f"Scotland's {n} {level.upper()} areas"
    names["scotland:district"] = f"Scotland's {len(register.council_codes())} council areas"
    return names


def _span(res: DesignResult | None, job: Job) -> str:
    if res is not None and res.window is not None:
        first, last = res.window
    elif job.window is not None:
        first, last = job.window
    else:
        return f"every year from {job.event}"
    return f"{first}–{last}"


def report_rows(cfg: dict) -> list[dict]:
    claims = pd.read_csv(paths.REFERENCE / "report_claims.csv", dtype=str)
    sms = int(cfg["grading"]["sms_levels"]["perception"])
    rules = verdicts.Rules.from_cfg(cfg)
    labels = verdicts.labels(cfg)
    rows = []
    for claim in claims.itertuples(index=False):
        verdict = verdicts.decide(None, sms_level=sms, rules=rules, untestable_reason=claim.why_untestable)
        rows.append({
            "claim_id": claim.claim_id, "chapter": int(claim.chapter), "source": claim.source, "claim": claim.claim,
            "outcome": "", "design": claim.evidence_type, "area_code": "", "area_name": "case-study partnerships",
            "event": np.nan, "window": "", "window_kind": "", "role": REPORT, "family": "", "sms_level": sms,
            "estimand": "", "assumption_checks": "", "verdict_key": verdict.key, "verdict": labels[verdict.key],
            "why": verdict.why, "reason": verdict.reason, "scale": "", "p_kind": "",
        })
    return rows


def family_of(row: dict, cfg: dict) -> str:
    """The row's multiplicity family: the values of the columns the settings name for its role."""
    m = cfg["multiplicity"]
    columns = m["confirmatory_family"] if row["role"] == CONFIRMATORY else m["exploratory_family"]
    return " × ".join(str(row[c]) for c in columns)


def adjust(rows: list[dict]) -> None:
    """Holm and Benjamini–Hochberg adjusted p-values within each family (rows with a p-value)."""
    by_family: dict[str, list[int]] = {}
    for i, row in enumerate(rows):
        if isinstance(row.get("p_value"), float) and math.isfinite(row["p_value"]):
            by_family.setdefault(row["family"], []).append(i)
    for members in by_family.values():
        p = [rows[i]["p_value"] for i in members]
        for i, h, b in zip(members, verdicts.holm(p), verdicts.benjamini_hochberg(p), strict=True):
            rows[i]["p_holm"], rows[i]["p_bh"] = h, b


def permutation_route(result: DesignResult):
    """The result's permutation route (a placebo test with a smallest attainable p), if it has one."""
    from analysis.attribution.base import LABEL

    return next((i for i in result.inferences if i.role != LABEL and i.min_p is not None
                 and "permutation" in i.method), None)


def test_rows(cfg: dict, pairs: Pairs) -> list[dict]:
    titles = panel.read_table("indicators").set_index("indicator")["title"]
    grading = cfg["grading"]
    rules = verdicts.Rules.from_cfg(cfg)
    labels = verdicts.labels(cfg)
    event_names = {int(v): k for k, v in cfg["events"].items()}
    names = _area_names()
    rows: list[dict] = []
    for job, res in pairs:
        sms = int(grading["sms_levels"][job.design])
        result = res if isinstance(res, DesignResult) else None
        area_name = names.get(job.area, job.area)
        claim = CLAIM_TEMPLATES[job.design].format(
            title=titles.get(job.outcome, job.outcome), area=area_name,
            event=EVENT_LABELS.get(event_names.get(job.event), "the event"), year=job.event,
            span=_span(result, job))
        row = {
            "claim_id": job.claim_id, "chapter": job.chapter, "source": f"analysis ({job.test_id})", "claim": claim,
            "outcome": job.outcome, "design": job.design, "area_code": job.area, "area_name": area_name,
            "event": job.event, "window": _span(result, job), "window_kind": job.window_kind, "role": job.role,
            "sms_level": sms, "p_holm": math.nan, "p_bh": math.nan,
        }
        row["family"] = family_of(row, cfg)
        if result is None:
            row.update(estimand="", assumption_checks="", scale="", p_kind="", _why=str(res))
        else:
            row.update(
                estimand=result.estimand, estimate=result.estimate, ci_low=result.ci_low, ci_high=result.ci_high,
                eq_low=result.eq_low, eq_high=result.eq_high, p_value=float(result.p_value),
                estimate_p=result.estimate_p, min_p=result.min_p, p_kind=result.p_kind, mde=result.mde,
                p_permutation=getattr(permutation_route(result), "p_value", math.nan),
                min_p_permutation=getattr(permutation_route(result), "min_p", math.nan),
                margin=verdicts.margin_of(result, rules.margin), breakdown_rm=verdicts.breakdown(result),
                breakdown_sd=(result.sensitivity or {}).get("breakdown_sd"), scale=result.scale,
                n_pre=result.n_pre, n_post=result.n_post, assumption_checks=_checks_text(result))
        rows.append(row)
    adjust(rows)
    chosen = cfg["multiplicity"]["verdict_p"]
    for (_, res), row in zip(pairs, rows, strict=True):
        sms = row["sms_level"]
        if not isinstance(res, DesignResult):
            why = f"the design cannot give inference on these data: {row.pop('_why')}"
            verdict = verdicts.decide(None, sms_level=sms, rules=rules, untestable_reason=why)
        else:
            p_adj = {"raw": None, "holm": row["p_holm"], "bh": row["p_bh"]}[chosen]
            verdict = verdicts.decide(res, sms_level=sms, rules=rules, p_adjusted=p_adj)
        row.update(verdict_key=verdict.key, verdict=labels[verdict.key], why=verdict.why, reason=verdict.reason)
    return rows


#: Ledgers already assembled in this process, by :func:`results_key` (a page asks for it several times).
_LEDGERS: dict[str, pd.DataFrame] = {}


def ledger(*, force: bool = False, progress: bool | None = None) -> pd.DataFrame:
    """The evidence ledger: report claims, then every quantitative test, in a stable order.

    Assembled once per process while :func:`results_key` is unchanged; each caller gets its own copy.
    """
    key = results_key()
    if force or key not in _LEDGERS:
        cfg = _cfg()
        pairs = results(force=force, progress=progress)
        frame = pd.DataFrame(report_rows(cfg) + test_rows(cfg, pairs), columns=LEDGER_COLUMNS)
        _LEDGERS.clear()
        _LEDGERS[key] = frame.astype({"chapter": "int64", "sms_level": "int64"})
    return _LEDGERS[key].copy(deep=False)


def result_for(claim_id: str) -> DesignResult:
    """The full design result behind one ledger row (for figures)."""
    for job, res in results():
        if job.claim_id == claim_id:
            if isinstance(res, Exception):
                raise KeyError(f"{claim_id}: the design could not be run ({res})")
            return res
    raise KeyError(claim_id)
