"""Writing history: commits of uploads and of row selections, publishing staged commits.

Every branch move here is a compare-and-swap (:class:`~.catalog.refs.RefStore`) in the
same transaction as the new commit's rows. A writer that loses the race rebuilds its
snapshot on the new head — the uploaded tables stay as ingested, the head's other
tables are taken again — and retries with jittered exponential backoff until a
deadline. If the deadline passes, the last snapshot is kept as a *staged* commit (no
branch points to it) and :class:`RefConflict` names it, so nothing is lost.

Before a branch moves, the dataset's blocking audit runs: its schema drift policy
(``reject`` refuses drift, ``warn`` and ``allow`` let it through). ``force=True`` is the
only way past it, and the commit records who forced it and why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from . import access, protection
from .catalog import datasets as dataset_rows
from .catalog.commits import insert_commit
from .commit_ids import commit_id, table_content_id, tree_id
from .errors import InvalidInput, ObjectCollected, RefConflict, SchemaDriftRejected, TableNotFound
from .hashing import keys_digest, logical_schema
from .ingest import IngestedTable
from .models import BRANCH, Commit, CommitResult, Dataset, TableInfo, TableResult, utc_now
from .names import MAX_NAME_LENGTH, validate_table_name, validate_text
from .rows import read_manifest
from .schema_drift import DriftPolicy, compare_commits

if TYPE_CHECKING:
    import sqlalchemy as sa

    from .repository import Store

RETRY_SECONDS = 60.0
"""How long a writer keeps rebuilding on a moving branch before it gives up."""


@dataclass(frozen=True)
class NewDataset:
    """A dataset to create atomically with its first commit (``Store.commit(create_dataset=...)``)."""

    description: str = ""
    tags: tuple[str, ...] = ()
    drift_policy: str = DriftPolicy.warn.value
    public_read: bool = False
    protect_default_branch: bool = False


@dataclass(frozen=True)
class Upload:
    """What a commit changes on top of the branch head."""

    tables: tuple[IngestedTable, ...]
    replace: bool = False
    remove_tables: tuple[str, ...] = ()
    extra_parents: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authorship:
    """Who commits, why, and what is recorded with the commit."""

    author: str = ""
    message: str = ""
    run_id: str | None = None
    meta: Mapping | None = None
    force: bool = False
    force_reason: str = ""


def new_commit(dataset: str, tables: Mapping[str, TableInfo], parents: tuple[str, ...], author: str,
               message: str, created_at: str | None = None, run_id: str | None = None,
               meta: Mapping | None = None) -> Commit:
    """A commit value (not yet stored) with its id computed.

    Raises:
        InvalidInput: the author or message is not valid text (checked alike on every backend).
    """
    validate_text(author, "author", MAX_NAME_LENGTH)
    validate_text(message, "message")
    created_at = created_at or utc_now()
    tables = dict(sorted(tables.items()))
    tree = tree_id(tables)
    return Commit(
        id=commit_id(tree, parents, author, message, created_at), dataset=dataset, parents=parents,
        message=message, author=author, created_at=created_at, tree_id=tree,
        row_count=sum(t.row_count for t in tables.values()), tables=tables, run_id=run_id, meta=dict(meta or {}),
    )


def check_drift(dataset: Dataset, base: Commit | None, candidate: Commit, *, force: bool) -> None:
    """The dataset's blocking schema audit.

    Raises:
        SchemaDriftRejected: the policy is ``reject``, the schema drifted and ``force`` is not set.
    """
    if force or dataset.drift_policy != DriftPolicy.reject.value:
        return
    report = compare_commits(base, candidate)
    if report.drifted:
        changes = "; ".join(c.describe() for c in report.changes)
        raise SchemaDriftRejected(
            f"dataset {dataset.name!r} rejects schema drift (policy 'reject'): {changes}. Change the policy, "
            "or commit with force=True and a reason", dataset=dataset.name, changes=report.changes)


def _forced_meta(who: Authorship) -> dict:
    meta = dict(who.meta or {})
    if who.force:
        if not who.force_reason:
            raise InvalidInput("force=True needs a reason (it is recorded with the commit)")
        meta["forced"] = {"by": who.author, "reason": who.force_reason}
    return meta


def _results(head: Commit, upload: Upload) -> dict[str, TableResult]:
    return {
        it.info.name: TableResult(
            it.info.name, it.rows, it.rows - it.reused_rows, it.reused_rows, it.stored_rows,
            changed=head.tables.get(it.info.name) is None or head.tables[it.info.name].content_id != it.info.content_id,
            schema=it.info.schema)
        for it in upload.tables
    }


def _tree(head: Commit, branch: str, upload: Upload) -> dict[str, TableInfo]:
    tables = {} if upload.replace else dict(head.tables)
    for name in upload.remove_tables:
        if name not in tables:
            raise TableNotFound(f"cannot remove table {name!r}: {branch} has tables {sorted(head.tables) or 'none'}",
                                kind="table", name=name)
        del tables[name]
    for it in upload.tables:
        tables[it.info.name] = it.info
    return tables


def _backoff(attempt: int) -> float:
    return random.uniform(0.5, 1.0) * min(0.01 * 2 ** attempt, 1.0)


def commit_upload(store: Store, dataset: str, branch: str, upload: Upload, who: Authorship, *,
                  publish: bool = True, retry_seconds: float = RETRY_SECONDS,
                  expected_head: str | None = None, move: str = "commit") -> CommitResult:
    """Commit ingested tables onto a branch by compare-and-swap, rebuilding on a moved head.

    ``move`` tells branch protection what this is (``commit``, or ``merge`` for a merge commit).

    With ``expected_head`` the tables were computed against that head (a merge, an edit):
    if the branch is elsewhere, RefConflict is raised at once instead of rebuilding.

    Raises:
        RevisionNotFound: the branch is missing (or was deleted meanwhile).
        SchemaDriftRejected: the dataset's drift policy refuses the new schema.
        RefConflict: the branch kept moving until the deadline; the snapshot is staged.
    """
    deadline = time.monotonic() + retry_seconds
    meta = _forced_meta(who)
    attempt = 0
    while True:
        attempt += 1
        ds = store.get_dataset(dataset)
        head = store.get_commit(dataset, store.branch(dataset, branch).commit_id)
        if expected_head is not None and head.id != expected_head:
            raise RefConflict(f"branch {branch!r} of dataset {dataset!r} moved from {expected_head[:12]} to "
                              f"{head.id[:12]}", dataset=dataset, name=branch, expected=expected_head, actual=head.id)
        tables = _tree(head, branch, upload)
        results = _results(head, upload)
        removed = tuple(sorted(set(head.tables) - set(tables)))
        if tree_id(dict(sorted(tables.items()))) == head.tree_id and not upload.extra_parents:
            return CommitResult("no_changes", dataset, branch, head.id, head.parents, results, (), attempt)
        commit = new_commit(dataset, tables, (head.id, *upload.extra_parents), who.author, who.message,
                            run_id=who.run_id, meta=meta)
        if publish:
            check_drift(ds, head, commit, force=who.force)
        packs = referenced_packs(store, commit)
        try:
            with store.catalog.write() as conn:
                insert_commit(conn, commit, packs=packs, objects=store.objects)
                if publish:
                    store.refs.set_if_equals(conn, dataset, branch, head.id, commit.id, who.author,
                                             _reason("commit", who), move=move)
        except ObjectCollected as e:
            if e.kind != "commit" or time.monotonic() + _backoff(attempt) >= deadline:
                raise  # a collected pack or manifest: the caller ingests again
            time.sleep(_backoff(attempt))  # the head was collected after it moved: rebuild on the new one
            continue
        except RefConflict as e:
            if expected_head is not None:
                raise
            if time.monotonic() + _backoff(attempt) >= deadline:
                with store.catalog.write() as conn:
                    insert_commit(conn, commit, packs=packs, objects=store.objects)
                raise RefConflict(
                    f"{e} — gave up after {attempt} attempts in {retry_seconds:g} s; the snapshot is kept as "
                    f"staged commit {commit.short_id} (publish it with Store.publish)",
                    **{**e.fields, "staged": commit.id, "attempts": attempt}) from e
            time.sleep(_backoff(attempt))
            continue
        return CommitResult("committed" if publish else "staged", dataset, branch, commit.id, commit.parents,
                            results, removed, attempt)


def referenced_packs(store: Store, commit: Commit) -> set[str]:
    """The row packs a commit's manifests reference (the GC protocol registers them).

    Raises:
        ObjectCollected: a manifest was collected by GC before the commit could land.
    """
    out: set[str] = set()
    for t in commit.tables.values():
        if not store.objects.exists("manifests", t.manifest_id):
            raise ObjectCollected(f"manifest {t.manifest_id} of table {t.name!r} was collected by garbage "
                                  "collection before the commit landed; ingest again", kind="manifests",
                                  object_id=t.manifest_id)
        out.update(store.manifests.get(t.manifest_id).packs)
    return out


def _reason(verb: str, who: Authorship) -> str:
    reason = f"{verb}: {who.message}" if who.message else verb
    return f"{reason} (forced: {who.force_reason})" if who.force else reason


def create_dataset(conn: sa.Connection, store: Store, name: str, spec: NewDataset, created_by: str, *,
                   protect: bool = True) -> Commit:
    """Create a dataset with ``main`` at an empty version 0, in the caller's write transaction.

    Returns:
        The empty root commit.

    Raises:
        AlreadyExists: a dataset of that name exists.
    """
    now = utc_now()
    root = new_commit(name, {}, (), created_by, "Create dataset", now)
    dataset_rows.insert(conn, name=name, description=spec.description, tags=spec.tags, created_by=created_by,
                        created_at=now, drift_policy=DriftPolicy.parse(spec.drift_policy).value)
    insert_commit(conn, root)
    store.refs.add_if_new(conn, name, "main", BRANCH, root.id, created_by, "create dataset")
    access.grant_creator(conn, name, store.user, spec.public_read)
    if protect and spec.protect_default_branch:
        protection.protect(conn, name, "main", require_merge=True, allow_reset=False, allow_delete=False,
                           by=store.user)
    return root


def create_with_commit(store: Store, dataset: str, spec: NewDataset, upload: Upload, who: Authorship, *,
                       publish: bool = True) -> CommitResult:
    """Create a dataset, its empty version 0 and its first commit on ``main`` in one transaction.

    With ``publish=False`` the first commit is staged (``main`` stays at version 0) for
    write-audit-publish.

    Raises:
        AlreadyExists: another writer created the dataset first (the caller commits onto it).
    """
    meta = _forced_meta(who)
    with store.catalog.write() as conn:
        root = create_dataset(conn, store, dataset, spec, who.author or store.user, protect=False)
        tables = _tree(root, "main", upload)
        if not tables:
            return CommitResult("no_changes", dataset, "main", root.id, (), _results(root, upload), (), 1)
        commit = new_commit(dataset, tables, (root.id,), who.author, who.message, run_id=who.run_id, meta=meta)
        insert_commit(conn, commit, packs=referenced_packs(store, commit), objects=store.objects)
        if publish:
            store.refs.set_if_equals(conn, dataset, "main", root.id, commit.id, who.author, _reason("commit", who))
        if spec.protect_default_branch:
            protection.protect(conn, dataset, "main", require_merge=True, allow_reset=False, allow_delete=False,
                               by=store.user)
    return CommitResult("committed" if publish else "staged", dataset, "main", commit.id, commit.parents,
                        _results(root, upload), (), 1)


def publish(store: Store, dataset: str, branch: str, commit_id_: str, *, expected: str | None, actor: str,
            reason: str, force: bool = False, move: str = "commit") -> None:
    """Move a branch to a (staged) commit by compare-and-swap, after the blocking audit.

    Raises:
        RefConflict: the branch moved since.
        SchemaDriftRejected: the dataset's drift policy refuses the commit's schema.
    """
    commit = store.get_commit(dataset, commit_id_)
    expected = expected or (commit.parents[0] if commit.parents else None)
    if expected is None:
        raise InvalidInput(f"commit {commit.short_id} has no parent; give the expected branch head")
    check_drift(store.get_dataset(dataset), store.get_commit(dataset, expected), commit, force=force)
    with store.catalog.write() as conn:
        store.refs.set_if_equals(conn, dataset, branch, expected, commit.id, actor, reason, move=move)


def selected_table(store: Store, info: TableInfo, name: str, row_ids: np.ndarray) -> IngestedTable:
    """A table made of some rows of a stored table, in the given order — no row is copied.

    Args:
        info: The source table.
        name: The new table's name.
        row_ids: Logical row ids (int64) of the source, in the order wanted.
    """
    name = validate_table_name(name)
    manifest = store.manifests.get(info.manifest_id).select(np.asarray(row_ids, dtype=np.int64))
    rows = read_manifest(store.objects, manifest, info.schema, with_keys=True)
    manifest_id = store.objects.put_bytes("manifests", manifest.to_bytes())
    columns = tuple(replace(c, nulls=rows.column(c.name).null_count) for c in info.columns)
    new_info = TableInfo(
        name=name, row_count=manifest.row_count, manifest_id=manifest_id,
        content_id=table_content_id(logical_schema(info.schema), manifest.row_count, keys_digest(rows)),
        schema=info.schema, columns=columns,
        stats={"rows": manifest.row_count, "new_rows": 0, "reused_rows": manifest.row_count, "stored_rows": 0,
               "ranges": manifest.range_count},
    )
    return IngestedTable(new_info, manifest.row_count, manifest.row_count, 0)


def check_upload_names(names: Sequence[str], remove_tables: Sequence[str]) -> None:
    """Table names of an upload: valid, each once, none both uploaded and removed.

    Raises:
        InvalidName, InvalidInput.
    """
    for name in (*names, *remove_tables):
        validate_table_name(name)
    if len(set(names)) != len(names):
        raise InvalidInput(f"the upload names a table twice: {sorted({n for n in names if names.count(n) > 1})}")
    if set(names) & set(remove_tables):
        raise InvalidInput(f"tables {sorted(set(names) & set(remove_tables))} are both uploaded and removed")

