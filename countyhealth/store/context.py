"""Who is calling: the Repository is built per request with a :class:`Caller`."""

from __future__ import annotations

from dataclasses import dataclass, field

from .scopes import Scopes


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated party of a request.

    Attributes:
        kind: ``client`` (an integrator system), ``user`` (staff or resident) or ``system``
            (the platform itself, e.g. migrations and the synthetic county generator).
        id: client id or user name.
        scopes: SMART scopes granted to the token.
        roles: platform roles (filled by the security layer).
        organization: the 医共体 member organisation the user belongs to, as ``Organization/id``.
        network_address: where the request came from, for the audit trail.
        channel: ``api``, ``web`` or ``cli``.
    """

    kind: str
    id: str
    scopes: Scopes
    roles: tuple[str, ...] = ()
    organization: str | None = None
    network_address: str | None = None
    channel: str = "api"
    display: str | None = field(default=None)


def system_caller(name: str = "countyhealth") -> Caller:
    """The platform acting on its own behalf, with every permission."""
    return Caller("system", name, Scopes.parse("system/*.cruds"), channel="cli")
