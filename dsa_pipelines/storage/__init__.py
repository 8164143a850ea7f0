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
    ResourceLimit,
    StorageFull,
    DatasetNotFound,
    DsaError,
    ImmutableRef,
    InvalidFile,
    InvalidInput,
    InvalidName,
    NotFound,
    RefConflict,
    RevisionNotFound,
    TableNotFound,
)
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
    "ResourceLimit",
    "StorageFull",
    "Dataset",
    "DatasetNotFound",
    "DsaError",
    "ImmutableRef",
    "InvalidFile",
    "InvalidInput",
    "InvalidName",
    "LogEntry",
    "NotFound",
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
