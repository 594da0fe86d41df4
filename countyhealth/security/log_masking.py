"""A logging filter that masks identity and mobile numbers before a record is written.

Filters attached to a *logger* see only the records logged to that logger, not those that
propagate from its children, so the filter is put on the *handlers*: :func:`masked_logging`
adds it to every handler of a ``logging.config.dictConfig`` dictionary (uvicorn's, for the
server) and gives the root logger the default handler, so ``countyhealth.*`` records pass
through it too. Masking happens in place on the record: the message, the arguments (each
string argument, or the text of other objects), and a pre-formatted traceback.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from collections.abc import Mapping
from typing import Any

from .masking import mask_text

FILTER_NAME = "mask_personal_numbers"


def _masked_arg(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value  # numbers keep their type for %d and %f (see MaskingFilter)
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked


def _personal_int(value: Any) -> bool:
    if not isinstance(value, int) or isinstance(value, bool):
        return False
    text = str(value)
    return mask_text(text) != text


class MaskingFilter(logging.Filter):
    """Masks what looks like an 18/15-character identity number or an 11-digit mobile number.

    Arguments are masked one by one and keep their positions, because some formatters read
    them (uvicorn's access lines). An integer argument that looks like such a number cannot
    be masked in place (``%d`` needs a number): then the message is formatted here and masked
    as a whole.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and any(_personal_int(a) for a in args):
            # a malformed call stays as it is: what can be masked is masked below
            with contextlib.suppress(TypeError, ValueError):
                record.msg, record.args = record.getMessage(), ()
            args = record.args
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(args, tuple):
            record.args = tuple(_masked_arg(a) for a in args)
        elif isinstance(args, Mapping):
            record.args = {k: _masked_arg(v) for k, v in args.items()}
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return True


def masked_logging(config: Mapping[str, Any], root_level: str = "WARNING") -> dict[str, Any]:
    """A copy of a ``dictConfig`` dictionary with :class:`MaskingFilter` on every handler.

    The root logger gets the first handler (uvicorn's ``default``) at ``root_level`` when it
    has none, so the platform's own warnings and errors are masked like uvicorn's lines.
    """
    out = copy.deepcopy(dict(config))
    out.setdefault("filters", {})[FILTER_NAME] = {"()": f"{__name__}.MaskingFilter"}
    handlers: dict[str, dict[str, Any]] = out.get("handlers", {})
    for handler in handlers.values():
        names = handler.setdefault("filters", [])
        if FILTER_NAME not in names:
            names.append(FILTER_NAME)
    if handlers and not out.get("root", {}).get("handlers"):
        out["root"] = {"handlers": [next(iter(handlers))], "level": root_level}
    return out


__all__ = ["FILTER_NAME", "MaskingFilter", "masked_logging"]
