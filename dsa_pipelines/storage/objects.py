"""Immutable, content-addressed objects under the store root.

An object's name is the SHA-256 of its bytes. Writing is atomic and idempotent: the
bytes go to a temporary file in the same filesystem, are fsynced, and are renamed into
place; if the object already exists the temporary file is simply dropped. Nothing ever
modifies an object; only garbage collection deletes one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import CorruptObject

KINDS = ("packs", "manifests", "reports", "keyindex")
_CHUNK = 1 << 20
_ID_LENGTH = 64


@dataclass(frozen=True)
class StoredObject:
    """One object file as found on disk (for garbage collection and fsck)."""

    kind: str
    object_id: str
    suffix: str
    path: Path
    size: int
    mtime: float


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectStore:
    """Content-addressed files: ``<root>/objects/<kind>/<id[:2]>/<id[2:]><suffix>``.

    Args:
        root: The store root folder.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.tmp = self.root / "tmp"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.tmp.mkdir(parents=True, exist_ok=True)

    def path(self, kind: str, object_id: str, suffix: str = ".parquet") -> Path:
        """Where the object lives (it may not exist)."""
        if kind not in KINDS:
            raise ValueError(f"unknown object kind {kind!r}")
        return self.objects / kind / object_id[:2] / f"{object_id[2:]}{suffix}"

    def exists(self, kind: str, object_id: str, suffix: str = ".parquet") -> bool:
        """Whether the object is stored."""
        return self.path(kind, object_id, suffix).exists()

    @contextmanager
    def temp_path(self, suffix: str = "") -> Iterator[Path]:
        """A fresh temporary path inside the store; removed afterwards unless it was put."""
        path = self.tmp / f"{uuid.uuid4().hex}{suffix}"
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def put_file(self, kind: str, tmp_file: Path, suffix: str = ".parquet") -> str:
        """Move a finished temporary file into the store under its content hash.

        Returns:
            The object id (hex SHA-256 of the file's bytes).
        """
        with open(tmp_file, "rb+") as f:
            os.fsync(f.fileno())
        object_id = _sha256_file(tmp_file)
        target = self.path(kind, object_id, suffix)
        if target.exists():
            self.touch(kind, object_id, suffix)  # freshen, as git does: a re-written object is young again
            if target.exists():  # (GC may have deleted it meanwhile: then ours goes into place)
                tmp_file.unlink()
                return object_id
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp_file, target)
        _fsync_dir(target.parent)
        return object_id

    def put_bytes(self, kind: str, data: bytes, suffix: str = ".parquet") -> str:
        """Store bytes as an object; returns its id."""
        fd, name = tempfile.mkstemp(dir=self.tmp)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return self.put_file(kind, Path(name), suffix)

    def read_bytes(self, kind: str, object_id: str, suffix: str = ".parquet") -> bytes:
        """Read a whole object, raising CorruptObject if it is missing."""
        path = self.path(kind, object_id, suffix)
        try:
            return path.read_bytes()
        except FileNotFoundError as e:
            raise CorruptObject(f"object {kind}/{object_id} is missing from the store", object_id=object_id) from e

    def verify(self, kind: str, object_id: str, suffix: str = ".parquet") -> bool:
        """Whether the stored bytes still hash to the object's id."""
        path = self.path(kind, object_id, suffix)
        return path.exists() and _sha256_file(path) == object_id

    def delete(self, kind: str, object_id: str, suffix: str = ".parquet") -> None:
        """Remove an object (garbage collection only)."""
        self.path(kind, object_id, suffix).unlink(missing_ok=True)

    def touch(self, kind: str, object_id: str, suffix: str = ".parquet") -> None:
        """Set an object's mtime to now (its grace period starts again); a missing object is ignored."""
        try:
            os.utime(self.path(kind, object_id, suffix))
        except FileNotFoundError:
            pass

    def read_verified(self, kind: str, object_id: str, suffix: str = ".parquet") -> bytes:
        """Read a whole object and check that its bytes hash to its id.

        Raises:
            CorruptObject: the object is missing or its content does not match its name.
        """
        data = self.read_bytes(kind, object_id, suffix)
        if hashlib.sha256(data).hexdigest() != object_id:
            raise CorruptObject(f"object {kind}/{object_id} is corrupt: its content does not hash to its name",
                                object_id=object_id, kind=kind)
        return data

    def iter_objects(self, kind: str) -> Iterator[StoredObject]:
        """Every object file of a kind (ids parsed from the path; other files are skipped)."""
        base = self.objects / kind
        if not base.is_dir():
            return
        for sub in os.scandir(base):
            if not (sub.is_dir() and len(sub.name) == 2):
                continue
            for entry in os.scandir(sub.path):
                name = entry.name
                object_id = sub.name + name[: _ID_LENGTH - 2]
                if len(object_id) != _ID_LENGTH or not entry.is_file():
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # deleted meanwhile (another GC, a purge)
                    continue
                yield StoredObject(kind, object_id, name[_ID_LENGTH - 2:], Path(entry.path), st.st_size, st.st_mtime)

    def iter_temp_files(self) -> Iterator[tuple[Path, float, int]]:
        """Files in the temporary folder: (path, mtime, size)."""
        for entry in os.scandir(self.tmp):
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            if entry.is_file():
                yield Path(entry.path), st.st_mtime, st.st_size
