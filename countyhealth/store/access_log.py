""" "Who read my record": a patient's access log, read from the AuditEvents about them.

Every access to patient data leaves an AuditEvent naming the patient as an entity
(:mod:`.audit`); this module reads them back for the patient (a resident, for themselves or
a minor in their care) or for the bureau (privilege ``audit-report``). Accesses under
break-glass carry the purpose of use ``BTG`` and are flagged. Reading the log is itself audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import and_, or_, select

from ..errors import error
from ..fhir.instant import parse_period
from .schema import idx_reference, resource

if TYPE_CHECKING:
    from .repository import Repository


#: ``<last_updated_us>.<res_pk>`` of a line: the exact place where a page ends.
_CURSOR = re.compile(r"\d{1,19}\.\d{1,19}")


@dataclass(frozen=True, slots=True)
class Access:
    """One line of the log."""

    recorded: str
    who: str
    organization: str | None
    role: str
    interaction: str
    what: str | None
    outcome: str
    break_glass: bool
    reason: str | None
    #: where the next page starts: pass it as ``before`` to get the entries after this one
    cursor: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "cursor": self.cursor,
            "recorded": self.recorded,
            "who": self.who,
            "organization": self.organization,
            "role": self.role,
            "interaction": self.interaction,
            "what": self.what,
            "outcome": self.outcome,
            "breakGlass": self.break_glass,
            "reason": self.reason,
        }


def access_log(
    repo: Repository, patient_id: str, *, limit: int = 100, before: str | None = None
) -> list[Access]:
    """The newest ``limit`` accesses to ``Patient/patient_id``, older than ``before``.

    ``before`` is the ``cursor`` of the last line of the previous page (exact paging: the
    audit writer stores events in batches that share one timestamp, so an instant alone would
    skip or repeat lines at a page boundary) or a FHIR instant.
    """
    caller = repo.caller
    own = caller.access == "compartment" and patient_id in caller.patients
    if not own and "audit-report" not in caller.privileges and caller.kind != "system":
        raise error("CH-4013", f"{caller.key} may not read the access log of Patient/{patient_id}")
    r = idx_reference
    cond = and_(
        r.c.res_type == "AuditEvent",
        r.c.param == "patient",
        r.c.target_type == "Patient",
        r.c.target_id == patient_id,
    )
    # An event may name the patient more than once (several entities): one line per event.
    events = select(r.c.res_pk).where(cond).distinct().subquery()
    stmt = select(resource.c.content, resource.c.last_updated_us, resource.c.res_pk).join(
        events, events.c.res_pk == resource.c.res_pk
    )
    if before and _CURSOR.fullmatch(before):
        at_us, pk = (int(part) for part in before.split("."))
        stmt = stmt.where(
            or_(
                resource.c.last_updated_us < at_us,
                and_(resource.c.last_updated_us == at_us, resource.c.res_pk < pk),
            )
        )
    elif before:
        try:
            stmt = stmt.where(resource.c.last_updated_us < parse_period(before)[0])
        except ValueError as exc:
            raise error("CH-1006", f"before: {exc}", "before") from exc
    stmt = stmt.order_by(resource.c.last_updated_us.desc(), resource.c.res_pk.desc()).limit(
        max(1, min(limit, 1000))
    )
    repo.store.audit.flush()
    with repo.store.engines.read.connect() as conn:
        rows = conn.execute(stmt).all()
    lines = [
        _line(orjson.loads(row.content), f"{row.last_updated_us}.{row.res_pk}")
        for row in rows
        if row.content
    ]
    repo.store.audit.record(
        [repo.audit_event("search-type", 200, None, [patient_id], query="access log")]
    )
    return lines


def _line(event: dict[str, Any], cursor: str) -> Access:
    agent = (event.get("agent") or [{}])[0]
    who = agent.get("who") or {}
    ident = who.get("identifier") or {}
    roles = [c.get("code") for r in agent.get("role") or [] for c in r.get("coding") or []]
    role = str(roles[0]) if roles else str(ident.get("system", "")).rsplit("/", 1)[-1]
    purposes = event.get("purposeOfEvent") or []
    glass = next(
        (p for p in purposes if any(c.get("code") == "BTG" for c in p.get("coding") or [])), None
    )
    subtype = (event.get("subtype") or [{}])[0].get("code", "")
    what = None
    for entity in event.get("entity") or []:
        ref = (entity.get("what") or {}).get("reference")
        if ref and (entity.get("type") or {}).get("code") == "2":
            what = str(ref)
            break
    return Access(
        recorded=str(event.get("recorded", "")),
        who=str(who.get("display") or ident.get("value") or "?"),
        organization=who.get("reference"),
        role=role,
        interaction=str(subtype),
        what=what,
        outcome="success" if event.get("outcome") == "0" else "failure",
        break_glass=glass is not None,
        reason=glass.get("text") if glass else None,
        cursor=cursor,
    )
