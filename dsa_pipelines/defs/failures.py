"""The one adapter from store errors to Dagster step failures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from dsa_pipelines.storage import DsaError


def failure(error: DsaError, what: str = "") -> dg.Failure:
    """A non-retryable step failure carrying the store's own message and its structured fields.

    Args:
        error: What the store raised (its message names file, row, column or name).
        what: A short prefix saying what was refused (e.g. ``upload rejected``).
    """
    fields = {k: str(v) for k, v in error.fields.items() if v is not None and isinstance(v, (str, int, float))}
    return dg.Failure(description=f"{what}: {error}" if what else str(error),
                      metadata={"error": type(error).__name__, **fields}, allow_retries=False)


@contextmanager
def store_errors(what: str = "") -> Iterator[None]:
    """Turn a :class:`DsaError` raised inside the block into :func:`failure`."""
    try:
        yield
    except DsaError as e:
        raise failure(e, what) from e
