"""The version store: row-level, content-addressed versioning of tabular datasets.

A plain Python library (it never imports dagster)::

    from dsa_pipelines.storage import Store
    store = Store.open()                       # data/store, SQLite catalog
    store.create_dataset("customers")
    result = store.commit("customers", "customers.csv", message="first upload")
    page = store.read_table("customers", "main", limit=100)
"""

from .diff_models import Diff, SchemaDiff, TableDiff
from .errors import (
    AlreadyExists,
    AmbiguousRevision,
    CorruptObject,
    DatasetNotFound,
    DsaError,
    ImmutableRef,
    InvalidFile,
    InvalidInput,
    InvalidName,
    KeyViolation,
    MergeConflict,
    NotFound,
    RefConflict,
    RevisionNotFound,
    TableNotFound,
    UnrelatedHistories,
)
from .merge import MergeResult
from .models import (
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
from .repository import Store

__all__ = [
    "AlreadyExists",
    "AmbiguousRevision",
    "ColumnInfo",
    "Commit",
    "CommitResult",
    "CorruptObject",
    "Dataset",
    "DatasetNotFound",
    "Diff",
    "DsaError",
    "ImmutableRef",
    "InvalidFile",
    "InvalidInput",
    "InvalidName",
    "KeyViolation",
    "LogEntry",
    "MergeConflict",
    "MergeResult",
    "NotFound",
    "Ref",
    "RefConflict",
    "ReflogEntry",
    "RevisionNotFound",
    "SchemaDiff",
    "Store",
    "TableDiff",
    "TableInfo",
    "TableNotFound",
    "TablePage",
    "TableResult",
    "UnrelatedHistories",
]
