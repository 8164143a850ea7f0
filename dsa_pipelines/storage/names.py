"""Naming rules for datasets, branches, tags, tables and columns, and for free text.

Branch and tag names follow git's ``check-ref-format`` rules (they may contain ``/``
to group them, e.g. ``samples/audit-q3``); dataset names follow the same rules without
``/`` because a dataset name is also a folder name (``data/landing/<dataset>/``).

Every name is Unicode text, taken in NFC form (``café`` typed with a combining accent
names the same dataset as the precomposed one), and is refused when it could look like
another name or like nothing (see :func:`unicode_problem`): control, format (zero-width,
bidirectional overrides, BOM), private-use, unassigned and surrogate code points;
compatibility forms that NFKC would change (full-width ``ｍａｉｎ``, ligatures,
superscripts); letters of two of the Latin, Greek and Cyrillic scripts in one name
(``mаin`` with a Cyrillic ``а``). Branch and tag names of 4 to 64 hex digits are refused,
because a revision of that form is a commit id prefix. Dataset names (and each part of
a ref name) may not be a Windows device name (``CON``, ``NUL``, ``COM1``…).
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidInput, InvalidName

RESERVED_PREFIX = "__dsa_"
"""Column names starting with this are reserved for the store's own columns (row keys)."""

MAX_NAME_LENGTH = 200
MAX_MESSAGE_LENGTH = 65_536
_FORBIDDEN_CHARS = set(" ~^:?*[\\")
_HEX_NAME = re.compile(r"^[0-9a-fA-F]{4,64}$")
_DEVICE = re.compile(r"^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$", re.IGNORECASE)
_BAD_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                   "Cs": "a lone surrogate", "Co": "a private-use character", "Cn": "an unassigned code point",
                   "Zl": "a line separator", "Zp": "a paragraph separator"}
_SCRIPTS = ("LATIN", "GREEK", "CYRILLIC")
_HIDDEN = frozenset("\u00ad\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062"
                    "\u2063\u2064\u2066\u2067\u2068\u2069\ufeff")
"""Invisible characters refused even in table and column names: bidirectional controls, zero-width
space, word joiner, soft hyphen, BOM (zero-width joiners, which scripts like Persian need, are allowed)."""
_WORD = re.compile(r"[^\W\d_]+")


def _surrogate_free(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def unicode_problem(name: str, *, strict: bool = True) -> str | None:
    """Why an (NFC) name could be confused with another or hides characters; None if it cannot.

    Args:
        name: The name, already NFC-normalised.
        strict: Also refuse compatibility characters and words mixing Latin, Greek and
            Cyrillic letters (dataset, branch and tag names). Table and column names come
            from users' files (a Japanese sheet name may well hold full-width digits), so
            they are checked only for control characters, lone surrogates and :data:`_HIDDEN`.

    Returns:
        A phrase completing "it ...", or None.
    """
    for ch in name:
        category = unicodedata.category(ch)
        if strict and category in _BAD_CATEGORIES:
            return f"contains {_BAD_CATEGORIES[category]} (U+{ord(ch):04X})"
        if not strict and (category in ("Cc", "Cs") or ch in _HIDDEN):
            return f"contains {_BAD_CATEGORIES.get(category, 'an invisible character')} (U+{ord(ch):04X})"
    if not strict:
        return None
    if unicodedata.normalize("NFKC", name) != name:
        odd = next(ch for ch in name if unicodedata.normalize("NFKC", ch) != ch)
        return (f"contains the compatibility character {odd!r} (U+{ord(odd):04X}); "
                f"write {unicodedata.normalize('NFKC', odd)!r} instead")
    for word in _WORD.findall(name):
        scripts = {unicodedata.name(ch, "").split(" ")[0] for ch in word} & set(_SCRIPTS)
        if len(scripts) > 1:
            return (f"mixes {' and '.join(sorted(s.title() for s in scripts))} letters in {word!r}, "
                    "which can look like another name")
    return None


def normal_name(name: object, kind: str) -> str:
    """A name in NFC, or InvalidName if it is not text or cannot be encoded."""
    if not isinstance(name, str):
        raise InvalidName(f"{kind} name must be text, got {type(name).__name__}", kind=kind, name=name)
    if not _surrogate_free(name):
        raise InvalidName(f"invalid {kind} name {name!r}: it contains a lone surrogate (not valid Unicode)",
                          kind=kind, name=name)
    return unicodedata.normalize("NFC", name)


def validate_text(value: object, field: str, max_length: int = MAX_MESSAGE_LENGTH) -> str:
    """Check a free-text field (author, message, reason, description) the same way on every backend.

    Args:
        value: The text.
        field: Its name, for the message (``"author"``).
        max_length: At most this many characters.

    Returns:
        The text, unchanged.

    Raises:
        InvalidInput: not text, longer than ``max_length``, a NUL character, or a lone surrogate.
    """
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text, got {type(value).__name__}", field=field)
    if len(value) > max_length:
        raise InvalidInput(f"{field} is {len(value):,} characters long (at most {max_length:,})", field=field)
    if "\x00" in value:
        raise InvalidInput(f"{field} contains a NUL character at position {value.index(chr(0))}", field=field)
    if not _surrogate_free(value):
        raise InvalidInput(f"{field} contains a lone surrogate (not valid Unicode)", field=field)
    return value


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
    if problem := unicode_problem(name):
        return problem
    for part in name.split("/"):
        if _DEVICE.match(part):
            return f"has a component {part!r} that is a Windows device name"
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
        The name in NFC form.

    Raises:
        InvalidName: naming the rule the name breaks.
    """
    name = normal_name(name, kind)
    problem = _problem_with_ref_name(name)
    if problem is None and kind in ("branch", "tag") and _HEX_NAME.match(name):
        problem = "is 4 to 64 hex digits, which reads as a commit id"
    if problem:
        raise InvalidName(f"invalid {kind} name {name!r}: it {problem}", kind=kind, name=name)
    return name


def validate_dataset_name(name: str) -> str:
    """Check a dataset name: git's ref-name rules, and no ``/``.

    Returns:
        The name in NFC form.

    Raises:
        InvalidName: naming the rule the name breaks.
    """
    name = validate_ref_name(name, "dataset")
    if "/" in name:
        raise InvalidName(f"invalid dataset name {name!r}: it contains '/'", kind="dataset", name=name)
    return name


_TABLE_NAME_MAX = 128


def validate_table_name(name: str) -> str:
    """Check a table name: 1–128 characters, no control characters, no ``/``,
    no leading or trailing white space (Excel sheet names with inner spaces are fine),
    no hidden characters (:func:`unicode_problem`, not strict).

    Returns:
        The name in NFC form.

    Raises:
        InvalidName: naming the problem.
    """
    if isinstance(name, str) and name:
        name = normal_name(name, "table")
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
    if problem := unicode_problem(name, strict=False):
        raise InvalidName(f"invalid table name {name!r}: it {problem}", kind="table", name=name)
    return name
