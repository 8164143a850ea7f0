"""Merging one revision into a branch: merge base, per-table three-way merge, one CAS.

``ours`` is the branch merged into, ``theirs`` the source (git's convention). The merge
base is the best common ancestor (:mod:`.merge_base`). If the source is already in the
branch's history the result is ``up_to_date``; if the branch head is an ancestor of the
source, the branch fast-forwards. Otherwise every table is merged
(:mod:`.merge_tables`); with conflicts left, nothing is written and no ref moves.
A clean merge commits with parents (ours head, theirs head) by compare-and-swap; a lost
race re-merges onto the new head (bounded).
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pyarrow as pa

from . import writer
from .catalog.commits import parent_map
from .catalog.keys_schema import declared_keys
from .commit_diff import resolve_key
from .errors import InvalidInput, RefConflict, UnrelatedHistories
from .merge_base import ancestors, merge_bases
from .merge_cells import CONFLICT_COLUMNS, check_strategies, conflicts_table
from .merge_tables import Settings, TableOutcome, merge_table
from .models import CommitResult, TableInfo
from .names import validate_ref_name
from .table_keys import check_declared_keys

if TYPE_CHECKING:
    from .repository import Store

MAX_MERGE_ATTEMPTS = 5


@dataclass(frozen=True)
class MergeResult:
    """The outcome of a merge.

    Attributes:
        status: ``up_to_date``, ``fast_forward``, ``merged`` or ``conflicts``.
        commit_id: The branch head after the merge (the merge commit, the fast-forward
            target, the unchanged head), or None with conflicts.
        conflicts: Arrow table (table, key, column, base, ours, theirs, kind); empty unless
            status is ``conflicts``.
        base: The merge base used (None: unrelated histories merged from an empty base).
        other_bases: Other best common ancestors of a criss-cross history (not used).
        ours: The branch head merged into.
        theirs: The source commit.
        published: Whether the branch moved (False for a staged merge commit).
        attempts: Compare-and-swap attempts.
    """

    status: str
    commit_id: str | None
    conflicts: pa.Table = field(repr=False, hash=False, compare=False)
    base: str | None = None
    other_bases: tuple[str, ...] = ()
    ours: str = ""
    theirs: str = ""
    published: bool = True
    attempts: int = 1

    @property
    def short_id(self) -> str:
        """The 12-character abbreviation of the commit id ("" without a commit)."""
        return (self.commit_id or "")[:12]


def parse_resolutions(table: pa.Table | object | None) -> dict[tuple[str, str, str | None, str], str]:
    """{(table, key, column, kind): resolved} from a conflicts table with a ``resolved`` column.

    Raises:
        InvalidInput: missing columns or an unresolved row.
    """
    if table is None:
        return {}
    if not isinstance(table, pa.Table):
        try:
            table = pa.Table.from_pandas(table, preserve_index=False)
        except (TypeError, ValueError, pa.ArrowException) as e:
            raise InvalidInput(f"resolutions must be an Arrow table or DataFrame: {e}") from e
    missing = [c for c in (*CONFLICT_COLUMNS, "resolved") if c not in table.column_names]
    if missing:
        raise InvalidInput(f"the resolutions table lacks column(s) {missing}", column=missing[0])
    rows = table.select(["table", "key", "column", "kind", "resolved"]).to_pylist()  # conflicts-sized
    out: dict[tuple[str, str, str | None, str], str] = {}
    for r in rows:
        ident = (r["table"], r["key"] or "", r["column"], r["kind"])
        if r["resolved"] is None:
            raise InvalidInput(f"conflict {_describe(ident)} has no resolved value", conflict=ident)
        out[ident] = str(r["resolved"])
    return out


def _describe(ident: tuple) -> str:
    table, key, column, kind = ident
    return f"{kind} in table {table!r}" + (f", key {key}" if key else "") + (f", column {column!r}" if column else "")


def _identities(conflicts: pa.Table) -> set[tuple]:
    return {(r["table"], r["key"] or "", r["column"], r["kind"]) for r in
            conflicts.select(["table", "key", "column", "kind"]).to_pylist()}


def merge(store: Store, dataset: str, source: str, into: str | None = None, *,
          strategies: Mapping[str, str] | None = None, default: str = "fail", rows: str | None = None,
          key: Sequence[str] | Mapping[str, Sequence[str]] | None = None, message: str = "", author: str = "",
          resolutions: pa.Table | None = None, allow_unrelated: bool = False, publish: bool = True,
          run_id: str | None = None, max_attempts: int = MAX_MERGE_ATTEMPTS) -> MergeResult:
    """Merge ``source`` into branch ``into`` (see :meth:`Store.merge`)."""
    ds = store.get_dataset(dataset)
    into = validate_ref_name(into or ds.default_branch, "branch")
    store.branch(dataset, into)
    if source == into:
        raise InvalidInput(f"cannot merge branch {into!r} into itself", name=into)
    theirs = store.resolve(dataset, source)
    given = parse_resolutions(resolutions)
    for attempt in range(1, max_attempts + 1):
        head = store.branch(dataset, into).commit_id
        try:
            return _merge_once(store, dataset, source, into, head, theirs, strategies, default, rows, key,
                               message, author, given, resolutions is not None, allow_unrelated, publish, attempt,
                               run_id)
        except RefConflict:
            if attempt == max_attempts:
                raise
            time.sleep(random.uniform(0.01, 0.05) * attempt)
    raise AssertionError("unreachable")


def _merge_once(store: Store, dataset: str, source: str, into: str, head: str, theirs: str,
                strategies: Mapping[str, str] | None, default: str, rows: str | None,
                key: Sequence[str] | Mapping[str, Sequence[str]] | None, message: str, author: str,
                given: dict, check_given: bool, allow_unrelated: bool, publish: bool, attempt: int,
                run_id: str | None) -> MergeResult:
    none = conflicts_table([])
    with store.catalog.read() as conn:
        parents = parent_map(conn, dataset)
        bases = merge_bases(conn, dataset, head, theirs)
    if theirs in ancestors(parents, [head]):
        return MergeResult("up_to_date", head, none, theirs, (), head, theirs, True, attempt)
    if head in ancestors(parents, [theirs]):
        if publish:
            writer.publish(store, dataset, into, theirs, expected=head, actor=author,
                           reason=f"merge {source}: fast-forward", move="merge")
        return MergeResult("fast_forward", theirs, none, head, (), head, theirs, publish, attempt)
    if not bases and not allow_unrelated:
        raise UnrelatedHistories(f"{source!r} and {into!r} of {dataset!r} share no history; "
                                 "pass allow_unrelated=True to merge them from an empty base",
                                 dataset=dataset, source=source, into=into)
    base_c = store.get_commit(dataset, bases[0]) if bases else None
    ours_c, theirs_c = store.get_commit(dataset, head), store.get_commit(dataset, theirs)
    outcomes, conflicts = merge_trees(store, dataset, base_c.tables if base_c else {}, ours_c.tables,
                                      theirs_c.tables, key, strategies, default, rows, given, check_given)
    base_id, others = (bases[0] if bases else None), tuple(bases[1:])
    if conflicts.num_rows:
        return MergeResult("conflicts", None, conflicts, base_id, others, head, theirs, False, attempt)
    result = commit_outcomes(store, dataset, into, head, ours_c.tables, outcomes,
                             message=message or f"Merge {source} into {into}", author=author, publish=publish,
                             extra_parents=(theirs,), meta={"merge_base": base_id}, run_id=run_id, move="merge")
    return MergeResult("merged", result.commit_id, none, base_id, others, head, theirs, publish, attempt)


def merge_trees(store: Store, dataset: str, base: Mapping[str, TableInfo], ours: Mapping[str, TableInfo],
                theirs: Mapping[str, TableInfo], key: Sequence[str] | Mapping[str, Sequence[str]] | None,
                strategies: Mapping[str, str] | None, default: str, rows: str | None, given: dict | None = None,
                check_given: bool = False) -> tuple[dict[str, TableOutcome], pa.Table]:
    """Three-way merge of every table of three trees; nothing is written yet.

    Returns:
        (per table its outcome, the conflicts left).

    Raises:
        InvalidInput: bad strategies, or resolutions that match no conflict.
    """
    given = given or {}
    columns = {c for t in (*ours.values(), *theirs.values()) for c in t.schema.names}
    strategies, default, rows = check_strategies(strategies, default, rows, columns)
    names = sorted(set(ours) | set(theirs) | set(base))
    with store.catalog.read() as conn:
        declared = declared_keys(conn, dataset)

    def run(resolved: dict) -> dict[str, TableOutcome]:
        settings = Settings(strategies, default, rows, resolved)
        return {name: merge_table(store, name, base.get(name), ours.get(name), theirs.get(name),
                                  resolve_key(key, name, declared)[0], settings) for name in names}

    if check_given:
        found = _identities(conflicts_table([o.conflicts for o in run({}).values()]))
        extra = sorted(set(given) - found, key=str)
        if extra:
            raise InvalidInput(f"the resolutions do not match the conflicts: no conflict {_describe(extra[0])}",
                               conflict=extra[0])
    outcomes = run(given)
    return outcomes, conflicts_table([o.conflicts for o in outcomes.values()])


def commit_outcomes(store: Store, dataset: str, branch: str, head: str, ours: Mapping[str, TableInfo],
                    outcomes: Mapping[str, TableOutcome], *, message: str, author: str, publish: bool = True,
                    extra_parents: tuple[str, ...] = (), meta: Mapping | None = None,
                    run_id: str | None = None, check_keys: bool = True, move: str = "commit") -> CommitResult:
    """Write the merged tables and commit them onto ``head`` (RefConflict if the branch moved).

    ``check_keys=False`` skips the declared-key check for tables the caller checked already.
    """
    ingested, removed = [], []
    for name, outcome in outcomes.items():
        table = outcome.written(store)
        if table is None:
            if name in ours:
                removed.append(name)
        elif name not in ours or ours[name].content_id != table.info.content_id:
            ingested.append(table)
    if check_keys:
        check_declared_keys(store, dataset, ingested)
    return writer.commit_upload(
        store, dataset, branch, writer.Upload(tuple(ingested), False, tuple(removed), tuple(extra_parents)),
        writer.Authorship(author, message, run_id, meta), publish=publish, expected_head=head, move=move)
