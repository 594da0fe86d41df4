"""What the administration pages share: form problems and the notice after a change.

A change made by a form post ends on the page it was made from (post/redirect/get); the
redirect names what was done (``?done=…``) and the page shows the matching notice. Only the
names in :data:`NOTICES` are shown, so a link cannot put words of its own on the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ...administration import Problem

#: ``done`` → (message kind, message key); the key may use ``%(username)s``.
NOTICES: dict[str, tuple[str, str]] = {
    "department-added": ("ok", "admin.done.department_added"),
    "department-deactivated": ("ok", "admin.done.department_deactivated"),
    "department-reactivated": ("ok", "admin.done.department_reactivated"),
    "user-disabled": ("ok", "admin.done.user_disabled"),
    "user-enabled": ("ok", "admin.done.user_enabled"),
}


def notice(done: str, **values: str) -> dict[str, Any] | None:
    """The ``flash`` of ``_flash.html`` for ``done``, or None for an unknown name."""
    found = NOTICES.get(done)
    if found is None:
        return None
    kind, key = found
    return {"kind": kind, "key": key, "values": values, "done": done}


def form_state(form: dict[str, Any], problems: Iterable[Problem] = ()) -> dict[str, Any]:
    """A form's values, its problems and the names of the fields they concern."""
    listed = list(problems)
    return {
        "form": form,
        "problems": [p.to_json() for p in listed],
        "invalid": sorted({p.field for p in listed}),
    }
