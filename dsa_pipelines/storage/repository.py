"""The version store: immutable objects plus a transactional catalog, composed.

``Store`` is the one public entry point of the storage core (it never imports dagster
or the features built on it). It is a facade in the manner of dulwich's
``BaseRepo(object_store, refs)``: it owns an :class:`~.objects.ObjectStore` and a
:class:`~.catalog.Catalog`, and each method hands the work to the module named for
its concept — :mod:`.history` (revisions, commits, log), :mod:`.tables` (reading and
exporting rows), :mod:`.branches` (refs), :mod:`.writer` (commits and publishing).

Features (``dsa_pipelines.quality``, ``dsa_pipelines.sampling``) use only the public
methods below; those marked *extension point* exist for them: their own catalog tables
(:meth:`catalog_read` / :meth:`catalog_write`) and their own objects (reports).
"""

from __future__ import annotations

import dataclasses
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import sqlalchemy as sa

from dsa_pipelines import settings

from . import access, audit, branches, history, identity, protection, search, table_keys, tables, writer
from .access import Permissions, operation
from .audit import AuditEntry
from .catalog import Catalog, feeds, keys_schema
from .catalog import datasets as dataset_rows
from .catalog.refs import RefStore
from .diff_models import Diff
from .errors import AlreadyExists, InvalidInput, ObjectCollected, RevisionNotFound
from .gc_models import FsckReport, GcReport
from .integrity import ReadContext
from .manifest import Manifest
from .models import BRANCH, TAG, Commit, CommitResult, Dataset, LogEntry, Ref, ReflogEntry, TableInfo, TablePage
from .names import MAX_NAME_LENGTH, validate_dataset_name, validate_ref_name, validate_table_name, validate_text
from .objects import ObjectStore
from .protection import Protection
from .rows import ManifestCache
from .schema_drift import DriftPolicy, SchemaDriftReport, compare_commits
from .search import SearchResult, Suggestion
from .table_keys import check_declared_keys

if TYPE_CHECKING:
    from .file_digest import KnownDigest
    from .merge import MergeResult
    from .readers import SourceTable

Source = str | os.PathLike | pa.Table | object  # object: a pandas DataFrame
REPORTS = "reports"
MAX_COLLECTED_RETRIES = 3


