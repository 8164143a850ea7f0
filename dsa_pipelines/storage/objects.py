"""Immutable, content-addressed objects under the store root.

An object's name is the SHA-256 of its bytes. Writing is atomic and idempotent: the
bytes go to a temporary file in the same filesystem, are fsynced, and are renamed into
place; if the object already exists the temporary file is simply dropped. Nothing ever
modifies an object; only garbage collection deletes one.

Integrity: every read checks the bytes against the name. A whole-object read
(:meth:`ObjectStore.read_bytes`) hashes the bytes it read; a file handed to a reader
(:meth:`ObjectStore.verified_path`) is hashed the first time this process opens it and
again whenever its size, inode or modification time change. A mismatch is a
:class:`~.errors.CorruptObject`, never data.

Objects get the mode a new file gets under the process umask (``0o666 & ~umask``),
whatever wrote them. A full disk is a :class:`~.errors.StorageFull`. Temporary files are
named ``<host>-<pid>-<random>``; opening a store removes those of writers on this host
that are no longer running, and any older than :data:`TEMP_GRACE_SECONDS` (a writer on
another host of a shared filesystem).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dsa_pipelines import settings

from .errors import CorruptObject, StorageFull

KINDS = ("packs", "manifests", "reports", "keyindex")
LABELS = {"packs": "row pack", "manifests": "manifest", "reports": "report", "keyindex": "key index run"}
_CHUNK = 1 << 20
TEMP_GRACE_SECONDS = 24 * 3600
"""Age after which any temporary file in the store is a dead writer's (``$DSA_TEMP_GRACE_SECONDS``)."""
_FULL = (errno.ENOSPC, errno.EDQUOT)
_FULL_TEXT = re.compile(r"errno (28|122)\b|No space left on device|Disk quota exceeded", re.IGNORECASE)
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMP_NAME = re.compile(r"^([0-9a-f]{8})-(\d+)-[0-9a-f]{32}")
_verified: set[tuple[str, int, int, int]] = set()  # (path, inode, size, mtime_ns) hashed OK by this process


def temp_grace_seconds() -> float:
    """The grace period for temporary files, ``DSA_TEMP_GRACE_SECONDS`` (default one day)."""
    return float(settings.current().temp_grace_seconds)


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


def _umask() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)  # no /proc: the only portable way to read the umask is to set it
    os.umask(mask)
    return mask


