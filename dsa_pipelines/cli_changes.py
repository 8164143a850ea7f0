"""``dsa diff / merge / edit / revert / cherry-pick``: the git half of the store in a terminal.

Registered by :mod:`dsa_pipelines.cli`. Output is plain text, coloured when stdout is a
terminal (``+`` green, ``-`` red, ``~`` yellow).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.csv as pacsv

from dsa_pipelines import storage
from dsa_pipelines.storage import Diff, InvalidInput, Store, TableDiff

if TYPE_CHECKING:
    from dsa_pipelines.storage import MergeResult

_COLOURS = {"+": "\033[32m", "-": "\033[31m", "~": "\033[33m", "!": "\033[36m"}
_RESET = "\033[0m"


def _paint(text: str, mark: str) -> str:
    if not sys.stdout.isatty() or mark not in _COLOURS:
        return text
    return f"{_COLOURS[mark]}{text}{_RESET}"


def _columns(value: str | None) -> list[str] | None:
    return [c.strip() for c in value.split(",") if c.strip()] if value else None


def _stat_line(td: TableDiff, width: int) -> str:
    marks = _paint("+" * min(td.added, 20), "+") + _paint("-" * min(td.removed, 20), "-") + \
        _paint("~" * min(td.changed, 20), "~")
    schema = " (schema changed)" if td.schema.changed else ""
    return (f" {td.table.ljust(width)} | {td.added:>6} added {td.removed:>6} removed {td.changed:>6} changed "
            f"{marks}{schema}")


def _schema_lines(td: TableDiff) -> list[str]:
    s = td.schema
    lines = [f"  + column {n} ({t})" for n, t in s.added] + [f"  - column {n} ({t})" for n, t in s.removed]
    lines += [f"  ~ column {n}: {a} -> {b}" for n, a, b in s.retyped]
    lines += [f"  ~ column {n} moved" for n in s.reordered]
    return [_paint(line, line.strip()[0]) for line in lines]


def _row_lines(td: TableDiff, limit: int | None) -> list[str]:
    rows = td.rows(limit=limit).to_pylist()  # at most `limit` rows are printed
    data = [c for c in td.rows(limit=0).column_names
            if c not in ("change", "base_logical_row_id", "logical_row_id", "changed_columns")
            and not c.endswith("__old")]
    out = []
    for r in rows:
        mark = r["change"]
        where = r["logical_row_id"] if r["logical_row_id"] is not None else r["base_logical_row_id"]
        if mark == "~":
            cells = [f"{c}: {r[c + '__old']!r} -> {r[c]!r}" for c in r["changed_columns"] or []]
        else:
            cells = [f"{c}={r[c]!r}" for c in data]
        out.append(_paint(f"{mark} row {where}: " + ", ".join(cells), mark))
    return out


def render_diff(diff: Diff, *, stat: bool, limit: int | None) -> str:
    """The text form of a diff: a ``--stat`` summary, or per table its counts, schema and rows."""
    width = max((len(n) for n in diff.tables), default=0)
    if stat:
        lines = [_stat_line(t, width) for t in diff.tables.values()]
        lines.append(f" {len(diff.tables)} table(s): {diff.added} added, {diff.removed} removed, "
                     f"{diff.changed} changed")
        return "\n".join(lines)
    lines = [f"diff {diff.dataset} {diff.base[:12]}..{diff.target[:12]}"]
    for td in diff.tables.values():
        key = f" key ({', '.join(td.key)})" if td.key else " keyless"
        lines.append(f"table {td.table} [{td.status}{key}]: {td.added} added, {td.removed} removed, "
                     f"{td.changed} changed, {td.unchanged} unchanged")
        lines += _schema_lines(td)
        lines += _row_lines(td, limit)
        shown = min(td.added + td.removed + td.changed, limit if limit is not None else 1 << 62)
        if shown < td.added + td.removed + td.changed:
            lines.append(f"  ... {td.added + td.removed + td.changed - shown} more (use --limit)")
    return "\n".join(lines)


def diff_command(store: Store, args: argparse.Namespace) -> int:
    """``dsa diff``."""
    diff = store.diff(args.dataset, args.base, args.target, table=args.table, key=_columns(args.key),
                      pair=None if args.no_pair else "position")
    if args.format == "text":
        print(render_diff(diff, stat=args.stat, limit=args.limit))
    elif args.format == "html":
        path = diff.to_html(args.output or "diff.html")
        print(f"wrote {path}")
    elif args.output:
        print(f"wrote {diff.to_csv(args.output, args.table)}")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            sys.stdout.write(diff.to_csv(Path(tmp) / "diff.csv", args.table).read_text(encoding="utf-8"))
    return 0


def _strategies(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        column, sep, strategy = item.partition("=")
        if not sep:
            raise InvalidInput(f"--strategy takes COLUMN=STRATEGY, got {item!r}")
        out[column.strip()] = strategy.strip()
    return out


def _print_conflicts(conflicts: pa.Table) -> None:
    for r in conflicts.to_pylist():  # conflicts-sized
        where = f" column {r['column']}" if r["column"] else ""
        print(_paint(f"  {r['kind']}: table {r['table']} key {r['key']}{where}: base {r['base']!r}, "
                     f"ours {r['ours']!r}, theirs {r['theirs']!r}", "!"))


def merge_command(store: Store, args: argparse.Namespace) -> int:
    """``dsa merge``: exit code 1 when conflicts are left (nothing moved)."""
    resolutions = None
    if args.resolutions:
        try:
            resolutions = pacsv.read_csv(args.resolutions, convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in ("table", "key", "column", "base", "ours", "theirs", "kind",
                                                        "resolved")}, strings_can_be_null=True))
        except (pa.ArrowInvalid, OSError) as e:
            raise InvalidInput(f"cannot read resolutions {args.resolutions!r}: {e}") from e
    res: MergeResult = store.merge(args.dataset, args.source, args.into, strategies=_strategies(args.strategy),
                                   default=args.default, rows=args.rows, key=_columns(args.key),
                                   message=args.message, author=args.author, resolutions=resolutions,
                                   allow_unrelated=args.allow_unrelated)
    if res.status == "conflicts":
        print(f"conflicts: {res.conflicts.num_rows}; nothing was merged")
        _print_conflicts(res.conflicts)
        if args.conflicts:
            pacsv.write_csv(res.conflicts.append_column("resolved", pa.nulls(res.conflicts.num_rows, pa.string())),
                            args.conflicts)
            print(f"wrote {args.conflicts}: fill in 'resolved' and pass it with --resolutions")
        return 1
    base = f" (base {res.base[:12]})" if res.base else ""
    print(f"{res.status} {res.short_id}{base}")
    return 0


def edit_command(store: Store, args: argparse.Namespace) -> int:
    """``dsa edit``: rows added, removed and updated from a CSV/JSON changes file."""
    info = store.table_info(args.dataset, args.base or args.branch, args.table)
    add, remove, update = storage.read_changes(args.changes, store.table_key(args.dataset, info.name))
    res = store.edit(args.dataset, args.branch, table=info.name, add=add, remove=remove, update=update,
                     base=args.base, message=args.message, author=args.author)
    print(f"{res.status} {res.short_id} on {res.branch}")
    return 0


def revert_command(store: Store, args: argparse.Namespace) -> int:
    """``dsa revert`` and ``dsa cherry-pick``."""
    apply = store.revert if args.command == "revert" else store.cherry_pick
    res = apply(args.dataset, args.branch, args.commit, mainline=args.mainline, message=args.message,
                author=args.author)
    print(f"{res.status} {res.short_id} on {res.branch}")
    return 0


def add_arguments(cmd) -> None:
    """Register the five commands with the ``dsa`` parser."""
    p = cmd("diff", diff_command, "what changed between two revisions (counts, schema, rows)")
    p.add_argument("dataset")
    p.add_argument("base")
    p.add_argument("target", nargs="?")
    p.add_argument("--key", help="columns pairing rows, comma-separated (default: the declared key)")
    p.add_argument("-t", "--table")
    p.add_argument("-n", "--limit", type=int, default=50, help="rows shown per table (text format)")
    p.add_argument("--format", choices=("text", "csv", "html"), default="text")
    p.add_argument("-o", "--output", help="file for csv/html output")
    p.add_argument("--stat", action="store_true", help="one summary line per table")
    p.add_argument("--no-pair", action="store_true", help="keyless tables: pure multiset diff")
    p = cmd("merge", merge_command, "three-way merge a revision into a branch")
    p.add_argument("dataset")
    p.add_argument("source")
    p.add_argument("into", nargs="?")
    p.add_argument("--strategy", action="append", help="COLUMN=ours|theirs|fail|max|min (repeatable)")
    p.add_argument("--default", default="fail", help="strategy for other columns")
    p.add_argument("--rows", help="row conflicts (changed vs deleted): ours|theirs|fail")
    p.add_argument("--key", help="columns pairing rows, comma-separated")
    p.add_argument("-m", "--message", default="")
    p.add_argument("--resolutions", help="a conflicts CSV with a filled 'resolved' column")
    p.add_argument("--conflicts", help="write the conflicts to this CSV")
    p.add_argument("--allow-unrelated", action="store_true")
    p = cmd("edit", edit_command, "add/remove/update rows from a CSV (action column) or JSON file")
    p.add_argument("dataset")
    p.add_argument("branch")
    p.add_argument("changes")
    p.add_argument("-t", "--table")
    p.add_argument("--base", help="the revision the changes were made against")
    p.add_argument("-m", "--message", default="")
    for name, help_ in (("revert", "undo a commit's change on top of a branch"),
                        ("cherry-pick", "apply a commit's change on top of a branch")):
        p = cmd(name, revert_command, help_)
        p.add_argument("dataset")
        p.add_argument("branch")
        p.add_argument("commit")
        p.add_argument("--mainline", type=int, help="for a merge commit: the parent (1-based) to diff against")
        p.add_argument("-m", "--message", default="")

