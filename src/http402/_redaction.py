"""Keep credentials out of every message, repr, log record and CLI output.

The request's own secrets are collected once and scrubbed from any text we emit, so a server
that echoes the caller's key back in its error message does not leak it either. What counts
as a secret, and where it is looked for (docs/safety.md lists the same):

- every header whose name means a credential: `Authorization`, `Proxy-Authorization`,
  `Cookie`, any name holding `api-key`, `apikey`, `api_key`, `token`, `secret`, `session`,
  `signature`, `auth`, `cookie`, `password`, `passwd`, `credential`, `jwt`, `proof`,
  `macaroon` or `preimage`, any name with a part ending in `key`
  (`Ocp-Apim-Subscription-Key`, `X-RapidAPI-Key`), and the payment proofs
  (`PAYMENT-SIGNATURE`, `X-PAYMENT`, any name starting `x-payment` or `payment-`);
- each cookie value on its own, and the credential after an `Authorization` scheme;
- query parameters whose name has a credential word as a part (`_QUERY_WORDS`), in both
  their decoded and their sent form;
- the URL's userinfo.

A server may echo a secret in another encoding than it was sent in: percent-encoded (once
or twice, any case, `+` for a space), JSON- or JavaScript-escaped (`\\u002b`, `\\/`), as HTML
character references (`&#43;`, `&#x2F;`, `&equals;`), base64 (either alphabet, at any offset
inside a longer blob) or hex. The redactor handles them by kind, not by listing encodings of
each key: escapes are undone in a view of the text that remembers where each character came
from (`_Unescaped`), secrets are searched in that view too, and what is found is scrubbed in
the text itself; base64 and hex, which are not character escapes, are searched as variants of
each secret.

Text is scrubbed first and cut after; a cut that lands inside a secret leaves no piece of
it (`Redactor.bounded`). Matching is plain substring search, so a new key per request costs
no regular expression compile.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import html.entities
import re
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "Redactor",
    "collect_secrets",
    "cookie_values",
    "is_credential_query_name",
    "is_payment_proof_header",
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
        "payment-signature",
        "x-payment",
        "payment-authorization",
    }
)
# Payment proofs a hook may send under a name of its protocol's (`X-Payment-Proof`).
_PAYMENT_PREFIXES = ("x-payment", "payment-")
# A header whose name holds any of these is a credential (`X-ELS-APIKey`, `X-MBX-APIKEY`).
_SENSITIVE_HEADER_WORDS = (
    "api-key",
    "apikey",
    "api_key",
    "token",
    "secret",
    "session",
    "signature",
    "auth",
    "cookie",
    "password",
    "passwd",
    "credential",
    "jwt",
    "proof",
    "macaroon",
    "preimage",
)
_NAME_PARTS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
#: Query parameter names that carry a credential, matched against each part of the name
#: (`api_key`, `apiKey`, `X-Amz-Signature`); a part ending in one of `_QUERY_ENDINGS` counts
#: too (`appkey`, `authtoken`, `clientsecret`).
_QUERY_WORDS = frozenset(
    {
        "key",
        "apikey",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "pass",
        "session",
        "sessionid",
        "sid",
        "jwt",
        "auth",
        "authorization",
        "access",
        "sig",
        "sign",
        "signature",
        "hmac",
        "bearer",
        "credential",
        "credentials",
        "private",
    }
)
_QUERY_ENDINGS = ("key", "token", "secret", "password")
# Shorter values would scrub ordinary words out of messages; real credentials are longer.
_MIN_SECRET_LENGTH = 8
# At a cut, a trailing piece this long of a secret's start is scrubbed too.
_MIN_PIECE = 4
_ELLIPSIS = "…"
_AUTH_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)\s+(\S.*)$")
_AUTH_PARAM_VALUE = re.compile(r"[=:]\s*\"?([^\s\",;]+)")
# Credential shapes a server may echo even when it is not the caller's (another key, a proof).
_KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)[-_](?:live|test|proj|ant|or)?[-_]?[A-Za-z0-9_\-]{16,}"
    r"|\b(?:Bearer|Basic|L402|LSAT|Payment)\s+[A-Za-z0-9._~+/=:\-]{16,}",
)


# One escape of any kind a server may quote a secret in: a percent-encoded byte, a JSON or
# JavaScript escape, an HTML character reference (named, decimal or hex, `;` optional).
_ESCAPE = re.compile(
    r"%[0-9A-Fa-f]{2}"
    r"|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\}|\\x[0-9A-Fa-f]{2}|\\[/\\\"'+=]"
    r"|&#[0-9]{1,7};?|&#[xX][0-9A-Fa-f]{1,6};?|&[A-Za-z][A-Za-z0-9]{1,31};?"
)
# A cut text may end inside an escape: that unfinished escape is dropped before looking for
# the start of a secret at the cut.
_PARTIAL_ESCAPE = re.compile(
    r"(?:%[0-9A-Fa-f]?|\\(?:u\{?[0-9A-Fa-f]{0,5}|x[0-9A-Fa-f]?)?|&#?[xX]?[0-9A-Za-z]{0,31})$"
)
#: Escapes inside escapes (`%252B`) are undone this many times at most.
_MAX_UNESCAPE_DEPTH = 3


def _may_escape(text: str) -> bool:
    return "%" in text or "\\" in text or "&" in text


def _key_shapes(text: str) -> list[re.Match[str]]:
    """The credential-shaped tokens in `text`, in order."""
    return list(_KEY_SHAPES.finditer(text)) if _may_hold_key_shape(text) else []


def _may_hold_key_shape(text: str) -> bool:
    """`False` when `text` lacks a plain substring that every match of `_KEY_SHAPES` holds:
    most texts have none, and a few substring searches cost less than running the pattern
    at every position."""
    return (
        "k-" in text
        or "k_" in text
        or "Bearer" in text
        or "Basic" in text
        or "L402" in text
        or "LSAT" in text
        or "Payment" in text
    )


@functools.lru_cache(maxsize=1024)
def is_sensitive_header(name: str) -> bool:
    """`True` for a header whose value is a credential or a payment proof."""
    lowered = name.lower()
    if lowered in _SENSITIVE_HEADERS or any(word in lowered for word in _SENSITIVE_HEADER_WORDS):
        return True
    if lowered.startswith(_PAYMENT_PREFIXES):
        return True
    return any(part.endswith("key") for part in _NAME_PARTS.split(lowered))


def is_payment_proof_header(name: str) -> bool:
    """`True` for a header that carries a payment proof, which is new on every request."""
    return name.lower().startswith(_PAYMENT_PREFIXES)


@functools.lru_cache(maxsize=1024)
def is_credential_query_name(name: str) -> bool:
    """`True` for a query parameter whose value is a credential (`key`, `apiKey`, `sig`...)."""
    parts = _NAME_PARTS.split(_CAMEL.sub("-", name).lower())
    return any(part in _QUERY_WORDS or part.endswith(_QUERY_ENDINGS) for part in parts)


def cookie_values(header: str) -> list[str]:
    """The value of each `name=value` pair of a `Cookie` header (or of one `Set-Cookie`)."""
    values = []
    for pair in header.split(";"):
        _, equals, value = pair.partition("=")
        value = (value if equals else pair).strip().strip('"')
        if value:
            values.append(value)
    return values


def safe_url_for_display(url: str) -> str:
    """`url` without userinfo and with credential query values replaced."""
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
    # The query as it was sent (`?402` stays `?402`, `%20` stays `%20`), but for the value
    # of each credential parameter.
    query = "&".join(_shown_query_pair(pair) for pair in parts.query.split("&"))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _shown_query_pair(pair: str) -> str:
    name, equals, _ = pair.partition("=")
    if equals and is_credential_query_name(unquote(name.replace("+", " "))):
        return f"{name}={REDACTED}"
    return pair


class Redactor:
    """Scrubs a known set of secret values, and credential-shaped tokens, from text.

    Secrets are found by plain substring search: building one for a new key costs a sort,
    not a regular expression compile.
    """

    __slots__ = ("_heads", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        given = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len)
        # `Bearer <key>` needs no encoded forms of its own beside `<key>`'s: those, at every
        # offset, are inside its own, and the scheme in front of the key is no secret.
        encoded = [s for s in given if not any(_is_scheme_of(s, t) for t in given)]
        self._secrets = tuple(
            sorted({*given, *(v for s in encoded for v in _variants(s))}, key=len, reverse=True)
        )
        #: The shortest start of each secret that `bounded` scrubs: a text with none of them
        #: (and no escape) holds no secret and ends in no piece of one.
        self._heads = tuple({s[:_MIN_PIECE] for s in self._secrets})

    def __call__(self, text: str) -> str:
        spans = self._spans(text)
        if not spans:
            return text
        out, end = [], 0
        for start, stop in spans:
            out.append(text[end:start])
            out.append(REDACTED)
            end = stop
        out.append(text[end:])
        return "".join(out)

    def finds(self, text: str) -> bool:
        """`True` when `text` holds something to scrub, in any encoding."""
        return bool(self._spans(text))

    def bounded(self, text: str, limit: int) -> str:
        """`text` scrubbed, then cut to `limit` characters with no piece of a secret at the cut.

        A text that ends with an ellipsis was cut before (by an adapter): the piece of a
        secret left before it is scrubbed all the same.
        """
        if (
            len(text) <= limit
            and not text.endswith(_ELLIPSIS)
            and not _may_hold_key_shape(text)
            and not (self._secrets and _may_escape(text))
        ):
            for head in self._heads:
                if head in text:
                    break
            else:
                return text  # the usual case: nothing to scrub, nothing to cut
        text = self(text)
        if len(text) > limit:
            text, cut = text[: limit - 1], True
        elif text.endswith(_ELLIPSIS):
            text, cut = text[:-1], True
        else:
            cut = False
        # At a cut, a short piece of a key's start is enough to scrub; elsewhere only a long
        # one (a server echoing the first characters of the key).
        shortest = _MIN_PIECE if cut else _MIN_SECRET_LENGTH
        room = limit - len(_ELLIPSIS) if cut else limit
        piece = self._trailing_piece(text, shortest)
        while piece:
            text = text[: len(text) - piece]
            text = text[: max(0, room - len(REDACTED))]
            piece = self._trailing_piece(text, shortest)
            if not piece:
                text += REDACTED
        return text + _ELLIPSIS if cut else text

    def _spans(self, text: str) -> list[tuple[int, int]]:
        """The merged spans of `text` to replace, in order: each secret as it stands in the
        text, and as it stands once the text's escapes are undone (mapped back)."""
        spans = self._plain_spans(text)
        if self._secrets and _may_escape(text):
            views: list[_Unescaped] = []
            view = text
            for _ in range(_MAX_UNESCAPE_DEPTH):
                unescaped = _Unescaped.of(view)
                if unescaped is None:
                    break
                views.append(unescaped)
                for start, stop in self._plain_spans(unescaped.text):
                    for outer in reversed(views):
                        start, stop = outer.origin(start, stop)
                    spans.append((start, stop))
                view = unescaped.text
        return _merged(spans)

    def _plain_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for secret in self._secrets:
            start = text.find(secret)
            while start != -1:
                spans.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        spans.extend(match.span() for match in _key_shapes(text))
        return spans

    def _trailing_piece(self, text: str, shortest: int) -> int:
        """The length of the longest end of `text` that starts one of the secrets, as it
        stands or once its escapes are undone (an unfinished escape at the end counts too)."""
        longest = self._plain_trailing_piece(text, shortest)
        if self._secrets and _may_escape(text):
            partial = _PARTIAL_ESCAPE.search(text)
            cut = text[: partial.start()] if partial is not None and partial.group() else text
            unescaped = _Unescaped.of(cut)
            if unescaped is not None:
                piece = self._plain_trailing_piece(unescaped.text, shortest)
                if piece:
                    start, _ = unescaped.origin(len(unescaped.text) - piece, len(unescaped.text))
                    longest = max(longest, len(text) - start)
            if partial is not None and partial.group() and cut != text:
                # The unfinished escape continues a piece of a secret before it; alone it is
                # no piece (counting it trimmed a text of escapes one character per pass).
                before = self._plain_trailing_piece(cut, shortest)
                if before:
                    longest = max(longest, before + len(text) - len(cut))
        return longest

    def _plain_trailing_piece(self, text: str, shortest: int) -> int:
        longest = 0
        for secret in self._secrets:
            window = text[-(len(secret) - 1) :] if len(secret) > 1 else ""
            head = secret[:shortest]
            at = window.find(head)
            while at != -1:
                if secret.startswith(window[at:]):
                    longest = max(longest, len(window) - at)
                    break
                at = window.find(head, at + 1)
        return longest


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    if len(spans) < 2:
        return spans
    spans.sort()
    merged = [spans[0]]
    for start, stop in spans[1:]:
        last_start, last_stop = merged[-1]
        if start <= last_stop:
            merged[-1] = (last_start, max(last_stop, stop))
        else:
            merged.append((start, stop))
    return merged


