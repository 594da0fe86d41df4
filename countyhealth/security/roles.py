"""Platform roles as data (``data/roles.json``): the scopes, reach and privileges of each.

A role gives SMART scopes (which types, which interactions) and an access mode (whose patient
data, see :data:`countyhealth.store.context.ACCESS_MODES`). :func:`caller_for` turns a signed-in
account into the :class:`~countyhealth.store.Caller` the Repository enforces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ..errors import error
from ..store import Caller, Scopes
from ..store.context import ACCESS_MODES


@dataclass(frozen=True, slots=True)
class Role:
    code: str
    zh: str
    en: str
    kind: str
    access: str
    scopes: str
    privileges: tuple[str, ...]


@cache
def roles() -> dict[str, Role]:
    """Every role by code, from the dated data file."""
    text = resources.files(__package__).joinpath("data/roles.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    out: dict[str, Role] = {}
    for code, spec in data["roles"].items():
        if spec["access"] not in ACCESS_MODES:
            raise ValueError(f"role {code}: unknown access {spec['access']!r}")
        Scopes.parse(spec["scopes"])
        out[code] = Role(
            code,
            spec["zh"],
            spec["en"],
            spec["kind"],
            spec["access"],
            spec["scopes"],
            tuple(spec["privileges"]),
        )
    return out


def role(code: str) -> Role:
    found = roles().get(code)
    if found is None:
        raise error("CH-4003", f"{code[:60]!r} is not a platform role")
    return found


_REACH = {"none": 0, "compartment": 1, "consent": 2, "all": 3}


def caller_for(
    *,
    kind: str,
    id: str,
    role_codes: tuple[str, ...],
    organization: str | None = None,
    actors: tuple[str, ...] = (),
    patients: tuple[str, ...] = (),
    display: str | None = None,
    scope: str | None = None,
    channel: str = "api",
    network_address: str | None = None,
) -> Caller:
    """The Caller of an account with ``role_codes``.

    Scopes are the union of the roles' scopes, narrowed to ``scope`` when one is asked for
    (a token request may ask for less, never more). The widest access of the roles applies;
    privileges add up.
    """
    chosen = [role(c) for c in role_codes]
    if not chosen:
        raise error("CH-4003", f"{kind}/{id} has no role")
    granted = " ".join(r.scopes for r in chosen)
    if scope is not None:
        granted = narrow(granted, scope)
    access = max((r.access for r in chosen), key=_REACH.__getitem__)
    if access == "consent" and organization is None:
        raise error(
            "CH-4003", f"{kind}/{id}: a role with consent-based access needs an organisation"
        )
    privileges = tuple(sorted({p for r in chosen for p in r.privileges}))
    return Caller(
        kind=kind,
        id=id,
        scopes=Scopes.parse(granted),
        roles=tuple(role_codes),
        organization=organization,
        network_address=network_address,
        channel=channel,
        display=display,
        access=access,
        actors=actors,
        patients=patients,
        privileges=privileges,
    )


def narrow(granted: str, asked: str) -> str:
    """The scopes of ``asked`` that ``granted`` covers (SMART: a client gets at most what it
    is registered for). Each asked scope is kept with the permissions both allow."""
    have = Scopes.parse(granted).grants
    kept: list[str] = []
    for want in Scopes.parse(asked).grants:
        letters: set[str] = set()
        for g in have:
            if g.context == want.context and g.resource_type in ("*", want.resource_type):
                letters |= want.permissions & g.permissions
        if letters:
            perms = "".join(c for c in "cruds" if c in letters)
            kept.append(f"{want.context}/{want.resource_type}.{perms}")
    return " ".join(kept)
