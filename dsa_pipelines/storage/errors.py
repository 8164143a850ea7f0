"""The one error hierarchy of the version store.

Every error a user can cause is a :class:`DsaError` subclass whose message names the
problem (file, row, column, name) and whose fields carry the same facts for programs.
Driver errors are re-raised ``from`` the original where they occur.
"""

from __future__ import annotations


class DsaError(Exception):
    """Root of every error raised by the version store."""

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields
        for key, value in fields.items():
            setattr(self, key, value)

    def __str__(self) -> str:
        return self.message


class InvalidInput(DsaError):
    """Input that cannot be accepted: a bad file, value, name or option."""


class InvalidFile(InvalidInput):
    """A source file that cannot be read as a table (fields: path, line, column, byte_offset)."""


class InvalidName(InvalidInput):
    """A dataset, branch, tag or table name that breaks the naming rules (fields: kind, name)."""


class NotFound(DsaError):
    """Something named does not exist (fields: kind, name)."""


class DatasetNotFound(NotFound):
    """The dataset does not exist."""


class RevisionNotFound(NotFound):
    """A revision (branch, tag, commit prefix, ~N, vN, @{time}) resolves to nothing."""


class TableNotFound(NotFound):
    """The commit has no table of that name."""


class AlreadyExists(DsaError):
    """Creating something that already exists (fields: kind, name)."""


class AmbiguousRevision(InvalidInput):
    """A commit id prefix that matches more than one commit."""


class RefConflict(DsaError):
    """A compare-and-swap on a ref lost a race: the ref no longer points where expected.

    Retryable: re-read the ref, rebuild on its new value and try again.
    """


class SchemaDriftRejected(DsaError):
    """The dataset's drift policy (``reject``) refuses a commit whose schema drifted (fields: dataset, changes)."""


class ImmutableRef(DsaError):
    """An attempt to move or recreate a tag."""


class CorruptObject(DsaError):
    """A stored object is missing, unreadable or does not match its content hash
    (fields: kind, object_id, path, dataset, commit, table — None where unknown)."""


class ResourceLimit(DsaError):
    """A configured limit was reached (fields: limit, setting — the environment variable to change)."""


class StorageFull(DsaError):
    """The store's disk or quota is full (fields: path, needed, written, free — bytes, None where unknown)."""


class UserNotFound(NotFound):
    """No user of that name is registered in the catalog."""


class PermissionDenied(DsaError):
    """The acting user lacks the level an operation needs (fields: user, dataset, operation, needed)."""


class BranchProtected(PermissionDenied):
    """A protected branch refuses this kind of move (fields: user, dataset, branch, operation, rule)."""
class DatasetDeleted(DatasetNotFound):
    """The dataset is soft-deleted: reads and writes are refused until it is restored (fields: name, deleted_by)."""


class ObjectCollected(DsaError):
    """A commit or object a writer refers to was collected by GC meanwhile (fields: kind, object_id).

    Retryable: ingest again (the rows are stored anew) and retry the commit.
    """


class GcBusy(DsaError):
    """Another garbage collection holds the GC lock and did not finish in time (fields: holder)."""


class SourceRestart(Exception):  # noqa: N818 — not an error: a signal from a reader to ingest
    """A streaming reader found mid-stream that its column types do not fit a later value.

    Not a :class:`DsaError` and never seen by users: readers that stream a file in one
    pass (CSV) settle column types from a sample; when a later value does not fit, the
    batches handed out so far are wrong, so ingest (which has written nothing durable
    yet) starts over from ``source``, the same file read with settled types.
    """

    def __init__(self, source: object) -> None:
        super().__init__(f"{getattr(source, 'origin', source)}: read again with settled types")
        self.source = source


class KeyViolation(InvalidInput):
    """A table key that is not a key: a null or duplicated key value (fields: table, key, value, rows)."""


class MergeConflict(DsaError):
    """Changes that cannot be combined without a decision (fields: dataset, conflicts)."""


class UnrelatedHistories(InvalidInput):
    """Two commits with no common ancestor, merged without ``allow_unrelated=True``."""
