"""Keep credentials out of every message, repr, log record and CLI output.

The request's own secrets (auth headers, API-key headers, payment proofs, URL userinfo and
secret-looking query parameters) are collected once and scrubbed from any text we emit, so a
server that echoes the caller's key back in its error message does not leak it either.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "Redactor",
    "collect_secrets",
    "is_sensitive_header",
    "redactor_for",
    "safe_url_for_display",
]

REDACTED = "[redacted]"

_SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "apikey",
        "x-goog-api-key",
        "xi-api-key",
        "x-auth-token",
        "x-access-token",
        "payment-signature",
        "x-payment",
        "payment-authorization",
    }
)
_SENSITIVE_NAME = re.compile(r"(?:^|[-_])(?:key|token|secret|password|signature|session)(?:$|[-_])")
_SENSITIVE_QUERY = re.compile(r"key|token|secret|password|signature|sig|auth", re.IGNORECASE)
# Shorter values would scrub ordinary words out of messages; real credentials are longer.
_MIN_SECRET_LENGTH = 8
_AUTH_SCHEME = re.compile(r"^\s*[A-Za-z][A-Za-z0-9_-]*\s+(\S.*)$")
# Credential shapes a server may echo even when it is not the caller's (another key, a proof).
_KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)[-_](?:live|test|proj|ant|or)?[-_]?[A-Za-z0-9_\-]{16,}"
    r"|\b(?:Bearer|Basic|L402|LSAT|Payment)\s+[A-Za-z0-9._~+/=:\-]{16,}",
)


def is_sensitive_header(name: str) -> bool:
    """`True` for a header whose value is a credential or a payment proof."""
    lowered = name.lower()
    return lowered in _SENSITIVE_HEADERS or bool(_SENSITIVE_NAME.search(lowered))


def safe_url_for_display(url: str) -> str:
    """`url` without userinfo and with secret-looking query values replaced."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return REDACTED
    netloc = host if ":" not in host else f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None:
        netloc = f"{netloc}:{port}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = "&".join(
            f"{name}={REDACTED if _SENSITIVE_QUERY.search(name) else value}"
            for name, value in pairs
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class Redactor:
    """Scrubs a known set of secret values, and credential-shaped tokens, from text."""

    __slots__ = ("_pattern",)

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        unique = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)
        alternatives = [re.escape(s) for s in unique]
        alternatives.append(_KEY_SHAPES.pattern)
        self._pattern = re.compile("|".join(alternatives))

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text)

    def finds(self, text: str) -> bool:
        """`True` when `text` holds something to scrub."""
        return self._pattern.search(text) is not None


def collect_secrets(url: str, headers: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The secret values that a request carries in its headers and URL."""
    secrets: list[str] = []
    for name, value in headers:
        if is_sensitive_header(name):
            secrets.append(value)
            match = _AUTH_SCHEME.match(value)
            if match:
                secrets.append(match.group(1))
    try:
        parts = urlsplit(url)
        if parts.password:
            secrets.append(parts.password)
        if parts.username:
            secrets.append(parts.username)
        secrets.extend(
            value
            for name, value in parse_qsl(parts.query, keep_blank_values=True)
            if _SENSITIVE_QUERY.search(name)
        )
    except ValueError:
        pass
    return tuple(sorted(set(secrets)))


@functools.lru_cache(maxsize=64)
def redactor_for(secrets: tuple[str, ...]) -> Redactor:
    """A (cached) redactor for `secrets`: most requests carry the same few credentials."""
    return Redactor(secrets)
