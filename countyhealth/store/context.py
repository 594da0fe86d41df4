"""Who is calling: the Repository is built per request with a :class:`Caller`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .scopes import Scopes

#: How far a caller's patient data reaches (the rows; the scopes decide the types):
#: ``all`` — every patient's data (the platform itself, platform-wide integrators, statutory
#: public-health reading); ``consent`` — data recorded by the caller's own organisation, plus
#: what an active Consent or a break-glass grants; ``compartment`` — only the data of the
#: patients in ``Caller.patients`` (a resident and the minors in their care); ``none`` — no
#: patient data at all.
ACCESS_MODES = ("all", "consent", "compartment", "none")


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated party of a request.

    Attributes:
        kind: ``client`` (an integrator system), ``user`` (staff or resident) or ``system``
            (the platform itself, e.g. migrations and the synthetic county generator).
        id: client id or user name.
        scopes: SMART scopes granted to the token.
        roles: platform roles (see ``countyhealth/security/data/roles.json``).
        organization: the 医共体 member organisation the user belongs to, as ``Organization/id``.
        network_address: where the request came from, for the audit trail.
        channel: ``api``, ``web`` or ``cli``.
        access: one of :data:`ACCESS_MODES`.
        actors: the caller as FHIR references besides the organisation
            (``Practitioner/x``, ``PractitionerRole/y``): a Consent may name any of them.
        patients: for ``compartment`` access, the ids of the Patients the caller may see.
        privileges: extra rights of the role, e.g. ``break-glass``, ``audit-report``,
            ``full-identifiers``.
    """

    kind: str
    id: str
    scopes: Scopes
    roles: tuple[str, ...] = ()
    organization: str | None = None
    network_address: str | None = None
    channel: str = "api"
    display: str | None = field(default=None)
    access: str = "all"
    actors: tuple[str, ...] = ()
    patients: tuple[str, ...] = ()
    privileges: tuple[str, ...] = ()

    @property
    def grantees(self) -> tuple[str, ...]:
        """The references a Consent or break-glass grant may name to cover this caller."""
        own = (self.organization,) if self.organization else ()
        return (*own, *self.actors, f"caller/{self.kind}/{self.id}")

    @property
    def key(self) -> str:
        """``kind/id``: who the caller is, for ownership of jobs and grants."""
        return f"{self.kind}/{self.id}"


def system_caller(name: str = "countyhealth") -> Caller:
    """The platform acting on its own behalf, with every permission."""
    return Caller("system", name, Scopes.parse("system/*.cruds"), channel="cli")
