"""Identifier documents of residents and their validation (docs/identifiers.md).

* :mod:`.gb11643`: citizen identity numbers (18 characters, and the 15-digit 1989 form);
* :mod:`.residence_permit`: 港澳台居民居住证;
* :mod:`.travel_permits`: mainland travel permits of Hong Kong, Macao and Taiwan residents;
* :mod:`.permanent_residence`: 外国人永久居留身份证;
* :mod:`.passport`: passports (shape, and the issuing country in the system);
* :mod:`.registry`: system → rule, used by the validation layer on every write.
"""

from .invalid import InvalidIdentifier
from .registry import VALIDATED_RESOURCES, identifier_problem, is_validated

__all__ = ["VALIDATED_RESOURCES", "InvalidIdentifier", "identifier_problem", "is_validated"]
