"""The version store: row-level, content-addressed versioning of tabular datasets.

A plain Python library (it never imports dagster, nor the features built on it)::

    from dsa_pipelines.storage import Store
    store = Store.open()                       # data/store, SQLite catalog
    store.create_dataset("customers")
    result = store.commit("customers", "customers.csv", message="first upload")
    page = store.read_table("customers", "main", limit=100)

Features extend it through :mod:`dsa_pipelines.storage.extension`.
"""

import importlib

from .diff_models import Diff, SchemaDiff, TableDiff
from .errors import (
    AlreadyExists,
    AmbiguousRevision,
    BranchProtected,
    CorruptObject,
    DatasetDeleted,
    DatasetNotFound,
    DsaError,
    GcBusy,
    ImmutableRef,
    InvalidFile,
    InvalidInput,
    InvalidName,
    KeyViolation,
    MergeConflict,
    NotFound,
    ObjectCollected,
    PermissionDenied,
    RefConflict,
    ResourceLimit,
    RevisionNotFound,
    SchemaDriftRejected,
    StorageFull,
    TableNotFound,
    UnrelatedHistories,
    UserNotFound,
)
from .gc_models import FsckProblem, FsckReport, GcReport
from .models import (
    BRANCH,
    TAG,
    ColumnInfo,
    Commit,
    CommitResult,
    Dataset,
    LogEntry,
    Ref,
    ReflogEntry,
    TableInfo,
    TablePage,
    TableResult,
)
from .names import validate_dataset_name, validate_ref_name, validate_table_name

__all__ = [
    "BRANCH",
    "TAG",
    "AlreadyExists",
    "AmbiguousRevision",
    "AuditEntry",
    "BranchProtected",
    "ColumnInfo",
    "Commit",
    "CommitResult",
    "CorruptObject",
    "ResourceLimit",
    "StorageFull",
    "Dataset",
    "DatasetDeleted",
    "DatasetNotFound",
    "Diff",
    "DriftPolicy",
    "DsaError",
    "Grant",
    "FsckProblem",
    "FsckReport",
    "GcBusy",
    "GcReport",
    "ImmutableRef",
    "InvalidFile",
    "InvalidInput",
    "InvalidName",
    "KnownDigest",
    "KeyViolation",
    "LogEntry",
    "MergeConflict",
    "MergeResult",
    "NewDataset",
    "NotFound",
    "PermissionDenied",
    "Permissions",
    "Protection",
    "ObjectCollected",
    "Ref",
    "RefConflict",
    "ReflogEntry",
    "RevisionNotFound",
    "SchemaDiff",
    "SchemaChange",
    "SchemaDriftRejected",
    "SchemaDriftReport",
    "SearchItem",
    "SearchResult",
    "Store",
    "Suggestion",
    "TableDiff",
    "TableInfo",
    "TablePage",
    "TableNotFound",
    "TableResult",
    "User",
    "UserNotFound",
    "UnrelatedHistories",
    "compare_commits",
    "read_changes",
    "validate_dataset_name",
    "validate_ref_name",
    "validate_table_name",
]


# Loaded on first use: the names above are leaves (they import nothing that reads the
# environment), so ``dsa_pipelines.settings`` can import this package's errors without a
# cycle, and a CLI command that needs only errors and models starts fast.
_LAZY = {
    "Store": "repository",
    "MergeResult": "merge",
    "read_changes": "edit_file",
    "NewDataset": "writer",
    "KnownDigest": "file_digest",
    "DriftPolicy": "schema_drift",
    "SchemaChange": "schema_drift",
    "SchemaDriftReport": "schema_drift",
    "compare_commits": "schema_drift",
    "AuditEntry": "audit",
    "Grant": "access",
    "Permissions": "access",
    "Protection": "protection",
    "SearchItem": "search",
    "SearchResult": "search",
    "Suggestion": "search",
    "User": "identity",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
