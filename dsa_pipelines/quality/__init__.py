"""Data quality over the version store: statistics, distribution drift, profiling, expectations.

Built only on the store's public API (``dsa_pipelines.storage``) and its documented
extension points (``dsa_pipelines.storage.extension``)::

    from dsa_pipelines.quality import statistics, stat_diff
    statistics(store, "customers", "main")        # per-table statistics, cached per commit
    stat_diff(store, "customers", "main")         # distribution drift against the first parent

Schema drift (the blocking audit every branch move applies) is part of the store
itself: :mod:`dsa_pipelines.storage.schema_drift`.
"""

from .distribution_drift import DistributionDriftReport, stat_diff
from .statistics import store_statistics as statistics

__all__ = ["DistributionDriftReport", "stat_diff", "statistics"]
