"""Validation on a published difference-in-differences: Kessler & Roth (2014), California's switch to active choice.

In Q3 2011 California changed its driver's-licence organ-donor question from opt-in to active choice.
Kessler & Roth (2014, NBER Working Paper 20378, section on the natural experiment, Table 2, p. 9)
compare California's quarterly registration rate with those of the 26 jurisdictions (25 states and
DC) that reported all six quarters Q4 2010 to Q1 2012. The structure is the book's: one treated
unit, many untreated ones, few periods, one event date. Data: ``data/benchmarks/organ_donation.csv``
(causaldata 0.1.5; provenance, licence and SHA-256 in ``data/benchmarks/README.md``).

Set-up. Each state is its own "region", so the state is the unit of treatment (California the
treated region, 26 placebo regions of one area each). The quarters are labels (``Q32011``); the
loader below numbers them 1 (Q4 2010) to 6 (Q1 2012), as the package's ``Quarter_Num`` does, so the
event is period 4 and ``did.py``'s "year" reads "quarter" here (``did.py`` is unchanged). ``y`` is
the rate in levels, the paper's scale (``did.log_outcome`` off in a copy of the settings: the frame
is built here, not by ``did.prepare``, so this only sets the scale label), and the event window is
the whole panel, −3 to +2 quarters (no binning).

Published: Post × California −0.022, standard error clustered by state 0.007 (Table 2, column 2:
state fixed effects and a post dummy, 162 observations, 27 clusters); −0.022 (0.006) without state
effects (column 1); −0.033 (0.012) with the 13 low-rate jurisdictions as controls (Table A2,
column 5, p. 39). *The Effect* (Huntington-Klein 2021, ch. 18) fits the same two-way fixed-effects
regression on these data; its printed table could not be consulted, so the comparison is with the
paper.

Text for the Methods appendix, "Validation" (the numbers in brackets are what this module computes;
the book should compute them, not copy them):

    We also ran the book's difference-in-differences, unchanged, on a published study with the structure
    of ours, one treated jurisdiction against many untreated ones over a short panel: Kessler and Roth's
    (2014) estimate of the effect of California's switch, in July 2011, from an opt-in to an
    active-choice organ-donor question, with quarterly registration rates for California and 26
    comparison jurisdictions from the end of 2010 to early 2012 (the data as distributed with
    Huntington-Klein's causaldata package; they agree with the paper's Table A1). The book's two-way
    fixed-effects estimate is the published one, [−0.0225] against −0.022, and its state-clustered
    standard error, [0.0067], is the published 0.007 (Table 2), so the data and the estimator are read
    correctly. What the book changes is the inference. With a single treated state the fitted effect
    absorbs that state's own departure, so its cluster contributes [nothing] to the clustered variance,
    which measures only the noise in the comparison states' average; such errors are known to be too
    small (Conley and Taber 2011; MacKinnon and Webb 2017), and the book does not use them. Treating
    each of the 26 comparison jurisdictions in turn as if it had switched gives estimates with no
    treatment at all whose spread is [4.7] times the clustered standard error, and California's estimate
    does not stand out from them: the t-type test gives p = [0.48] (95% interval [−0.087] to [0.042],
    against the clustered [−0.036] to [−0.009]) and the permutation test p = [5/27 = 0.19], because
    [four] jurisdictions moved further than California did. With 26 placebos, unlike Scotland's ten
    regions, the permutation test could have gone as low as [1/27 = 0.037], so this is a finding, not a
    limit of the design. The widest placebo is Michigan ([+0.124]), which changed its own registration
    procedure in early 2012 (the paper checks its result without it); without Michigan the estimate is
    [−0.018], t-type p = [0.37] and permutation p = [6/26 = 0.23], so the conclusion does not rest on
    one state. The event study's two leads are small ([−0.003] and [+0.006]; joint test against the
    placebo states' leads p = [0.86]): the difficulty is not diverging pre-trends but how much single
    states' rates move from quarter to quarter. A published difference-in-differences on one treated
    unit can thus be reproduced exactly while the design-based inference shows that the data cannot tell
    its effect apart from the ordinary movement of comparable units, the standard the book applies to
    Scotland.

Where the book's method differs from the paper's, and what that changes (numbers measured here):

1. Quarter fixed effects instead of the paper's single post dummy. In a balanced panel with one
   event date both give the same point estimate (the 2×2 difference of means, −0.0224590); the
   clustered standard error (CR1, every dummy counted) is 0.00672 with quarter effects and 0.00662
   with the post dummy, both printed as 0.007.
2. Periods are quarters, numbered by the loader; the event study's leads and lags are quarters.
3. Inference by placebo states, not clustered errors. The paper's clustered t is −3.3 (p = 0.0025 on
   26 df, "***"). With one treated cluster that t is unreliable (MacKinnon & Webb 2017): California's
   own score is exactly zero (the effect absorbs its departure), so the clustered variance comes
   from the 26 controls alone (Michigan 60% of it) and measures the noise in their mean. The book's
   area-clustered route refuses (t on min(1, 26) − 1 = 0 df) and the verdict's route is the
   t-type test on the 26 placebo states: s = 0.0313, 4.65 times the clustered SE; p = 0.479,
   interval −0.0869 to 0.0420, minimum detectable effect 0.091, four times the estimate. The
   permutation route gives p = 5/27 (Michigan, DC, New Hampshire and South Carolina move further);
   its smallest attainable p is 1/27 = 0.037 < 0.05, so here, unlike Scotland (1/11), it could
   reject.
4. The placebo distribution is heavy-tailed: Michigan's +0.124 is 60% of s², and the permutation
   95% interval (−0.146 to 0.101) is set by Michigan alone. Without Michigan (the paper's own
   robustness check, p. 10): estimate −0.0177, clustered SE 0.0043 (t = −4.1), t-type p = 0.373,
   permutation p = 6/26; still not distinguishable from the placebos.
5. The Ferman–Pinto rescaling has nothing to do here: every region is one state, so the placebos'
   scale factors are all 0.9993 (their ``h`` differs from California's only by one fewer control).
6. With one-area regions the placebo estimates sum to zero exactly (each is a state against the mean
   of the others): their mean being zero is an identity, not evidence; their median is −0.0067.

Tolerances are stated at each assertion: ±0.0005 against published numbers (half a unit in their
third decimal); measured values to the stated digits; exact identities to 1e-12. Measured wall time
of this file: about 2 s, most of it importing linearmodels.
"""

