"""Source readers: CSV/TSV, Excel and Parquet files, and in-memory tables, as streams of
Arrow record batches (:class:`SourceTable`).

One module per format (:mod:`.delimited`, :mod:`.excel`, :mod:`.parquet`,
:mod:`.frame`); :mod:`.sniff` decides a file's format from its bytes; :mod:`.source`
holds the value type and the rules every source obeys (column names, plain types).
Every problem with an input raises :class:`~dsa_pipelines.storage.errors.InvalidFile`
(or ``InvalidInput`` for in-memory data and bad options) naming the file and, where they
apply, the line, column and byte offset.
"""

from .dispatch import open_sources
from .frame import source_from_frame
from .source import BATCH_ROWS, RESERVED_PREFIX, SourceTable

__all__ = ["BATCH_ROWS", "RESERVED_PREFIX", "SourceTable", "open_sources", "source_from_frame"]
