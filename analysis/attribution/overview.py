"""An overview across the 32 partnerships: do their council-level synthetic-control gaps differ by group?

Each council-level synthetic-control row of the ledger (a test with ``area_level: district`` and
``areas: [councils]``) estimates one partnership's mean gap, treated − synthetic, over a window, in
log points (:mod:`analysis.attribution.synth`). Single councils are exploratory and, one by one,
have little power. This module asks a different question of all 32 at once, per outcome and window:

(a) do the gaps of the report's nine **case-study partnerships plus the North Lanarkshire pilot**
    (the register's ``case_study`` and ``pilot`` columns, :mod:`analysis.data.register`) differ from
    those of the other 22? Statistic: the **difference in means**, labelled − rest
    (:func:`difference_in_means`), tested two-sided on its absolute value;
(b) do the gaps differ between the four **LGBF family groups** (``lgbf_family_group_people`` and
    ``lgbf_family_group_other``, one test each)? Statistic: the between-group **F ratio**
    ``(SSB / (G − 1)) / (SSW / (N − G))`` (:func:`between_groups_f`).

**Inference: randomisation over the 32 councils** (:func:`permutation_test`). The 32 gaps are not
independent draws: they share donors and placebos, and Scotland-wide shocks move them together;
their noise differs from council to council (the islands' fits are looser). A t-test or ANOVA would
need independence and equal variances; the randomisation test needs neither, because it keeps the
observed vector of 32 gaps fixed — their joint distribution, correlation included — and permutes
only the labels. **Sharp null**: the group labels are unrelated to the gaps, i.e. given the 32
gaps, every assignment of the labels to the councils with the same group sizes (10 and 22; 8 in
each family group) is equally likely, as if the labels had been drawn at random; the statistic's
reference distribution is its value under those assignments. With more assignments than
``overview.permutations`` (here C(32, 10) ≈ 6.5·10⁷, and 32! / (8!⁴) for the family groups) the
p-value is Monte Carlo, ``p = (1 + #{T* ≥ T}) / (1 + B)`` over ``B`` seeded random permutations
(``attribution.seed``), exact in the sense that it is a valid p-value for any ``B``; with at most
``B`` distinct assignments every one is enumerated and ``p = #{T* ≥ T} / M`` (the identity among
them). The labels were not in fact randomised (the report chose the case studies), so a rejection
says the groups' gaps differ, not that being a case study or in a family group caused it.

:func:`overview` runs both tests on the ledger's cached results; :func:`council_gaps` gives the
gaps with the councils' labels; :func:`pool_robustness` and :func:`pool_robustness_summary` give
every partnership's estimate, p-value and interval under each donor-pool rule
(``details["donor_pools"]`` of each result) for the pages. Tested on constructed data in
``tests/test_overview.py`` (a planted group difference is detected; with none, p-values are uniform).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: Statistics computed by the permutations within this (relative) of the observed one count as ties.
TIE = 1e-10
CASE_STUDY_OR_PILOT = "case study or pilot"
REST = "other partnerships"
COMPARISONS = {
    "case_study": "case-study partnerships and the pilot against the rest (difference in means)",
    "lgbf_family_group_people": "LGBF family groups, people services (between-group F)",
    "lgbf_family_group_other": "LGBF family groups, other services (between-group F)",
}
DIFFERENCE, F_RATIO = "difference in means", "between-group F"


# --------------------------------------------------------------------------------------------
# statistics, for one labelling or many at once


def _codes(groups: Sequence[object]) -> tuple[np.ndarray, list[object]]:
    names = sorted(set(groups), key=str)
    index = {g: i for i, g in enumerate(names)}
    return np.array([index[g] for g in groups]), names


def _sums(gaps: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Each group's sum of gaps, for one labelling (``codes`` of length N) or many (B × N)."""
    codes = np.atleast_2d(codes)
    return np.stack([(codes == g) @ gaps for g in range(n_groups)], axis=-1)   # B × G


def difference_in_means(gaps: Sequence[float], labelled: Sequence[bool]) -> float:
    """Mean gap of the labelled councils minus that of the others."""
    gaps, labelled = np.asarray(gaps, dtype=float), np.asarray(labelled, dtype=bool)
    return float(gaps[labelled].mean() - gaps[~labelled].mean())


