"""Links between the entries of a transaction, replaced by the ids the server gives.

https://hl7.org/fhir/R4/http.html#trules: references to an entry's ``fullUrl``
(``urn:uuid:``, ``urn:oid:`` or RESTful) and conditional references (``Patient?identifier=…``)
become ``Type/id`` wherever they occur in a resource — contained resources and extensions
included. Elements of type uri, url, oid and uuid and ``href``/``src`` in the narrative follow
the new ids too (see :class:`Links`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from ..errors import error
from ..fhir import definitions
from ..store import Repository
from .bundle_entry import Entry


@dataclass
class Links:
    """What to replace (https://hl7.org/fhir/R4/http.html#trules).

    References are matched against every entry's fullUrl. Elements of type uri, url, oid and
    uuid and ``href``/``src`` in the narrative only change for the entries whose identity the
    server gives (POST creates and ``urn:`` fullUrls): a PUT keeps its id, so an absolute
    fullUrl that is also a canonical URL (``Questionnaire.url``) stays what it is.
    """

    references: dict[str, str]  # fullUrl → Type/id
    new: dict[str, str]  # fullUrl → Type/id, for uri elements and the narrative
    base: str  # the narrative gets absolute URLs: a browser reads it relative to the page


#: R4 types whose values are links to replace besides Reference.reference (canonical is not:
#: it names a resource by its canonical URL, not by where it is stored).
_LINK_TYPES = frozenset({"uri", "url", "oid", "uuid"})
_NARRATIVE_LINK = re.compile(r"""\b(href|src)(\s*=\s*)(["'])(.*?)\3""", re.DOTALL)
_RESTFUL = re.compile(r"^(?P<root>.+)/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})$")
_RELATIVE = re.compile(r"^[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}$")


@cache
def _fields(type_name: str, path: str) -> dict[str, tuple[str, str]]:
    """JSON property → (type, path) of what it holds, for one element of an R4 type.

    ``type`` is a type code (``Reference``, ``uri``, ``Resource`` …); a backbone element or a
    ``contentReference`` keeps ``type_name`` and gives the path of its definition.
    """
    elements = definitions.structure(type_name)["elements"]
    parents = {el["path"].rsplit(".", 1)[0] for el in elements}
    out: dict[str, tuple[str, str]] = {}
    for el in elements:
        parent, name = el["path"].rsplit(".", 1)
        if parent != path:
            continue
        if "contentReference" in el:
            out[name] = (type_name, el["contentReference"][1:])
        elif el["path"] in parents:
            out[name] = (type_name, el["path"])
        else:
            for t in el.get("type") or []:
                code = t["code"]
                key = name[:-3] + code[0].upper() + code[1:] if name.endswith("[x]") else name
                out[key] = (code, code)
    return out


def resolve_links(repo: Repository, e: Entry, resource: dict[str, Any], links: Links) -> Any:
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in definitions.resource_types():
        return resource  # validation will say what is wrong with it
    return _walk(repo, e, resource, rtype, rtype, links)


def _walk(repo: Repository, e: Entry, node: Any, type_name: str, path: str, links: Links) -> Any:
    if isinstance(node, list):
        return [_walk(repo, e, item, type_name, path, links) for item in node]
    if not isinstance(node, dict):
        return node
    fields = _fields(type_name, path)
    out = {}
    for key, value in node.items():
        kind = fields.get(key)
        if kind is None:
            if key.startswith("_"):  # a primitive's id and extensions
                value = _walk(repo, e, value, "Element", "Element", links)
            out[key] = value
            continue
        code, child = kind
        if type_name == "Reference" and key == "reference" and isinstance(value, str):
            value = _resolve_one(repo, e, value, links.references)
        elif code in _LINK_TYPES:
            value = _replace_links(value, links.new)
        elif code == "xhtml" and isinstance(value, str) and links.new:
            value = _NARRATIVE_LINK.sub(lambda m: _narrative_link(m, links), value)
        elif code == "Resource":
            value = _walk_resources(repo, e, value, links)
        elif code not in definitions.primitive_types():
            value = _walk(repo, e, value, code, child, links)
        out[key] = value
    return out


def _walk_resources(repo: Repository, e: Entry, value: Any, links: Links) -> Any:
    if isinstance(value, list):
        return [_walk_resources(repo, e, v, links) for v in value]
    return resolve_links(repo, e, value, links) if isinstance(value, dict) else value


def _replace_links(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, list):
        return [mapping.get(v, v) if isinstance(v, str) else v for v in value]
    return mapping.get(value, value) if isinstance(value, str) else value


def _narrative_link(m: re.Match[str], links: Links) -> str:
    target = links.new.get(html.unescape(m.group(4)))
    if target is None:
        return m.group(0)
    return f"{m.group(1)}{m.group(2)}{m.group(3)}{links.base}/{target}{m.group(3)}"


def _resolve_one(repo: Repository, e: Entry, ref: str, mapping: dict[str, str]) -> str:
    if ref in mapping:
        return mapping[ref]
    where = f"Bundle.entry[{e.index}].resource"
    if ref.startswith(("urn:uuid:", "urn:oid:")):
        raise error("CH-7003", f"{where}: {ref} is not the fullUrl of an entry", where)
    rtype, qmark, qs = ref.partition("?")
    if qmark and rtype in definitions.resource_types() and "/" not in rtype:
        found = repo.matches(rtype, parse_qsl(qs, keep_blank_values=True))
        if len(found) != 1:
            code = "CH-2015" if found else "CH-7003"
            raise error(
                code,
                f"{where}: the conditional reference {ref[:80]} matches "
                f"{len(found) or 'no'} resource{'s' if len(found) != 1 else ''}",
                where,
            )
        mapping[ref] = f"{rtype}/{found[0].id}"
        return mapping[ref]
    # a relative reference in an entry with a RESTful fullUrl is relative to that fullUrl's
    # root (https://hl7.org/fhir/R4/bundle.html#references)
    own = _RESTFUL.match(e.full_url) if isinstance(e.full_url, str) else None
    if own is not None and _RELATIVE.match(ref):
        return mapping.get(f"{own['root']}/{ref}", ref)
    return ref
