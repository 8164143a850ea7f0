"""Content ids of tables and trees, and commit ids.

A commit id is SHA-256 over a canonical JSON of (tree id, parents in order, author,
message, time) — like git's, it names content *and* history. The tree id names only the
content: SHA-256 over the sorted (table name, table content id) pairs. A table's
content id is SHA-256 over its logical schema and the sequence of its row keys, never
over pack locations, so re-packing rows never changes an id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from .models import TableInfo


def _digest(obj: object) -> str:
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def table_content_id(logical_schema: tuple[tuple[str, str], ...], row_count: int, keys_digest: bytes) -> str:
    """Content id of a table: its logical schema and ordered row keys."""
    return _digest({"v": 1, "schema": [list(c) for c in logical_schema], "rows": row_count,
                    "keys": keys_digest.hex()})


def tree_id(tables: Mapping[str, TableInfo]) -> str:
    """Content id of a commit's tree: its tables by name."""
    return _digest({"v": 1, "tables": {name: t.content_id for name, t in tables.items()}})


def commit_id(tree: str, parents: tuple[str, ...], author: str, message: str, created_at: str) -> str:
    """A commit's id: content plus history."""
    return _digest({"v": 1, "tree": tree, "parents": list(parents), "author": author, "message": message,
                    "time": created_at})