def between_groups_f(gaps: Sequence[float], groups: Sequence[object]) -> float:
    """The one-way F ratio ``(SSB / (G − 1)) / (SSW / (N − G))`` of the gaps across ``groups``."""
    gaps = np.asarray(gaps, dtype=float)
    codes, names = _codes(list(groups))
    return float(_f_from_sums(gaps, _sums(gaps, codes, len(names)), np.bincount(codes, minlength=len(names)))[0])


def _f_from_sums(gaps: np.ndarray, sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    n, g = len(gaps), len(counts)
    total = gaps.sum()
    ssb = (sums**2 / counts).sum(axis=-1) - total**2 / n
    ssw = (gaps**2).sum() - (sums**2 / counts).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (ssb / (g - 1)) / (ssw / (n - g))


def _statistic(gaps: np.ndarray, codes: np.ndarray, counts: np.ndarray, kind: str) -> np.ndarray:
    """The test statistic for each labelling in ``codes`` (B × N): ``|difference in means|`` (two
    groups, code 1 the labelled) or the F ratio."""
    sums = _sums(gaps, codes, len(counts))
    if kind == DIFFERENCE:
        return np.abs(sums[:, 1] / counts[1] - sums[:, 0] / counts[0])
    return _f_from_sums(gaps, sums, counts)


# --------------------------------------------------------------------------------------------
# the randomisation test


def n_assignments(counts: Sequence[int]) -> int:
    """Distinct assignments of labels with these group sizes: ``N! / Π n_g!``."""
    out, left = 1, int(sum(counts))
    for c in counts:
        out *= math.comb(left, int(c))
        left -= int(c)
    return out


def _enumerate(counts: Sequence[int]) -> np.ndarray:
    """Every distinct assignment (M × N group codes) of groups of sizes ``counts`` to N units."""
    n = int(sum(counts))
    rows: list[np.ndarray] = []

    def place(assign: np.ndarray, free: list[int], g: int) -> None:
        if g == len(counts) - 1:
            done = assign.copy()
            done[free] = g
            rows.append(done)
            return
        for chosen in itertools.combinations(free, int(counts[g])):
            nxt = assign.copy()
            nxt[list(chosen)] = g
            place(nxt, [i for i in free if i not in set(chosen)], g + 1)

    place(np.full(n, -1), list(range(n)), 0)
    return np.array(rows)


def permutation_test(gaps: Sequence[float], groups: Sequence[object], *, n_permutations: int, seed: int,
                     kind: str | None = None) -> dict[str, object]:
    """Randomisation test that ``gaps`` do not differ across ``groups`` (module docstring).

    ``groups`` gives each council's group; with two groups and ``kind`` :data:`DIFFERENCE` (the
    default for two groups; ``True`` is the labelled group) the statistic is the absolute difference
    in means, else the between-group F ratio (:data:`F_RATIO`). Returns the statistic, the signed
    difference (two groups), each group's size and mean gap, the p-value, how it was obtained
    (``exact``: every distinct assignment enumerated; else ``n_permutations`` seeded Monte Carlo
    permutations) and its smallest attainable value.

    Raises ``ValueError`` for missing or non-finite gaps, a length mismatch, fewer than two groups,
    or a group of one council (F needs at least two per group to have within-group variation).
    """
    gaps = np.asarray(gaps, dtype=float)
    groups = list(groups)
    if len(gaps) != len(groups):
        raise ValueError(f"{len(gaps)} gaps but {len(groups)} group labels")
    if not np.isfinite(gaps).all():
        raise ValueError("every gap must be a finite number")
    if any(g is None or (isinstance(g, float) and math.isnan(g)) for g in groups):
        raise ValueError("every council needs a group label")
    codes, names = _codes(groups)
    counts = np.bincount(codes, minlength=len(names))
    if len(names) < 2:
        raise ValueError(f"the councils must fall into at least two groups, not {len(names)}")
    kind = kind or (DIFFERENCE if len(names) == 2 else F_RATIO)
    if kind == DIFFERENCE and len(names) != 2:
        raise ValueError(f"a difference in means needs two groups, not {len(names)}")
    if kind not in (DIFFERENCE, F_RATIO):
        raise ValueError(f"unknown statistic {kind!r}")
    if kind == F_RATIO and counts.min() < 2:
        raise ValueError("every group needs at least two councils for the F ratio")
    if not isinstance(n_permutations, int) or n_permutations < 1:
        raise ValueError(f"n_permutations must be a whole number of at least 1, got {n_permutations!r}")
    observed = float(_statistic(gaps, codes[None, :], counts, kind)[0])
    total = n_assignments(counts)
    exact = total <= n_permutations
    if exact:
        null = _statistic(gaps, _enumerate(counts.tolist()), counts, kind)
        # codes are group indices in the order of ``names``; enumeration puts group g's units at g
    else:
        rng = np.random.default_rng(seed)
        null = _statistic(gaps, rng.permuted(np.tile(codes, (n_permutations, 1)), axis=1), counts, kind)
    hits = int(np.sum(null >= observed - TIE * max(1.0, abs(observed))))
    p = hits / total if exact else (1 + hits) / (1 + n_permutations)
    means = {str(name): float(gaps[codes == i].mean()) for i, name in enumerate(names)}
    out: dict[str, object] = {
        "statistic_kind": kind, "statistic": observed, "p_value": float(p), "exact": exact,
        "n_permutations": total if exact else n_permutations, "n_assignments": total,
        "min_p": 1 / total if exact else 1 / (1 + n_permutations), "seed": None if exact else seed,
        "groups": {str(name): int(c) for name, c in zip(names, counts, strict=True)}, "means": means,
        "n": len(gaps),
    }
    if kind == DIFFERENCE:
        out["difference"] = means[str(names[1])] - means[str(names[0])]
    return out


# --------------------------------------------------------------------------------------------
# the real data: the ledger's council-level synthetic controls


def _pairs(pairs):
    from analysis.attribution import ledger

    return ledger.results() if pairs is None else pairs


def council_results(pairs=None) -> list[tuple[object, object]]:
    """The (job, result) pairs of the council-level synthetic controls (area a council code)."""
    from analysis.attribution.base import DesignResult
    from analysis.data import register

    councils = set(register.council_codes())
    return [(job, res) for job, res in _pairs(pairs)
            if job.design == "synth" and job.area in councils and isinstance(res, DesignResult)]


def council_gaps(pairs=None, *, rule: str = "all") -> pd.DataFrame:
    """One row per council-level synthetic control (test × window × council) under donor-pool ``rule``
    (a key of ``details["donor_pools"]``: ``all``, ``nearest-50``), with the council's labels.

    Columns: ``test_id``, ``outcome``, ``window_kind``, ``window``, ``area_code``, ``area_name``,
    ``estimate`` (mean gap, log points), ``p_value``, ``ci_low``, ``ci_high``, ``mde``, ``rule``,
    ``case_study``, ``pilot``, ``case_study_or_pilot``, ``lgbf_family_group_people``,
    ``lgbf_family_group_other``.
    """
    from analysis.data import register

    reg = register.load_register().set_index("code")
    rows = []
    for job, res in council_results(pairs):
        entry = next((r for r in res.details.get("donor_pools") or [] if r["rule"] == rule), None)
        if entry is None:
            raise KeyError(f"{job.claim_id}: no result under the donor-pool rule {rule!r}")
        labels = reg.loc[job.area]
        rows.append({
            "test_id": job.test_id, "outcome": job.outcome, "window_kind": job.window_kind,
            "window": f"{res.window[0]}–{res.window[1]}", "area_code": job.area, "area_name": labels["name"],
            "estimate": float(entry["estimate"]), "p_value": float(entry["p_value"]),
            "ci_low": float(entry["ci_low"]), "ci_high": float(entry["ci_high"]), "mde": float(entry["mde"]),
            "rule": rule, "case_study": bool(labels["case_study"]), "pilot": bool(labels["pilot"]),
            "case_study_or_pilot": bool(labels["case_study"] or labels["pilot"]),
            "lgbf_family_group_people": int(labels["lgbf_family_group_people"]),
            "lgbf_family_group_other": int(labels["lgbf_family_group_other"]),
        })
    return pd.DataFrame(rows)


def overview(pairs=None, cfg: dict | None = None, *, rule: str = "all") -> pd.DataFrame:
    """Both tests of the module docstring for every council-level test and window, on the gaps under
    donor-pool ``rule``: one row per test, window and comparison (:data:`COMPARISONS`).

    Columns: ``test_id``, ``outcome``, ``window_kind``, ``window``, ``comparison`` (a key of
    :data:`COMPARISONS`), ``description``, ``statistic_kind``, ``statistic``, ``difference``
    (labelled − rest, for (a)), ``means`` and ``groups`` (each group's mean gap and size),
    ``p_value``, ``exact``, ``n_permutations``, ``min_p``, ``seed``, ``n``, ``null`` (the sharp null)
    and ``rule``.
    """
    from analysis import settings

    cfg = settings.load()["attribution"] if cfg is None else cfg
    n_perm, seed = int(cfg["overview"]["permutations"]), int(cfg["seed"])
    gaps = council_gaps(pairs, rule=rule)
    rows = []
    if gaps.empty:
        return pd.DataFrame(rows)
    for (test_id, outcome, kind, window), frame in gaps.groupby(["test_id", "outcome", "window_kind", "window"],
                                                                 sort=False):
        for column, description in COMPARISONS.items():
            if column == "case_study":
                # True (labelled) sorts after False, so the difference is labelled − rest
                test = permutation_test(frame["estimate"], frame["case_study_or_pilot"].tolist(),
                                        n_permutations=n_perm, seed=seed, kind=DIFFERENCE)
                test["means"] = {CASE_STUDY_OR_PILOT: test["means"]["True"], REST: test["means"]["False"]}
                test["groups"] = {CASE_STUDY_OR_PILOT: test["groups"]["True"], REST: test["groups"]["False"]}
                null = ("the case-study/pilot label is unrelated to the gaps: given the 32 gaps, every choice of "
                        f"{test['groups'][CASE_STUDY_OR_PILOT]} of the councils to carry it is equally likely")
            else:
                test = permutation_test(frame["estimate"], frame[column].tolist(), n_permutations=n_perm, seed=seed,
                                        kind=F_RATIO)
                test["difference"] = math.nan
                null = ("the family-group labels are unrelated to the gaps: given the 32 gaps, every assignment of "
                        "the councils to the groups, with the groups' sizes, is equally likely")
            rows.append({"test_id": test_id, "outcome": outcome, "window_kind": kind, "window": window,
                         "comparison": column, "description": description, **test, "null": null, "rule": rule})
    return pd.DataFrame(rows)


def pool_robustness(pairs=None) -> pd.DataFrame:
    """Every council-level synthetic control under every donor-pool rule: one row per test, window,
    council and rule, with ``estimate``, ``p_value``, ``min_p``, ``ci_low``, ``ci_high``, ``mde``,
    ``n_donors``, ``n_placebos``, ``pre_fit_ok`` and ``shift`` (the estimate minus the default
    rule's), from ``details["donor_pools"]``."""
    rows = []
    for job, res in council_results(pairs):
        pools = res.details.get("donor_pools") or []
        base = pools[0]["estimate"] if pools else math.nan
        for entry in pools:
            rows.append({"test_id": job.test_id, "outcome": job.outcome, "window_kind": job.window_kind,
                         "area_code": job.area, "rule": entry["rule"], "label": entry["label"],
                         **{k: entry[k] for k in ("estimate", "p_value", "min_p", "ci_low", "ci_high", "mde",
                                                  "n_donors", "n_placebos", "pre_fit_ok")},
                         "shift": float(entry["estimate"]) - float(base)})
    return pd.DataFrame(rows)


def pool_robustness_summary(pairs=None, cfg: dict | None = None) -> pd.DataFrame:
    """Per test, window and donor-pool rule: how many of the partnerships reject at ``alpha``, the
    median estimate, and against the default rule the correlation of the estimates, the median
    absolute shift, the share with the same sign and the share with the same decision at ``alpha``."""
    from analysis import settings

    cfg = settings.load()["attribution"] if cfg is None else cfg
    alpha = float(cfg["alpha"])
    table = pool_robustness(pairs)
    if table.empty:
        return table
    rows = []
    for (test_id, kind), frame in table.groupby(["test_id", "window_kind"], sort=False):
        base = frame[frame["rule"] == frame["rule"].iloc[0]].set_index("area_code")
        for rule, sub in frame.groupby("rule", sort=False):
            sub = sub.set_index("area_code").loc[base.index]
            rows.append({
                "test_id": test_id, "window_kind": kind, "rule": rule, "n": len(sub),
                "n_rejected": int((sub["p_value"] <= alpha).sum()), "median_estimate": float(sub["estimate"].median()),
                "n_pre_fit_ok": int(sub["pre_fit_ok"].sum()),
                "correlation_with_default": float(np.corrcoef(sub["estimate"], base["estimate"])[0, 1]),
                "median_abs_shift": float(sub["shift"].abs().median()),
                "same_sign": float((np.sign(sub["estimate"]) == np.sign(base["estimate"])).mean()),
                "same_decision": float(((sub["p_value"] <= alpha) == (base["p_value"] <= alpha)).mean()),
            })
    return pd.DataFrame(rows)
