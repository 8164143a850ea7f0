"""The version store: row-level, content-addressed versioning of tabular datasets.

A plain Python library (it never imports dagster)::

    from dsa_pipelines.storage import Store
    store = Store.open()                       # data/store, SQLite catalog
    store.create_dataset("customers")
    result = store.commit("customers", "customers.csv", message="first upload")
    page = store.read_table("customers", "main", limit=100)
"""

from .errors import (
    AlreadyExists,
    AmbiguousRevision,
    CorruptObject,
    DatasetDeleted,
    DatasetNotFound,
    DsaError,
    GcBusy,
    ImmutableRef,
    InvalidFile,
    InvalidInput,
    InvalidName,
    NotFound,
    ObjectCollected,
    RefConflict,
    RevisionNotFound,
    TableNotFound,
)
from .gc_models import FsckProblem, FsckReport, GcReport
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
    "DatasetDeleted",
    "DatasetNotFound",
    "DsaError",
    "FsckProblem",
    "FsckReport",
    "GcBusy",
    "GcReport",
    "ImmutableRef",
    "InvalidFile",
    "InvalidInput",
    "InvalidName",
    "LogEntry",
    "NotFound",
    "ObjectCollected",
    "Ref",
    "RefConflict",
    "ReflogEntry",
    "RevisionNotFound",
    "Store",
    "TableInfo",
    "TablePage",
    "TableNotFound",
    "TableResult",
]
