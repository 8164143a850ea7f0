"""``dsa``: the version store from a terminal (no Dagster needed).

Commits made here show up in Dagster too: a sensor watching the catalog adds their
partitions. The store is ``--store PATH``, else ``DSA_STORE_ROOT`` / ``DSA_CATALOG_URL``,
else ``data/store`` — which is created only in the project folder: elsewhere ``dsa``
refuses (exit 2) rather than silently making an empty store.

Examples::

    dsa datasets
    dsa commit customers data/samples/customers.csv -m "first upload" --author ana
    dsa log customers
    dsa show customers v1
    dsa head customers main --limit 5
    dsa branch customers cleanup v1
    dsa reset customers main v1 --reason "bad upload"
    dsa export customers main out.csv
    dsa diff customers v1 v2 --key customer_id --stat
    dsa merge customers cleanup main --strategy amount=theirs
    dsa edit customers main changes.csv
    dsa revert customers main 1a2b3c4d
    dsa gc --dry-run --grace 1h
    dsa fsck --deep
    dsa delete-dataset customers --reason "duplicate of clients"
    dsa restore-dataset customers
    dsa users add bo && dsa grant customers bo write
    dsa protect customers main && dsa audit --dataset customers
    dsa search "churn" --tag crm --by ana && dsa suggest custmer

The acting user is ``$DSA_USER`` (default: the OS login name); see the README's
security section.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from dsa_pipelines import cli_changes, settings
from dsa_pipelines.storage import DsaError, Store


def _datasets(store: Store, args: argparse.Namespace) -> None:
    for ds in store.list_datasets():
        print(f"{ds.name}\t{ds.default_branch}\t{ds.drift_policy}\t{ds.description}")


def _create(store: Store, args: argparse.Namespace) -> None:
    ds = store.create_dataset(args.dataset, description=args.description, created_by=args.author)
    print(f"created dataset {ds.name} (branch {ds.default_branch})")


def _commit(store: Store, args: argparse.Namespace) -> None:
    res = store.commit(args.dataset, args.paths, branch=args.branch, message=args.message, author=args.author,
                       table=args.table, sheets=args.sheet or None, replace=args.replace,
                       create_dataset=bool(args.create))
    if not res.changed:
        print(f"no changes: {res.branch} is already {res.short_id}")
        return
    print(f"{res.status} {res.short_id} on {res.branch}")
    for t in res.tables.values():
        print(f"  {t.name}: {t.rows} rows, {t.new_rows} new, {t.reused_rows} reused")


def _log(store: Store, args: argparse.Namespace) -> None:
    for e in store.log(args.dataset, args.revision, args.limit):
        c = e.commit
        print(f"v{e.version}\t{c.short_id}\t{c.created_at}\t{c.author}\t{c.row_count} rows\t{c.message}")


def _show(store: Store, args: argparse.Namespace) -> None:
    c = store.get_commit(args.dataset, args.revision)
    print(f"commit {c.id}\nparents {' '.join(p[:12] for p in c.parents) or '-'}\nauthor {c.author}\n"
          f"date {c.created_at}\n\n    {c.message}\n")
    for t in c.tables.values():
        print(f"table {t.name}: {t.row_count} rows")
        for col in t.columns:
            print(f"  {col.name}: {col.type} ({col.logical}{', nullable' if col.nullable else ''})")


def _head(store: Store, args: argparse.Namespace) -> None:
    page = store.read_table(args.dataset, args.revision, args.table, offset=args.offset, limit=args.limit)
    print(page.to_pandas().to_string())
    print(f"({len(page.table)} of {page.total} rows from row {page.offset})")


def _refs(store: Store, args: argparse.Namespace) -> None:
    kind = args.command  # "branch" or "tag"
    if args.name is None:
        listed = store.branches(args.dataset) if kind == "branch" else store.tags(args.dataset)
        for ref in listed:
            print(f"{ref.name}\t{ref.commit_id[:12]}")
        return
    create = store.create_branch if kind == "branch" else store.create_tag
    ref = create(args.dataset, args.name, args.revision, actor=args.author)
    print(f"{kind} {ref.name} at {ref.commit_id[:12]}")


def _reset(store: Store, args: argparse.Namespace) -> None:
    old, new = store.reset_branch(args.dataset, args.branch, args.revision, actor=args.author, reason=args.reason)
    print(f"{args.branch}: {old[:12]} -> {new[:12]}")


def _reflog(store: Store, args: argparse.Namespace) -> None:
    for e in store.reflog(args.dataset, args.ref, args.limit):
        old = e.old_commit[:12] if e.old_commit else "-"
        new = e.new_commit[:12] if e.new_commit else "-"
        print(f"{e.created_at}\t{e.ref_name}\t{old} -> {new}\t{e.actor}\t{e.reason}")


def _export(store: Store, args: argparse.Namespace) -> None:
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else None
    path = store.export(args.dataset, args.revision, args.path, table=args.table, columns=columns, where=args.where,
                        compression=args.compression)
    print(f"wrote {path}")


# ------------------------------------------------------------------ access and search
def _users(store: Store, args: argparse.Namespace) -> None:
    if args.action == "add":
        user = store.create_user(args.name, display_name=args.display_name, role=args.role or "user")
        print(f"created user {user.name} ({user.role})")
    elif args.action == "set-role":
        user = store.set_role(args.name, args.role or "user")
        print(f"{user.name} is now {user.role}")
    else:
        for user in store.list_users():
            print(f"{user.name}\t{user.role}\t{user.display_name}\t{user.created_at}")


def _grant(store: Store, args: argparse.Namespace) -> None:
    grant = store.grant(args.dataset, args.user, args.level)
    print(f"{grant.user} has {grant.level} on {args.dataset}")


def _revoke(store: Store, args: argparse.Namespace) -> None:
    store.revoke(args.dataset, args.user)
    print(f"revoked {args.user} on {args.dataset}")


def _permissions(store: Store, args: argparse.Namespace) -> None:
    if args.public is not None:
        store.set_public_read(args.dataset, args.public == "on")
    perms = store.permissions(args.dataset)
    print(f"public read: {'yes' if perms.public_read else 'no'}")
    for g in perms.grants:
        print(f"{g.user}\t{g.level}\t{g.granted_by}\t{g.granted_at}")


def _protect(store: Store, args: argparse.Namespace) -> None:
    if args.remove:
        removed = store.unprotect_branch(args.dataset, args.branch)
        print(f"{args.branch}: {'protection removed' if removed else 'was not protected'}")
        return
    rule = store.protect_branch(args.dataset, args.branch, require_merge=not args.admins_commit,
                                allow_reset=args.allow_reset, allow_delete=args.allow_delete)
    how = "moves only by merge" if rule.require_merge else "moves by merge or by the dataset's admins"
    print(f"{rule.branch} is protected: {how}; reset {'allowed' if rule.allow_reset else 'refused'}, "
          f"delete {'allowed' if rule.allow_delete else 'refused'}")


def _audit(store: Store, args: argparse.Namespace) -> None:
    filters = {"dataset": args.dataset, "user": args.user, "since": args.since, "action": args.action}
    if args.csv:
        print(f"wrote {store.export_audit_log(args.csv, limit=args.limit, **filters)}")
        return
    for e in store.audit_log(limit=args.limit, **filters):
        print(f"{e.created_at}\t{e.user}\t{e.action}\t{e.dataset or '-'}\t{e.target or '-'}\t{e.outcome}"
              f"\t{e.detail}")


def _search(store: Store, args: argparse.Namespace) -> None:
    result = store.search(args.query, tags=args.tag or (), created_by=args.by or (), updated_after=args.after,
                          updated_before=args.before, limit=args.limit, offset=args.offset)
    for item in result.items:
        print(f"{item.name}\t{item.row_count} rows\t{item.updated_at}\t{','.join(item.tags)}\t{item.description}")
    print(f"({len(result.items)} of {result.total} from {args.offset})")
    for facet, counts in result.facets.items():
        print(f"{facet}: " + ", ".join(f"{value} ({n})" for value, n in list(counts.items())[:10]))


def _suggest(store: Store, args: argparse.Namespace) -> None:
    for s in store.suggest(args.prefix, limit=args.limit):
        print(f"{s.text}\t{s.kind}\t{s.datasets}")


def _access_commands(cmd) -> None:  # noqa: ANN001 — the parser's command factory
    p = cmd("users", _users, "list users, add one, or set a role (store admins)")
    p.add_argument("action", nargs="?", choices=("list", "add", "set-role"), default="list")
    p.add_argument("name", nargs="?")
    p.add_argument("role", nargs="?", choices=("user", "admin"))
    p.add_argument("--display-name", default="")
    p = cmd("grant", _grant, "give a user read, write or admin on a dataset")
    p.add_argument("dataset")
    p.add_argument("user")
    p.add_argument("level", choices=("read", "write", "admin"))
    p = cmd("revoke", _revoke, "remove a user's permission on a dataset")
    p.add_argument("dataset")
    p.add_argument("user")
    p = cmd("permissions", _permissions, "who may do what on a dataset")
    p.add_argument("dataset")
    p.add_argument("--public", choices=("on", "off"), help="let every user read it (or not)")
    p = cmd("protect", _protect, "protect a branch (moves only by merge)")
    p.add_argument("dataset")
    p.add_argument("branch")
    p.add_argument("--admins-commit", action="store_true", help="let the dataset's admins move it directly")
    p.add_argument("--allow-reset", action="store_true")
    p.add_argument("--allow-delete", action="store_true")
    p.add_argument("--remove", action="store_true", help="remove the protection")
    p = cmd("audit", _audit, "the audit trail, newest first")
    p.add_argument("--dataset")
    p.add_argument("--user")
    p.add_argument("--since")
    p.add_argument("--action")
    p.add_argument("-n", "--limit", type=int, default=100)
    p.add_argument("--csv", help="write it as CSV to this path")
    p = cmd("search", _search, "search datasets (name, description, tags)")
    p.add_argument("query", nargs="?", default="")
    p.add_argument("--tag", action="append", help="only datasets with this tag (repeatable: all of them)")
    p.add_argument("--by", action="append", help="only datasets created by this user (repeatable: any)")
    p.add_argument("--after")
    p.add_argument("--before")
    p.add_argument("-n", "--limit", type=int, default=20)
    p.add_argument("--offset", type=int, default=0)
    p = cmd("suggest", _suggest, "autocomplete dataset names and tags")
    p.add_argument("prefix")
    p.add_argument("-n", "--limit", type=int, default=10)
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def duration(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``1h``, ``30d``, ``2w`` (argparse type)."""
    match = _DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 1h, 30d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})


