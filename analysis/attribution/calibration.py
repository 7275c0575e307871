"""Simulations that calibrate the designs where the book's data are.

The designs' inference is checked on null data shaped like the real data — their persistence,
their number of pre-event years, their shocks shared within regions — not on textbook panels.
This module holds those simulations so that the tests (``tests/attribution/test_its.py``,
``tests/attribution/test_did.py``) and the Methods appendix run exactly the same code: the appendix reports,
at build time, the simulated size of each test on the real designs.

* :func:`its_size_table` — the calibrated ITS tests' rejection rates under the null, at chosen AR(1)
  coefficients, for one series' design (read off the design's bootstrap engine, whose third set
  of draws exists for this).
* :func:`did_process` — the region-by-year and area-level AR(1) processes of the two-way
  fixed-effects residuals of the real panel's comparison regions; :func:`did_null_panels` draws
  null panels on the real layout from them; :func:`did_size` measures each inference route's
  rejection rate on them.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from analysis.attribution import did, its

#: Where the interrupted time series is calibrated (``tests/attribution/test_its.py``): AR(1) coefficients (1 is
#: the random walk), pre- and post-event lengths (12 is the alcohol series' pre-period and 5 the
#: primary window), null series per cell, and the band every reported test's size must lie in.
ITS_PHIS = (0.3, 0.6, 0.9, 1.0)
ITS_PRE_YEARS = (12, 29)
ITS_POST_YEARS = (5, 17)
ITS_SERIES = 2000
SIZE_BAND = (0.03, 0.07)
#: Null panels per window in the difference-in-differences calibration (``tests/attribution/test_did.py``).
DID_PANELS = 1000


def its_size_table(years: np.ndarray, event: int, cfg: dict, phis: tuple[float, ...] = ITS_PHIS) -> pd.DataFrame:
    """Simulated size at ``alpha`` of each reported ITS test for a series observed in ``years``."""
    s = its.Settings.from_cfg(cfg)
    eng = s.engine(its.design_matrix(years, event), its.contrasts(years, event), its.JOINT)
    rows = []
    for name in its.REPORTED_TESTS:
        rates = eng.rejection_rates(name, s.alpha)
        rows.append({"test": name, **{f"φ = {phi:g}": float(np.interp(phi, eng.grid, rates)) for phi in phis}})
    return pd.DataFrame(rows)


def _ar1_fit(x: np.ndarray) -> tuple[float, float]:
    """Pooled AR(1) coefficient and innovation SD of the rows of ``x``."""
    a, b = x[:, 1:].ravel(), x[:, :-1].ravel()
    phi = float(a @ b / (b @ b))
    return phi, float(np.std(a - phi * b))


def did_process(layout: did.Layout) -> dict[str, float]:
    """Region-by-year and area-level AR(1) processes of the comparison areas' two-way FE residuals."""
    Y = layout.Y[~layout.treated]
    reg = layout.region[~layout.treated]
    names = sorted(set(reg))
    resid = Y - Y.mean(1, keepdims=True) - Y.mean(0, keepdims=True) + Y.mean()
    region_means = np.array([resid[reg == r].mean(0) for r in names])
    area = resid - region_means[[names.index(r) for r in reg]]
    phi_r, sd_r = _ar1_fit(region_means)
    phi_a, sd_a = _ar1_fit(area)
    return {"phi_region": phi_r, "sd_region": sd_r, "phi_area": phi_a, "sd_area": sd_a}


def _ar1(rng: np.random.Generator, shape: tuple[int, ...], phi: float, sd: float) -> np.ndarray:
    e = rng.normal(0, sd, shape)
    out = np.empty(shape)
    out[..., 0] = e[..., 0] / math.sqrt(1 - phi**2)
    for t in range(1, shape[-1]):
        out[..., t] = phi * out[..., t - 1] + e[..., t]
    return out


def did_null_panels(layout: did.Layout, process: dict[str, float], n: int, seed: int, *, event: int,
                    effect: float = 0.0, trend: float = 0.0) -> np.ndarray:
    """``n`` panels (n × areas × years) on ``layout``: area and year effects, region-by-year and area
    AR(1) shocks (``process``), and for the treated areas ``effect`` from the event on plus a linear
    differential ``trend`` (log points a year, relative to the event) throughout."""
    rng = np.random.default_rng(seed)
    names = sorted(set(layout.region))
    index = np.array([names.index(r) for r in layout.region])
    N, T = layout.Y.shape
    region_shocks = _ar1(rng, (n, len(names), T), process["phi_region"], process["sd_region"])[:, index, :]
    area_shocks = _ar1(rng, (n, N, T), process["phi_area"], process["sd_area"])
    fixed = rng.normal(9.8, 0.3, (n, N, 1)) + (0.03 * np.arange(T))[None, None, :]
    rel = layout.years - event
    treat = layout.treated[None, :, None] * (effect * (rel >= 0) + trend * rel)[None, None, :]
    return fixed + region_shocks + area_shocks + treat


