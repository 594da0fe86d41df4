"""Who may book for whom, through which channel, and into which reserved share.

A resident books online for themselves and the minors in their care. Staff book at a
registration desk (``window``); the family-doctor team may also book into the family-doctor
share and referring clinicians into the referral share (with the referral ServiceRequest).
Integrator clients (the provincial booking portal) book online on a resident's behalf. Each
right is a privilege of the role in ``security/data/roles.json``.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import error, forbidden
from ..store import Caller, Repository

CHANNELS = ("online", "window", "family-doctor", "referral")
#: the privilege each staff channel needs
_PRIVILEGE = {
    "window": "book-window",
    "family-doctor": "book-family-doctor",
    "referral": "book-referral",
}
#: the reserved share a channel may book into
POOL_OF_CHANNEL = {"family-doctor": "family-doctor", "referral": "referral"}


@dataclass(frozen=True, slots=True)
class Channel:
    code: str

    @property
    def pool(self) -> str | None:
        return POOL_OF_CHANNEL.get(self.code)


def booking_channel(caller: Caller, patient_id: str, asked: str | None) -> Channel:
    """The channel of a booking by ``caller`` for ``patient_id``.

    Raises:
        OperationOutcomeError: CH-9114 for an unknown channel, CH-4003 for a resident booking
            for someone not in their care, CH-4013 for a channel the role may not use.
    """
    if asked is not None and asked not in CHANNELS:
        raise error("CH-9114", f"channel must be one of {', '.join(CHANNELS)}", "channel")
    if caller.access == "compartment":
        if patient_id not in caller.patients:
            raise forbidden("a resident books only for themselves and the minors in their care")
        if asked not in (None, "online"):
            raise error("CH-4013", f"residents book online, not through {asked!r}")
        return Channel("online")
    if caller.kind == "client":
        return Channel(asked or "online")
    if caller.kind == "system":
        return Channel(asked or "window")
    code = asked or "window"
    if code == "online":
        raise error("CH-4013", "staff book at the desk ('window') or for a share they serve")
    privilege = _PRIVILEGE[code]
    if privilege not in caller.privileges:
        raise error("CH-4013", f"the role may not book through {code!r} ({privilege})")
    return Channel(code)


def require_privilege(repo: Repository, privilege: str) -> None:
    """Staff work of the pool (check-in, calling, no-shows) needs the role's privilege; the
    platform itself (``system``) may do all of it."""
    caller = repo.caller
    if caller.kind == "system" or privilege in caller.privileges:
        return
    raise error("CH-4013", f"the role lacks the {privilege!r} privilege")
