"""Reading a dataset's history and data: revisions, commits, tables, rows, exports, log.

Part of :class:`~dsa_pipelines.storage.repository.Store` (a mixin, to keep modules small).
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa

from . import export as exporting
from .catalog.schema import reflog
from .commits import find_by_prefix, first_parents, load_commits
from .errors import CorruptObject, InvalidInput, RevisionNotFound, TableNotFound
from .integrity import ReadContext, in_context
from .manifest import Manifest
from .models import Commit, LogEntry, TableInfo, TablePage
from .reading import read_manifest
from .revisions import RevisionContext, resolve_revision

EXPORT_BATCH_ROWS = 256 * 1024


class ReadsMixin:
    """Revisions, commits, tables, rows, exports and the log (needs ``engine``, ``objects``,
    ``refs``, ``_manifests`` and ``get_dataset`` from :class:`Store`)."""

    def _revision_context(self, dataset: str) -> RevisionContext:
        ds = self.get_dataset(dataset)
        cache: dict[str, dict[str, str | None]] = {}

        def chain(head: str) -> list[str]:
            if "fp" not in cache:
                with self.engine.connect() as conn:
                    cache["fp"] = first_parents(conn, dataset)
            out, cur = [], head
            while cur is not None:
                out.append(cur)
                cur = cache["fp"].get(cur)
            return out

        def parents(cid: str) -> tuple[str, ...]:
            return self._commit(dataset, cid).parents

        def by_prefix(prefix: str) -> str:
            with self.engine.connect() as conn:
                return find_by_prefix(conn, dataset, prefix)

        def reflog_values(name: str) -> list[tuple[str, str | None]]:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    sa.select(reflog.c.created_at, reflog.c.new_commit)
                    .where(reflog.c.dataset == dataset, reflog.c.ref_name == name).order_by(reflog.c.id))
                return [(r.created_at, r.new_commit) for r in rows]

        def ref(name: str) -> str | None:
            r = self.refs.get(dataset, name)
            return r.commit_id if r else None

        return RevisionContext(ref, ds.default_branch, by_prefix, parents, chain, reflog_values)

    def resolve(self, dataset: str, revision: str | None = None) -> str:
        """Resolve a revision (see :mod:`.revisions`) to a full commit id.

        Raises:
            DatasetNotFound, RevisionNotFound, AmbiguousRevision, InvalidInput.
        """
        ctx = self._revision_context(dataset)
        return resolve_revision(ctx, revision or ctx.default_branch)

    def get_commit(self, dataset: str, revision: str | None = None) -> Commit:
        """The commit a revision names, with its tables (resolved by :meth:`resolve`'s one rule:
        refs first, so a full commit id is looked up like any other revision)."""
        return self._commit(dataset, self.resolve(dataset, revision))

    def _commit(self, dataset: str, cid: str) -> Commit:
        """A commit by its full id (internal: ids that came from the catalog)."""
        with self.engine.connect() as conn:
            found = load_commits(conn, [cid])
        if cid not in found or found[cid].dataset != dataset:
            raise RevisionNotFound(f"no commit {cid[:12]} in dataset {dataset!r}", kind="commit", name=cid)
        return found[cid]

    def list_tables(self, dataset: str, revision: str | None = None) -> list[TableInfo]:
        """The tables of a commit with schema and row count."""
        return list(self.get_commit(dataset, revision).tables.values())

    def table_info(self, dataset: str, revision: str | None = None, table: str | None = None) -> TableInfo:
        """One table of a commit (``table`` may be omitted when there is exactly one).

        Raises:
            TableNotFound: no such table, or several and none named.
        """
        return self._table_at(dataset, revision, table)[1]

    def _table_at(self, dataset: str, revision: str | None, table: str | None) -> tuple[ReadContext, TableInfo]:
        """A table of a commit and the context its reads name in errors."""
        commit = self.get_commit(dataset, revision)
        if table is None:
            if len(commit.tables) == 1:
                info = next(iter(commit.tables.values()))
                return ReadContext(dataset, commit.id, info.name), info
            raise TableNotFound(
                f"commit {commit.short_id} of {dataset!r} has tables {sorted(commit.tables) or 'none'}; name one",
                kind="table", name=None)
        if table not in commit.tables:
            raise TableNotFound(
                f"commit {commit.short_id} of {dataset!r} has no table {table!r} "
                f"(tables: {', '.join(sorted(commit.tables)) or 'none'})", kind="table", name=table)
        return ReadContext(dataset, commit.id, table), commit.tables[table]

    def _manifest(self, manifest_id: str, context: ReadContext | None = None) -> Manifest:
        if manifest_id not in self._manifests:
            try:
                data = self.objects.read_bytes("manifests", manifest_id)
                self._manifests[manifest_id] = Manifest.from_bytes(data, manifest_id)
            except CorruptObject as e:
                raise in_context(e, context) from e.__cause__
        return self._manifests[manifest_id]

    def manifest(self, dataset: str, revision: str | None = None, table: str | None = None) -> Manifest:
        """The manifest (row ranges) of a table of a commit.

        Raises:
            CorruptObject: the manifest is missing or damaged.
        """
        context, info = self._table_at(dataset, revision, table)
        return self._manifest(info.manifest_id, context)

    def read_table(self, dataset: str, revision: str | None = None, table: str | None = None, *, offset: int = 0,
                   limit: int | None = None, columns: Sequence[str] | None = None,
                   with_keys: bool = False) -> TablePage:
        """Rows of a table in upload order (``logical_row_id`` = position), paginated.

        Args:
            offset: First logical row id.
            limit: At most this many rows (None: to the end).
            columns: Columns to return (default all).
            with_keys: Also return the 96-bit row keys (``__dsa_k1``, ``__dsa_k2``).

        Returns:
            A TablePage with the rows (Arrow) and the table's total row count.

        Raises:
            CorruptObject: a manifest or pack is missing or damaged (never wrong rows).
        """
        if offset < 0 or (limit is not None and limit < 0):
            raise InvalidInput(f"offset and limit must not be negative (got {offset}, {limit})")
        context, info = self._table_at(dataset, revision, table)
        if columns is not None:
            columns = [c if c in info.schema.names else unicodedata.normalize("NFC", c) for c in columns]
            missing = [c for c in columns if c not in info.schema.names]
            if missing:
                raise InvalidInput(f"table {info.name!r} has no column(s) {missing}; it has {info.schema.names}",
                                   column=missing[0])
        manifest = self._manifest(info.manifest_id, context).window(offset, limit)
        rows = read_manifest(self.objects, manifest, info.schema, list(columns) if columns else None, with_keys,
                             context=context)
        return TablePage(rows, offset, info.row_count)

    def iter_batches(self, dataset: str, revision: str | None = None, table: str | None = None,
                     batch_rows: int = EXPORT_BATCH_ROWS) -> Iterator[pa.Table]:
        """A table's rows as a stream of Arrow tables (bounded memory)."""
        context, info = self._table_at(dataset, revision, table)
        manifest = self._manifest(info.manifest_id, context)
        for start in range(0, max(manifest.row_count, 1), batch_rows):
            yield read_manifest(self.objects, manifest.window(start, batch_rows), info.schema, context=context)

    def export(self, dataset: str, revision: str | None, path: str | os.PathLike, *, table: str | None = None,
               format: str | None = None) -> Path:  # noqa: A002 — mirrors the user-facing option name
        """Export a table to CSV/Parquet, or the whole commit to Excel (one sheet per table).

        CSV and Excel exports neutralise cells a spreadsheet would run as formulas.

        Returns:
            The written path.
        """
        path = Path(path)
        fmt = exporting.format_for(path, format)
        commit = self.get_commit(dataset, revision)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            if fmt == "xlsx":
                names = [table] if table else list(commit.tables)
                for n in names:
                    self.table_info(dataset, commit.id, n)
                exporting.write_excel(((n, self.read_table(dataset, commit.id, n).table) for n in names), tmp)
            else:
                info = self.table_info(dataset, commit.id, table)
                writer = exporting.write_csv if fmt == "csv" else exporting.write_parquet
                writer(self.iter_batches(dataset, commit.id, info.name), info.schema, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def log(self, dataset: str, revision: str | None = None, limit: int | None = None) -> list[LogEntry]:
        """First-parent history from a revision back to the root, newest first, with version numbers."""
        ctx = self._revision_context(dataset)
        head = resolve_revision(ctx, revision or ctx.default_branch)
        chain = ctx.first_parent_chain(head)
        shown = chain[:limit] if limit else chain
        with self.engine.connect() as conn:
            found = load_commits(conn, shown)
        return [LogEntry(len(chain) - 1 - i, found[cid]) for i, cid in enumerate(shown)]
