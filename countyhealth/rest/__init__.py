"""FHIR REST interactions as plain functions over a Repository (no web framework here)."""

from .bundle import process_bundle

__all__ = ["process_bundle"]
