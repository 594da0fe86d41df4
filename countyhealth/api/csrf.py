"""Reads the ``csrf_token`` field of form posts made with the session cookie.

``caller_from_request`` is synchronous and must not read the body, so this plain ASGI
middleware does it first — only for unsafe requests that carry the session cookie, no
``Authorization`` and no ``X-CSRF-Token`` header, and have a form body. It leaves the field in
the request state and hands the body on unchanged. Every other request passes straight
through (the FHIR read path pays one method check).
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .principal import CSRF_FIELD, CSRF_FORM_STATE, SAFE_METHODS, SESSION_COOKIE

_FORM_TYPES = (b"application/x-www-form-urlencoded", b"multipart/form-data")
_COOKIE = SESSION_COOKIE.encode() + b"="


class CsrfFormField:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        content_type = b""
        cookie = False
        for name, value in scope["headers"]:
            if name in (b"authorization", b"x-csrf-token"):
                await self.app(scope, receive, send)
                return
            if name == b"content-type":
                content_type = value.lower()
            elif name == b"cookie" and _COOKIE in value:
                cookie = True
        if not cookie or not content_type.startswith(_FORM_TYPES):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if size <= self.max_bytes:
            token = await _field(scope, content_type, body)
            if token is not None:
                scope.setdefault("state", {})[CSRF_FORM_STATE] = token
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _field(scope: Scope, content_type: bytes, body: bytes) -> str | None:
    if content_type.startswith(_FORM_TYPES[0]):
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return None
        return next((v for k, v in pairs if k == CSRF_FIELD), None)
    done = False

    async def once() -> Message:
        nonlocal done
        if done:
            return {"type": "http.disconnect"}
        done = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(dict(scope), once).form()
    except Exception:  # a malformed multipart body: no token, the route answers the rest
        return None
    try:
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    finally:
        await form.close()
