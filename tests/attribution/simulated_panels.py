"""Simulated panels shaped like the book's synthetic-control problems, shared by the synthetic-control
tests (``test_synth.py``: 145 donors, the ITL3 problem) and the council-level tests
(``test_council.py``: 318 districts). The model is described in ``test_synth.py``'s docstring."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

EVENT = 2003


def real_shaped_panel(seed: int, *, n_pre: int, effects: dict[str, np.ndarray], n_donors: int = 145,
                      n_post: int = 8) -> tuple[pd.DataFrame, list[str]]:
    """(wide in money, donor names): the donors and one treated unit per entry of ``effects``
    (name → the effect in each post-event year), each a convex mix of three donors' latent paths
    plus its own persistent noise (``test_synth.py``'s docstring)."""
    rng = np.random.default_rng(seed)
    years = np.arange(EVENT - n_pre, EVENT + n_post)

    def own(n: int) -> np.ndarray:
        return np.cumsum(rng.normal(0, 0.01, (len(years), n)), axis=0) + rng.normal(0, 0.005, (len(years), n))

    factors = np.cumsum(rng.normal(0, 0.03, (len(years), 3)), axis=0)
    loadings = rng.uniform(0, 1, (n_donors, 3))
    latent = rng.normal(math.log(20_000), 0.2, n_donors) + factors @ loadings.T + 0.02 * (years - years[0])[:, None]
    names = [f"D{j:03d}" for j in range(n_donors)]
    columns = dict(zip(names, (latent + own(n_donors)).T, strict=True))
    for name, effect in effects.items():
        mix = np.zeros(n_donors)
        mix[rng.choice(n_donors, 3, replace=False)] = rng.dirichlet(np.ones(3))
        columns[name] = latent @ mix + own(1)[:, 0] + np.concatenate([np.zeros(n_pre), effect])
    return pd.DataFrame(np.exp(pd.DataFrame(columns, index=years))), names
