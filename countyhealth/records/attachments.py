"""Attachments of a report for people: its text to read and its key images to open.

An R4 Attachment (https://hl7.org/fhir/R4/datatypes.html#Attachment) holds its content inline
(``data``, base64) or points at it (``url``). A ``text/plain`` attachment is decoded for reading
(in the charset its ``contentType`` names, UTF-8 by default; 检验系统 of the county often write
GB18030). Anything that cannot be read — broken base64, bytes that are not text in the named
charset, an unknown charset, content too large to show — becomes a ``note`` that the page
translates, never an error: a report written by another institution's system must not take the
patient's page down.

Other attachments are described (title, type, size) with a link to their FHIR read; a small
inline image also gets a ``data:`` thumbnail (the pages' Content-Security-Policy allows
``img-src data:``), so that a key image is seen without leaving the page.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
from typing import Any

#: Characters of one report text shown on the page (the full text stays in the FHIR record).
TEXT_LIMIT = 20_000
#: Base64 characters of one attachment decoded at all (about 1.5 MB of content).
DECODE_LIMIT = 2_000_000
#: Bytes of an inline image shown as a thumbnail in the page itself.
THUMBNAIL_LIMIT = 64 * 1024
#: Image types a browser shows from a ``data:`` URI; SVG is left out (it is a document).
THUMBNAIL_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
#: ``Attachment.url`` values that are FHIR references on this server (``Binary/123``).
_LOCAL_REFERENCE = re.compile(r"^(Binary|Media|DocumentReference)/[A-Za-z0-9\-.]{1,64}$")
_SPACE = re.compile(r"[ \t\r\n]+")


def media_type(attachment: dict[str, Any]) -> tuple[str, str | None]:
    """The lower-case MIME type of ``attachment`` and its ``charset`` parameter, if any."""
    kind, *params = str(attachment.get("contentType") or "").split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return kind.strip().lower(), charset


def is_text(attachment: dict[str, Any]) -> bool:
    return media_type(attachment)[0] == "text/plain"


def is_image(attachment: dict[str, Any]) -> bool:
    return media_type(attachment)[0].startswith("image/")


def decode(data: Any) -> bytes | None:
    """The bytes of a base64Binary value, or None when it is not valid base64 (RFC 4648)."""
    if not isinstance(data, str):
        return None
    compact = _SPACE.sub("", data)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def text_of(attachment: dict[str, Any]) -> dict[str, Any]:
    """A ``text/plain`` attachment for reading: ``{"title", "text", "truncated", "note"}``.

    ``text`` is None when the content cannot be shown; ``note`` then says why: ``missing``
    (no inline data), ``too-large``, ``unreadable`` (not valid base64), ``charset`` (a charset
    this server does not know) or ``encoding`` (the bytes are not text in that charset).
    """
    shaped: dict[str, Any] = {
        "title": str(attachment.get("title") or ""),
        "text": None,
        "truncated": False,
        "note": None,
    }
    data = attachment.get("data")
    if not isinstance(data, str) or not data.strip():
        shaped["note"] = "missing"
        return shaped
    if len(data) > DECODE_LIMIT:
        shaped["note"] = "too-large"
        return shaped
    raw = decode(data)
    if raw is None:
        shaped["note"] = "unreadable"
        return shaped
    charset = media_type(attachment)[1] or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        shaped["note"] = "charset"
        return shaped
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError:
        shaped["note"] = "encoding"
        return shaped
    text = text.replace("\r\n", "\n").strip()
    shaped["text"] = text[:TEXT_LIMIT]
    shaped["truncated"] = len(text) > TEXT_LIMIT
    return shaped


def _size(attachment: dict[str, Any]) -> int | None:
    size = attachment.get("size")
    if isinstance(size, int) and not isinstance(size, bool) and size >= 0:
        return size
    data = attachment.get("data")
    if isinstance(data, str) and data:
        compact = _SPACE.sub("", data)
        return max(0, len(compact) * 3 // 4 - compact[-2:].count("="))
    return None


def _href(attachment: dict[str, Any], fhir_base: str, fallback: str, index: int) -> str:
    """Where to open the content: its own URL when it is a web address or a reference on this
    server; inline data through the signed-in page route :data:`CONTENT_ROUTE` (the holder
    read as the caller); else the FHIR read of the resource holding it (``fallback``,
    ``Type/id``)."""
    url = str(attachment.get("url") or "")
    if url.startswith(("https://", "http://")):
        return url
    if _LOCAL_REFERENCE.match(url):
        return f"{fhir_base}/{url}"
    if isinstance(attachment.get("data"), str) and attachment["data"]:
        return CONTENT_ROUTE.format(holder=fallback, index=index)
    return f"{fhir_base}/{fallback}"


#: the page route that serves an inline attachment of ``Media/id`` (index 0) or of
#: ``DiagnosticReport/id`` (index in ``presentedForm``) to a signed-in reader
CONTENT_ROUTE = "/app/attachments/{holder}/{index}"
#: content types served as they are; any other is sent as a download
SERVED_INLINE = frozenset(
    {"image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"}
)


def attachment_of(resource: dict[str, Any], index: int) -> dict[str, Any] | None:
    """The attachment ``index`` of a Media (its ``content``, index 0) or of a
    DiagnosticReport (``presentedForm[index]``); None when there is none."""
    if resource.get("resourceType") == "Media":
        content = resource.get("content")
        return content if index == 0 and isinstance(content, dict) else None
    forms = resource.get("presentedForm") or []
    if resource.get("resourceType") == "DiagnosticReport" and 0 <= index < len(forms):
        form = forms[index]
        return form if isinstance(form, dict) else None
    return None


def _thumbnail(attachment: dict[str, Any]) -> str | None:
    kind = media_type(attachment)[0]
    data = attachment.get("data")
    if kind not in THUMBNAIL_TYPES or not isinstance(data, str):
        return None
    if len(data) > THUMBNAIL_LIMIT * 4 // 3 + 8:
        return None
    raw = decode(data)
    if not raw:
        return None
    # re-encoded, so that only the base64 alphabet reaches the page
    return f"data:{kind};base64,{base64.b64encode(raw).decode('ascii')}"


def described(
    attachment: dict[str, Any], fhir_base: str, holder: str, title: str = "", index: int = 0
) -> dict[str, Any]:
    """An attachment to open: ``{"title", "contentType", "size", "href", "image",
    "thumbnail"}``; ``holder`` is ``Type/id`` of the resource that holds it (its FHIR read is
    the link when the attachment has no usable URL of its own)."""
    return {
        "title": str(attachment.get("title") or title or ""),
        "contentType": media_type(attachment)[0],
        "size": _size(attachment),
        "href": _href(attachment, fhir_base, holder, index),
        "image": is_image(attachment),
        "thumbnail": _thumbnail(attachment),
    }