class Store:
    """A version store: immutable objects under ``root`` plus a SQL catalog.

    Open one with :meth:`open`. Every method is safe to call from several processes at
    once: objects are content-addressed and refs move only by compare-and-swap. The store
    acts as one user (``self.user``): every public method checks that user's permission
    (:mod:`.access`) and mutating ones are recorded in the audit trail.
    """

    def __init__(self, root: Path, catalog: Catalog, *, user: str | None = None, admins: frozenset[str] = frozenset(),
                 run_id: str | None = None) -> None:
        self.root = root
        self.catalog = catalog
        self.objects = ObjectStore(root)
        self.refs = RefStore(catalog, guard=lambda conn, dataset, branch, move: protection.check(
            self, conn, dataset, branch, move))
        self.manifests = ManifestCache(self.objects)
        self.admins = admins
        self.run_id = run_id
        name = identity.validate_user_name(user or settings.os_login())
        with catalog.read() as conn:
            known = identity.get(conn, name) is not None
        if not known:  # a write only the first time a name opens the store: readers never wait for writers
            with catalog.write() as conn:
                identity.sign_in(conn, name, admins)
        self.user = name

    @classmethod
    def open(cls, root: str | os.PathLike | None = None, catalog_url: str | None = None, *,
             user: str | None = None, run_id: str | None = None) -> Store:
        """Open (creating if needed) the store as a user.

        Args:
            root: Folder for objects; default ``$DSA_STORE_ROOT`` or ``data/store``.
            catalog_url: SQLAlchemy URL of the catalog; default ``$DSA_CATALOG_URL`` or
                a SQLite file ``<root>/catalog.db``.
            user: Who acts (default ``$DSA_USER``, else the OS login name). The deployment
                vouches for the name; a new name is registered (as an admin if it is the
                store's first user or listed in ``$DSA_ADMIN``).
            run_id: The Dagster run acting, recorded in the audit trail.

        Returns:
            The store, with its catalog migrated to the current schema.

        Raises:
            InvalidName: the user name breaks the naming rules.
        """
        config = settings.current()
        root_path = Path(root or config.store_root).resolve()
        root_path.mkdir(parents=True, exist_ok=True)
        url = catalog_url or config.catalog_url or f"sqlite:///{root_path / 'catalog.db'}"
        catalog = Catalog.open(url)
        try:
            return cls(root_path, catalog, user=user or config.user, admins=config.admins, run_id=run_id)
        except Exception:
            catalog.close()
            raise

    def close(self) -> None:
        """Release database connections."""
        self.catalog.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- datasets
    @operation("create_dataset")
    def create_dataset(self, name: str, *, description: str = "", tags: Sequence[str] = (),
                       created_by: str = "", drift_policy: str = "warn", public_read: bool = False,
                       protect_default_branch: bool = False) -> Dataset:
        """Create a dataset with branch ``main`` at an initial empty commit (version 0).

        The acting user becomes the dataset's admin.

        Args:
            created_by: Recorded creator (default: the acting user).
            public_read: Every user may read the dataset.
            protect_default_branch: ``main`` moves only by merge (see :meth:`protect_branch`).

        Raises:
            InvalidName: the name breaks the naming rules.
            InvalidInput: an unknown drift policy.
            AlreadyExists: a dataset of that name exists.
        """
        name = validate_dataset_name(name)
        _check_description(description, tags)
        spec = writer.NewDataset(description, tuple(tags), DriftPolicy.parse(drift_policy).value, public_read,
                                 protect_default_branch)
        with self.catalog.write() as conn:
            writer.create_dataset(conn, self, name, spec, created_by or self.user)
        return self.get_dataset(name)

    @operation("get_dataset")
    def get_dataset(self, name: str) -> Dataset:
        """Describe a dataset.

        Raises:
            DatasetNotFound: no such dataset.
        """
        with self.catalog.read() as conn:
            return dataset_rows.require(conn, name)

    @operation("list_datasets")
    def list_datasets(self) -> list[Dataset]:
        """All datasets the acting user may read, by name."""
        with self.catalog.read() as conn:
            found = dataset_rows.list_all(conn)
        allowed = access.readable(self, [d.name for d in found])
        return [d for d in found if d.name in allowed]

    @operation("update_dataset")
    def update_dataset(self, name: str, *, description: str | None = None, tags: Sequence[str] | None = None,
                       drift_policy: str | None = None, settings: Mapping | None = None) -> Dataset:
        """Change a dataset's description, tags, drift policy or settings (only those given)."""
        _check_description(description or "", tags or ())
        policy = DriftPolicy.parse(drift_policy).value if drift_policy is not None else None
        if policy is not None or settings is not None:
            access.authorise(self, "update_dataset_policy", name, params={"drift_policy": policy})
        with self.catalog.write() as conn:
            dataset_rows.require(conn, name)
            dataset_rows.update(conn, name, description=description, tags=tags, drift_policy=policy,
                                settings=dict(settings) if settings is not None else None)
        return self.get_dataset(name)

    # ------------------------------------------------------------------ history
    @operation("resolve")
    def resolve(self, dataset: str, revision: str | None = None) -> str:
        """Resolve a revision (see :mod:`.revisions`) to a full commit id.

        Raises:
            DatasetNotFound, RevisionNotFound, AmbiguousRevision, InvalidInput.
        """
        return history.resolve(self.catalog, self.refs, dataset, revision)

    @operation("get_commit")
    def get_commit(self, dataset: str, revision: str | None = None) -> Commit:
        """The commit a revision names (default: the default branch head), with its tables."""
        return history.load_commit(self.catalog, self.refs, dataset, revision)

    @operation("find_commit")
    def find_commit(self, prefix: str) -> Commit:
        """The one commit, in any dataset, whose id starts with ``prefix`` (≥ 4 hex digits).

        Raises:
            InvalidInput, RevisionNotFound, AmbiguousRevision.
        """
        commit = history.find_commit(self.catalog, prefix)
        access.authorise(self, "find_commit", commit.dataset, target=prefix)
        return commit

    @operation("log")
    def log(self, dataset: str, revision: str | None = None, limit: int | None = None) -> list[LogEntry]:
        """First-parent history from a revision back to the root, newest first, with version numbers."""
        return history.log(self.catalog, self.refs, dataset, revision, limit)

    @operation("schema_drift")
    def schema_drift(self, dataset: str, revision: str, against: str | None = None) -> SchemaDriftReport:
        """How a commit's table schemas differ from another commit's (default: its first parent).

        Raises:
            DatasetNotFound, RevisionNotFound.
        """
        candidate = self.get_commit(dataset, revision)
        if against is not None:
            base = self.get_commit(dataset, against)
        else:
            base = self.get_commit(dataset, candidate.parents[0]) if candidate.parents else None
        return compare_commits(base, candidate)

    # ------------------------------------------------------------------- tables
    @operation("list_tables")
    def list_tables(self, dataset: str, revision: str | None = None) -> list[TableInfo]:
        """The tables of a commit with schema and row count."""
        return list(self.get_commit(dataset, revision).tables.values())

    @operation("table_info")
    def table_info(self, dataset: str, revision: str | None = None, table: str | None = None) -> TableInfo:
        """One table of a commit (``table`` may be omitted when there is exactly one).

        Raises:
            TableNotFound: no such table, or several and none named.
        """
        return tables.pick_table(self.get_commit(dataset, revision), table)

    @operation("manifest")
    def manifest(self, dataset: str, revision: str | None = None, table: str | None = None) -> Manifest:
        """The manifest (row ranges) of a table of a commit.

        Raises:
            CorruptObject: the manifest is missing or damaged.
        """
        context, info = self._table_at(dataset, revision, table)
        return self.manifests.get(info.manifest_id, context)

    @operation("read_table")
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
        context, info = self._table_at(dataset, revision, table)
        return tables.read_page(self.objects, self.manifests, info, offset, limit, columns, with_keys, context)

    @operation("read_rows")
    def read_rows(self, dataset: str, revision: str | None, table: str | None, row_ids: np.ndarray, *,
                  columns: Sequence[str] | None = None) -> pa.Table:
        """Some rows of a table by logical row id, in the order given.

        Raises:
            InvalidInput: a row id outside the table or an unknown column.
        """
        context, info = self._table_at(dataset, revision, table)
        return tables.read_rows(self.objects, self.manifests, info, row_ids, columns, context)

    @operation("iter_batches")
    def iter_batches(self, dataset: str, revision: str | None = None, table: str | None = None,
                     batch_rows: int = tables.EXPORT_BATCH_ROWS) -> Iterator[pa.Table]:
        """A table's rows as a stream of Arrow tables (bounded memory)."""
        context, info = self._table_at(dataset, revision, table)
        return tables.iter_batches(self.objects, self.manifests, info, batch_rows, context)

    @operation("export")
    def export(self, dataset: str, revision: str | None, path: str | os.PathLike, *, table: str | None = None,
               format: str | None = None,  # noqa: A002 — mirrors the user-facing option name
               columns: Sequence[str] | None = None, where: str | None = None,
               compression: str | None = None) -> Path:
        """Export a table to CSV/Parquet, or the whole commit to Excel (one sheet per table).

        CSV and Excel exports neutralise cells a spreadsheet would run as formulas.

        Args:
            columns: Only these columns, in this order.
            where: Only the rows for which this SQL expression over the table's columns holds,
                e.g. ``"amount > 100 AND country = 'FR'"`` (one expression: no statements,
                subqueries or file access; checked before anything is written).
            compression: CSV ``gzip`` or ``zstd`` (default none); Parquet ``zstd`` (default),
                ``snappy``, ``gzip``, ``lz4``, ``brotli`` or ``none``.

        Returns:
            The written path.
        """
        return tables.export(self.objects, self.manifests, self.get_commit(dataset, revision), path, table, format,
                             columns, where, compression)

    # ------------------------------------------------------------------ commits
    def _sources(self, sources: Source | Sequence[Source] | Mapping[str, Source], table: str | None,
                 sheets: Sequence[str] | None, stored: Mapping[str, pa.Schema] | None = None) -> list[SourceTable]:
        from .readers import open_sources, source_from_frame  # noqa: PLC0415 — pandas, openpyxl: only to commit

        if isinstance(sources, Mapping):
            out: list[SourceTable] = []
            for name, src in sources.items():
                out.extend(self._sources(src, name, sheets, stored))
            return out
        if isinstance(sources, (str, os.PathLike)):
            return open_sources(sources, table=table, sheets=sheets, stored=stored)
        if isinstance(sources, pa.Table) or type(sources).__name__ == "DataFrame":
            if not table:
                raise InvalidInput("a table name is needed for an Arrow table or DataFrame upload")
            return [source_from_frame(table, sources)]
        if isinstance(sources, Sequence):
            if all(isinstance(s, (str, os.PathLike)) for s in sources):
                return open_sources(list(sources), table=table, sheets=sheets, stored=stored)
            raise InvalidInput("a list of sources must be file paths; name frames with a mapping {table: frame}")
        raise InvalidInput(f"cannot commit a {type(sources).__name__}: give file paths, an Arrow table or a DataFrame")

    @operation("commit")
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
        create_dataset: bool | writer.NewDataset = False,
        force: bool = False,
        force_reason: str = "",
        retry_seconds: float = writer.RETRY_SECONDS,
        known_digests: Mapping[str, KnownDigest] | None = None,
    ) -> CommitResult:
        """Commit a snapshot of one or more tables onto a branch.

        The upload replaces the tables it names and keeps the branch head's other tables
        (``replace=True`` drops them instead; ``remove_tables`` drops named ones). If
        another writer moves the branch meanwhile, the snapshot is re-parented onto the
        new head and the move retried until ``retry_seconds`` have passed. The dataset's
        drift policy is enforced before the branch moves.

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
            create_dataset: Create the dataset if it does not exist (``True``, or a
                ``NewDataset`` with its description, tags and drift policy), atomically with
                this first commit: a bad file leaves no dataset behind.
            force: Publish even if the drift policy rejects the schema (needs ``force_reason``;
                both are recorded with the commit and in the reflog).
            force_reason: Why the audit is overridden.
            retry_seconds: How long to keep rebuilding on a moving branch.
            known_digests: SHA-256 of source files the caller already computed, by path
                (``KnownDigest.of(path, sha)``; used while the file's size and mtime match),
                so the file-content fast path does not read the file again.

        Returns:
            A CommitResult (status committed / staged / no_changes).

        Raises:
            DatasetNotFound, RevisionNotFound (branch missing), InvalidFile, InvalidName,
            TableNotFound (removing an absent table), SchemaDriftRejected, RefConflict
            (the branch kept moving; the snapshot is left staged).
        """
        create = writer.NewDataset() if create_dataset is True else (create_dataset or None)
        validate_text(author, "author", MAX_NAME_LENGTH)
        validate_text(message, "message")
        stored: dict[str, pa.Schema] = {}  # a CSV keeps the column types of the table it replaces
        with self.catalog.read() as conn:
            ds = dataset_rows.get(conn, dataset)
        if ds is None and create is None:
            raise dataset_rows.not_found(dataset)
        if ds is None:
            dataset = validate_dataset_name(dataset)
            DriftPolicy.parse(create.drift_policy)
            branch = validate_ref_name(branch or "main", "branch")
            if branch != "main":
                raise RevisionNotFound(f"branch {branch!r} does not exist: dataset {dataset!r} is new and starts "
                                       "with only branch 'main'", kind="branch", name=branch)
        else:
            branch = validate_ref_name(branch or ds.default_branch, "branch")
            head = self.branch(dataset, branch).commit_id
            head_tables = history.load_commit(self.catalog, self.refs, dataset, head).tables
            stored = {name: info.schema for name, info in head_tables.items()}  # a CSV keeps the types it replaces
        from . import file_digest  # noqa: PLC0415 — the ingest path loads only when committing
        from .ingest import ingest_table  # noqa: PLC0415

        digests = file_digest.digests(sources, table, known_digests)
        unchanged = file_digest.unchanged(self.get_commit(dataset, head).tables, digests) if digests and ds else []
        sources = file_digest.remaining_sources(sources, table, [u.info.name for u in unchanged])
        opened = self._sources(sources, table, sheets, stored) if sources is not None else []
        opened = [dataclasses.replace(s, name=validate_table_name(s.name)) for s in opened]  # names in NFC
        remove_tables = [validate_table_name(name) for name in remove_tables]
        writer.check_upload_names([s.name for s in opened] + [u.info.name for u in unchanged], remove_tables)
        who = writer.Authorship(author, message, run_id, meta, force, force_reason)
        for attempt in range(1, MAX_COLLECTED_RETRIES + 1):
            ingested = [file_digest.with_digest(ingest_table(self.objects, self.catalog, s), digests) for s in opened]
            upload = writer.Upload(tuple(unchanged + ingested), replace, tuple(remove_tables))
            check_declared_keys(self, dataset, ingested)
            try:
                if ds is None:
                    try:
                        return writer.create_with_commit(self, dataset, create, upload, who, publish=publish)
                    except AlreadyExists:
                        ds = self.get_dataset(dataset)  # another writer created it meanwhile: commit onto it
                return writer.commit_upload(self, dataset, branch, upload, who, publish=publish,
                                            retry_seconds=retry_seconds)
            except ObjectCollected:  # GC condemned a pack or manifest this upload reused: store those anew
                if attempt == MAX_COLLECTED_RETRIES:
                    raise
                time.sleep(random.uniform(0.05, 0.2) * attempt)
                opened = self._sources(sources, table, sheets) if sources is not None else []
        raise AssertionError("unreachable")

    @operation("publish")
    def publish(self, dataset: str, branch: str, commit_id: str, *, expected: str | None = None,
                actor: str = "", reason: str = "publish", force: bool = False) -> Ref:
        """Move a branch to a (staged) commit by compare-and-swap, after the drift policy.

        Args:
            expected: Where the branch must still point (default: the commit's first parent).
            force: Publish even if the drift policy rejects it.

        Raises:
            RefConflict: the branch moved since.
            SchemaDriftRejected: the dataset's drift policy refuses the commit.
        """
        writer.publish(self, dataset, branch, commit_id, expected=expected, actor=actor, reason=reason, force=force)
        return self.refs.get(dataset, branch)

    @operation("commit_rows")
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

    @operation("commit_selections")
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
        context, info = self._table_at(dataset, source_revision, table)
        self.manifests.get(info.manifest_id, context)  # a damaged source manifest is named as such
        upload = writer.Upload(tuple(writer.selected_table(self, info, name, ids) for name, ids in selections.items()),
                               replace, (), tuple(extra_parents))
        return writer.commit_upload(self, dataset, validate_ref_name(branch), upload,
                                    writer.Authorship(author, message, run_id, meta))

    # --------------------------------------------------------------------- refs
    @operation("branch")
    def branch(self, dataset: str, name: str) -> Ref:
        """A branch (raises RevisionNotFound if missing, ImmutableRef if it is a tag)."""
        return branches.branch(self, dataset, name)

    @operation("get_ref")
    def get_ref(self, dataset: str, name: str) -> Ref | None:
        """A branch or tag by name, or None."""
        return self.refs.get(dataset, name)

    @operation("refs_at")
    def refs_at(self, dataset: str, commit_id: str) -> list[Ref]:
        """The refs (branches and tags) that point at a commit."""
        return self.refs.pointing_at(dataset, commit_id)

    @operation("branches")
    def branches(self, dataset: str) -> list[Ref]:
        """The dataset's branches."""
        self.get_dataset(dataset)
        return self.refs.list(dataset, BRANCH)

    @operation("tags")
    def tags(self, dataset: str) -> list[Ref]:
        """The dataset's tags."""
        self.get_dataset(dataset)
        return self.refs.list(dataset, TAG)

    @operation("create_branch")
    def create_branch(self, dataset: str, name: str, revision: str | None = None, *, actor: str = "",
                      reason: str = "") -> Ref:
        """Create a branch at a revision (default: the default branch's head)."""
        return branches.create_ref(self, dataset, name, BRANCH, revision, actor,
                                   reason or f"branch from {revision or 'default'}")

    @operation("create_tag")
    def create_tag(self, dataset: str, name: str, revision: str | None = None, *, actor: str = "",
                   reason: str = "") -> Ref:
        """Create an immutable tag at a revision.

        Raises:
            ImmutableRef: the tag exists already (tags never move).
        """
        return branches.create_ref(self, dataset, name, TAG, revision, actor, reason or "tag")

    @operation("delete_branch")
    def delete_branch(self, dataset: str, name: str, *, actor: str = "", reason: str = "") -> None:
        """Delete a branch (never the default branch)."""
        branches.delete_branch(self, dataset, name, actor, reason)

    @operation("reset_branch")
    def reset_branch(self, dataset: str, branch: str, revision: str, *, actor: str = "", reason: str = "",
                     expected: str | None = None) -> tuple[str, str]:
        """Point a branch at an earlier (or any) revision — a rollback, recorded in the reflog.

        Args:
            expected: Only if the branch still points here (default: its current value).

        Returns:
            (old commit id, new commit id).
        """
        return branches.reset_branch(self, dataset, branch, revision, actor, reason, expected)

    @operation("reflog")
    def reflog(self, dataset: str, ref: str | None = None, limit: int | None = None) -> list[ReflogEntry]:
        """Moves of one ref (or all refs of the dataset), newest first."""
        self.get_dataset(dataset)
        return self.refs.reflog(dataset, ref, limit)

    # -------------------------------------------------------------- feeds
    @operation("new_commits")
    def new_commits(self, cursor: dict | None, *, limit: int = 100) -> tuple[list[Commit], dict]:
        """Commits of every dataset not reported before this cursor, oldest first (for watchers).

        Returns:
            (commits, the cursor to pass next time); see :mod:`.catalog.feeds`.
        """
        found, cursor = feeds.new_commits(self.catalog, cursor, limit=limit)
        allowed = access.readable(self, [c.dataset for c in found])
        return [c for c in found if c.dataset in allowed], cursor

    @operation("new_ref_moves")
    def new_ref_moves(self, cursor: dict | None, *, limit: int = 500,
                      from_end: bool = False) -> tuple[list[ReflogEntry], dict]:
        """Ref moves of every dataset not reported before this cursor, in order (for watchers).

        Args:
            from_end: With no cursor, report nothing and start after the newest move.
        """
        found, cursor = feeds.new_ref_moves(self.catalog, cursor, limit=limit, from_end=from_end)
        allowed = access.readable(self, [m.dataset for m in found])
        return [m for m in found if m.dataset in allowed], cursor

    # ------------------------------------------------------- extension points
    @operation("catalog_read")
    @contextmanager
    def catalog_read(self) -> Iterator[sa.Connection]:
        """*Extension point*: a read transaction on the catalog, for a feature's own tables."""
        with self.catalog.read() as conn:
            yield conn

    @operation("catalog_write")
    @contextmanager
    def catalog_write(self) -> Iterator[sa.Connection]:
        """*Extension point*: a write transaction on the catalog, for a feature's own tables."""
        with self.catalog.write() as conn:
            yield conn

    @operation("put_report")
    def put_report(self, data: bytes, suffix: str = ".parquet") -> str:
        """*Extension point*: store a feature's object (a report, a row list); returns its id."""
        return self.objects.put_bytes(REPORTS, data, suffix)

    @operation("read_report")
    def read_report(self, object_id: str, suffix: str = ".parquet") -> bytes:
        """*Extension point*: the bytes of a stored report (CorruptObject if missing)."""
        return self.objects.read_bytes(REPORTS, object_id, suffix)

    @operation("report_path")
    def report_path(self, object_id: str, suffix: str = ".parquet") -> Path:
        """*Extension point*: where a stored report lives (it may have been collected)."""
        return self.objects.path(REPORTS, object_id, suffix)

    @operation("has_report")
    def has_report(self, object_id: str, suffix: str = ".parquet") -> bool:
        """*Extension point*: whether a report is stored."""
        return self.objects.exists(REPORTS, object_id, suffix)

    # ------------------------------------------- users, permissions, audit, search
    @operation("current_user")
    def current_user(self) -> identity.User:
        """The user this store acts as."""
        with self.catalog.read() as conn:
            return identity.require(conn, self.user)

    @operation("create_user")
    def create_user(self, name: str, display_name: str = "", role: str = identity.USER) -> identity.User:
        """Register a user (store admins only).

        Raises:
            InvalidName: the name breaks the naming rules.
            InvalidInput: an unknown role.
            AlreadyExists: the user exists.
            PermissionDenied: the acting user is not a store admin.
        """
        identity.validate_user_name(name)
        identity.validate_role(role)
        with self.catalog.write() as conn:
            if identity.get(conn, name) is not None:
                raise AlreadyExists(f"user {name!r} already exists", kind="user", name=name)
            return identity.insert(conn, name, display_name, role, self.user)

    @operation("list_users")
    def list_users(self) -> list[identity.User]:
        """All registered users, by name."""
        with self.catalog.read() as conn:
            return identity.list_all(conn)

    @operation("set_role")
    def set_role(self, user: str, role: str) -> identity.User:
        """Make a user a store ``admin`` or a plain ``user`` (store admins only; one admin always remains).

        Raises:
            UserNotFound, InvalidInput, PermissionDenied.
        """
        with self.catalog.write() as conn:
            return identity.set_role(conn, user, role)

    @operation("grant")
    def grant(self, dataset: str, user: str, level: str) -> access.Grant:
        """Give a user ``read``, ``write`` or ``admin`` on a dataset (dataset admins only).

        Raises:
            DatasetNotFound, UserNotFound, InvalidInput (unknown level, demoting the last admin), PermissionDenied.
        """
        with self.catalog.write() as conn:
            dataset_rows.require(conn, dataset)
            return access.grant(conn, dataset, user, level, self.user)

    @operation("revoke")
    def revoke(self, dataset: str, user: str) -> None:
        """Remove a user's grant on a dataset (refused for its last admin).

        Raises:
            DatasetNotFound, UserNotFound, NotFound (no grant), InvalidInput, PermissionDenied.
        """
        with self.catalog.write() as conn:
            dataset_rows.require(conn, dataset)
            access.revoke(conn, dataset, user)

    @operation("set_public_read")
    def set_public_read(self, dataset: str, public: bool = True) -> Permissions:
        """Let every user read a dataset (or stop doing so)."""
        with self.catalog.write() as conn:
            dataset_rows.require(conn, dataset)
            access.set_public_read(conn, dataset, bool(public), self.user)
            return access.permissions(conn, dataset)

    @operation("permissions")
    def permissions(self, dataset: str) -> Permissions:
        """Who may do what on a dataset."""
        with self.catalog.read() as conn:
            dataset_rows.require(conn, dataset)
            return access.permissions(conn, dataset)

    @operation("protect_branch")
    def protect_branch(self, dataset: str, branch: str, *, require_merge: bool = True, allow_reset: bool = False,
                       allow_delete: bool = False) -> Protection:
        """Protect a branch: it moves only by merge (or, with ``require_merge=False``, by the
        dataset's admins), and is reset or deleted only if allowed. Checked in the same
        transaction as every compare-and-swap of the branch.

        Raises:
            DatasetNotFound, RevisionNotFound (no such branch), PermissionDenied.
        """
        self.branch(dataset, branch)
        with self.catalog.write() as conn:
            return protection.protect(conn, dataset, branch, require_merge=require_merge, allow_reset=allow_reset,
                                      allow_delete=allow_delete, by=self.user)

    @operation("unprotect_branch")
    def unprotect_branch(self, dataset: str, branch: str) -> bool:
        """Remove a branch's protection; whether it had one."""
        self.get_dataset(dataset)
        with self.catalog.write() as conn:
            return protection.unprotect(conn, dataset, branch)

    @operation("protections")
    def protections(self, dataset: str) -> list[Protection]:
        """The protected branches of a dataset."""
        with self.catalog.read() as conn:
            dataset_rows.require(conn, dataset)
            return protection.list_for(conn, dataset)

    @operation("audit_log")
    def audit_log(self, dataset: str | None = None, user: str | None = None, since: str | None = None,
                  action: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """The audit trail (newest first): every mutating action and every denial.

        Needs admin on ``dataset``, or the store admin role without one.
        """
        return audit.entries(self.catalog, dataset=dataset, user=user, since=since, action=action, limit=limit)

    @operation("export_audit_log")
    def export_audit_log(self, path: str | os.PathLike, dataset: str | None = None, user: str | None = None,
                         since: str | None = None, action: str | None = None, limit: int = 100_000) -> Path:
        """Write the audit trail (filtered like :meth:`audit_log`) as CSV; returns the path."""
        entries = audit.entries(self.catalog, dataset=dataset, user=user, since=since, action=action, limit=limit)
        return audit.write_csv(entries, path)

    @operation("search")
    def search(self, query: str = "", *, tags: Sequence[str] = (), created_by: Sequence[str] = (),
               updated_after: str | None = None, updated_before: str | None = None, limit: int = 20,
               offset: int = 0) -> SearchResult:
        """Search the datasets the acting user may read.

        Full text over name, description and tags (stemmed, every word matched as a
        prefix; the query is plain text, never query syntax), filtered by tags (all of
        them), creators (any of them) and last-update time; ranked by relevance.

        Returns:
            SearchResult: a page of items (with score and highlighted snippets), the total
            number of matches, and facets (counts per tag, creator and update month) over
            all matches.

        Raises:
            InvalidInput: limit outside 1..1000, offset outside 0..1,000,000, a bad time.
        """
        return search.search(self, query, tags=tags, created_by=created_by, updated_after=updated_after,
                             updated_before=updated_before, limit=limit, offset=offset)

    @operation("suggest")
    def suggest(self, prefix: str, limit: int = 10) -> list[Suggestion]:
        """Autocomplete over the names and tags of readable datasets, tolerant of typos (trigrams).

        Prefix matches come first, then by similarity and the number of datasets.
        """
        return search.suggest(self, prefix, limit)

    @operation("reports_root")
    def reports_root(self) -> Path:
        """*Extension point*: the folder holding every stored report (served by ``dsa_pipelines.reports_server``)."""
        return self.objects.path(REPORTS, "00").parent.parent

    # ------------------------- garbage collection, integrity, lifecycle (gc.py, fsck.py, lifecycle.py)
    @operation("gc")
    def gc(self, *, dry_run: bool = False, grace: timedelta = timedelta(hours=1),
           reflog_retention: timedelta = timedelta(days=30),
           progress: Callable[[str], None] | None = None) -> GcReport:
        """Remove what no ref, recent reflog entry, young commit or sample record can reach; compact packs.

        Safe while others read, write and collect (see :mod:`.gc` and ``docs/gc.md``).

        Args:
            dry_run: Only report what would be removed.
            grace: Nothing younger than this is removed (in-flight uploads survive).
            reflog_retention: Reflog entries and soft-deleted datasets younger than this are kept.
            progress: Told about each phase (e.g. a logger's ``info``).

        Returns:
            A GcReport.
        """
        from .gc import collect  # noqa: PLC0415 — gc imports lifecycle/compaction, loaded on use

        return collect(self, dry_run=dry_run, grace=grace, reflog_retention=reflog_retention, progress=progress)

    @operation("fsck")
    def fsck(self, *, deep: bool = False) -> FsckReport:
        """Check every ref, commit, manifest, range and object; ``deep`` also recomputes row hashes and
        content ids (see :mod:`.fsck`).

        Returns:
            FsckReport(ok, problems, counts).
        """
        from .fsck import fsck  # noqa: PLC0415

        return fsck(self, deep=deep)

    @operation("delete_dataset")
    def delete_dataset(self, name: str, *, actor: str, reason: str) -> None:
        """Soft-delete a dataset: hidden, reads and writes refused, recorded with who and why.

        Raises:
            DatasetNotFound, DatasetDeleted (already deleted), InvalidInput (no reason).
        """
        from .lifecycle import delete_dataset  # noqa: PLC0415

        delete_dataset(self.catalog, name, actor=actor, reason=reason)

    @operation("restore_dataset")
    def restore_dataset(self, name: str, *, actor: str = "") -> Dataset:
        """Undo a soft delete (until the dataset is purged).

        Raises:
            DatasetNotFound (never existed or purged), InvalidInput (not deleted).
        """
        from .lifecycle import restore_dataset  # noqa: PLC0415

        restore_dataset(self.catalog, name, actor=actor)
        return self.get_dataset(name)

    @operation("purge_dataset")
    def purge_dataset(self, name: str, *, actor: str = "", reason: str = "purge") -> None:
        """Remove a soft-deleted dataset for good (its objects become garbage for the next gc; rows
        shared with other datasets stay).

        Raises:
            DatasetNotFound, InvalidInput (not soft-deleted first).
        """
        from .lifecycle import purge_catalog  # noqa: PLC0415

        purge_catalog(self.catalog, name, actor=actor, reason=reason)

    # ------------------------------------------------------- key index (storage/key_index.py)
    @operation("live_index_runs")
    def live_index_runs(self) -> list[str]:
        """Object ids of the live key index runs (roots for garbage collection; see :mod:`.key_index`)."""
        from .key_index import live_run_ids  # noqa: PLC0415

        return live_run_ids(self.catalog)

    @operation("compact_key_index")
    def compact_key_index(self) -> int:
        """Merge each schema's key index runs into one (maintenance); returns the number of merges."""
        from .key_index import compact_all  # noqa: PLC0415

        return compact_all(self.objects, self.catalog)

    # ------------------------------------------------------------- integrity (issue 12)
    def _table_at(self, dataset: str, revision: str | None, table: str | None) -> tuple[ReadContext, TableInfo]:
        """A table of a commit and the context its reads name in integrity errors."""
        commit = self.get_commit(dataset, revision)
        info = tables.pick_table(commit, table)
        return ReadContext(dataset, commit.id, info.name), info

    # ------------------------------------ diff, merge, edits (storage/commit_diff.py, merge.py, edit.py)
    @operation("set_table_key")
    def set_table_key(self, dataset: str, table: str, columns: Sequence[str] | None) -> tuple[str, ...] | None:
        """Declare the key columns of a dataset's table (None drops it; see :mod:`.table_keys`).

        Raises:
            KeyViolation: the table on the default branch already has a null or duplicate key.
        """
        return table_keys.set_table_key(self, dataset, table, columns)

    @operation("table_key")
    def table_key(self, dataset: str, table: str) -> tuple[str, ...] | None:
        """The key declared on a dataset's table, or None."""
        self.get_dataset(dataset)
        with self.catalog.read() as conn:
            return keys_schema.declared_key(conn, dataset, table)

    @operation("diff")
    def diff(self, dataset: str, base: str, target: str | None = None, *, table: str | None = None,
             key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, pair: str | None = "position") -> Diff:
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
        from . import commit_diff  # noqa: PLC0415 — diff/merge/edit load the ingest path on use

        return commit_diff.diff(self, dataset, base, target, table=table, key=key, pair=pair)

    @operation("merge")
    def merge(self, dataset: str, source: str, into: str | None = None, *,
              strategies: Mapping[str, str] | None = None, default: str = "fail", rows: str | None = None,
              key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, message: str = "", author: str = "",
              resolutions: pa.Table | None = None, allow_unrelated: bool = False, publish: bool = True,
              run_id: str | None = None) -> MergeResult:
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
        from . import merge as merging  # noqa: PLC0415 — diff/merge/edit load the ingest path on use

        return merging.merge(self, dataset, source, into, strategies=strategies, default=default, rows=rows, key=key,
                     message=message, author=author, resolutions=resolutions, allow_unrelated=allow_unrelated,
                     publish=publish, run_id=run_id)

    @operation("edit")
    def edit(self, dataset: str, branch: str, *, table: str | None = None, add: object = None,
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
        from . import edit as edits  # noqa: PLC0415 — diff/merge/edit load the ingest path on use

        return edits.edit(self, dataset, branch, table=table, add=add, remove=remove, update=update, base=base,
                    message=message, author=author, run_id=run_id)

    @operation("revert")
    def revert(self, dataset: str, branch: str, commit: str, *, mainline: int | None = None, message: str = "",
               author: str = "", run_id: str | None = None) -> CommitResult:
        """Undo ``commit``'s change (against its parent; ``mainline`` for a merge) on top of the branch head.

        Raises:
            InvalidInput: a merge commit without ``mainline``, or the root commit.
            MergeConflict: later changes on the branch conflict with the inverse change.
        """
        from . import edit as edits  # noqa: PLC0415 — diff/merge/edit load the ingest path on use

        return edits.revert(self, dataset, branch, commit, mainline=mainline, message=message, author=author,
                      run_id=run_id)

    @operation("cherry_pick")
    def cherry_pick(self, dataset: str, branch: str, commit: str, *, mainline: int | None = None,
                    message: str = "", author: str = "", run_id: str | None = None) -> CommitResult:
        """Apply ``commit``'s change (against its parent) on top of the branch head.

        Raises:
            InvalidInput: a merge commit without ``mainline``, or the root commit.
            MergeConflict: the change conflicts with the branch.
        """
        from . import edit as edits  # noqa: PLC0415 — diff/merge/edit load the ingest path on use

        return edits.cherry_pick(self, dataset, branch, commit, mainline=mainline, message=message, author=author,
                           run_id=run_id)


def _check_description(description: str, tags: Sequence[str]) -> None:
    validate_text(description, "description")
    for tag in tags:
        validate_text(tag, "tag", MAX_NAME_LENGTH)
