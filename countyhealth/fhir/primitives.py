"""Checks for the values of FHIR R4 primitive types in their JSON representation.

Each primitive type gets one checker, built once, that takes a parsed JSON value and returns
``None`` when it is valid or ``(code, reason)`` when it is not: ``CH-3008`` for the wrong JSON
type (https://hl7.org/fhir/R4/json.html#primitive) and ``CH-3005`` for a value whose lexical
form breaks the type's rule (https://hl7.org/fhir/R4/datatypes.html#primitive).

The lexical rules are the regexes of the R4 definitions (the ``regex`` extension on each
primitive's ``value`` element). They are XML Schema regular expressions: implicitly anchored,
and ``\\s`` means only space, tab, CR and LF (so ``[ \\r\\n\\t\\S]+``, the rule of ``string``,
accepts any non-empty text, including full-width and other Unicode spaces). They are
translated once to Python syntax by :func:`xsd_to_python` and compiled once.

Deliberate differences from a literal reading of the regexes, for speed or safety:

* ``boolean``, ``integer``, ``unsignedInt``, ``positiveInt`` and ``decimal`` are JSON
  booleans and numbers, so the JSON type and (for the integers) the 32-bit range are checked
  instead of a regex.
* ``base64Binary`` is checked as: after removing whitespace, only ``A-Z a-z 0-9 + / =`` and a
  length that is a multiple of 4. The R4 regex ``(\\s*([0-9a-zA-Z\\+/=]){4}\\s*)+`` backtracks
  exponentially on long invalid input, and it forbids whitespace inside a 4-character group,
  which MIME line wrapping can produce.
* ``date``, ``dateTime`` and ``instant`` must also name a real calendar day (no 2019-02-30),
  as https://hl7.org/fhir/R4/datatypes.html#date requires of valid dates.
* ``xhtml`` (``Narrative.div``) must be a string starting with ``<div``; the XHTML itself is
  not parsed.
* No string-based value may contain U+0000. R4 says strings SHOULD NOT contain characters
  below U+0020 other than tab, CR and LF (https://hl7.org/fhir/R4/datatypes.html#string), the
  XML representation cannot carry U+0000 at all, and PostgreSQL text and jsonb refuse it; a
  resource that holds it could be stored on one backend and not the other.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

from countyhealth.fhir import definitions

#: ``None`` if valid, else ``(issue code, reason)``.
Problem = tuple[str, str] | None
PrimitiveCheck = Callable[[Any], Problem]

WRONG_TYPE = "CH-3008"
INVALID = "CH-3005"

#: The one character no stored string may hold (see the module docstring).
NUL = "\x00"

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1

_XSD_SPACE_OUT = "[ \\t\\n\\r]"
_XSD_NON_SPACE_OUT = "[^ \\t\\n\\r]"
_XSD_SPACE_IN = " \\t\\n\\r"
_XSD_NON_SPACE_IN = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x21-\\U0010ffff"
#: The ``string``/``markdown`` rule: with XML Schema semantics, any non-empty text.
_ANY_TEXT = "[ \\r\\n\\t\\S]+"

_BASE64_SPACE = re.compile(r"[ \t\n\r]+")
_BASE64_ALPHABET = re.compile(r"[0-9a-zA-Z+/=]*")


def xsd_to_python(pattern: str) -> str:
    """Translate an XML Schema regex (as used in the FHIR definitions) to Python syntax.

    Only the class escapes differ between the two for the R4 patterns: ``\\s``, ``\\S`` and
    ``\\d`` are restricted to XML whitespace and ASCII digits. Anchoring is the caller's job
    (use ``fullmatch``).
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "s":
                out.append(_XSD_SPACE_IN if in_class else _XSD_SPACE_OUT)
            elif nxt == "S":
                out.append(_XSD_NON_SPACE_IN if in_class else _XSD_NON_SPACE_OUT)
            elif nxt == "d":
                out.append("0-9" if in_class else "[0-9]")
            else:
                out.append(char + nxt)
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def json_type(value: Any) -> str:
    """How a parsed JSON value is named in messages: ``a string``, ``null``, ``an array`` …"""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_boolean(value: Any) -> Problem:
    if value is True or value is False:
        return None
    return WRONG_TYPE, f"expected JSON true or false, got {json_type(value)}"


def _integer_check(type_name: str, low: int) -> PrimitiveCheck:
    def check(value: Any) -> Problem:
        if type(value) is int:
            if low <= value <= INT32_MAX:
                return None
            return INVALID, f"{value} is out of range for {type_name} ({low}..{INT32_MAX})"
        if type(value) is float and value.is_integer():
            return WRONG_TYPE, f"expected a JSON integer for {type_name}, got {value!r}"
        return WRONG_TYPE, f"expected a JSON integer for {type_name}, got {json_type(value)}"

    return check


