"""Replay rules: which requests can be sent again, how, and whose billing they share.

A 402 means the server refused before acting, so the HTTP method does not matter; what
matters is whether the body can be sent again whole. A replay reuses the request's own body
stream (never a copy rebuilt from `.content`), keeps every header the caller set, adds the
hook's headers, and is marked in `request.extensions`. The caller's request is not mutated.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable

import httpx

from ._models import Retry
from ._redaction import is_sensitive_header

__all__ = ["REPLAY_EXTENSION", "ScopeFunction", "default_scope", "replay_of", "why_not_replayable"]

#: `request.extensions` key marking a replay: `{"attempt": n}`.
REPLAY_EXTENSION = "http402.replay"

#: Maps a request to its billing scope: requests of one scope share an account-level gate.
ScopeFunction = Callable[[httpx.Request], str]


def default_scope(request: httpx.Request) -> str:
    """The origin, plus a digest of the credential headers (never the credentials).

    Two API keys on one host are two billing scopes; one key across many paths is one.
    """
    url = request.url
    credentials = sorted(
        (name.lower(), value)
        for name, value in request.headers.multi_items()
        if is_sensitive_header(name) and name.lower() not in ("cookie", "payment-signature")
    )
    digest = hashlib.sha256(repr(credentials).encode()).hexdigest()[:16] if credentials else "-"
    return f"{url.scheme}://{url.host}:{url.port or ''}#{digest}"


def why_not_replayable(request: httpx.Request) -> str | None:
    """`None` when the request's body can be sent again whole, else why it cannot."""
    stream = request.stream
    if _is_byte_stream(stream):
        return None
    # Multipart bodies re-read their fields; httpx seeks file fields back to the start.
    fields = getattr(stream, "fields", None)
    if fields is not None:
        for field in fields:
            file = getattr(field, "file", None)
            if file is None:
                continue
            seekable = getattr(file, "seekable", None)
            if isinstance(file, (bytes, str)) or (callable(seekable) and seekable()):
                continue
            return "a multipart file field cannot be rewound"
        return None
    return "the request body is a stream (a generator or an unseekable file) that was consumed"


def _is_byte_stream(stream: object) -> bool:
    """`True` for httpx's (or httpx2's) in-memory body stream, which can be sent again."""
    if isinstance(stream, httpx.ByteStream):
        return True
    httpx2 = sys.modules.get("httpx2")
    return httpx2 is not None and isinstance(stream, httpx2.ByteStream)


def replay_of(request: httpx.Request, retry: Retry, attempt: int) -> httpx.Request:
    """A copy of `request` to send again: same body stream, hook headers added, marked."""
    headers = request.headers.copy()
    for name, value in retry.headers:
        headers[name] = value
    extensions = dict(request.extensions)
    extensions[REPLAY_EXTENSION] = {"attempt": attempt}
    # The request's own class, so an httpx2 request is replayed as an httpx2 request.
    return type(request)(
        request.method,
        request.url,
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )
