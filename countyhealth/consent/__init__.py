"""Consent: residents grant and revoke access to their records (FHIR Consent)."""

from .categories import Category, categories, category
from .listing import consent_rows, consent_summary, organisation_directory
from .service import consent_resource, consents_of, grant, revoke

__all__ = [
    "Category",
    "categories",
    "category",
    "consent_resource",
    "consent_rows",
    "consent_summary",
    "consents_of",
    "grant",
    "organisation_directory",
    "revoke",
]