def _is_scheme_of(value: str, credential: str) -> bool:
    """`True` when `value` is `credential` with an authorization scheme in front."""
    return (
        len(value) > len(credential)
        and value.endswith(credential)
        and _SCHEME_PREFIX.fullmatch(value[: -len(credential)]) is not None
    )


_SCHEME_PREFIX = re.compile(r"\s*[A-Za-z][A-Za-z0-9_-]*\s+")


def _variants(secret: str) -> list[str]:
    """`secret` and the forms a server may echo it in that are not character escapes (those
    `_Unescaped` undoes in the text instead): with `+` read as a space (a form decoder), and
    each long word of that; sent percent-encoded and echoed decoded; in base64 at each of
    the three offsets it can take inside a longer blob (both alphabets); and in hex."""
    found = [secret]
    if "+" in secret:
        # Read as a space, the key also falls apart into words that a link or a field
        # boundary may cut between: each long one is a secret too.
        spaced = secret.replace("+", " ")
        found += (spaced, *spaced.split(" "))
    if "%" in secret:
        found.append(unquote(secret))
    raw = secret.encode("utf-8", "surrogatepass")
    if len(raw) <= 4096:
        for offset in range(3):
            core = _base64_core(raw, offset)
            found.append(core)
            if "+" in core or "/" in core:
                found.append(core.replace("+", "-").replace("/", "_"))
        hexed = raw.hex()
        found += (hexed, hexed.upper())
    return [v for v in found if len(v) >= _MIN_SECRET_LENGTH]


