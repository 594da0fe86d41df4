"""The FHIR resource store: the Repository is the only door to data."""

from .accounts import AccountStore, ApiClient, UserAccount
from .context import Caller, system_caller
from .export_read import ALL_PATIENTS, ExportSelection
from .history import HistoryPage, HistoryQuery
from .jobs import CallerJobs, Job, JobStore
from .migrate import migrate
from .patient_blocking import BlockingKeys
from .prepared_versions import PreparedVersion
from .referrers import stamp_of
from .repository import Repository
from .scopes import Scopes
from .store import Store
from .stored import Stored

__all__ = [
    "ALL_PATIENTS",
    "AccountStore",
    "ApiClient",
    "BlockingKeys",
    "Caller",
    "CallerJobs",
    "ExportSelection",
    "HistoryPage",
    "HistoryQuery",
    "Job",
    "JobStore",
    "PreparedVersion",
    "Repository",
    "Scopes",
    "Store",
    "Stored",
    "UserAccount",
    "migrate",
    "stamp_of",
    "system_caller",
]
