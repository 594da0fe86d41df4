"""The platform roles as a table for people: names, reach, scopes and privileges.

Read from the dated data file ``security/data/roles.json`` through
:func:`countyhealth.security.roles.roles`; nothing here decides access, it only shows what
the Repository enforces.
"""

from __future__ import annotations

from typing import Any

from ..security.roles import roles
from ..store.context import ACCESS_MODES


def role_table() -> dict[str, Any]:
    """Every role with its kind, access mode, scopes (one per item) and privileges, and the
    access modes in the order of their reach."""
    return {
        "roles": [
            {
                "code": r.code,
                "zh": r.zh,
                "en": r.en,
                "kind": r.kind,
                "access": r.access,
                "scopes": r.scopes.split(),
                "privileges": list(r.privileges),
            }
            for r in roles().values()
        ],
        "accessModes": list(ACCESS_MODES),
        "privileges": sorted({p for r in roles().values() for p in r.privileges}),
    }
