"""Small table builders shared by the storage tests."""

from __future__ import annotations

import numpy as np
import pandas as pd


def people(n: int = 50, seed: int = 0) -> pd.DataFrame:
    """A small mixed-type table: ints, floats with nulls, strings, bools."""
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, n).round(2)
    amount[::7] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "name": [f"person {i} – Zoë" for i in range(n)],
            "amount": amount,
            "active": rng.random(n) > 0.5,
        }
    )
