"""Whose patient data a caller may read: organisation, Consent and break-glass rules.

The scopes (:mod:`.scopes`) say which types and interactions a caller may use; this module
says which *rows* of patient data (Patient and the types of the Patient compartment,
https://hl7.org/fhir/R4/compartmentdefinition-patient.html) it may see, by the caller's
access mode (:data:`.context.ACCESS_MODES`):

- ``all``: every row (the platform itself, platform-wide integrators, statutory reading).
- ``none``: no patient data.
- ``compartment``: rows in the Patient compartment of ``Caller.patients`` (a resident and
  the minors in their care).
- ``consent``: Patient resources (the shared master patient index of the 医共体); rows whose
  custodian tag names the caller's organisation; rows of a patient who granted the caller an
  active Consent covering the type (see :mod:`countyhealth.fhir.consent_grants`); rows of a
  patient whose record the caller opened by break-glass, until it expires. A Consent is
  readable by a grantee while it grants them something. AuditEvents never: who looked at a
  record is for the patient and for the roles that audit (access ``all``), not for every
  clinician the patient lets read their results.

The same rule is applied two ways that agree: as a SQL condition on ``resource`` rows
(searches and exports leave out what the caller may not read) and per resource on its JSON
(reads, versions, history, included resources). Grants are looked up at the moment of the
interaction, so revoking a Consent takes effect for the next request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, false, or_, select, true

from ..fhir import compartment, definitions
from ..fhir.consent_grants import custodian_of
from ..fhir.systems import CUSTODIAN
from .context import Caller
from .schema import access_grant, break_glass, idx_reference, idx_token, resource

#: Patient-data types every consent-mode caller may read: the shared master patient index and
#: insurance coverage, which registration and settlement at any member institution need.
REGISTRY_TYPES = frozenset({"Patient", "Coverage"})
#: Patient-compartment types a consent-mode caller never reads, whatever it was granted.
AUDIT_TYPES = frozenset({"AuditEvent"})


def patients_of(rtype: str, document: dict[str, Any] | None) -> list[str]:
    """Ids of the patients whose data ``document`` is."""
    if document is None:
        return []
    return compartment.patient_ids(document)


class AccessRule:
    """The row-level rule of one caller at one moment (``now_us``)."""

    def __init__(self, caller: Caller, now_us: int) -> None:
        self.caller = caller
        self.now_us = now_us
        self._grants: dict[str, set[str | None]] = {}
        self._glass: set[str] = set()
        self._known: set[str] = set()

    @property
    def unrestricted(self) -> bool:
        return self.caller.access == "all"

    def restricts(self, types: Iterable[str]) -> bool:
        """True when the rule may leave out rows of some of ``types``."""
        return not self.unrestricted and any(compartment.is_patient_data(t) for t in types)

    # ------------------------------------------------------------------ SQL form

    def condition(self, types: Sequence[str]) -> ColumnElement[bool] | None:
        """A condition on ``resource`` rows of ``types``; None when nothing is left out."""
        if not self.restricts(types):
            return None
        parts = [self._type_condition(t) for t in types]
        return or_(*parts) if len(parts) > 1 else parts[0]

    def _type_condition(self, rtype: str) -> ColumnElement[bool]:
        is_type = resource.c.res_type == rtype
        if not compartment.is_patient_data(rtype):
            return is_type
        mode = self.caller.access
        if mode == "none":
            return false()
        if mode == "compartment":
            return and_(is_type, self._in_compartment_of(rtype, self.caller.patients))
        if rtype in AUDIT_TYPES:
            return false()
        if rtype in REGISTRY_TYPES:
            return is_type
        ors: list[ColumnElement[bool]] = []
        org = self.caller.organization
        if org:
            t = idx_token
            ors.append(
                exists().where(
                    t.c.res_pk == resource.c.res_pk,
                    t.c.param == "_tag",
                    t.c.code == org.removeprefix("Organization/"),
                    t.c.system == CUSTODIAN,
                )
            )
        ors.append(self._granted(rtype))
        ors.append(self._glass_open(rtype))
        return and_(is_type, or_(*ors))

    def _patient_refs(self, rtype: str) -> tuple[Any, ColumnElement[bool]]:
        """The idx_reference alias and the condition joining it to the row's patients."""
        r = idx_reference.alias()
        params = definitions.compartment("Patient").get(rtype) or []
        return r, and_(
            r.c.res_pk == resource.c.res_pk, r.c.param.in_(params), r.c.target_type == "Patient"
        )

    def _in_compartment_of(self, rtype: str, patients: Sequence[str]) -> ColumnElement[bool]:
        if not patients:
            return false()
        if rtype == "Patient":
            return resource.c.res_id.in_(list(patients))
        r, joined = self._patient_refs(rtype)
        return exists().where(joined, r.c.target_id.in_(list(patients)))

    def _granted(self, rtype: str) -> ColumnElement[bool]:
        g = access_grant
        covers = (
            true() if rtype == "Consent" else or_(g.c.scope_type.is_(None), g.c.scope_type == rtype)
        )
        grant_ok = and_(
            g.c.grantee.in_(list(self.caller.grantees)),
            g.c.valid_from_us <= self.now_us,
            g.c.valid_to_us > self.now_us,
            covers,
        )
        if rtype == "Patient":
            return exists().where(g.c.patient_id == resource.c.res_id, grant_ok)
        r, joined = self._patient_refs(rtype)
        return exists().where(joined, g.c.patient_id == r.c.target_id, grant_ok)

    def _glass_open(self, rtype: str) -> ColumnElement[bool]:
        b = break_glass
        open_now = and_(b.c.caller == self.caller.key, b.c.expires_us > self.now_us)
        if rtype == "Patient":
            return exists().where(b.c.patient_id == resource.c.res_id, open_now)
        r, joined = self._patient_refs(rtype)
        return exists().where(joined, b.c.patient_id == r.c.target_id, open_now)

    # ------------------------------------------------------------------ per resource

    def allows(self, conn: Connection, rtype: str, document: dict[str, Any] | None) -> bool:
        """May the caller read ``document`` (a version of a ``rtype`` resource)?"""
        return self.filter(conn, [(rtype, document)])[0]

    def filter(
        self, conn: Connection, items: Sequence[tuple[str, dict[str, Any] | None]]
    ) -> list[bool]:
        """For each (type, document): may the caller read it? Deleted versions (None) are
        readable only without restriction."""
        if not self.restricts(t for t, _ in items):
            return [True] * len(items)
        wanted = {
            pid
            for rtype, doc in items
            if self.caller.access == "consent"
            and compartment.is_patient_data(rtype)
            and rtype not in REGISTRY_TYPES | AUDIT_TYPES
            for pid in patients_of(rtype, doc)
        }
        self._load(conn, wanted)
        return [self._allows_loaded(rtype, doc) for rtype, doc in items]

    def _allows_loaded(self, rtype: str, doc: dict[str, Any] | None) -> bool:
        if not compartment.is_patient_data(rtype):
            return True
        mode = self.caller.access
        if mode == "all":
            return True
        if doc is None or mode == "none":
            return False
        patients = patients_of(rtype, doc)
        if mode == "compartment":
            return any(p in self.caller.patients for p in patients)
        if rtype in AUDIT_TYPES:
            return False
        if rtype in REGISTRY_TYPES:
            return True
        org = self.caller.organization
        if org and custodian_of(doc) == org:
            return True
        for pid in patients:
            if pid in self._glass:
                return True
            scopes = self._grants.get(pid, set())
            if scopes and (rtype == "Consent" or None in scopes or rtype in scopes):
                return True
        return False

    def glass_patients(self, conn: Connection, patients: Iterable[str]) -> set[str]:
        """Which of ``patients`` the caller reads by an open break-glass."""
        wanted = set(patients)
        if self.caller.access != "consent" or not wanted:
            return set()
        self._load(conn, wanted)
        return wanted & self._glass

    def _load(self, conn: Connection, patients: set[str]) -> None:
        missing = sorted(patients - self._known)
        if not missing:
            return
        g = access_grant
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            rows = conn.execute(
                select(g.c.patient_id, g.c.scope_type).where(
                    g.c.patient_id.in_(chunk),
                    g.c.grantee.in_(list(self.caller.grantees)),
                    g.c.valid_from_us <= self.now_us,
                    g.c.valid_to_us > self.now_us,
                )
            )
            for pid, scope_type in rows:
                self._grants.setdefault(pid, set()).add(scope_type)
            b = break_glass
            glass = conn.execute(
                select(b.c.patient_id).where(
                    b.c.caller == self.caller.key,
                    b.c.patient_id.in_(chunk),
                    b.c.expires_us > self.now_us,
                )
            )
            self._glass.update(pid for (pid,) in glass)
        self._known.update(missing)
