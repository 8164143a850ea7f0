"""The file-content fast path: uploading the very bytes a branch head's table came from.

Every table stored from a single-table file (CSV, TSV, TXT, Parquet) records the
SHA-256 of the file's bytes in its stats (``file_sha256``). When an upload names a
table whose file has the same digest as that table on the branch head, the table is
taken from the head as it is — no parsing, no row hashing — and an upload made only of
such tables is ``no_changes``. Identical bytes read by the same reader give the same
rows, so the result is the one a full ingest would reach, in the time of one pass of
SHA-256 over the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .ingest import IngestedTable
from .models import TableInfo

DIGEST_KEY = "file_sha256"
"""The key of the file digest in a table's stats."""
SINGLE_TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".parquet", ".pq"})
_CHUNK = 4 << 20


@dataclass(frozen=True)
class KnownDigest:
    """A file's SHA-256 as a caller already computed it, with the stat it had then.

    Used only while the file still has that size and modification time (git's index uses
    the same rule), so a file changed since is hashed again rather than trusted.
    """

    sha256: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str | os.PathLike[str], sha256: str) -> KnownDigest:
        """The digest of ``path`` with its current stat."""
        st = os.stat(path)
        return cls(sha256, st.st_size, st.st_mtime_ns)

    def matches(self, path: Path) -> bool:
        """Whether ``path`` still has the size and modification time this digest was taken at."""
        try:
            st = path.stat()
        except OSError:
            return False
        return (st.st_size, st.st_mtime_ns) == (self.size, self.mtime_ns)


def file_digest(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks (flat memory; hashlib releases the GIL)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _named_files(sources: object, table: str | None) -> list[tuple[str, Path]] | None:
    """(table name, file) of every source when all are plain single-table files, else None."""
    if isinstance(sources, (str, os.PathLike)):
        items = [(table or Path(sources).stem, Path(sources))]
    elif isinstance(sources, Mapping) and all(isinstance(v, (str, os.PathLike)) for v in sources.values()):
        items = [(name, Path(v)) for name, v in sources.items()]
    elif (isinstance(sources, Sequence) and not isinstance(sources, (str, bytes)) and table is None and sources
          and all(isinstance(v, (str, os.PathLike)) for v in sources)):
        items = [(Path(v).stem, Path(v)) for v in sources]
    else:
        return None
    if len({name for name, _ in items}) != len(items):  # two files, one table name: the readers say so
        return None
    if not all(p.suffix.lower() in SINGLE_TABLE_SUFFIXES and p.is_file() for _, p in items):
        return None
    return items


def digests(sources: object, table: str | None, known: Mapping[str, KnownDigest] | None = None) -> dict[str, str]:
    """{table name: file digest} for an upload of single-table files; empty for anything else.

    Args:
        known: Digests the caller computed already, by file path (e.g. the landing sensor's,
            which hashed the file to name its run): used while the file's stat still matches,
            so the upload is not read once more just to hash it.
    """
    items = _named_files(sources, table)
    if not items:
        return {}
    known = {str(Path(p).resolve()): d for p, d in (known or {}).items()}
    out = {}
    for name, path in items:
        given = known.get(str(path.resolve()))
        out[name] = given.sha256 if given is not None and given.matches(path) else file_digest(path)
    return out


def unchanged(head_tables: Mapping[str, TableInfo], file_digests: Mapping[str, str]) -> list[IngestedTable]:
    """The head's tables whose recorded file digest equals the upload's, as ingested tables."""
    out = []
    for name, digest in file_digests.items():
        info = head_tables.get(name)
        if info is None or info.stats.get(DIGEST_KEY) != digest:
            continue
        n = info.row_count
        stats = {**info.stats, "new_rows": 0, "reused_rows": n, "stored_rows": 0}
        out.append(IngestedTable(replace(info, stats=stats), n, n, 0))
    return out


def remaining_sources(sources: object, table: str | None, reused: Sequence[str]) -> object | None:
    """The upload without the files of tables in ``reused`` (None when nothing is left)."""
    if not reused:
        return sources
    items = _named_files(sources, table) or []
    left = [(name, path) for name, path in items if name not in reused]
    if not left:
        return None
    if isinstance(sources, Mapping):
        return {name: sources[name] for name, _ in left}
    return [str(path) for _, path in left]


def with_digest(ingested: IngestedTable, file_digests: Mapping[str, str]) -> IngestedTable:
    """Record the file digest of an ingested table in its stats (unchanged if it has none)."""
    digest = file_digests.get(ingested.info.name)
    if digest is None:
        return ingested
    return replace(ingested, info=replace(ingested.info, stats={**ingested.info.stats, DIGEST_KEY: digest}))
