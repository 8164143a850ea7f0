"""The version store: datasets, commits, refs and reads over objects + catalog.

``Store`` is the one public entry point of the storage core. It never imports dagster.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from .catalog import connect_catalog
from .catalog.schema import datasets
from .commits import (
    commit_id,
    insert_commit,
    table_content_id,
    tree_id,
)
from .errors import (
    AlreadyExists,
    DatasetNotFound,
    InvalidInput,
    RefConflict,
    RevisionNotFound,
    TableNotFound,
)
from .hashing import keys_digest, logical_schema
from .ingest import IngestedTable, ingest_table
from .manifest import Manifest
from .models import (
    Commit,
    CommitResult,
    Dataset,
    Ref,
    TableInfo,
    TableResult,
    utc_now,
)
from .names import validate_dataset_name, validate_ref_name, validate_table_name
from .objects import ObjectStore
from .readers import SourceTable, open_sources, source_from_frame
from .reading import read_manifest
from .refs import BRANCH, RefStore
from .store_reads import ReadsMixin
from .store_refs import RefsMixin
from .table_keys import check_declared_keys

DEFAULT_ROOT = "data/store"
DRIFT_POLICIES = ("reject", "warn", "allow")
MAX_COMMIT_ATTEMPTS = 5

Source = str | os.PathLike | pa.Table | object  # object: a pandas DataFrame


def _dataset(row: sa.Row) -> Dataset:
    return Dataset(row.name, row.description, tuple(json.loads(row.tags)), row.created_by, row.created_at,
                   row.default_branch, row.drift_policy, json.loads(row.settings))


class Store(ReadsMixin, RefsMixin):
    """A version store: immutable objects under ``root`` plus a SQL catalog.

    Open one with :meth:`open`. Every method is safe to call from several processes at
    once: objects are content-addressed and refs move only by compare-and-swap.
    """

    def __init__(self, root: Path, engine: sa.Engine) -> None:
        self.root = root
        self.engine = engine
        self.objects = ObjectStore(root)
        self.refs = RefStore(engine)
        self._manifests: dict[str, Manifest] = {}

    @classmethod
    def open(cls, root: str | os.PathLike | None = None, catalog_url: str | None = None) -> Store:
        """Open (creating if needed) the store.

        Args:
            root: Folder for objects; default ``$DSA_STORE_ROOT`` or ``data/store``.
            catalog_url: SQLAlchemy URL of the catalog; default ``$DSA_CATALOG_URL`` or
                a SQLite file ``<root>/catalog.db``.

        Returns:
            The store, with its catalog migrated to the current schema.
        """
        root_path = Path(root or os.environ.get("DSA_STORE_ROOT") or DEFAULT_ROOT).resolve()
        root_path.mkdir(parents=True, exist_ok=True)
        url = catalog_url or os.environ.get("DSA_CATALOG_URL") or f"sqlite:///{root_path / 'catalog.db'}"
        return cls(root_path, connect_catalog(url))

    def close(self) -> None:
        """Release database connections."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- datasets
    def create_dataset(self, name: str, *, description: str = "", tags: Sequence[str] = (),
                       created_by: str = "", drift_policy: str = "warn") -> Dataset:
        """Create a dataset with branch ``main`` at an initial empty commit (version 0).

        Raises:
            InvalidName: the name breaks the naming rules.
            AlreadyExists: a dataset of that name exists.
        """
        validate_dataset_name(name)
        self._check_policy(drift_policy)
        now = utc_now()
        root = self._new_commit(name, {}, (), created_by, "Create dataset", now)
        with self.engine.begin() as conn:
            if conn.execute(sa.select(datasets.c.name).where(datasets.c.name == name)).first():
                raise AlreadyExists(f"dataset {name!r} already exists", kind="dataset", name=name)
            try:
                conn.execute(datasets.insert().values(
                    name=name, description=description, tags=json.dumps(list(tags)), created_by=created_by,
                    created_at=now, default_branch="main", drift_policy=drift_policy, settings="{}"))
            except sa.exc.IntegrityError as e:
                raise AlreadyExists(f"dataset {name!r} already exists", kind="dataset", name=name) from e
            insert_commit(conn, root)
            self.refs.add_if_new(conn, name, "main", BRANCH, root.id, created_by, "create dataset")
        return self.get_dataset(name)

    def get_dataset(self, name: str) -> Dataset:
        """Describe a dataset.

        Raises:
            DatasetNotFound: no such dataset.
        """
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(datasets).where(datasets.c.name == name)).first()
        if row is None:
            raise DatasetNotFound(f"dataset {name!r} does not exist", kind="dataset", name=name)
        return _dataset(row)

    def list_datasets(self) -> list[Dataset]:
        """All datasets, by name."""
        with self.engine.connect() as conn:
            return [_dataset(r) for r in conn.execute(sa.select(datasets).order_by(datasets.c.name))]

    def update_dataset(self, name: str, *, description: str | None = None, tags: Sequence[str] | None = None,
                       drift_policy: str | None = None, settings: Mapping | None = None) -> Dataset:
        """Change a dataset's description, tags, drift policy or settings (only those given)."""
        self.get_dataset(name)
        values: dict = {}
        if description is not None:
            values["description"] = description
        if tags is not None:
            values["tags"] = json.dumps(list(tags))
        if drift_policy is not None:
            values["drift_policy"] = self._check_policy(drift_policy)
        if settings is not None:
            values["settings"] = json.dumps(dict(settings), sort_keys=True)
        if values:
            with self.engine.begin() as conn:
                conn.execute(datasets.update().where(datasets.c.name == name).values(**values))
        return self.get_dataset(name)

    @staticmethod
    def _check_policy(policy: str) -> str:
        if policy not in DRIFT_POLICIES:
            raise InvalidInput(f"drift policy {policy!r} is not one of {', '.join(DRIFT_POLICIES)}", policy=policy)
        return policy

    # ------------------------------------------------------------------ commits
    def _new_commit(self, dataset: str, tables: Mapping[str, TableInfo], parents: tuple[str, ...], author: str,
                    message: str, created_at: str | None = None, run_id: str | None = None,
                    meta: Mapping | None = None) -> Commit:
        created_at = created_at or utc_now()
        tables = dict(sorted(tables.items()))
        tree = tree_id(tables)
        return Commit(
            id=commit_id(tree, parents, author, message, created_at), dataset=dataset, parents=parents,
            message=message, author=author, created_at=created_at, tree_id=tree,
            row_count=sum(t.row_count for t in tables.values()), tables=tables, run_id=run_id, meta=dict(meta or {}),
        )

    def _sources(self, sources: Source | Sequence[Source] | Mapping[str, Source], table: str | None,
                 sheets: Sequence[str] | None) -> list[SourceTable]:
        if isinstance(sources, Mapping):
            out: list[SourceTable] = []
            for name, src in sources.items():
                out.extend(self._sources(src, name, sheets))
            return out
        if isinstance(sources, (str, os.PathLike)):
            return open_sources(sources, table=table, sheets=sheets)
        if isinstance(sources, pa.Table) or type(sources).__name__ == "DataFrame":
            if not table:
                raise InvalidInput("a table name is needed for an Arrow table or DataFrame upload")
            return [source_from_frame(table, sources)]
        if isinstance(sources, Sequence):
            if all(isinstance(s, (str, os.PathLike)) for s in sources):
                return open_sources(list(sources), table=table, sheets=sheets)
            raise InvalidInput("a list of sources must be file paths; name frames with a mapping {table: frame}")
        raise InvalidInput(f"cannot commit a {type(sources).__name__}: give file paths, an Arrow table or a DataFrame")

    def commit(
        self,
        dataset: str,
        sources: Source | Sequence[Source] | Mapping[str, Source] | None = None,
        *,
        branch: str | None = None,
        message: str = "",
        author: str = "",
        table: str | None = None,
        sheets: Sequence[str] | None = None,
        replace: bool = False,
        remove_tables: Sequence[str] = (),
        publish: bool = True,
        run_id: str | None = None,
        meta: Mapping | None = None,
        max_attempts: int = MAX_COMMIT_ATTEMPTS,
    ) -> CommitResult:
        """Commit a snapshot of one or more tables onto a branch.

        The upload replaces the tables it names and keeps the branch head's other tables
        (``replace=True`` drops them instead; ``remove_tables`` drops named ones). If
        another writer moves the branch meanwhile, the snapshot is re-parented onto the
        new head and the move retried (at most ``max_attempts`` times).

        Args:
            dataset: The dataset.
            sources: File path(s) (CSV, Excel, Parquet), an Arrow table or DataFrame
                (needs ``table``), or a mapping {table name: path or frame}.
            branch: Target branch (default: the dataset's default branch).
            message: Commit message.
            author: Who commits.
            table: Table name for a single CSV/Parquet file or frame (default: file stem).
            sheets: Excel sheets to take (default: all).
            replace: Make the commit hold only the uploaded tables.
            remove_tables: Tables to drop from the tree.
            publish: Move the branch (True) or only create the commit for audit ("staged").
            run_id: The Dagster run that made the commit (lineage).
            meta: Extra JSON metadata recorded on the commit.
            max_attempts: Compare-and-swap attempts before giving up.

        Returns:
            A CommitResult (status committed / staged / no_changes).

        Raises:
            DatasetNotFound, RevisionNotFound (branch missing), InvalidFile, InvalidName,
            TableNotFound (removing an absent table), RefConflict (lost every attempt).
        """
        ds = self.get_dataset(dataset)
        branch = validate_ref_name(branch or ds.default_branch, "branch")
        self._branch(dataset, branch)
        for name in remove_tables:
            validate_table_name(name)
        opened = self._sources(sources, table, sheets) if sources is not None else []
        names = [s.name for s in opened]
        for name in names:
            validate_table_name(name)
        if len(set(names)) != len(names):
            raise InvalidInput(f"the upload names a table twice: {sorted(n for n in names if names.count(n) > 1)}")
        if set(names) & set(remove_tables):
            raise InvalidInput(f"tables {sorted(set(names) & set(remove_tables))} are both uploaded and removed")
        ingested = [ingest_table(self.objects, self.engine, s) for s in opened]
        check_declared_keys(self, dataset, ingested)
        return self._commit_tables(dataset, branch, ingested, message=message, author=author, replace=replace,
                                   remove_tables=tuple(remove_tables), publish=publish, run_id=run_id, meta=meta,
                                   max_attempts=max_attempts)

    def _commit_tables(self, dataset: str, branch: str, ingested: list[IngestedTable], *, message: str,
                       author: str, replace: bool, remove_tables: tuple[str, ...], publish: bool,
                       run_id: str | None, meta: Mapping | None, max_attempts: int,
                       extra_parents: tuple[str, ...] = (), expected_head: str | None = None) -> CommitResult:
        """Commit stored tables onto a branch head by compare-and-swap, re-parenting after a lost race.

        With ``expected_head`` the tables were computed against that head (a merge or an
        edit): if the branch has moved, RefConflict is raised instead of re-parenting.
        """
        for attempt in range(1, max_attempts + 1):
            head_ref = self.refs.get(dataset, branch)
            if head_ref is None:
                raise RevisionNotFound(f"branch {branch!r} was deleted", kind="branch", name=branch)
            if expected_head is not None and head_ref.commit_id != expected_head:
                raise RefConflict(f"branch {branch!r} moved from {expected_head[:12]} to {head_ref.commit_id[:12]}",
                                  dataset=dataset, name=branch, expected=expected_head, actual=head_ref.commit_id)
            head = self.get_commit(dataset, head_ref.commit_id)
            tables = {} if replace else dict(head.tables)
            for name in remove_tables:
                if name not in tables:
                    raise TableNotFound(
                        f"cannot remove table {name!r}: {branch} has tables {sorted(head.tables) or 'none'}",
                        kind="table", name=name)
                del tables[name]
            for it in ingested:
                tables[it.info.name] = it.info
            results = {
                it.info.name: TableResult(
                    it.info.name, it.rows, it.rows - it.reused_rows, it.reused_rows, it.stored_rows,
                    changed=head.tables.get(it.info.name) is None
                    or head.tables[it.info.name].content_id != it.info.content_id,
                    schema=it.info.schema)
                for it in ingested
            }
            removed = tuple(sorted(set(head.tables) - set(tables)))
            if tree_id(dict(sorted(tables.items()))) == head.tree_id and not extra_parents:
                return CommitResult("no_changes", dataset, branch, head.id, head.parents, results, (), attempt)
            commit = self._new_commit(dataset, tables, (head.id, *extra_parents), author, message, run_id=run_id,
                                      meta=meta)
            try:
                with self.engine.begin() as conn:
                    insert_commit(conn, commit)
                    if publish:
                        self.refs.set_if_equals(conn, dataset, branch, head.id, commit.id, author,
                                                f"commit: {message}" if message else "commit")
            except RefConflict:
                if attempt == max_attempts:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * attempt)
                continue
            status = "committed" if publish else "staged"
            return CommitResult(status, dataset, branch, commit.id, commit.parents, results, removed, attempt)
        raise AssertionError("unreachable")

    def publish(self, dataset: str, branch: str, commit_id: str, *, expected: str | None = None,
                actor: str = "", reason: str = "publish") -> Ref:
        """Move a branch to a (staged) commit by compare-and-swap.

        Args:
            expected: Where the branch must still point (default: the commit's first parent).

        Raises:
            RefConflict: the branch moved since.
        """
        commit = self.get_commit(dataset, commit_id)
        expected = expected or (commit.parents[0] if commit.parents else None)
        if expected is None:
            raise InvalidInput(f"commit {commit.short_id} has no parent; give the expected branch head")
        with self.engine.begin() as conn:
            self.refs.set_if_equals(conn, dataset, branch, expected, commit.id, actor, reason)
        return self.refs.get(dataset, branch)

    def commit_rows(self, dataset: str, branch: str, source_revision: str, row_ids: np.ndarray, *,
                    table: str | None = None, as_table: str | None = None, message: str = "", author: str = "",
                    replace: bool = True, extra_parents: Sequence[str] = (), run_id: str | None = None,
                    meta: Mapping | None = None) -> CommitResult:
        """Commit a selection of rows of an existing table — no data is copied.

        The new table references the source's stored rows (same row hashes), in the
        order of ``row_ids`` (logical row ids of the source table).

        Args:
            source_revision: Where the rows come from.
            row_ids: Logical row ids (int64) of the source table, in the order wanted.
            table: Source table (default: the only one).
            as_table: Name in the new commit (default: the source table's name).
            replace: The new commit holds only this table (default) or keeps the branch's others.
            extra_parents: Parents after the branch head (e.g. the source commit, for lineage).
        """
        name = as_table or self.table_info(dataset, source_revision, table).name
        return self.commit_selections(dataset, branch, source_revision, {name: row_ids}, table=table,
                                      message=message, author=author, replace=replace,
                                      extra_parents=extra_parents, run_id=run_id, meta=meta)

    def commit_selections(self, dataset: str, branch: str, source_revision: str,
                          selections: Mapping[str, np.ndarray], *, table: str | None = None, message: str = "",
                          author: str = "", replace: bool = True, extra_parents: Sequence[str] = (),
                          run_id: str | None = None, meta: Mapping | None = None) -> CommitResult:
        """Commit several row selections of one source table as tables of ONE commit — no data copied.

        Like :meth:`commit_rows`, for several selections at once (e.g. a sample round's
        rows and the union of all rounds so far).

        Args:
            source_revision: Where the rows come from.
            selections: {table name in the new commit: logical row ids (int64) of the source table}.
            table: Source table (default: the only one).
            replace: The new commit holds only these tables (default) or keeps the branch's others.
            extra_parents: Parents after the branch head (e.g. the source commit, for lineage).
        """
        info = self.table_info(dataset, source_revision, table)
        ingested = [self._selected_table(info, validate_table_name(name), ids) for name, ids in selections.items()]
        return self._commit_tables(dataset, validate_ref_name(branch), ingested, message=message, author=author,
                                   replace=replace, remove_tables=(), publish=True, run_id=run_id, meta=meta,
                                   max_attempts=MAX_COMMIT_ATTEMPTS, extra_parents=tuple(extra_parents))

    def _selected_table(self, info: TableInfo, name: str, row_ids: np.ndarray) -> IngestedTable:
        manifest = self._manifest(info.manifest_id).select(np.asarray(row_ids, dtype=np.int64))
        rows = read_manifest(self.objects, manifest, info.schema, with_keys=True)
        logical = logical_schema(info.schema)
        manifest_id = self.objects.put_bytes("manifests", manifest.to_bytes())
        columns = tuple(replace(c, nulls=rows.column(c.name).null_count) for c in info.columns)
        new_info = TableInfo(
            name=name, row_count=manifest.row_count, manifest_id=manifest_id,
            content_id=table_content_id(logical, manifest.row_count, keys_digest(rows)),
            schema=info.schema, columns=columns,
            stats={"rows": manifest.row_count, "new_rows": 0, "reused_rows": manifest.row_count, "stored_rows": 0,
                   "ranges": manifest.range_count},
        )
        return IngestedTable(new_info, manifest.row_count, manifest.row_count, 0)

    # --------------------------------------------- statistics (storage/statistics.py, stat_drift.py)
    def find_commit(self, prefix: str) -> Commit:
        """The one commit of any dataset whose id starts with ``prefix`` (see :mod:`.commit_lookup`)."""
        from .commit_lookup import find_commit  # noqa: PLC0415

        return find_commit(self, prefix)

    def statistics(self, dataset: str, revision: str | None = None, table: str | None = None) -> dict:
        """Per-table statistics of a commit, computed once and cached (see :mod:`.statistics`)."""
        from .statistics import store_statistics  # noqa: PLC0415

        return store_statistics(self, dataset, revision, table)

    def stat_diff(self, dataset: str, revision: str | None = None, base: str | None = None):  # noqa: ANN201
        """Statistical drift of a commit against ``base`` (default: first parent; see :mod:`.stat_drift`)."""
        from .stat_drift import stat_diff  # noqa: PLC0415

        return stat_diff(self, dataset, revision, base)

    # ------------------------------------------- diff, merge, edits (storage/diff.py, merge.py, edit.py)
    def set_table_key(self, dataset: str, table: str, columns: Sequence[str] | None) -> tuple[str, ...] | None:
        """Declare the key columns of a dataset's table (None drops it; see :mod:`.table_keys`).

        Raises:
            KeyViolation: the table on the default branch already has a null or duplicate key.
        """
        from .table_keys import set_table_key

        return set_table_key(self, dataset, table, columns)

    def table_key(self, dataset: str, table: str) -> tuple[str, ...] | None:
        """The key declared on a dataset's table, or None."""
        from .catalog.keys_schema import declared_key

        self.get_dataset(dataset)
        return declared_key(self.engine, dataset, table)

    def diff(self, dataset: str, base: str, target: str | None = None, *, table: str | None = None,
             key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, pair: str | None = "position"):
        """What changed from ``base`` to ``target`` (default: the default branch head), per table.

        Args:
            base: Any revision (another branch, an unrelated commit...).
            target: Any revision (default: the default branch head).
            table: Only this table.
            key: Columns pairing rows (or {table: columns}); default: the declared key; [] forces keyless.
            pair: Keyless tables: ``"position"`` pairs in-place edits as ``~``; None: multiset diff.

        Returns:
            A :class:`~.diff_models.Diff`.

        Raises:
            DatasetNotFound, RevisionNotFound, TableNotFound, InvalidInput (key column
            missing), KeyViolation (null or duplicate key).
        """
        from .commit_diff import diff

        return diff(self, dataset, base, target, table=table, key=key, pair=pair)

    def merge(self, dataset: str, source: str, into: str | None = None, *,
              strategies: Mapping[str, str] | None = None, default: str = "fail", rows: str | None = None,
              key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, message: str = "", author: str = "",
              resolutions: pa.Table | None = None, allow_unrelated: bool = False, publish: bool = True,
              run_id: str | None = None):
        """Three-way merge of ``source`` (theirs) into branch ``into`` (ours; default branch by default).

        Args:
            source: Any revision (usually a branch).
            into: The branch that moves.
            strategies: Per column: ``ours``, ``theirs``, ``fail``, ``max`` or ``min`` for cell conflicts.
            default: Strategy for the other columns.
            rows: Row-level conflicts (changed vs deleted): ``ours``, ``theirs`` or ``fail``
                (default: ``default`` when it is ``ours``/``theirs``, else ``fail``).
            key: Columns pairing rows (or {table: columns}); default: the declared key.
            resolutions: A conflicts table from an earlier attempt with a ``resolved`` column.
            allow_unrelated: Merge histories with no common ancestor from an empty base.
            publish: Move the branch (True) or only create the merge commit (write-audit-publish).
            run_id: The Dagster run that merges (lineage).

        Returns:
            A :class:`~.merge.MergeResult`; with conflicts nothing is written and no ref moves.

        Raises:
            DatasetNotFound, RevisionNotFound, InvalidInput (bad strategy, self-merge, bad
            resolutions), UnrelatedHistories, KeyViolation, RefConflict (lost every attempt).
        """
        from .merge import merge

        return merge(self, dataset, source, into, strategies=strategies, default=default, rows=rows, key=key,
                     message=message, author=author, resolutions=resolutions, allow_unrelated=allow_unrelated,
                     publish=publish, run_id=run_id)

    def edit(self, dataset: str, branch: str, *, table: str | None = None, add=None,
             remove: Sequence | None = None, update: Mapping | None = None, base: str | None = None,
             message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
        """Add, remove and update rows of one table as a new commit on ``branch``.

        Rows are named by key value when the table declares a key (a scalar, or a tuple
        for a composite key), else by logical row id. Values are cast to the column types.

        Args:
            table: The table (default: the only one).
            add: Rows to append (Arrow table, DataFrame or list of dicts).
            remove: Rows to remove (key values or row ids).
            update: {key value or row id: {column: new value}}.
            base: The revision the edit was made against (default: the branch head); if
                the branch has moved since, the edit is three-way merged onto its head.

        Raises:
            InvalidInput: unknown column, uncastable value, unknown key, row id out of range.
            MergeConflict: the edit conflicts with changes made on the branch since ``base``.
        """
        from .edit import edit

        return edit(self, dataset, branch, table=table, add=add, remove=remove, update=update, base=base,
                    message=message, author=author, run_id=run_id)

    def revert(self, dataset: str, branch: str, commit: str, *, mainline: int | None = None, message: str = "",
               author: str = "", run_id: str | None = None) -> CommitResult:
        """Undo ``commit``'s change (against its parent; ``mainline`` for a merge) on top of the branch head.

        Raises:
            InvalidInput: a merge commit without ``mainline``, or the root commit.
            MergeConflict: later changes on the branch conflict with the inverse change.
        """
        from .edit import revert

        return revert(self, dataset, branch, commit, mainline=mainline, message=message, author=author,
                      run_id=run_id)

    def cherry_pick(self, dataset: str, branch: str, commit: str, *, mainline: int | None = None,
                    message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
        """Apply ``commit``'s change (against its parent) on top of the branch head.

        Raises:
            InvalidInput: a merge commit without ``mainline``, or the root commit.
            MergeConflict: the change conflicts with the branch.
        """
        from .edit import cherry_pick

        return cherry_pick(self, dataset, branch, commit, mainline=mainline, message=message, author=author,
                           run_id=run_id)
