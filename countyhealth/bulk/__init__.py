"""Bulk data jobs ($export, $import): the worker that runs them and the runner of each kind."""

from .worker import BulkWorker, run_pending

__all__ = ["BulkWorker", "run_pending"]
