"""What is wrong with a form, field by field, for people and for programs.

A form of the administration pages is checked as a whole before anything is written, so that
every mistake is reported at once. Each :class:`Problem` names its field and a stable reason;
the pages show it through the message ``admin.problem.<field>.<reason>`` (:attr:`Problem.key`),
the JSON twin returns it as it is. :class:`FormInvalid` is an ordinary
:class:`~countyhealth.errors.OperationOutcomeError` (CH-1006, or CH-2009 for a name that is
taken), so a caller that does not look at the problems still gets a readable outcome.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import Issue, OperationOutcomeError

#: Every ``field.reason`` a form of this package reports; each is a message key
#: ``admin.problem.<key>`` in both catalogues (tests/administration checks it).
PROBLEM_KEYS = frozenset(
    {
        "username.required",
        "username.shape",
        "username.taken",
        "display.required",
        "display.long",
        "role.unknown",
        "organization.shape",
        "organization.unknown",
        "organization.required",
        "name.required",
        "name.long",
        "code.required",
        "code.shape",
        "codeDisplay.required",
        "codeDisplay.long",
        "since.date",
        "account.self",
        "invalid",
    }
)

_CODES = {"username.taken": "CH-2009"}


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one field: ``field`` is the form field's name, ``reason`` stable."""

    field: str
    reason: str
    values: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def key(self) -> str:
        """The message key suffix (``admin.problem.<key>``)."""
        return "invalid" if self.reason == "invalid" else f"{self.field}.{self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "reason": self.reason,
            "key": self.key,
            "values": dict(self.values),
        }


class FormInvalid(OperationOutcomeError):
    """A form with problems; nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("FormInvalid needs at least one problem")
        super().__init__(
            [
                Issue(
                    _CODES.get(p.key, "CH-1006"),
                    f"{p.field}: {p.values.get('detail') or p.reason.replace('-', ' ')}",
                    [p.field],
                )
                for p in problems
            ]
        )
        self.problems = problems


def invalid(field_name: str, exc: OperationOutcomeError) -> Problem:
    """A problem found by a lower layer, shown with that layer's diagnostics."""
    return Problem(field_name, "invalid", {"detail": exc.issues[0].diagnostics})


def raise_if(problems: list[Problem]) -> None:
    if problems:
        raise FormInvalid(problems)
