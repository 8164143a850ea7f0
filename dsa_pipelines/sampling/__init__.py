"""Multi-round, reproducible sampling of dataset versions (see :mod:`.draw`).

Built only on the store's public API (``dsa_pipelines.storage``) and its documented
extension points (``dsa_pipelines.storage.extension``).
"""

from .columns import SampleColumn, sample_columns
from .draw import RoundResult, SampleResult, draw_sample, get_sample, list_samples, sample_row_ids, sampling_runs
from .records import SampleInfo, SamplingRun
from .spec import SampleRound, SampleSpec

__all__ = [
    "RoundResult",
    "SampleColumn",
    "SampleInfo",
    "SampleResult",
    "SampleRound",
    "SampleSpec",
    "SamplingRun",
    "draw_sample",
    "get_sample",
    "list_samples",
    "sample_columns",
    "sample_row_ids",
    "sampling_runs",
]