def _gc(store: Store, args: argparse.Namespace) -> None:
    r = store.gc(dry_run=args.dry_run, grace=args.grace, reflog_retention=args.retention)
    verb = "would remove" if r.dry_run else "removed"
    print(f"{verb} {r.commits_removed} commits, {r.manifests_removed} manifests, {r.packs_removed} packs, "
          f"{r.other_removed} other files: {r.bytes_freed} bytes")
    print(f"kept {r.commits_kept} commits, {r.manifests_kept} manifests, {r.packs_kept} packs; "
          f"{'would compact' if r.dry_run else 'compacted'} {r.packs_compacted} packs")
    if r.datasets_purged:
        print(f"purged datasets: {', '.join(r.datasets_purged)}")
    print("seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in r.seconds.items()))


def _fsck(store: Store, args: argparse.Namespace) -> int:
    report = store.fsck(deep=args.deep)
    for p in report.problems:
        print(f"{p.kind}\t{p.message}")
    print(", ".join(f"{k} {v}" for k, v in sorted(report.counts.items())))
    print("ok" if report.ok else f"{len(report.problems)} problem(s)")
    return 0 if report.ok else 1


def _delete_dataset(store: Store, args: argparse.Namespace) -> None:
    store.delete_dataset(args.dataset, actor=args.author, reason=args.reason)
    print(f"deleted dataset {args.dataset} (restore with: dsa restore-dataset {args.dataset})")


def _restore_dataset(store: Store, args: argparse.Namespace) -> None:
    store.restore_dataset(args.dataset, actor=args.author)
    print(f"restored dataset {args.dataset}")


def build_parser() -> argparse.ArgumentParser:
    """The ``dsa`` argument parser."""
    parser = argparse.ArgumentParser(prog="dsa", description="Row-level versioning of tabular datasets.")
    parser.add_argument("--author", default="", help="who acts (recorded on commits and in the reflog)")
    parser.add_argument("--store", metavar="PATH",
                        help="store root (default: $DSA_STORE_ROOT, or data/store in the project folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    def cmd(name: str, func, help_: str) -> argparse.ArgumentParser:  # noqa: ANN001
        p = sub.add_parser(name, help=help_)
        p.set_defaults(func=func)
        return p

    cmd("datasets", _datasets, "list datasets")
    p = cmd("create", _create, "create a dataset")
    p.add_argument("dataset")
    p.add_argument("--description", default="")
    p = cmd("commit", _commit, "commit files (CSV, Excel, Parquet) onto a branch")
    p.add_argument("dataset")
    p.add_argument("paths", nargs="+")
    p.add_argument("-b", "--branch")
    p.add_argument("-m", "--message", default="")
    p.add_argument("-t", "--table", help="table name for a single CSV/Parquet file")
    p.add_argument("--sheet", action="append", help="Excel sheet to take (repeatable; default all)")
    p.add_argument("--replace", action="store_true", help="the commit holds only the uploaded tables")
    p.add_argument("--create", action="store_true", help="create the dataset if it does not exist")
    for name, func, help_ in (("log", _log, "first-parent history with version numbers"),
                              ("show", _show, "a commit: parents, message, tables and schemas")):
        p = cmd(name, func, help_)
        p.add_argument("dataset")
        p.add_argument("revision", nargs="?")
        if name == "log":
            p.add_argument("-n", "--limit", type=int)
    p = cmd("head", _head, "rows of a table")
    p.add_argument("dataset")
    p.add_argument("revision", nargs="?")
    p.add_argument("-t", "--table")
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("-n", "--limit", type=int, default=20)
    for name, help_ in (("branch", "list branches, or create one at a revision"),
                        ("tag", "list tags, or create one (tags never move)")):
        p = cmd(name, _refs, help_)
        p.add_argument("dataset")
        p.add_argument("name", nargs="?")
        p.add_argument("revision", nargs="?")
    p = cmd("reset", _reset, "point a branch at another revision (rollback)")
    p.add_argument("dataset")
    p.add_argument("branch")
    p.add_argument("revision")
    p.add_argument("--reason", required=True)
    p = cmd("reflog", _reflog, "ref moves, newest first")
    p.add_argument("dataset")
    p.add_argument("ref", nargs="?")
    p.add_argument("-n", "--limit", type=int)
    p = cmd("export", _export, "export a table (CSV/Parquet) or a whole commit (.xlsx)")
    p.add_argument("dataset")
    p.add_argument("revision")
    p.add_argument("path")
    p.add_argument("-t", "--table")
    p.add_argument("-c", "--columns", help="only these columns, comma-separated, in this order")
    p.add_argument("-w", "--where", help="only rows for which this SQL expression holds, e.g. \"amount > 100\"")
    p.add_argument("--compression", help="CSV: gzip or zstd; Parquet: zstd (default), snappy, gzip, lz4, brotli, none")
    _access_commands(cmd)
    p = cmd("gc", _gc, "remove unreachable commits and objects, compact sparse packs")
    p.add_argument("--dry-run", action="store_true", help="only report what would be removed")
    p.add_argument("--grace", type=duration, default=timedelta(hours=1), help="keep anything younger (default 1h)")
    p.add_argument("--retention", type=duration, default=timedelta(days=30),
                   help="keep reflog entries and deleted datasets younger than this (default 30d)")
    p = cmd("fsck", _fsck, "check the store's integrity (exit 1 on problems)")
    p.add_argument("--deep", action="store_true", help="also recompute row hashes and content ids")
    p = cmd("delete-dataset", _delete_dataset, "soft-delete a dataset (restorable until purged)")
    p.add_argument("dataset")
    p.add_argument("--reason", required=True)
    p = cmd("restore-dataset", _restore_dataset, "undo a dataset's soft delete")
    p.add_argument("dataset")
    cli_changes.add_arguments(cmd)  # diff, merge, edit, revert, cherry-pick
    return parser


def _is_project(folder: Path) -> bool:
    pyproject = folder / "pyproject.toml"
    return pyproject.is_file() and "dsa_pipelines" in pyproject.read_text(encoding="utf-8", errors="replace")


def implicit_store_problem() -> str | None:
    """Why the default store must not be used here (None: it may be opened, or created).

    With neither ``--store`` nor ``$DSA_STORE_ROOT``, the store is ``./data/store``: an
    existing one is opened; a missing one is created only inside the project folder, never
    silently anywhere else.
    """
    config = settings.current()
    if config.store_root_set or (config.store_root / "catalog.db").exists() or _is_project(Path.cwd()):
        return None
    return (f"no store here: {config.store_root} does not exist and {Path.cwd()} is not the DSA Pipelines "
            "project folder. Run dsa from the project folder, or name the store with --store PATH "
            "(or DSA_STORE_ROOT=PATH).")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dsa`` command; returns the exit code (2 for a store error, 141 for a closed pipe)."""
    args = build_parser().parse_args(argv)
    problem = None if args.store else implicit_store_problem()
    if problem:
        print(f"dsa: {problem}", file=sys.stderr)
        return 2
    try:
        with Store.open(args.store) as store:
            code = args.func(store, args) or 0
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``dsa log x | head -1``): stop quietly, like git. Point stdout at
        # /dev/null so that the interpreter's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except DsaError as e:
        print(f"dsa: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
