"""Reading a patient's record for people: finding patients, the overview, recent visits.

Everything here reads through the caller's :class:`~countyhealth.store.Repository`, so consent,
break-glass and audit apply exactly as on the FHIR API; what a caller may not see is left out
and said to be left out (``hidden``). Results are plain, JSON-ready dicts — the web pages show
them and their JSON twins return them. Identity numbers and phones are masked unless the
caller's role has the ``full-identifiers`` privilege.
"""

from .names import organization_names
from .overview import patient_overview
from .patients import PatientMatches, find_patients, patient_card
from .people import health_code, patient_in_care, people_in_care
from .recent import recent_conditions, recent_encounters

__all__ = [
    "PatientMatches",
    "find_patients",
    "health_code",
    "organization_names",
    "patient_card",
    "patient_in_care",
    "patient_overview",
    "people_in_care",
    "recent_conditions",
    "recent_encounters",
]
