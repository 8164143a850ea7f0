"""The landing folder on disk: scanning for stable files and moving them through their life.

A file's life::

    <root>/<dataset>/.../<file>                      dropped by a user
    <root>/.processing/<id>/<dataset>/.../<file>     claimed: an ingest run reads it here
    <root>/.archive/<dataset>/.../<stamp>-<file>     the run succeeded
    <root>/.quarantine/<dataset>/.../<stamp>-<file>  the run failed, or the file breaks the
                                                     convention; ``<stamp>-<file>.error.txt``
                                                     beside it says why

``.processing/<id>/request.json`` records what was requested for the file, so a
claimed file can be re-requested and settled by any later process. Every move is an
``os.replace`` within the landing root (atomic on one filesystem). This module never
imports dagster.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from .convention import is_ignored, sidecar_of

PROCESSING = ".processing"
ARCHIVE = ".archive"
QUARANTINE = ".quarantine"
REQUEST_FILE = "request.json"
_HASH_CHUNK = 1 << 20

Signature = tuple[int, int]
"""A file's (size in bytes, mtime in nanoseconds): unchanged across ticks means stable."""


@dataclass(frozen=True)
class Claim:
    """A file moved to ``.processing/<id>/`` and the request made for it."""

    id: str
    folder: Path
    request: dict

    @property
    def relative(self) -> PurePosixPath:
        """The file's path relative to the landing root, as it was dropped."""
        return PurePosixPath(self.request["relative"])

    @property
    def path(self) -> Path:
        """Where the file is while it is processed."""
        return self.folder / self.relative


def scan(root: Path) -> dict[str, Signature]:
    """Every file under ``root`` that is not hidden or temporary, with its signature.

    Returns:
        {posix path relative to root: (size, mtime_ns)}; hidden folders are not entered.
    """
    found: dict[str, Signature] = {}
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            relative = PurePosixPath(path.relative_to(root).as_posix())
            if is_ignored(relative):
                continue
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            found[relative.as_posix()] = (st.st_size, st.st_mtime_ns)
    return found


def stable_files(previous: dict[str, Signature], current: dict[str, Signature]) -> list[str]:
    """Files whose size and mtime did not change since the previous scan (sorted)."""
    return sorted(rel for rel, sig in current.items() if tuple(previous.get(rel, ())) == tuple(sig))


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content (hex), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def claim_id(run_key: str) -> str:
    """The processing folder name of a run key (16 hex digits of its SHA-256)."""
    return hashlib.sha256(run_key.encode()).hexdigest()[:16]


def _write_json(path: Path, value: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(value, indent=2, sort_keys=True))
    os.replace(tmp, path)


def claim(root: Path, relative: PurePosixPath, request: dict) -> Claim:
    """Move a stable file (and its sidecar) from the landing folder into processing.

    ``request.json`` is written before the files move, so a crash in between leaves the
    file in place to be claimed again (under the same id).

    Args:
        root: The landing root.
        relative: The file, relative to the root.
        request: JSON-able description of the run request; must hold ``run_key``.
    """
    cid = claim_id(request["run_key"])
    folder = root / PROCESSING / cid
    (folder / relative).parent.mkdir(parents=True, exist_ok=True)
    _write_json(folder / REQUEST_FILE, {**request, "relative": relative.as_posix(), "claimed_at": _now()})
    sidecar = sidecar_of(relative)
    if (root / sidecar).exists():
        os.replace(root / sidecar, folder / sidecar)
    os.replace(root / relative, folder / relative)
    return read_claim(folder)


def read_claim(folder: Path) -> Claim:
    """The claim held in a processing folder."""
    return Claim(folder.name, folder, json.loads((folder / REQUEST_FILE).read_text()))


def claims(root: Path) -> Iterator[Claim]:
    """Claimed files whose request was recorded and whose file is in place, oldest first."""
    base = root / PROCESSING
    if not base.is_dir():
        return
    found = []
    for folder in base.iterdir():
        if (folder / REQUEST_FILE).is_file():
            c = read_claim(folder)
            if c.path.is_file():
                found.append(c)
    yield from sorted(found, key=lambda c: (c.request.get("claimed_at", ""), c.id))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _destination(root: Path, kind: str, relative: PurePosixPath) -> Path:
    """A free name ``<root>/<kind>/<dirs>/<stamp>-<name>`` (``-2``, ``-3``… on a clash)."""
    folder = root / kind / relative.parent
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{_stamp()}-{relative.name}"
    dest, n = folder / stem, 1
    while dest.exists() or dest.with_name(dest.name + ".error.txt").exists():
        n += 1
        dest = folder / f"{_stamp()}-{n}-{relative.name}"
    return dest


def _move_with_sidecar(source_root: Path, relative: PurePosixPath, dest: Path) -> None:
    sidecar = source_root / sidecar_of(relative)
    if sidecar.exists():
        os.replace(sidecar, dest.with_name(dest.name + ".json"))
    os.replace(source_root / relative, dest)


def quarantine(root: Path, relative: PurePosixPath, reason: str, *, source_root: Path | None = None) -> Path:
    """Move a file (and its sidecar) to ``.quarantine/`` and write ``<file>.error.txt``.

    Args:
        root: The landing root.
        relative: The file as dropped, relative to the landing root.
        reason: What is wrong and how to fix it (written to the error file).
        source_root: Where the file is now (default: the landing root; a claim's folder).

    Returns:
        The quarantined file's new path.
    """
    dest = _destination(root, QUARANTINE, relative)
    dest.with_name(dest.name + ".error.txt").write_text(reason.rstrip() + "\n")
    _move_with_sidecar(source_root or root, relative, dest)
    return dest


def archive(root: Path, relative: PurePosixPath, *, source_root: Path) -> Path:
    """Move a processed file (and its sidecar) to ``.archive/``; returns its new path."""
    dest = _destination(root, ARCHIVE, relative)
    _move_with_sidecar(source_root, relative, dest)
    return dest


def settle(root: Path, claimed: Claim, error: str | None) -> Path:
    """Finish a claim: archive the file (``error`` is None) or quarantine it with the error.

    Returns:
        The file's final path. The processing folder is removed.
    """
    if error is None:
        dest = archive(root, claimed.relative, source_root=claimed.folder)
    else:
        dest = quarantine(root, claimed.relative, error, source_root=claimed.folder)
    shutil.rmtree(claimed.folder, ignore_errors=True)
    return dest
