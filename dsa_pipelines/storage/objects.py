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
from pathlib import Path

from .errors import CorruptObject

KINDS = ("packs", "manifests", "reports", "keyindex")
_CHUNK = 1 << 20


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
