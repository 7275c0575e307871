"""The overview across the 32 partnerships (analysis/attribution/overview.py).

The randomisation tests are checked on constructed gaps: 32 councils whose gaps share a common shock
and an equicorrelated part and have unequal noise (as the real gaps do), with the labels assigned at
random under the sharp null. A planted group difference is detected; with none, the p-values are
uniform. Every draw is seeded; tolerances are stated beside each test with the measured value.
"""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pandas as pd
import pytest

from analysis import settings
from analysis.attribution import overview
from analysis.data import register

CFG = settings.load()["attribution"]
N = 32
LABELLED = 10
FAMILY = np.repeat([1, 2, 3, 4], 8)


def correlated_gaps(rng: np.random.Generator, n_sets: int) -> np.ndarray:
    """``n_sets`` × 32 gaps: a common shock (sd 0.02), a shared factor with loadings in [0.5, 1.5]
    (sd 0.01) and own noise whose sd runs from 0.005 to 0.05 across councils (log points)."""
    common = rng.normal(0, 0.02, (n_sets, 1))
    loadings = rng.uniform(0.5, 1.5, N)
    factor = rng.normal(0, 0.01, (n_sets, 1)) * loadings
    noise = rng.normal(0, 1, (n_sets, N)) * np.linspace(0.005, 0.05, N)
    return common + factor + noise


def test_a_planted_difference_between_the_labelled_councils_and_the_rest_is_detected():
    """Ten labelled councils 0.04 log points above the rest (noise sd 0.005–0.05): p = 0.0014 over
    9,999 permutations (measured; required below 0.01)."""
    rng = np.random.default_rng(11)
    gaps = correlated_gaps(rng, 1)[0]
    labelled = np.zeros(N, dtype=bool)
    labelled[rng.choice(N, LABELLED, replace=False)] = True
    gaps = gaps + 0.04 * labelled
    out = overview.permutation_test(gaps, labelled, n_permutations=9999, seed=CFG["seed"])
    assert out["statistic_kind"] == overview.DIFFERENCE and not out["exact"]
    assert out["p_value"] < 0.01, out
    assert out["difference"] == pytest.approx(overview.difference_in_means(gaps, labelled))
    assert out["groups"] == {"False": 22, "True": 10} and out["n_permutations"] == 9999
    assert out["min_p"] == pytest.approx(1 / 10_000)


def test_a_planted_family_group_difference_is_detected_by_the_f_ratio():
    """One family group of eight 0.08 log points above the others: p < 0.01 (measured 0.0001; a plant
    of 0.05 measured 0.0091, of 0.06 0.0018)."""
    rng = np.random.default_rng(12)
    gaps = correlated_gaps(rng, 1)[0]
    groups = rng.permutation(FAMILY)
    gaps = gaps + 0.08 * (groups == 3)
    out = overview.permutation_test(gaps, groups.tolist(), n_permutations=9999, seed=CFG["seed"])
    assert out["statistic_kind"] == overview.F_RATIO and out["p_value"] < 0.01, out
    assert out["statistic"] == pytest.approx(overview.between_groups_f(gaps, groups.tolist()))
    assert out["groups"] == {"1": 8, "2": 8, "3": 8, "4": 8}


@pytest.mark.parametrize("kind", [overview.DIFFERENCE, overview.F_RATIO])
def test_with_no_difference_the_p_values_are_uniform(kind):
    """2,000 constructed data sets under the sharp null (labels assigned at random, gaps correlated and
    heteroscedastic), 199 permutations each. Measured rejection rate — difference in means: 0.0575 at
    0.05, 0.110 at 0.10, share of p ≤ 0.5 0.511; F ratio: 0.050, 0.1025, 0.491. Required: within 3
    binomial SEs of the level (0.015 at 0.05, 0.020 at 0.10, 0.034 at 0.5). Largest distance between
    the p-values' distribution and the uniform over the attainable values 1/200, …, 1: below 0.035
    (measured 0.012 and 0.0195)."""
    rng = np.random.default_rng(13 if kind == overview.DIFFERENCE else 14)
    sets = correlated_gaps(rng, 2000)
    p = []
    for i, gaps in enumerate(sets):
        if kind == overview.DIFFERENCE:
            labels = np.zeros(N, dtype=bool)
            labels[rng.choice(N, LABELLED, replace=False)] = True
            groups = labels.tolist()
        else:
            groups = rng.permutation(FAMILY).tolist()
        p.append(overview.permutation_test(gaps, groups, n_permutations=199, seed=1000 + i, kind=kind)["p_value"])
    p = np.array(p)
    for level in (0.05, 0.10, 0.5):
        rate = np.mean(p <= level)
        assert abs(rate - level) <= 3 * math.sqrt(level * (1 - level) / len(p)), (level, rate)
    grid = np.arange(1, 201) / 200
    ks = np.max(np.abs(np.array([np.mean(p <= g) for g in grid]) - grid))
    assert ks < 0.035, ks


