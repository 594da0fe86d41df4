"""Which identifier systems are validated, by which rule, on which resources.

The validation layer (:mod:`countyhealth.fhir.validation`) calls :func:`identifier_problem`
for every ``identifier`` of the resource types in :data:`VALIDATED_RESOURCES`, so every write
path (REST API, bundles, bulk import, the synthetic seed) applies the same rules
(https://hl7.org/fhir/R4/datatypes.html#Identifier: ``system`` establishes the namespace in
which ``value`` is unique, so the namespace's rule decides whether a value can exist).

An identifier with ``use = "old"`` is not checked: R4 defines it as "no longer considered
valid, but may be relevant for search purposes", which is how a mistyped number kept from a
legacy system is recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import systems
from . import gb11643, passport, permanent_residence, residence_permit, travel_permits
from .invalid import InvalidIdentifier

__all__ = ["VALIDATED_RESOURCES", "identifier_problem", "is_validated"]

#: Resource types whose ``identifier`` values are checked on write.
VALIDATED_RESOURCES = frozenset({"Patient", "RelatedPerson", "Practitioner"})

Check = Callable[[str], object]


_BY_SYSTEM: dict[str, Check] = {
    systems.ID_CARD: gb11643.check_any,
    systems.RESIDENCE_PERMIT: residence_permit.parse,
    systems.HK_MACAO_TRAVEL_PERMIT: travel_permits.check_hong_kong_macao,
    systems.TAIWAN_TRAVEL_PERMIT: travel_permits.check_taiwan,
    systems.FOREIGN_PERMANENT_RESIDENT: permanent_residence.check,
}
_PASSPORT_PREFIX = systems.PASSPORT + "/"


def is_validated(system: str) -> bool:
    """Whether values of ``system`` are checked (passports: any ``…/passport/…`` system)."""
    return system in _BY_SYSTEM or system == systems.PASSPORT or system.startswith(_PASSPORT_PREFIX)


def identifier_problem(system: str, value: str) -> InvalidIdentifier | None:
    """What is wrong with ``value`` in ``system``; None when it is valid or not checked.

    A passport system without the issuing country, or with a malformed one, is a problem of
    ``part == "country"`` (the system, not the value, is wrong).
    """
    check = _BY_SYSTEM.get(system)
    try:
        if check is not None:
            check(value)
        elif system.startswith(systems.PASSPORT):
            if system == systems.PASSPORT:
                raise InvalidIdentifier(
                    "the passport system needs the issuing country as an ISO 3166 alpha-3 "
                    "code: …/NamingSystem/passport/RUS",
                    "country",
                )
            if system.startswith(_PASSPORT_PREFIX):
                passport.check_country(system[len(_PASSPORT_PREFIX) :])
                passport.check_number(value)
    except InvalidIdentifier as problem:
        return problem
    return None
