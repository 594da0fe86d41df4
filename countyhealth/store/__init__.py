"""The FHIR resource store: the Repository is the only door to data."""

from .context import Caller, system_caller
from .history import HistoryPage, HistoryQuery
from .migrate import migrate
from .repository import Repository
from .scopes import Scopes
from .store import Store
from .stored import Stored

__all__ = [
    "Caller",
    "HistoryPage",
    "HistoryQuery",
    "Repository",
    "Scopes",
    "Store",
    "Stored",
    "migrate",
    "system_caller",
]
