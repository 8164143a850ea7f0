"""Naming rules for datasets, branches, tags and tables.

Branch and tag names follow git's ``check-ref-format`` rules (they may contain ``/``
to group them, e.g. ``samples/audit-q3``); dataset names follow the same rules without
``/`` because a dataset name is also a folder name (``data/landing/<dataset>/``).
"""

from __future__ import annotations

import re

from .errors import InvalidName

RESERVED_PREFIX = "__dsa_"
"""Column names starting with this are reserved for the store's own columns (row keys)."""

MAX_NAME_LENGTH = 200
_FORBIDDEN_CHARS = set(" ~^:?*[\\")


def _problem_with_ref_name(name: str) -> str | None:
    if not name:
        return "is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"is {len(name)} characters long (at most {MAX_NAME_LENGTH})"
    for ch in name:
        if ord(ch) < 0x20 or ord(ch) == 0x7F:
            return f"contains the control character {ch!r}"
        if ch in _FORBIDDEN_CHARS:
            return f"contains {ch!r} (spaces and ~ ^ : ? * [ \\ are not allowed)"
    if name == "@":
        return "is '@', which is reserved"
    if ".." in name:
        return "contains '..'"
    if "@{" in name:
        return "contains '@{' (reserved for reflog selectors like main@{1})"
    if name.startswith("-"):
        return "starts with '-'"
    if name.startswith("/") or name.endswith("/"):
        return "starts or ends with '/'"
    if "//" in name:
        return "contains '//'"
    if name.endswith("."):
        return "ends with '.'"
    for part in name.split("/"):
        if part.startswith("."):
            return f"has a component starting with '.' ({part!r})"
        if part.endswith(".lock"):
            return f"has a component ending with '.lock' ({part!r})"
    return None


def validate_ref_name(name: str, kind: str = "branch") -> str:
    """Check a branch or tag name against git's ref-name rules.

    Args:
        name: The proposed name.
        kind: ``"branch"`` or ``"tag"`` (used in the message).

    Returns:
        The name, unchanged.

    Raises:
        InvalidName: naming the rule the name breaks.
    """
    if not isinstance(name, str):
        raise InvalidName(f"{kind} name must be text, got {type(name).__name__}", kind=kind, name=name)
    problem = _problem_with_ref_name(name)
    if problem:
        raise InvalidName(f"invalid {kind} name {name!r}: it {problem}", kind=kind, name=name)
    return name


def validate_dataset_name(name: str) -> str:
    """Check a dataset name: git's ref-name rules, and no ``/``.

    Raises:
        InvalidName: naming the rule the name breaks.
    """
    validate_ref_name(name, "dataset")
    if "/" in name:
        raise InvalidName(f"invalid dataset name {name!r}: it contains '/'", kind="dataset", name=name)
    return name


_TABLE_NAME_MAX = 128


def validate_table_name(name: str) -> str:
    """Check a table name: 1–128 characters, no control characters, no ``/``,
    no leading or trailing white space (Excel sheet names with inner spaces are fine).

    Raises:
        InvalidName: naming the problem.
    """
    if not isinstance(name, str) or not name:
        raise InvalidName(f"invalid table name {name!r}: it is empty", kind="table", name=name)
    if len(name) > _TABLE_NAME_MAX:
        raise InvalidName(
            f"invalid table name {name!r}: longer than {_TABLE_NAME_MAX} characters", kind="table", name=name
        )
    if name != name.strip():
        raise InvalidName(
            f"invalid table name {name!r}: leading or trailing white space", kind="table", name=name
        )
    if "/" in name or re.search(r"[\x00-\x1f\x7f]", name):
        raise InvalidName(
            f"invalid table name {name!r}: contains '/' or a control character", kind="table", name=name
        )
    return name