def _base64_core(raw: bytes, offset: int) -> str:
    """The base64 characters that encode only bytes of `raw`, when `raw` starts `offset`
    bytes into a longer encoded blob: the same whatever surrounds it."""
    encoded = base64.b64encode(bytes(offset) + raw + bytes(2)).decode("ascii")
    first = -(-8 * offset // 6)  # the first character whose 6 bits all come from `raw`
    last = (8 * (offset + len(raw)) - 6) // 6  # the last one
    return encoded[first : last + 1]


class _Unescaped:
    """`text` with each escape undone once, and where each of its characters came from.

    `segments` holds, in order, `(start here, start there, end there, literal)`: a literal
    run maps character for character; an escape maps its one character to the whole escape.
    """

    __slots__ = ("_segments", "_starts", "text")

    def __init__(self, text: str, segments: list[tuple[int, int, int, bool]]) -> None:
        self.text = text
        self._segments = segments
        self._starts = [segment[0] for segment in segments]

    @classmethod
    def of(cls, text: str) -> _Unescaped | None:
        """The view of `text` with its escapes undone, or `None` when it has none."""
        pieces: list[str] = []
        segments: list[tuple[int, int, int, bool]] = []
        here = there = 0
        for match in _ESCAPE.finditer(text):
            start, end = match.span()
            char = _unescape(match.group())
            if char is None:
                continue
            if start > there:
                pieces.append(text[there:start])
                segments.append((here, there, start, True))
                here += start - there
            pieces.append(char)
            segments.append((here, start, end, False))
            here += len(char)
            there = end
        if not segments:
            return None
        if there < len(text):
            pieces.append(text[there:])
            segments.append((here, there, len(text), True))
        return cls("".join(pieces), segments)

    def origin(self, start: int, stop: int) -> tuple[int, int]:
        """The span of the escaped text that `[start, stop)` of this view came from."""
        return self._at(start, stop=False), self._at(stop - 1, stop=True)

    def _at(self, index: int, *, stop: bool) -> int:
        here, there, end, literal = self._segments[bisect.bisect_right(self._starts, index) - 1]
        if literal:
            return there + index - here + (1 if stop else 0)
        return end if stop else there


def _unescape(escape: str) -> str | None:
    """The character an escape stands for, or `None` for one that stands for nothing."""
    try:
        if escape[0] == "%":
            return chr(int(escape[1:], 16))
        if escape[0] == "\\":
            kind = escape[1]
            if kind == "u":
                return chr(int(escape[2:].strip("{}"), 16))
            if kind == "x":
                return chr(int(escape[2:], 16))
            return kind
        body = escape[1:].rstrip(";")
        if body[0] == "#":
            number = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
            return chr(number)
        named = html.entities.html5.get(body + ";") if escape.endswith(";") else None
        return named if named is not None else html.entities.html5.get(body)
    except (ValueError, OverflowError, IndexError):
        return None


def collect_secrets(url: str, headers: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """The secret values that a request carries in its headers and URL."""
    secrets: list[str] = []
    for name, value in headers:
        if not is_sensitive_header(name):
            continue
        secrets.append(value)
        lowered = name.lower()
        if lowered in ("cookie", "set-cookie"):
            for cookie in cookie_values(value):
                secrets += (cookie, unquote(cookie))
            continue
        match = _AUTH_SCHEME.match(value)
        if match:
            scheme, credential = match.groups()
            secrets.append(credential)
            secrets.extend(_AUTH_PARAM_VALUE.findall(credential))
            if scheme.lower() == "basic":
                secrets.extend(_basic_parts(credential))
    if "@" not in url and "?" not in url:
        return tuple(sorted(set(secrets)))  # no userinfo, no query: nothing more to split
    try:
        parts = urlsplit(url)
        for userinfo in (parts.username, parts.password):
            if userinfo:
                secrets += (userinfo, unquote(userinfo))
        for pair in parts.query.split("&"):
            name, _, value = pair.partition("=")
            if value and is_credential_query_name(unquote(name.replace("+", " "))):
                secrets += (value, unquote(value.replace("+", " ")), unquote(value))
    except ValueError:
        pass
    return tuple(sorted(set(secrets)))


def _basic_parts(credential: str) -> list[str]:
    """The user and password of a `Basic` credential, as a server may echo them decoded."""
    if len(credential) > 4096:
        return []
    try:
        decoded = base64.b64decode(credential, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return []
    user, _, password = decoded.partition(":")
    return [decoded, user, password]


@functools.lru_cache(maxsize=64)
def redactor_for(secrets: tuple[str, ...]) -> Redactor:
    """A (cached) redactor for `secrets`: most requests carry the same few credentials."""
    return Redactor(secrets)
