"""Replay rules: which requests can be sent again, how, and whose billing they share.

A 402 means the server refused before acting, so the HTTP method does not matter; what
matters is whether the body can be sent again whole. A replay reuses the request's own body
stream (never a copy rebuilt from `.content`), keeps every header the caller set, adds the
hook's headers, and is marked in `request.extensions`. The caller's request is not mutated.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable
from typing import Any

import attrs
import httpx

from ._models import Retry
from ._redaction import HOOK_HEADERS_EXTENSION, credential_kind, credential_view

__all__ = [
    "REPLAY_EXTENSION",
    "SDK_RETRY_HEADER",
    "Call",
    "ScopeFunction",
    "call_of",
    "credential_view",
    "default_scope",
    "replay_of",
    "why_not_replayable",
]

#: `request.extensions` key marking a replay: `{"attempt": n}`, `n` counting every send of the
#: request, the first included (the first replay is attempt 2), as `error.attempts` and the
#: `attempt` of log records do.
REPLAY_EXTENSION = "http402.replay"

#: Maps a request to its billing scope: requests of one scope share an account-level gate.
ScopeFunction = Callable[[httpx.Request], str]

#: The header with which every Stainless-generated SDK (`openai`, `anthropic`, ...) numbers
#: the attempts of one call: `0`, then `1`, `2`... for its own retries (their
#: `_build_headers`). Nothing else in a retry differs from the call's first attempt.
SDK_RETRY_HEADER = "x-stainless-retry-count"


@attrs.frozen
class Call:
    """One call of an SDK, across the attempts its own retries make."""

    #: A digest of the billing scope, method, URL and body: the same for every attempt.
    key: str
    #: Which attempt this is: `0` for the call's first, `n` for its n-th retry.
    retry: int


def call_of(request: httpx.Request, scope: str) -> Call | None:
    """The SDK call `request` is an attempt of, or `None` when it says of none (no
    `x-stainless-retry-count`).

    A call is its scope, method, URL and body, whatever form the body takes on each attempt:
    a multipart body (a file upload) is rebuilt by the SDK with a fresh random boundary on
    every attempt, so the boundary is left out; a multipart stream not read yet is rendered
    again to be keyed, its file fields rewound as httpx rewinds them to send. A body that
    cannot be read at all (a stream that cannot be sent again) is keyed as *any* such body
    to its scope, method and URL: two different calls of that kind may then be taken for
    one, and a retry of the second gets the first's answer, which only ever declines
    (a hook's failure, a hold, a refusal): it fails closed, never paying twice.
    """
    count = request.headers.get(SDK_RETRY_HEADER)
    if count is None or not (count.isascii() and count.isdigit()) or len(count) > 6:
        return None
    digest = hashlib.sha256()
    for part in (scope, request.method, str(request.url)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    if not _digest_body(request, digest):
        digest.update(_UNKEYED)
    return Call(key=f"call:{digest.hexdigest()[:32]}", retry=int(count))


#: What stands in a call's key for a body that cannot be read (a body read is fed as
#: `body\0` and its digest, so the two never meet).
_UNKEYED = b"\0a body that cannot be read again"
#: What stands for a multipart boundary in a call's key.
_BOUNDARY = b"\0boundary\0"


def _digest_body(request: httpx.Request, digest: Any) -> bool:
    """Feeds `request`'s body to `digest`, a multipart boundary left out; `False` (having
    fed nothing) when the body cannot be read without spending it."""
    chunks: Iterable[bytes]
    try:
        chunks = (request.content,)
    except Exception:  # a stream not read: only a multipart one can be rendered again
        stream = request.stream
        if getattr(stream, "fields", None) is None or why_not_replayable(stream) is not None:
            return False
        chunks = stream  # type: ignore[assignment]
    boundary = _multipart_boundary(request.headers.get("content-type"))
    body = hashlib.sha256()
    try:
        for chunk in chunks:
            body.update(chunk if boundary is None else chunk.replace(boundary, _BOUNDARY))
    except Exception:  # a file field that could not be read again
        return False
    digest.update(b"body\0" + body.digest())
    return True


def _multipart_boundary(content_type: str | None) -> bytes | None:
    """`--` and the boundary of a multipart `Content-Type`, as it appears in the body."""
    if not content_type or not content_type[:10].lower().startswith("multipart/"):
        return None
    for parameter in content_type.split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "boundary":
            value = value.strip().strip('"')
            return b"--" + value.encode("latin-1", "replace") if value else None
    return None


def default_scope(request: httpx.Request) -> str:
    """The origin, plus a digest of every credential the request carries (never the
    credentials themselves).

    Credential headers, each cookie, credential query parameters and the URL's userinfo all
    count: two API keys (or two session cookies) on one host are two billing scopes; one key
    across many paths is one. What changes with each request (a payment proof, a request
    signature, an idempotency key, a load balancer's cookie) is left out, so that it does
    not split one account into many.
    """
    url = request.url
    credentials = sorted(_scope_credentials(request))
    digest = hashlib.sha256(repr(credentials).encode()).hexdigest()[:16] if credentials else "-"
    return f"{url.scheme}://{url.host}:{url.port or ''}#{digest}"


# Cookies that load balancers and bot filters set and rotate; they name no account.
_INFRASTRUCTURE_COOKIES = ("__cf", "_cf", "cf_", "awsalb", "_ga", "_gid", "__utm", "ak_bmsc")


def _scope_credentials(request: httpx.Request) -> list[tuple[str, str, str]]:
    """`(place, name, value)` of each credential that names the account: what
    `CREDENTIAL_NAMES` calls an account's credential, not a per-request one (a proof, a
    signature, an idempotency key, a one-time password)."""
    found = []
    for name, value in request.headers.multi_items():
        lowered = name.lower()
        if lowered == "cookie":
            found += [("cookie", n, v) for n, v in _cookies(value)]
            continue
        # An `Authorization: Payment ...` is a proof, new with every request.
        proof = value.lstrip().lower().startswith("payment ")
        if credential_kind(lowered, "header") == "account" and not proof:
            found.append(("header", lowered, _signed_credential(value)))
    url = request.url
    for name, value in url.params.multi_items():
        if credential_kind(name, "query") == "account":
            found.append(("query", name.lower(), value))
    if url.userinfo:
        found.append(("userinfo", "", url.userinfo.decode("ascii", "replace")))
    return found


def _signed_credential(value: str) -> str:
    """The key id of an AWS Signature V4 `Authorization` (its signature is per request)."""
    if not value.startswith("AWS4-"):
        return value
    _, found, rest = value.partition("Credential=")
    return rest.split("/", 1)[0] if found else value


def _cookies(header: str) -> list[tuple[str, str]]:
    pairs = []
    for pair in header.split(";"):
        name, equals, value = pair.partition("=")
        name = name.strip()
        if equals and value.strip() and not name.lower().startswith(_INFRASTRUCTURE_COOKIES):
            pairs.append((name, value.strip()))
    return pairs


def why_not_replayable(stream: object) -> str | None:
    """`None` when a request body stream (`request.stream`) can be sent again whole, else
    why it cannot."""
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
    extensions[HOOK_HEADERS_EXTENSION] = frozenset(name.lower() for name, _ in retry.headers)
    extensions[REPLAY_EXTENSION] = {"attempt": attempt}
    # The request's own class, so an httpx2 request is replayed as an httpx2 request.
    return type(request)(
        request.method,
        request.url,
        headers=headers,
        stream=request.stream,
        extensions=extensions,
    )
