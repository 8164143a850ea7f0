"""The landing-folder convention: a dropped file's path names its dataset and branch.

::

    <root>/<dataset>/<file>                   ingest onto branch main
    <root>/<dataset>/@<branch>/<file>         ingest onto <branch>
    <root>/<dataset>/@feature/x/<file>        ingest onto feature/x (all folders after @)
    <root>/<dataset>/.../<file>.json          options for <file> (a "sidecar")

The file is always the last part of the path; everything between the ``@`` folder and
the file is the branch name, so branch names with ``/`` need no escaping. A folder
under a dataset that does not start with ``@`` is an error (it would be ambiguous).
Hidden and temporary files are ignored until they are renamed (see :func:`is_ignored`).
This module reads nothing and writes nothing: it only interprets paths and options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from dsa_pipelines.storage import (
    InvalidInput,
    InvalidName,
    validate_dataset_name,
    validate_ref_name,
    validate_table_name,
)
from dsa_pipelines.storage.readers.sniff import FORMATS

DEFAULT_BRANCH = "main"
BRANCH_MARK = "@"
SIDECAR_SUFFIX = ".json"
TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload")
OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "sheets": list,
    "table": str,
    "message": str,
    "author": str,
    "replace": bool,
    "create_dataset_if_missing": bool,
    "dataset_description": str,
}
"""Keys a sidecar may hold, and their JSON types."""

CONVENTION = f"""\
Landing-folder convention:
  <landing>/<dataset>/<file>                 ingests <file> onto branch {DEFAULT_BRANCH}
  <landing>/<dataset>/@<branch>/<file>       ingests onto <branch> (e.g. @feature/x/orders.csv -> feature/x)
  <landing>/<dataset>/<file>.json            optional options for <file>:
      {{"sheets": ["orders"], "table": "...", "message": "...", "author": "...", "replace": false}}
Supported files: {", ".join(sorted(FORMATS))}."""


@dataclass(frozen=True)
class LandingTarget:
    """Where a landed file goes: dataset, branch, and the options from its sidecar."""

    relative: str
    dataset: str
    branch: str
    options: dict = field(default_factory=dict, hash=False, compare=False)


def is_ignored(relative: PurePosixPath) -> bool:
    """Whether a path is hidden or temporary and must not be touched.

    Ignored: any part starting with ``.`` (this also hides the ``.processing``,
    ``.archive`` and ``.quarantine`` folders), Office lock files ``~$*``, and names
    ending in ``.tmp``, ``.part``, ``.partial`` or ``.crdownload``.
    """
    if any(part.startswith(".") for part in relative.parts):
        return True
    name = relative.name
    return name.startswith("~$") or name.lower().endswith(TEMP_SUFFIXES)


def is_supported(relative: PurePosixPath) -> bool:
    """Whether the file's extension names a format the store reads."""
    return relative.suffix.lower() in FORMATS


def is_sidecar(relative: PurePosixPath) -> bool:
    """Whether the file is the options sidecar of a data file (``orders.xlsx.json``)."""
    return relative.suffix.lower() == SIDECAR_SUFFIX and is_supported(relative.with_suffix(""))


def sidecar_of(relative: PurePosixPath) -> PurePosixPath:
    """The sidecar path of a data file."""
    return relative.with_name(relative.name + SIDECAR_SUFFIX)


def parse_target(relative: PurePosixPath) -> tuple[str, str]:
    """Read dataset and branch from a path relative to the landing root.

    Returns:
        ``(dataset, branch)``.

    Raises:
        InvalidInput: the path does not follow the convention (the message shows it).
        InvalidName: the dataset or branch name breaks the naming rules.
    """
    parts = relative.parts
    if len(parts) < 2:
        raise InvalidInput(
            f"{relative}: a file directly in the landing folder has no dataset; "
            f"put it in a dataset folder, e.g. customers/{relative.name}.\n{CONVENTION}", path=str(relative))
    if not is_supported(relative):
        raise InvalidInput(
            f"{relative}: unsupported file type {relative.suffix or '(no extension)'!r}; "
            f"supported: {', '.join(sorted(FORMATS))}.\n{CONVENTION}", path=str(relative))
    dataset = validate_dataset_name(parts[0])
    folders = parts[1:-1]
    if not folders:
        return dataset, DEFAULT_BRANCH
    if not folders[0].startswith(BRANCH_MARK):
        raise InvalidInput(
            f"{relative}: folder {folders[0]!r} inside dataset {dataset!r} does not name a branch; "
            f"branch folders start with {BRANCH_MARK!r} (e.g. {dataset}/@{folders[0]}/{relative.name}).\n"
            f"{CONVENTION}", path=str(relative))
    branch = "/".join((folders[0][len(BRANCH_MARK):], *folders[1:]))
    try:
        return dataset, validate_ref_name(branch, "branch")
    except InvalidName as e:
        raise InvalidName(f"{relative}: {e}", kind="branch", name=branch) from e


def parse_options(relative: PurePosixPath, text: str | None) -> dict:
    """Validate a sidecar's JSON options (``None``: no sidecar, no options).

    Raises:
        InvalidInput: not a JSON object, an unknown key, or a value of the wrong type.
    """
    if text is None:
        return {}
    sidecar = sidecar_of(relative)
    try:
        options = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"{sidecar}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})",
                           path=str(sidecar), line=e.lineno, column=e.colno) from e
    if not isinstance(options, dict):
        raise InvalidInput(f"{sidecar}: options must be a JSON object like {{\"sheets\": [\"orders\"]}}",
                           path=str(sidecar))
    unknown = sorted(set(options) - set(OPTION_TYPES))
    if unknown:
        raise InvalidInput(f"{sidecar}: unknown option(s) {unknown}; allowed: {sorted(OPTION_TYPES)}",
                           path=str(sidecar))
    for key, value in options.items():
        if not isinstance(value, OPTION_TYPES[key]):
            raise InvalidInput(f"{sidecar}: option {key!r} must be a JSON {OPTION_TYPES[key].__name__}, "
                               f"got {json.dumps(value)}", path=str(sidecar))
    if "sheets" in options:
        if not options["sheets"] or not all(isinstance(s, str) for s in options["sheets"]):
            raise InvalidInput(f"{sidecar}: 'sheets' must be a non-empty list of sheet names", path=str(sidecar))
        if relative.suffix.lower() not in (".xlsx", ".xlsm"):
            raise InvalidInput(f"{sidecar}: 'sheets' applies to Excel workbooks only, not {relative.name}",
                               path=str(sidecar))
    if "table" in options:
        validate_table_name(options["table"])
    return options


def landing_target(relative: PurePosixPath, sidecar_text: str | None = None) -> LandingTarget:
    """Interpret a landed file: its dataset, branch and options.

    Raises:
        InvalidInput: the path or the sidecar breaks the convention (message explains it).
    """
    dataset, branch = parse_target(relative)
    return LandingTarget(relative.as_posix(), dataset, branch, parse_options(relative, sidecar_text))
