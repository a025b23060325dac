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
    `x-stainless-retry-count`), or its body cannot be read again (a stream)."""
    count = request.headers.get(SDK_RETRY_HEADER)
    if count is None or not (count.isascii() and count.isdigit()) or len(count) > 6:
        return None
    try:
        body = request.content
    except Exception:  # a stream, not read: no call to recognise it by
        return None
    digest = hashlib.sha256()
    for part in (scope, request.method, str(request.url)):
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    digest.update(body)
    return Call(key=f"call:{digest.hexdigest()[:32]}", retry=int(count))


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
