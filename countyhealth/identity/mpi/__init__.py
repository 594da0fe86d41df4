"""The master patient index: finding the records of one resident (``Patient/$match``), the
check on registration, and the candidates both draw on. Scoring is the Fellegi–Sunter model of
:mod:`countyhealth.identity.matching`."""

from .match import Candidate, Thresholds, match_patient, visible_to_caller
from .registration import Registration, register_patient

__all__ = [
    "Candidate",
    "Registration",
    "Thresholds",
    "match_patient",
    "register_patient",
    "visible_to_caller",
]