def _check_decimal(value: Any) -> Problem:
    kind = type(value)
    if kind is int:
        return None
    if kind is float:
        if math.isfinite(value):
            return None
        return INVALID, f"{value!r} is not a decimal"
    return WRONG_TYPE, f"expected a JSON number for decimal, got {json_type(value)}"


def _check_xhtml(value: Any) -> Problem:
    if type(value) is not str:
        return WRONG_TYPE, f"expected a JSON string of XHTML, got {json_type(value)}"
    if not value.startswith("<div"):
        return INVALID, "narrative XHTML must be a <div> element"
    if NUL in value:
        return INVALID, "narrative XHTML must not contain the character U+0000"
    return None


def _check_base64(value: Any) -> Problem:
    if type(value) is not str:
        return WRONG_TYPE, f"expected a JSON string for base64Binary, got {json_type(value)}"
    if not value:
        return INVALID, "empty string is not allowed"
    compact = _BASE64_SPACE.sub("", value)
    if len(compact) % 4 or not _BASE64_ALPHABET.fullmatch(compact):
        return INVALID, "not valid base64 (RFC 4648 alphabet, length a multiple of 4)"
    return None


def _valid_day(value: str) -> bool:
    """False for a day past the end of its month (``2019-02-29``); partial dates pass."""
    if len(value) < 10:
        return True
    day = int(value[8:10])
    if day <= 28:
        return True
    return day <= calendar.monthrange(int(value[0:4]), int(value[5:7]))[1]


def _string_check(
    type_name: str, pattern: str | None, max_length: int | None, dated: bool
) -> PrimitiveCheck:
    matcher = None
    if pattern is not None and pattern != _ANY_TEXT:
        matcher = re.compile(xsd_to_python(pattern)).fullmatch
    limit = max_length if max_length is not None else math.inf

    def explain(value: Any) -> Problem:
        if type(value) is not str:
            return WRONG_TYPE, f"expected a JSON string for {type_name}, got {json_type(value)}"
        if not value:
            return INVALID, "empty string is not allowed"
        if NUL in value:
            return INVALID, f"{type_name} must not contain the character U+0000"
        if matcher is not None and matcher(value) is None:
            return INVALID, f"{_show(value)} is not a valid {type_name}"
        if len(value) > limit:
            return INVALID, f"{type_name} longer than {max_length} characters"
        if dated and not _valid_day(value):
            return INVALID, f"{_show(value)} is not a valid {type_name}: no such day"
        return None

    # Fast paths for valid values; ``explain`` says what is wrong otherwise.
    if matcher is None:

        def check_text(value: Any) -> Problem:
            if type(value) is str and value and len(value) <= limit and NUL not in value:
                return None
            return explain(value)

        return check_text

    if dated:

        def check_dated(value: Any) -> Problem:
            if (
                type(value) is str
                and matcher(value) is not None
                and (len(value) < 10 or value[8:10] <= "28")
            ):
                return None
            return explain(value)

        return check_dated

    def check_pattern(value: Any) -> Problem:
        if type(value) is str and value and matcher(value) is not None and NUL not in value:
            return None
        return explain(value)

    return check_pattern


@cache
def checker(type_name: str) -> PrimitiveCheck:
    """The value check of primitive type ``type_name`` (built once, then cached).

    Raises:
        KeyError: ``type_name`` is not an R4 primitive type.
    """
    if type_name not in definitions.primitive_types():
        raise KeyError(f"{type_name} is not a primitive type")
    if type_name == "boolean":
        return _check_boolean
    if type_name == "integer":
        return _integer_check(type_name, INT32_MIN)
    if type_name == "unsignedInt":
        return _integer_check(type_name, 0)
    if type_name == "positiveInt":
        return _integer_check(type_name, 1)
    if type_name == "decimal":
        return _check_decimal
    if type_name == "xhtml":
        return _check_xhtml
    if type_name == "base64Binary":
        return _check_base64
    return _string_check(
        type_name,
        definitions.primitive_regexes().get(type_name),
        definitions.primitive_max_length().get(type_name),
        type_name in ("date", "dateTime", "instant"),
    )


def check_primitive(type_name: str, value: Any) -> Problem:
    """Check one JSON value against primitive type ``type_name``; see :func:`checker`."""
    return checker(type_name)(value)
