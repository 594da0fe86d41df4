"""Consent: residents grant and revoke access to their records (FHIR Consent)."""

from .categories import Category, categories, category
from .service import consent_resource, consents_of, grant, revoke

__all__ = [
    "Category",
    "categories",
    "category",
    "consent_resource",
    "consents_of",
    "grant",
    "revoke",
]