def region_inference_of(m: did.Maps, Y: np.ndarray) -> did.RegionInference:
    """:func:`did.region_inference` for many panels ``Y`` (n × areas × years) at once."""
    regions = [r for r in m.estimand if r != did.REAL]
    placebo = np.stack([m.estimate(Y, r) for r in regions], axis=-1)
    h = np.array([1 / m.n_treated[r] + 1 / m.n_controls[r] for r in regions])
    return did.region_inference(m.estimate(Y, did.REAL), placebo, 1 / m.n_treated[did.REAL]
                                + 1 / m.n_controls[did.REAL], h)


def clustered_rejections(layout: did.Layout, Y: np.ndarray, event: int, alpha: float) -> np.ndarray:
    """Whether the area-clustered DiD test rejects in each panel of ``Y`` (closed form of the
    clustered sandwich for a balanced panel, with PanelOLS's small-sample factors)."""
    N, T = layout.Y.shape
    x = layout.treated[:, None] * (layout.years >= event)[None, :]
    xd = x - x.mean(1, keepdims=True) - x.mean(0, keepdims=True) + x.mean()
    demeaned = Y - Y.mean(2, keepdims=True) - Y.mean(1, keepdims=True) + Y.mean((1, 2), keepdims=True)
    b = (xd[None] * demeaned).sum((1, 2)) / (xd**2).sum()
    resid = demeaned - b[:, None, None] * xd[None]
    scores = (xd[None] * resid).sum(2)
    n = N * T
    factor = n / (n - (N + T - 1) - 1) * N / (N - 1) * (n - 1) / n
    se = np.sqrt(factor * (scores**2).sum(1)) / (xd**2).sum()
    dof = min(int(layout.treated.sum()), int((~layout.treated).sum())) - 1
    return 2 * stats.t.sf(np.abs(b / se), dof) < alpha


def pretrend_rejections(es: did.Maps, inf: did.RegionInference, Y: np.ndarray, alpha: float) -> np.ndarray:
    """Whether the pre-trend diagnostic (:func:`did.pretrend_test`) rejects in each panel of ``Y``,
    computed for all panels at once (the same statistic and F reference)."""
    regions = [r for r in es.estimand if r != did.REAL]
    leads = np.array([k < -1 for k in es.labels])
    k, R = int(leads.sum()), len(regions)
    b = es.vector(Y, did.REAL)[:, leads]                                          # n × k
    placebo = np.stack([es.vector(Y, r)[:, leads] for r in regions], axis=1)      # n × R × k
    placebo = placebo * inf.scale[:, :, None]
    S = np.einsum("nri,nrj->nij", placebo, placebo) / R
    t2 = np.einsum("ni,ni->n", b, np.linalg.solve(S, b[..., None])[..., 0])
    nu = R - 1
    f = (nu - k + 1) / (k * nu) * t2
    return stats.f.sf(f, k, nu - k + 1) < alpha


def did_size(layout: did.Layout, process: dict[str, float], *, n: int, seed: int, event: int,
             es_window: tuple[int, int], alpha: float) -> dict[str, float]:
    """Rejection rates under the null of each DiD/event-study route on ``n`` simulated panels."""
    Y = did_null_panels(layout, process, n, seed, event=event)
    out: dict[str, float] = {}
    for design in (did.DID, did.EVENT_STUDY):
        inf = region_inference_of(did.maps(layout, design, event, es_window), Y)
        out[f"{design}-t"] = float((inf.p_t < alpha).mean())
        out[f"{design}-permutation"] = float((inf.p_perm < alpha).mean())
    es = did.maps(layout, did.EVENT_STUDY, event, es_window)
    inf = region_inference_of(es, Y)
    out["pretrend"] = float(np.mean(pretrend_rejections(es, inf, Y, alpha)))
    out["did-clustered"] = float(clustered_rejections(layout, Y, event, alpha).mean())
    return out
