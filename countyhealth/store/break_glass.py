"""Break-glass: opening a patient's record without consent, for a stated reason, for a while.

A clinician whose access follows consent (:mod:`.access`) and whose role has the
``break-glass`` privilege may open one patient's record in an emergency. The opening lasts
``settings.break_glass_minutes`` (3 hours by default, after the DHIS2 precedent in DOMAIN.md),
is written with an AuditEvent whose purpose of use is ``BTG`` (v3-ActReason "break the glass")
carrying the reason, in the same transaction; every access under it is audited with ``BTG``
too, so the resident's access log highlights it, and the health bureau lists the openings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import insert, select

from ..errors import error
from .schema import break_glass

if TYPE_CHECKING:
    from .repository import Repository

BREAK_GLASS_SUBTYPE = {
    "system": "https://countyhealth.example.org/fhir/CodeSystem/audit-event-subtype",
    "code": "break-glass",
    "display": "break-glass opening of a record",
}


@dataclass(frozen=True, slots=True)
class Opening:
    id: str
    caller: str
    organization: str | None
    patient_id: str
    reason: str
    started_us: int
    expires_us: int
    audit_event: str

    def to_json(self) -> dict[str, Any]:
        from ..fhir.instant import format_instant

        return {
            "id": self.id,
            "caller": self.caller,
            "organization": self.organization,
            "patient": f"Patient/{self.patient_id}",
            "reason": self.reason,
            "started": format_instant(self.started_us),
            "expires": format_instant(self.expires_us),
            "auditEvent": f"AuditEvent/{self.audit_event}",
        }


def open_break_glass(repo: Repository, patient_id: str, reason: str) -> Opening:
    """Open ``Patient/patient_id`` for the caller; raises CH-4013 without the privilege and
    CH-4005 without a reason."""
    caller = repo.caller
    settings = repo.store.settings
    if caller.access != "consent" or "break-glass" not in caller.privileges:
        raise error("CH-4013", f"{caller.key} may not use break-glass")
    reason = " ".join((reason or "").split())
    if len(reason) < settings.break_glass_min_reason:
        raise error(
            "CH-4005",
            f"say why the record must be opened (at least {settings.break_glass_min_reason} characters)",
            "reason",
        )
    repo.read("Patient", patient_id)  # 404/410 for an unknown patient; the read is audited
    now = repo.store.clock.now_us()
    expires = now + settings.break_glass_minutes * 60_000_000
    event = repo.audit_event("operation", 200, f"Patient/{patient_id}", [patient_id])
    purpose = {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG"}],
        "text": reason,
    }
    event["purposeOfEvent"] = [purpose]
    event["agent"][0]["purposeOfUse"] = [purpose]
    event["subtype"] = [*event["subtype"], BREAK_GLASS_SUBTYPE]
    opening = Opening(
        id=str(uuid.uuid4()),
        caller=caller.key,
        organization=caller.organization,
        patient_id=patient_id,
        reason=reason,
        started_us=now,
        expires_us=expires,
        audit_event=event["id"],
    )

    def write(conn: Any) -> Opening:
        conn.execute(
            insert(break_glass).values(
                id=opening.id,
                caller=opening.caller,
                organization=opening.organization,
                patient_id=patient_id,
                reason=reason,
                started_us=now,
                expires_us=expires,
                audit_event=opening.audit_event,
            )
        )
        repo.store.audit.write_now(conn, [event])
        return opening

    return repo.write(write)


def break_glass_openings(repo: Repository, since_us: int, limit: int = 500) -> list[Opening]:
    """Openings since ``since_us``, newest first: the bureau's report (privilege
    ``audit-report``). The report itself is audited as a read of the patients it names."""
    caller = repo.caller
    if "audit-report" not in caller.privileges and caller.kind != "system":
        raise error("CH-4013", f"{caller.key} may not read the break-glass report")
    b = break_glass
    with repo.store.engines.read.connect() as conn:
        rows = conn.execute(
            select(b).where(b.c.started_us >= since_us).order_by(b.c.started_us.desc()).limit(limit)
        ).all()
    openings = [
        Opening(
            r.id,
            r.caller,
            r.organization,
            r.patient_id,
            r.reason,
            r.started_us,
            r.expires_us,
            r.audit_event,
        )
        for r in rows
    ]
    patients = sorted({o.patient_id for o in openings})
    repo.store.audit.record(
        [repo.audit_event("search-system", 200, None, patients, query="break-glass report")]
    )
    return openings


def openings_json(openings: list[Opening]) -> bytes:
    return orjson.dumps([o.to_json() for o in openings])


def live_opening(repo: Repository, patient_id: str) -> Opening | None:
    """The caller's own break-glass opening of ``Patient/patient_id`` that has not expired
    (the newest), for the banner a page shows while the record is open this way."""
    caller = repo.caller
    if caller.access != "consent":
        return None
    now = repo.store.clock.now_us()
    b = break_glass
    with repo.store.engines.read.connect() as conn:
        row = conn.execute(
            select(b)
            .where(
                b.c.caller == caller.key,
                b.c.patient_id == patient_id,
                b.c.expires_us > now,
            )
            .order_by(b.c.expires_us.desc())
            .limit(1)
        ).first()
    if row is None:
        return None
    return Opening(
        row.id,
        row.caller,
        row.organization,
        row.patient_id,
        row.reason,
        row.started_us,
        row.expires_us,
        row.audit_event,
    )
