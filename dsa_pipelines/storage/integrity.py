"""Where a read happens, so that an integrity failure names it.

Objects do not know which dataset, commit and table refer to them; the reader does. A
read passes a :class:`ReadContext` down to :mod:`.reading`, and every
:class:`~.errors.CorruptObject` raised below it is re-raised naming dataset, commit,
table and object id. Every failure to decode a stored object (a Parquet or Arrow error,
an OSError) is a ``CorruptObject`` too: objects were valid when written, so a read that
fails means damage.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa

from .errors import CorruptObject
from .objects import LABELS

DECODE_ERRORS = (OSError, pa.ArrowException, ValueError, KeyError, IndexError)
"""What pyarrow raises on a damaged Parquet file (ArrowInvalid is a ValueError, ArrowIOError an OSError)."""


@dataclass(frozen=True)
class ReadContext:
    """Who reads: the dataset, commit and table whose objects are being read."""

    dataset: str | None = None
    commit: str | None = None
    table: str | None = None

    def describe(self) -> str:
        """``table 'orders' of dataset 'sales' at commit 1a2b3c4d5e6f`` (the known parts)."""
        parts = []
        if self.table is not None:
            parts.append(f"table {self.table!r}")
        if self.dataset is not None:
            parts.append(f"of dataset {self.dataset!r}")
        if self.commit is not None:
            parts.append(f"at commit {self.commit[:12]}")
        return " ".join(parts)


def in_context(error: CorruptObject, context: ReadContext | None) -> CorruptObject:
    """``error`` again, its message and fields naming the reader's dataset, commit and table."""
    if context is None or error.fields.get("commit") is not None:
        return error
    fields = {**error.fields, "dataset": context.dataset, "commit": context.commit, "table": context.table}
    kind, object_id = fields.get("kind"), fields.get("object_id")
    reason = fields.get("reason") or error.message
    message = (f"{context.describe()}: {LABELS.get(kind, kind or 'object')} {object_id} {reason}"
               f" (file {fields.get('path')})")
    out = CorruptObject(message, **fields)
    out.__cause__ = error.__cause__
    return out


@contextmanager
def reading(objects, kind: str, object_id: str, context: ReadContext | None) -> Iterator[None]:
    """Turn every failure inside the block into a ``CorruptObject`` naming the object and the reader."""
    try:
        yield
    except CorruptObject as e:
        raise in_context(e, context) from e.__cause__
    except DECODE_ERRORS as e:
        raise in_context(objects.corrupt(kind, object_id, f"cannot be decoded: {e}"), context) from e
