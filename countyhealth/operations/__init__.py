"""FHIR $operations: one module each, registered in :mod:`.registry`."""

from .registry import Operation, OperationContext, OperationResult, find, operations

__all__ = ["Operation", "OperationContext", "OperationResult", "find", "operations"]
