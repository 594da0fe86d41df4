"""Search over the typed index tables: conditions, keyset paging, includes."""

from .conditions import ConditionBuilder
from .engine import SearchPage, run_search

__all__ = ["ConditionBuilder", "SearchPage", "run_search"]
