"""SMART on FHIR scopes (v1 ``.read``/``.write``/``.*`` and v2 ``.cruds``), checked by the Repository.

See https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html. A scope is
``context/Type.permissions`` with context ``patient``, ``user`` or ``system``; ``*`` stands for
every resource type. v1 ``read`` means ``rs``, ``write`` means ``cud``, ``*`` means ``cruds``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import error

_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|[cruds]+)$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}

#: Interaction → the permission letter it needs.
PERMISSION = {
    "create": "c",
    "read": "r",
    "vread": "r",
    "history-instance": "r",
    "update": "u",
    "patch": "u",
    "delete": "d",
    "search-type": "s",
    "history-type": "s",
    "history-system": "s",
    "operation": "r",
}


@dataclass(frozen=True, slots=True)
class Grant:
    context: str
    resource_type: str  # a type name or "*"
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class Scopes:
    """The parsed scopes of one caller; unrecognised scopes (openid, launch…) are ignored."""

    grants: tuple[Grant, ...]

    @classmethod
    def parse(cls, text: str) -> Scopes:
        grants = []
        for word in text.split():
            m = _SCOPE.match(word)
            if m is None:
                continue
            context, rtype, perms = m.groups()
            letters = _V1.get(perms, perms)
            if list(letters) != sorted(set(letters), key="cruds".index):
                raise error("CH-4002", f"scope {word!r}: permissions must be in the order cruds")
            grants.append(Grant(context, rtype, frozenset(letters)))
        return cls(tuple(grants))

    def text(self) -> str:
        """The grants as v2 scope text; ``Scopes.parse(s.text())`` gives the same grants."""
        return " ".join(
            f"{g.context}/{g.resource_type}.{''.join(c for c in 'cruds' if c in g.permissions)}"
            for g in self.grants
        )

    def allows(self, resource_type: str, interaction: str) -> bool:
        letter = PERMISSION[interaction]
        return any(
            letter in g.permissions and g.resource_type in ("*", resource_type) for g in self.grants
        )

    def allows_any(self, interaction: str) -> bool:
        """True when some type may be used for ``interaction`` (system-level history/search)."""
        letter = PERMISSION[interaction]
        return any(letter in g.permissions for g in self.grants)

    def readable_types(self, interaction: str) -> frozenset[str] | None:
        """Types readable for ``interaction``; None means all types."""
        letter = PERMISSION[interaction]
        types = set()
        for g in self.grants:
            if letter in g.permissions:
                if g.resource_type == "*":
                    return None
                types.add(g.resource_type)
        return frozenset(types)