def test_a_small_problem_is_enumerated_exactly():
    """Eight councils, three labelled: C(8, 3) = 56 assignments, fewer than the permutations asked for,
    so every one is enumerated and p is their share at or above the observed (identity included)."""
    gaps = np.array([0.05, 0.01, -0.02, 0.04, 0.00, 0.03, -0.01, 0.02])
    labelled = np.array([True, False, False, True, False, True, False, False])
    out = overview.permutation_test(gaps, labelled, n_permutations=100, seed=0)
    observed = abs(overview.difference_in_means(gaps, labelled))
    brute = [abs(overview.difference_in_means(gaps, np.isin(np.arange(8), c))) for c in combinations(range(8), 3)]
    assert out["exact"] and out["n_permutations"] == 56 and out["seed"] is None
    assert out["p_value"] == pytest.approx(np.mean(np.array(brute) >= observed - 1e-12))
    assert out["min_p"] == pytest.approx(1 / 56)
    groups = [1, 1, 2, 2, 3, 3, 3, 1]
    f = overview.permutation_test(gaps, groups, n_permutations=1000, seed=0)
    assert f["exact"] and f["n_permutations"] == overview.n_assignments([3, 2, 3]) == 560


@pytest.mark.parametrize(("gaps", "groups", "kwargs", "message"), [
    ([0.1, 0.2], [True], {}, "2 gaps but 1 group labels"),
    ([0.1, math.nan, 0.2], [True, False, True], {}, "finite"),
    ([0.1, 0.2, 0.3], [1, 1, 1], {}, "at least two groups"),
    ([0.1, 0.2, 0.3, 0.4], [1, 1, 2, 3], {}, "at least two councils"),
    ([0.1, 0.2, 0.3], [1, 2, 3], {"kind": overview.DIFFERENCE}, "needs two groups"),
    ([0.1, 0.2], [True, False], {"n_permutations": 0}, "at least 1"),
    ([0.1, 0.2], [True, None], {}, "needs a group label"),
])
def test_bad_input_is_refused_by_name(gaps, groups, kwargs, message):
    with pytest.raises(ValueError, match=message):
        overview.permutation_test(gaps, groups, **{"n_permutations": 99, "seed": 0, **kwargs})


# --------------------------------------------------------------------------------------------
# the real data


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return overview.overview()


def test_the_overview_of_the_real_gaps_has_every_test_window_and_comparison(real):
    assert len(real) == 2 * 2 * 3   # two council-level tests × two windows × three comparisons
    assert set(real["test_id"]) == {"gdhi-council-synth", "gdp-council-synth"}
    assert (real["n_permutations"] == CFG["overview"]["permutations"]).all() and (real["seed"] == CFG["seed"]).all()
    assert (~real["exact"]).all() and real["p_value"].between(1 / 10_000, 1).all()
    case = real[real["comparison"] == "case_study"]
    assert all(g == {overview.CASE_STUDY_OR_PILOT: 10, overview.REST: 22} for g in case["groups"])
    assert case["difference"].notna().all()
    for column in ("lgbf_family_group_people", "lgbf_family_group_other"):
        fam = real[real["comparison"] == column]
        assert all(g == {"1": 8, "2": 8, "3": 8, "4": 8} for g in fam["groups"])
    assert real["null"].str.contains("unrelated to the gaps").all()


def test_the_gaps_carry_the_registers_labels():
    gaps = overview.council_gaps()
    reg = register.load_register().set_index("code")
    assert len(gaps) == 2 * 2 * 32 and gaps.groupby(["test_id", "window_kind"]).size().eq(32).all()
    first = gaps.drop_duplicates("area_code").set_index("area_code")
    assert first["case_study_or_pilot"].sum() == 10
    assert (first["lgbf_family_group_other"] == reg.loc[first.index, "lgbf_family_group_other"]).all()
    assert set(first.index[first["pilot"]]) == set(register.pilot_codes())
    with pytest.raises(KeyError, match="no result under the donor-pool rule"):
        overview.council_gaps(rule="nearest-7")


def test_pool_robustness_reports_every_partnership_under_every_rule():
    table = overview.pool_robustness()
    rules = ["all"] + [f"nearest-{r['k']}" for r in CFG["synth"]["robustness_pools"]]
    assert set(table["rule"]) == set(rules)
    assert len(table) == 2 * 2 * 32 * len(rules)
    assert (table.loc[table["rule"] == "all", "shift"] == 0).all()
    assert (table.loc[table["rule"] == "all", "n_donors"] == 318).all()
    assert (table["n_placebos"] == 318).all()
    summary = overview.pool_robustness_summary()
    assert len(summary) == 2 * 2 * len(rules) and (summary["n"] == 32).all()
    default = summary[summary["rule"] == "all"]
    assert np.allclose(default["correlation_with_default"], 1.0) and (default["same_decision"] == 1).all()