from __future__ import annotations

import hashlib
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.attribution import did, validation
from analysis.attribution.base import LABEL, REPORTED, VERDICT

DATA = validation.BENCHMARKS
TREATED = validation.ORGAN_TREATED
EVENT = validation.ORGAN_EVENT
CFG = validation.organ_cfg()   # the whole six-quarter panel (no binning), levels: the paper's scale
#: Half a unit in the third decimal: the precision of the published tables.
PUBLISHED_TOL = 0.0005
#: Kessler & Roth (2014), Table A1 (p. 38): California's registration rate, Q4 2010 to Q1 2012.
TABLE_A1_CALIFORNIA = [0.2666, 0.2731, 0.2743, 0.2636, 0.2607, 0.2641]
quarter_number = validation.quarter_number


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """The design frame (``did.COLUMNS``): each state its own region, California treated."""
    return validation.organ_frame()


def fit(design, df: pd.DataFrame):
    return design(df, EVENT, outcome="organ_donor_registration_rate", area=TREATED, cfg=CFG)


@pytest.fixture(scope="module")
def did_fit(frame):
    return fit(did.fit_did, frame)


@pytest.fixture(scope="module")
def es_fit(frame):
    return fit(did.fit_event_study, frame)


def book_twfe(df: pd.DataFrame) -> tuple[float, float]:
    """The book's clustered TWFE (``did.twfe``: state and quarter effects, errors clustered by state)."""
    regressors = pd.DataFrame({"treated_x_post": df["treated"] * (df["year"] >= EVENT)}, index=df.index)
    res = did.twfe(df, regressors)
    return float(res.params["treated_x_post"]), float(np.sqrt(res.cov.loc["treated_x_post", "treated_x_post"]))