def is_disk_full(error: BaseException) -> bool:
    """Whether an OSError (or Arrow's IO error, which carries the errno in its text) means no space."""
    return isinstance(error, OSError) and (error.errno in _FULL or bool(_FULL_TEXT.search(str(error))))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


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
        self.removed_temp_files = self.clean_temp()

    def path(self, kind: str, object_id: str, suffix: str = ".parquet") -> Path:
        """Where the object lives (it may not exist)."""
        if kind not in KINDS:
            raise ValueError(f"unknown object kind {kind!r}")
        return self.objects / kind / object_id[:2] / f"{object_id[2:]}{suffix}"

    def exists(self, kind: str, object_id: str, suffix: str = ".parquet") -> bool:
        """Whether the object is stored."""
        return self.path(kind, object_id, suffix).exists()

    # ------------------------------------------------------------------ writing
    def _temp_name(self, suffix: str = "") -> Path:
        return self.tmp / f"{_HOST}-{os.getpid()}-{uuid.uuid4().hex}{suffix}"

    @contextmanager
    def temp_path(self, suffix: str = "") -> Iterator[Path]:
        """A fresh temporary path inside the store; removed afterwards unless it was put.

        Raises:
            StorageFull: the disk filled up while the block wrote (the temp file is removed).
        """
        path = self._temp_name(suffix)
        try:
            yield path
        except OSError as e:
            if is_disk_full(e):
                raise self._full(e, path) from e
            raise
        finally:
            path.unlink(missing_ok=True)

    def _full(self, error: OSError, path: Path, needed: int | None = None) -> StorageFull:
        written = path.stat().st_size if path.exists() else None
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            free = None
        need = f"{needed:,} bytes" if needed is not None else f"more than the {written or 0:,} bytes written so far"
        return StorageFull(
            f"the store's disk is full ({self.root}): writing an object needed {need}, "
            f"{'unknown' if free is None else f'{free:,} bytes'} free; free space or move DSA_STORE_ROOT "
            f"({error})", path=str(self.root), needed=needed, written=written, free=free)

    def put_file(self, kind: str, tmp_file: Path, suffix: str = ".parquet") -> str:
        """Move a finished temporary file into the store under its content hash.

        Returns:
            The object id (hex SHA-256 of the file's bytes).

        Raises:
            StorageFull: no space left to finish the object.
        """
        try:
            with open(tmp_file, "rb+") as f:
                os.fsync(f.fileno())
            object_id = _sha256_file(tmp_file)
            target = self.path(kind, object_id, suffix)
            if target.exists() and self.verify(kind, object_id, suffix):
                self.touch(kind, object_id, suffix)  # freshen, as git does: a re-written object is young again
                if target.exists():  # (GC may have deleted it meanwhile: then ours goes into place)
                    tmp_file.unlink()
                    return object_id
            # absent, or present but damaged: the fresh copy goes into place (a re-upload heals the store)
            os.chmod(tmp_file, 0o666 & ~_umask())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_file, target)
            _fsync_dir(target.parent)
        except OSError as e:
            if is_disk_full(e):
                raise self._full(e, tmp_file) from e
            raise
        return object_id

    def put_bytes(self, kind: str, data: bytes, suffix: str = ".parquet") -> str:
        """Store bytes as an object; returns its id.

        Raises:
            StorageFull: no space left for ``len(data)`` bytes.
        """
        path = self._temp_name()
        try:
            with open(path, "wb") as f:
                f.write(data)
            return self.put_file(kind, path, suffix)
        except OSError as e:
            if is_disk_full(e):
                raise self._full(e, path, needed=len(data)) from e
            raise
        finally:
            path.unlink(missing_ok=True)

    def clean_temp(self, grace_seconds: float | None = None) -> list[str]:
        """Remove temporary files of dead writers: those of this host whose process has ended,
        and any older than the grace period.

        Returns:
            The names removed.
        """
        grace = temp_grace_seconds() if grace_seconds is None else grace_seconds
        cutoff = time.time() - grace
        removed = []
        for entry in os.scandir(self.tmp):
            m = _TEMP_NAME.match(entry.name)
            try:
                dead = bool(m) and m.group(1) == _HOST and not _alive(int(m.group(2)))
                if dead or entry.stat(follow_symlinks=False).st_mtime < cutoff:
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                    removed.append(entry.name)
            except FileNotFoundError:
                continue  # its writer finished (renamed or removed it) meanwhile
        return removed

    # ------------------------------------------------------------------ reading
    def corrupt(self, kind: str, object_id: str, reason: str, suffix: str = ".parquet") -> CorruptObject:
        """The error for a damaged object (readers add dataset, commit and table, see :mod:`.integrity`)."""
        path = str(self.path(kind, object_id, suffix))
        return CorruptObject(f"{LABELS.get(kind, kind)} {object_id} {reason} (file {path})", kind=kind,
                             object_id=object_id, path=path, dataset=None, commit=None, table=None,
                             reason=reason)

    def read_bytes(self, kind: str, object_id: str, suffix: str = ".parquet") -> bytes:
        """Read a whole object and check it against its id.

        Raises:
            CorruptObject: the object is missing, unreadable or its bytes do not hash to its id.
        """
        path = self.path(kind, object_id, suffix)
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise self.corrupt(kind, object_id, "is missing from the store", suffix) from e
        except OSError as e:
            raise self.corrupt(kind, object_id, f"cannot be read: {e}", suffix) from e
        actual = hashlib.sha256(data).hexdigest()
        if actual != object_id:
            raise self.corrupt(kind, object_id, f"is damaged: its bytes hash to {actual}", suffix)
        return data

    def verified_path(self, kind: str, object_id: str, suffix: str = ".parquet") -> Path:
        """The object's file, its bytes checked against its id once per process (and again if the
        file changed since).

        Raises:
            CorruptObject: the object is missing, unreadable or damaged.
        """
        path = self.path(kind, object_id, suffix)
        try:
            st = path.stat()
            key = (str(path), st.st_ino, st.st_size, st.st_mtime_ns)
            if key in _verified:
                return path
            actual = _sha256_file(path)
        except FileNotFoundError as e:
            raise self.corrupt(kind, object_id, "is missing from the store", suffix) from e
        except OSError as e:
            raise self.corrupt(kind, object_id, f"cannot be read: {e}", suffix) from e
        if actual != object_id:
            raise self.corrupt(kind, object_id, f"is damaged: its bytes hash to {actual}", suffix)
        _verified.add(key)
        return path

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
        """Read a whole object and check that its bytes hash to its id (what :meth:`read_bytes` does).

        Raises:
            CorruptObject: the object is missing or its content does not match its name.
        """
        return self.read_bytes(kind, object_id, suffix)

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

def forget_verified() -> None:
    """Forget which objects this process has checked (the next read of each hashes it again)."""
    _verified.clear()
