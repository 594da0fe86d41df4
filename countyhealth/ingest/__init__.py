"""Importing FHIR data in bulk: NDJSON files, Bundles and folders of them (see :mod:`.runner`)."""

from .runner import ImportReport, import_paths

__all__ = ["ImportReport", "import_paths"]
