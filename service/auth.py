"""API keys: who is asking, decided from ``Authorization: Bearer <key>`` before anything else is read.

With no keys configured (``API_KEYS`` unset) everyone is the owner ``public``. With keys, every request
except the public paths (``/healthz``, ``/readyz``, ``/metrics``, ``/docs`` and its assets,
``/openapi.json``, the ``/`` page's HTML, its ``/assets/`` and ``/favicon.ico``) needs one of them, else a
401 with ``WWW-Authenticate: Bearer``. The check is a pure ASGI middleware, so a refused client never gets
its body parsed.

* A key is compared with every configured key in constant time: ``hmac.compare_digest`` of SHA-256
  digests (equal lengths, so neither the key nor its length leaks), and the loop never stops early.
* The owner of a key is ``"key-"`` + the first 24 hex digits of its SHA-256: stable across restarts,
  and the key itself is never stored in Redis. The route dependencies read it from ``request.state``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from core.store import PUBLIC_OWNER
from service.errors import error_response

PUBLIC_PATHS = frozenset(
    {
        "/",
        "/favicon.ico",
        "/healthz",
        "/readyz",
        "/metrics",
        "/docs",
        "/docs/oauth2-redirect",
        "/openapi.json",
    }
)
PUBLIC_PREFIXES = ("/static/swagger/", "/assets/")


def owner_of(key: str) -> str:
    """The owner id of an API key: ``key-`` + 24 hex digits of its SHA-256."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:24]


def is_public(path: str) -> bool:
    """True for the paths anyone may fetch when keys are on."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


class KeyRing:
    """The configured keys, kept as SHA-256 digests with their owners."""

    def __init__(self, keys: Iterable[str]) -> None:
        self._keys = [(hashlib.sha256(key.encode()).digest(), owner_of(key)) for key in keys]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def owner(self, authorization: str | None) -> str | None:
        """The owner of the bearer key in an ``Authorization`` header value, or None if it is not one."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        digest = hashlib.sha256(token.encode()).digest()
        found = None
        for key_digest, owner in self._keys:  # no early exit: the time does not depend on which key
            if hmac.compare_digest(digest, key_digest):
                found = owner
        return found


class AuthMiddleware:
    """Sets ``request.state.owner``, or answers 401 when keys are on and the request has none of them."""

    def __init__(self, app: ASGIApp, keys: Iterable[str]) -> None:
        self.app = app
        self.ring = KeyRing(keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        owner: str | None = PUBLIC_OWNER
        if self.ring and not is_public(scope["path"]):
            header = _header(scope, b"authorization")
            owner = self.ring.owner(header)
            if owner is None:
                challenge = 'Bearer realm="descent"' + ("" if header is None else ', error="invalid_token"')
                detail = "an API key is required: Authorization: Bearer <key>"
                if header is not None:
                    detail = "the API key is not valid"
                response = error_response(401, detail, {"WWW-Authenticate": challenge})
                await response(scope, receive, send)
                return
        scope["state"] = {**scope.get("state", {}), "owner": owner}  # a dict of this request's own
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None