def cr1(X: np.ndarray, y: np.ndarray, clusters: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """OLS with cluster-robust errors, small-sample factor G/(G−1)·(N−1)/(N−K) with every dummy
    counted (Stata's ``regress …, vce(cluster)``): coefficients, standard errors, R²."""
    xtx_inv = np.linalg.inv(X.T @ X)
    b = xtx_inv @ X.T @ y
    e = y - X @ b
    groups = [clusters == c for c in np.unique(clusters)]
    meat = sum(np.outer(X[g].T @ e[g], X[g].T @ e[g]) for g in groups)
    n, k, g = len(y), X.shape[1], len(groups)
    cov = xtx_inv @ meat @ xtx_inv * g / (g - 1) * (n - 1) / (n - k)
    return b, np.sqrt(np.diag(cov)), float(1 - e @ e / ((y - y.mean()) @ (y - y.mean())))


def paper_regression(df: pd.DataFrame, state_effects: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """Kessler & Roth's specification: rate on Post × California, Post and either a California dummy
    and a constant (Table 2, column 1) or state dummies (column 2); (coefficients, SEs, R²) with
    Post × California first and Post second."""
    post = (df["year"] >= EVENT).to_numpy(dtype=float)
    ca = df["treated"].to_numpy(dtype=float)
    rest = (pd.get_dummies(df["area_code"]).to_numpy(dtype=float) if state_effects
            else np.column_stack([ca, np.ones(len(df))]))
    return cr1(np.column_stack([post * ca, post, rest]), df["y"].to_numpy(), df["area_code"].to_numpy())


def test_the_vendored_data_are_the_documented_file(frame):
    """SHA-256 of both files as the README records them; 27 jurisdictions × 6 quarters, balanced;
    California's row equals the paper's Table A1 to its 0.01 percentage point (tolerance 5e-5)."""
    readme = (DATA / "README.md").read_text()
    for name in ("organ_donation.csv", "causaldata_LICENSE.txt"):
        recorded = re.search(rf"\| {re.escape(name)} \| `([0-9a-f]{{64}})` \|", readme).group(1)
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == recorded
    assert frame["area_code"].nunique() == 27 and sorted(frame["year"].unique()) == [1, 2, 3, 4, 5, 6]
    assert len(frame) == 162 and "District of Columbia" in set(frame["area_code"])
    assert quarter_number("Q42010") == 1 and quarter_number("Q32011") == EVENT and quarter_number("Q12012") == 6
    california = frame[frame["area_code"] == TREATED].sort_values("year")["y"].to_numpy()
    assert california == pytest.approx(TABLE_A1_CALIFORNIA, abs=5e-5)


def test_the_books_twfe_reproduces_the_published_estimate_and_clustered_se(frame):
    """``did.twfe`` (the book's clustered TWFE, state and quarter effects): −0.0224590 and SE 0.0067208
    (measured; tolerance 1e-7), within ±0.0005 of the published −0.022 (0.007). The book's linear
    map gives the same estimate (1e-12). California's cluster score is zero (1e-12 of the largest):
    the clustered variance is the controls' alone, Michigan's share 0.603 (1e-3)."""
    b, se = book_twfe(frame)
    assert b == pytest.approx(-0.022, abs=PUBLISHED_TOL) and se == pytest.approx(0.007, abs=PUBLISHED_TOL)
    assert b == pytest.approx(-0.0224590, abs=1e-7) and se == pytest.approx(0.0067208, abs=1e-7)
    layout = did.Layout.of(frame)
    maps_ = did.maps(layout, did.DID, EVENT, (-3, 2))
    assert float(maps_.estimate(layout.Y, did.REAL)) == pytest.approx(b, abs=1e-12)

    def within(a: np.ndarray) -> np.ndarray:
        return a - a.mean(1, keepdims=True) - a.mean(0, keepdims=True) + a.mean()

    d = within(np.outer(layout.treated, layout.years >= EVENT).astype(float))
    score = (d * (within(layout.Y) - b * d)).sum(axis=1)   # each state's cluster score
    share = pd.Series(score**2 / (score**2).sum(), index=layout.areas)
    assert abs(score[layout.treated][0]) < 1e-12 * np.abs(score).max()
    assert share["Michigan"] == pytest.approx(0.603, abs=1e-3)


def test_the_papers_own_specifications_are_reproduced(frame):
    """The paper's regressions with CR1 errors reproduce every printed number checked (±0.0005; R²
    ±0.005): Table 2 column (1): −0.022 (0.006), Post 0.014 (0.006), California −0.174 (0.031),
    constant 0.445 (0.031), R² 0.05; column (2): −0.022 (0.007), Post 0.014 (0.007), R² 0.98 (measured
    SE 0.00662 against the book's 0.00672 with quarter effects: the specifications differ only in
    the time effects); Table A2 column (5), California and the 13 jurisdictions below 44% in Q2 2011:
    −0.033 (0.012), Post 0.025 (0.012), R² 0.90. The point estimates equal the book's TWFE (1e-12)."""
    b, se, r2 = paper_regression(frame, state_effects=False)
    assert b == pytest.approx([-0.022, 0.014, -0.174, 0.445], abs=PUBLISHED_TOL)
    assert se == pytest.approx([0.006, 0.006, 0.031, 0.031], abs=PUBLISHED_TOL)
    assert r2 == pytest.approx(0.05, abs=0.005)
    b, se, r2 = paper_regression(frame, state_effects=True)
    assert b[:2] == pytest.approx([-0.022, 0.014], abs=PUBLISHED_TOL)
    assert se[:2] == pytest.approx([0.007, 0.007], abs=PUBLISHED_TOL) and r2 == pytest.approx(0.98, abs=0.005)
    assert se[0] == pytest.approx(0.00662, abs=5e-6)
    assert b[0] == pytest.approx(book_twfe(frame)[0], abs=1e-12)

    q2 = frame[frame["year"] == 3].set_index("area_code")["y"]
    low = frame[frame["area_code"].isin(q2[q2 < 0.44].index)]
    assert low["area_code"].nunique() == 14 and TREATED in set(low["area_code"])
    b, se, r2 = paper_regression(low, state_effects=True)
    assert b[:2] == pytest.approx([-0.033, 0.025], abs=PUBLISHED_TOL)
    assert se[:2] == pytest.approx([0.012, 0.012], abs=PUBLISHED_TOL) and r2 == pytest.approx(0.90, abs=0.005)
    assert b[0] == pytest.approx(book_twfe(low)[0], abs=1e-12)


def test_placebo_states_what_the_books_inference_changes(frame, did_fit):
    """Against the 26 placebo states: t-type p 0.479 (measured 0.47945; tolerance 1e-4), s 0.031283
    (1e-6), interval −0.0869 to 0.0420 (1e-4), which contains zero and contains the clustered
    interval (t on 26 df: −0.0363 to −0.0086, which excludes it). Permutation p = 5/27 exactly (the
    four states further out named), smallest attainable 1/27 < 0.05; its 95% interval is set by the
    largest placebo (Michigan) and contains the t-type one. The area-clustered label refuses (one
    treated area). Placebo estimates sum to zero (identity, 1e-12); median −0.0067 (1e-4)."""
    res = did_fit
    b_twfe, se_twfe = book_twfe(frame)
    assert res.estimate == pytest.approx(b_twfe, abs=1e-12)
    t_type, perm, clustered = res.inferences
    assert (t_type.role, perm.role, clustered.role) == (VERDICT, REPORTED, LABEL)
    assert res.details["df"] == 25 and len(res.details["placebo_regions"]) == 26
    assert res.p_value == t_type.p_value and all(math.isfinite(p) for p in (res.p_value, perm.p_value))

    s = res.details["se"]
    assert s == pytest.approx(0.031283, abs=1e-6) and s / se_twfe == pytest.approx(4.65, abs=0.01)
    assert res.p_value == pytest.approx(0.47945, abs=1e-4)
    assert (res.ci_low, res.ci_high) == pytest.approx((-0.0869, 0.0420), abs=1e-4)
    assert res.mde == pytest.approx(0.0912, abs=1e-4)
    q = stats.t.ppf(0.975, 26)
    cl_low, cl_high = b_twfe - q * se_twfe, b_twfe + q * se_twfe
    assert (cl_low, cl_high) == pytest.approx((-0.0363, -0.0086), abs=1e-4)
    assert res.ci_low < cl_low < cl_high < 0 < res.ci_high

    placebos = pd.DataFrame(res.details["placebo_regions"]).T
    further = set(placebos.index[placebos["rescaled"].abs() >= abs(res.estimate)])
    assert further == {"Michigan", "District of Columbia", "New Hampshire", "South Carolina"}
    assert perm.p_value == pytest.approx(5 / 27, abs=1e-12) and perm.min_p == pytest.approx(1 / 27) and 1 / 27 < 0.05
    michigan = placebos.loc["Michigan", "rescaled"]
    assert michigan == placebos["rescaled"].max() and michigan == pytest.approx(0.1239, abs=1e-4)
    assert (perm.ci_low, perm.ci_high) == pytest.approx((res.estimate - michigan, res.estimate + michigan), abs=1e-12)
    assert perm.ci_low < res.ci_low and res.ci_high < perm.ci_high
    assert placebos["scale"].to_numpy() == pytest.approx(0.99926, abs=1e-5)
    assert abs(placebos["estimate"].sum()) < 1e-12
    assert placebos["rescaled"].median() == pytest.approx(-0.0067, abs=1e-4)

    assert math.isnan(clustered.p_value) and "cannot be computed" in clustered.assumption
    assert did.clustered_df(frame) == 0


def test_without_michigan_the_conclusion_stands(frame):
    """The paper's robustness check, Michigan dropped (it changed its own procedure in Q1 2012):
    estimate −0.0177 (1e-4), clustered SE 0.0043 (1e-4; clustered t −4.1), t-type p 0.373 (1e-3),
    permutation p = 6/26 exactly, smallest attainable 1/26."""
    df = frame[frame["area_code"] != "Michigan"]
    res = fit(did.fit_did, df)
    b, se = book_twfe(df)
    assert res.estimate == pytest.approx(b, abs=1e-12) and b == pytest.approx(-0.0177, abs=1e-4)
    assert se == pytest.approx(0.0043, abs=1e-4) and b / se < -4
    assert res.p_value == pytest.approx(0.373, abs=1e-3) and res.ci_low < 0 < res.ci_high
    perm = res.inferences[1]
    assert perm.p_value == pytest.approx(6 / 26, abs=1e-12) and perm.min_p == pytest.approx(1 / 26)


def test_event_study_leads_and_average(did_fit, es_fit):
    """Coefficients at event times −3, −2, 0, 1, 2 (reference −1 = Q2 2011). Leads −0.0029 and
    +0.0063 (1e-4); Hotelling T² 0.325 (1e-3), F(2, 24) p 0.857 (1e-3): the diagnostic passes. The
    event-study average (−0.02134, 1e-5) is the DiD estimate plus the mean of the pre-event
    coefficients, the reference's zero included (an identity of the two estimands, 1e-12). t-type
    p 0.460 (1e-3), permutation p = 4/27 exactly. The sensitivity analysis runs (5 ≤ R − 1 = 25)."""
    table = pd.DataFrame(es_fit.details["coefficients"]).set_index("rel_year")
    assert list(table.index) == [-3, -2, 0, 1, 2]
    assert table.loc[[-3, -2], "coef"].to_numpy() == pytest.approx([-0.0029, 0.0063], abs=1e-4)
    pre = es_fit.details["pretrend"]
    assert (pre["df"], pre["df_denom"]) == (2, 24)
    assert pre["statistic"] == pytest.approx(0.325, abs=1e-3) and pre["p"] == pytest.approx(0.857, abs=1e-3)
    parallel = next(c for c in es_fit.checks if c.name == "parallel pre-trends (diagnostic)")
    assert parallel.passed is True and parallel.gate is False

    pre_mean = (table.loc[-3, "coef"] + table.loc[-2, "coef"] + 0.0) / 3
    assert es_fit.estimate == pytest.approx(-0.02134, abs=1e-5)
    assert es_fit.estimate == pytest.approx(did_fit.estimate + pre_mean, abs=1e-12)
    assert es_fit.p_value == pytest.approx(0.460, abs=1e-3)
    assert es_fit.inferences[1].p_value == pytest.approx(4 / 27, abs=1e-12)
    assert es_fit.details["sensitivity_refusal"] is None and es_fit.sensitivity is not None
