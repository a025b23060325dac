"""Keep credentials out of every message, repr, log record, stored record and CLI output.

The model, in three parts (docs/safety.md lists the same):

1. **What is a secret.** A request's credentials: the value of every header and query
   parameter whose *name* says it is one, by the declared table `CREDENTIAL_NAMES` (each row
   with the names it catches and the look-alikes it must not); each cookie value; the
   credential after an `Authorization` scheme and its parameters; the user and password of
   `Basic` and of the URL's userinfo; every header a hook added to a replay, whatever its
   name. The same table says which of them name the *account* (the billing scope digests
   those) and which change with every request (signatures, proofs, one-time passwords).
   Values shorter than 8 characters are never secrets, so ordinary words survive.
2. **Where it is looked for.** Every text that came from the network passes through a
   `Redactor` before it is stored or shown: a field (`shown_text` in `_untrusted`, which
   bounds, scrubs, then cuts), a payload kept with a known gate (`scrub_payload`), a
   settlement's reason, a log record's traceback (`scrubbed_traceback`).
3. **How it is found.** In any encoding a server may quote it in: escapes (percent, `%uXXXX`,
   JSON and JavaScript, `\\n` and the other control escapes among them, HTML references) are
   undone in a view of the text that remembers where each character came from
   (`_Unescaped`); base64 (any offset, either alphabet) and hex are *forms* of each secret
   (`_encoded_forms`). And in *pieces*: any run of at least `n` consecutive characters of a
   secret or of one of its forms is scrubbed wherever it stands, compared with ASCII case
   folded (fullwidth letters and digits as ASCII) and ignoring separators between any two
   characters (`_SEPARATOR_RANGES`, Unicode properties from `_unicode_data`): visible ones
   (every punctuation, symbol and space character: `-`, `·`, `−`, `。`, `•`, a line break)
   and invisible ones (every control, NUL among them, every format character and every
   default-ignorable code point: the soft hyphen, U+200B-U+200F, variation selectors, the
   Hangul fillers). So a server that shortens the key (`Zm9vYmFyYmF6cXV4…`), lower-cases it,
   writes it in groups of four apart by any sign, dumps it in hex with colons, wraps its
   base64 every 76 characters, puts soft hyphens or variation selectors between its groups
   or answers in UTF-16 (read as UTF-8, a NUL by each character) shows none of it.
   `n` grows with the form: 8 characters up to 26, a third of its length beyond, at most 12
   (`run_length`); a run shorter than that (`sk-`, the 4 characters a dashboard shows)
   stays readable.

Text is scrubbed first and cut after; a cut that lands inside a secret leaves no piece of
it (`Redactor.bounded`). Matching is substring search (and a seed-and-extend search for
runs, from 4-character anchors of each secret), so a new key per request costs no regular
expression compile.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import html.entities
import json
import re
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import attrs

from . import _unicode_data
from ._path_keys import account_key, key_segments, looks_like_key, segments_of

__all__ = [
    "CREDENTIAL_NAMES",
    "HOOK_HEADERS_EXTENSION",
    "REDACTED",
    "CredentialName",
    "Redactor",
    "RequestBody",
    "body_secrets",
    "collect_secrets",
    "cookie_values",
    "credential_free_url",
    "credential_kind",
    "credential_view",
    "is_credential_query_name",
    "is_payment_proof_header",
    "is_sensitive_header",
    "name_parts",
    "redactor_for",
    "redactor_of",
    "request_body",
    "request_secrets",
    "run_length",
    "safe_url_for_display",
    "scrub_payload",
    "scrubbed_traceback",
]

REDACTED = "[redacted]"
#: `request.extensions` key: the names of the headers a hook added to a replay.
HOOK_HEADERS_EXTENSION = "http402.hook_headers"

_HEADER, _QUERY = ("header",), ("query",)
_BOTH = ("header", "query")


@attrs.frozen
class CredentialName:
    """One way a header's or a query parameter's name says that its value is a credential.

    Attributes:
        words: What the lower-cased name is matched against.
        match: `"within"`: anywhere in the name; `"part"`: one of the name's parts (split at
            anything but letters and digits, and at camelCase: `apiKey` is `api`, `key`);
            `"ending"`: the end of a part (`appkey`, `authtoken`); `"prefix"`: the start of
            the name; `"name"`: the whole name (a word too common inside other names to be
            matched as a part: `code`, not `zip_code`).
        places: `"header"`, `"query"` or both.
        per_request: The value changes with each request (a signature, a payment proof, a
            one-time password): a secret all the same, but it names no account, so the
            default billing scope leaves it out.
        examples: Names this row makes credentials (`tests/test_secrets.py` checks each).
        look_alikes: Names that resemble them and are not credentials (checked too).
        source: Where the names come from.
    """

    words: tuple[str, ...]
    match: str
    places: tuple[str, ...]
    per_request: bool = False
    examples: tuple[str, ...] = ()
    look_alikes: tuple[str, ...] = ()
    source: str = ""


#: What makes a name a credential's. A name is one when any row matches it; it is a
#: per-request credential when a matching row says so, or when it holds one of
#: `PER_REQUEST_WORDS` (`Idempotency-Key`, `csrf_token`).
CREDENTIAL_NAMES: tuple[CredentialName, ...] = (
    CredentialName(
        ("auth",),
        "within",
        _HEADER,
        examples=("Authorization", "Proxy-Authorization", "X-Auth-Token", "X-Goog-AuthUser"),
        look_alikes=("Accept", "X-Request-Id"),
        source="RFC 9110 (Authorization, Proxy-Authorization); vendor X-Auth-* headers",
    ),
    CredentialName(
        ("cookie", "session"),
        "within",
        _HEADER,
        examples=("Cookie", "Set-Cookie", "X-Session-Id", "X-Session-Token"),
        look_alikes=("Cache-Control", "Connection"),
        source="RFC 6265; session ids in headers",
    ),
    CredentialName(
        ("api-key", "apikey", "api_key", "token", "secret", "credential", "jwt"),
        "within",
        _HEADER,
        examples=(
            "X-Api-Key",
            "X-ApiKey",
            "X-ELS-APIKey",
            "X-MBX-APIKEY",
            "xi-api-key",
            "X-Amz-Security-Token",
            "X-Client-Secret",
            "X-JWT-Assertion",
        ),
        look_alikes=("X-Api-Version", "X-Ratelimit-Remaining"),
        source="Elsevier, Binance, ElevenLabs, AWS, OAuth client credentials",
    ),
    CredentialName(
        ("password", "passwd", "passphrase", "passcode"),
        "within",
        _BOTH,
        examples=(
            "X-Password",
            "CB-ACCESS-PASSPHRASE",
            "OK-ACCESS-PASSPHRASE",
            "KC-API-PASSPHRASE",
            "passphrase",
            "db_password",
            "X-Passcode",
            "passcode",
        ),
        look_alikes=("X-Bypass-Cache", "X-Passthrough", "passage", "X-Passenger-Count"),
        source="Coinbase Exchange, OKX and KuCoin API docs (case 46); passcodes",
    ),
    CredentialName(
        ("pwd", "pass"),
        "part",
        _BOTH,
        examples=("X-Pwd", "X-Api-Pass", "pwd", "pass", "userPass"),
        look_alikes=("X-Bypass", "compass", "passenger_count"),
        source="query strings of home-grown APIs (?pass=, ?pwd=)",
    ),
    CredentialName(
        ("macaroon", "preimage", "proof"),
        "within",
        _HEADER,
        examples=("X-Macaroon", "X-Preimage", "X-Proof"),
        look_alikes=("X-Proxy-Id",),
        source="L402 (macaroon and preimage), payment proofs under protocol names",
    ),
    # A payment request's method names the header its proof is replayed in: Blossom's and
    # Cashu's `X-Cashu: cashuB...` (ecash, a bearer token), `X-Lightning: <preimage>`.
    CredentialName(
        ("cashu", "lightning"),
        "within",
        _HEADER,
        per_request=True,
        examples=("X-Cashu", "X-Lightning"),
        look_alikes=("X-Lighting-Mode", "X-Cache"),
        source="hzrd149/blossom buds/07.md (the proof in the same X-{payment_method} header); "
        "cashubtc/nuts 24.md",
    ),
    CredentialName(
        ("key",),
        "ending",
        _BOTH,
        examples=(
            "X-Goog-Api-Key",
            "Ocp-Apim-Subscription-Key",
            "X-RapidAPI-Key",
            "CB-ACCESS-KEY",
            "OK-ACCESS-KEY",
            "X-Private-Key",
            "key",
            "appkey",
            "apiKey",
            "accessKey",
        ),
        look_alikes=("Keep-Alive", "X-Keyword", "keyword", "keys", "X-Keys-Count"),
        source="Google, Azure APIM, RapidAPI, Coinbase, OKX",
    ),
    CredentialName(
        ("token", "secret", "password", "passphrase"),
        "ending",
        _QUERY,
        examples=("access_token", "authToken", "client_secret", "clientsecret", "userPassword"),
        look_alikes=("max_tokens", "tokenizer", "secretary"),
        source="OAuth 2.0 (RFC 6749, RFC 6750 access_token)",
    ),
    CredentialName(
        (
            "apikey",
            "session",
            "sessionid",
            "sid",
            "jwt",
            "auth",
            "authorization",
            "authentication",
            "creds",
            "access",
            "bearer",
            "credential",
            "credentials",
            "private",
        ),
        "part",
        _QUERY,
        examples=(
            "apikey",
            "session",
            "sessionid",
            "sid",
            "jwt",
            "auth",
            "access",
            "bearer",
            "authentication",
            "creds",
        ),
        look_alikes=(
            "author",
            "accessibility",
            "side",
            "page",
            "model",
            "q",
            "limit",
            "format",
            "authenticated",
            "credit",
        ),
        source="query credentials of public APIs (?auth=, ?access=, ?sid=); a body's "
        '{"authentication": {...}} (case 192)',
    ),
    # Vendors' own query names for a key, each a word that means something else inside a
    # longer name (`zip_code`, `pattern`): only the whole name counts.
    CredentialName(
        ("code", "ak", "pat", "appid"),
        "name",
        _QUERY,
        examples=("code", "ak", "AK", "pat", "appid"),
        look_alikes=("zip_code", "country_code", "promo_code", "pattern", "path", "app_id", "oak"),
        source="Azure Functions' function key (?code=<API_KEY>, Microsoft Learn: 'Azure Functions "
        "HTTP trigger', API key authorization; also OAuth 2.0's authorization code, RFC 6749 "
        "4.1.2); Baidu Maps' access key (?ak=, lbsyun.baidu.com Web API docs); OpenWeatherMap's "
        "key (?appid=, openweathermap.org/current); a personal access token as ?pat= (case 140)",
    ),
    CredentialName(
        ("sig", "sign", "signature", "hmac"),
        "part",
        _BOTH,
        per_request=True,
        examples=(
            "OK-ACCESS-SIGN",
            "CB-ACCESS-SIGN",
            "KC-API-SIGN",
            "X-BAPI-SIGN",
            "sig",
            "X-Amz-Signature",
            "hmac",
        ),
        look_alikes=("X-Signed-Headers", "X-Design-Id", "signal", "signup"),
        source="exchange request signing (OKX, Coinbase, KuCoin, Bybit); AWS SigV4 query",
    ),
    CredentialName(
        ("signature",),
        "within",
        _HEADER,
        per_request=True,
        examples=("X-Hub-Signature", "X-Signature", "X-MBX-Signature"),
        look_alikes=("X-Signed-Headers",),
        source="webhook and request signatures",
    ),
    CredentialName(
        ("otp", "totp"),
        "part",
        _BOTH,
        per_request=True,
        examples=("X-OTP", "X-TOTP", "otp", "totpCode"),
        look_alikes=("X-Option", "opt_out", "optional"),
        source="one-time passwords (RFC 6238) sent as a second factor",
    ),
    CredentialName(
        ("dpop",),
        "within",
        _HEADER,
        per_request=True,
        examples=("DPoP", "X-DPoP-Proof"),
        look_alikes=("X-Drop-Id", "X-Dpi"),
        source="OAuth 2.0 DPoP (RFC 9449): a signed proof JWT with every request",
    ),
    CredentialName(
        ("assertion",),
        "part",
        _QUERY,
        per_request=True,
        examples=("client_assertion", "assertion", "clientAssertion"),
        look_alikes=("assertions_count", "asserted"),
        source="OAuth 2.0 JWT client authentication (RFC 7523): a signed JWT, new each time",
    ),
    CredentialName(
        ("x-payment", "payment-"),
        "prefix",
        _HEADER,
        per_request=True,
        examples=(
            "X-PAYMENT",
            "PAYMENT-SIGNATURE",
            "Payment-Authorization",
            "X-Payment-Proof",
            "Payment-Receipt-Token",
        ),
        look_alikes=("X-Paywall",),
        source="x402 v1 (X-PAYMENT) and v2 (PAYMENT-SIGNATURE); the Payment auth scheme",
    ),
)
#: A credential whose name holds one of these changes with every request: it names no
#: account. A nonce, a timestamp or a request id on its own is not a credential at all.
PER_REQUEST_WORDS = ("signature", "nonce", "timestamp", "idempotency", "csrf", "xsrf")
#: Whole names (lower case) of the values an API that signs each call puts beside its
#: signature, or a client beside each send, under names that say nothing of it: Youdao's
#: and Baidu's translation APIs (`salt`, `curtime`), AWS and Google presigned URLs
#: (`X-Amz-Date`, `X-Amz-Expires`, `X-Goog-Date`, `Expires`), a cache buster (`_=<ms>`), a
#: request id (case 163). They name no account and change with every send.
PER_REQUEST_NAMES = frozenset(
    {
        "salt",
        "curtime",
        "x-amz-date",
        "x-amz-expires",
        "x-goog-date",
        "x-goog-expires",
        "expires",
        "_",
        "requestid",
        "request_id",
        "request-id",
        "reqid",
        "req_id",
    }
)
#: Names that are not credentials, though some look near one (a test checks each).
NOT_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "header": (
        "Content-Length",
        "Content-Type",
        "X-Request-Id",
        "User-Agent",
        "Host",
        "Access-Control-Request-Headers",
        "CB-ACCESS-TIMESTAMP",
        "OK-ACCESS-TIMESTAMP",
        "X-Nonce",
    ),
    "query": ("page", "model", "q", "keyword", "limit", "format", "nonce", "timestamp", "cursor"),
}
_NAME_PARTS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Payment proofs a hook may send under a name of its protocol's (`X-Payment-Proof`).
_PAYMENT_PREFIXES = ("x-payment", "payment-")
# Shorter values would scrub ordinary words out of messages; real credentials are longer.
_MIN_SECRET_LENGTH = 8
# A path segment longer than this is not a key: it is elided when shown, not searched for.
_MAX_PATH_SECRET = 512
# A secret longer than this (in UTF-8) is searched as sent only, not in base64 or hex.
_MAX_ENCODED = 4096
# At a cut, a trailing piece this long of a secret's start is scrubbed too.
_MIN_PIECE = 4
# Runs: the shortest run any secret asks for, and the longest; the anchors that find them
# (4 characters of a secret at regular steps, so that any run holds one whole), and the
# step at which a text is sampled for a long secret's (any run of `_MIN_RUN` holds one).
_MIN_RUN, _MAX_RUN = 8, 12
_ANCHOR = 4
_STEP = _MIN_RUN - _ANCHOR + 1
# A secret with more anchors than this (a JWT, a payment proof) is found by sampling the
# text every `_STEP` characters instead: the cost then follows the text, not the secret.
_MAX_ANCHORS = 16
# Separators: ignored between any two characters of a match, in every form of a secret
# (as sent, percent-decoded, base64 in either alphabet, hex), as it stands and once escapes
# are undone. They are what Unicode's own data says a reader skips, or reads as a break
# between groups: properties, not a list of characters (`_unicode_data`, written from the
# Unicode Character Database by scripts/unicode_separators.py; a test checks it against
# `unicodedata` and the `regex` package's tables).
# - Visible ones set groups apart: how a server groups a key or a dump (`sk-1234 5678`,
#   `73:6b`, a MIME line break, `sk·live·9f8e`, `sk−live`) and what a form decoder makes of
#   `+`. Every punctuation (P*), symbol (S*) and separator (Z*) character, and White_Space
#   (tab, line feed... U+0085): any look-alike of `-`, `.` or `/` (U+2212 minus, U+2024,
#   U+3002, U+2044) and any dot, bullet or sign between groups, blanks that are symbols
#   (the braille blank U+2800) among them.
# - Invisible ones render as nothing, so a key interleaved with them reads whole: every
#   control (Cc: NUL, so a UTF-16 or UTF-32 body decoded as UTF-8 reads as its text), every
#   format character (Cf: the soft hyphen, U+200B-U+200F, the bidirectional controls), every
#   surrogate (Cs: half of an escaped UTF-16 pair left alone) and
#   every Default_Ignorable_Code_Point (the combining grapheme joiner U+034F, variation
#   selectors, the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, tags).
# Letters, digits and marks (but the default-ignorable ones) are never separators.
_VISIBLE_CATEGORIES: tuple[str, ...] = ("Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf")
_VISIBLE_CATEGORIES += ("Po", "Sm", "Sc", "Sk", "So")
_INVISIBLE_CATEGORIES = ("Cc", "Cf")
_FULLWIDTH = 0xFEE0  # U+FF01-U+FF5E are U+0021-U+007E, wide


def _code_points(listed: str) -> tuple[tuple[int, int], ...]:
    """The ranges `listed` as Unicode's data files write them (`2000-200A 2028`)."""
    return tuple(
        (int(first, 16), int(last or first, 16))
        for first, _, last in (word.partition("-") for word in listed.split())
    )


def _joined(*listed: str) -> tuple[tuple[int, int], ...]:
    """The ranges of all of `listed`, sorted, adjacent and overlapping ones joined."""
    spans = sorted(span for text in listed for span in _code_points(text))
    joined: list[tuple[int, int]] = []
    for first, last in spans:
        if joined and first <= joined[-1][1] + 1:
            joined[-1] = (joined[-1][0], max(last, joined[-1][1]))
        else:
            joined.append((first, last))
    return tuple(joined)


_VISIBLE_RANGES = _joined(
    *(_unicode_data.GENERAL_CATEGORIES[name] for name in _VISIBLE_CATEGORIES),
    _unicode_data.WHITE_SPACE,
)
#: The surrogates (Cs), the halves of a UTF-16 pair: an escape of an astral character as a
#: pair (`\ud83d\udd11`, `%uD83D%uDD11`) is undone as that character, but a half left alone
#: (a pair cut, or its halves in two kinds of escape) shows as nothing, or as one sign.
_SURROGATES = "D800-DFFF"
_SEPARATOR_RANGES = _joined(
    *(_unicode_data.GENERAL_CATEGORIES[name] for name in _INVISIBLE_CATEGORIES),
    _SURROGATES,
    _unicode_data.DEFAULT_IGNORABLE,
    " ".join(f"{a:04X}-{b:04X}" for a, b in _VISIBLE_RANGES),
)


def _char_class(ranges: Iterable[tuple[int, int]]) -> str:
    """A pattern of one character of `ranges`: the Basic Multilingual Plane's in one set
    (a table lookup) and the rest in another, tried only past U+FFFF (one set of both would
    compare every character with each of the astral ranges in turn)."""

    def one_set(spans: Iterable[tuple[int, int]]) -> str:
        escaped = (re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in spans)
        return "[" + "".join(escaped) + "]"

    ranges = tuple(ranges)
    basic = [(a, min(b, 0xFFFF)) for a, b in ranges if a <= 0xFFFF]
    astral = [(max(a, 0x10000), b) for a, b in ranges if b > 0xFFFF]
    if not astral:
        return one_set(basic)
    return f"(?:{one_set(basic)}|(?=[\U00010000-\U0010ffff]){one_set(astral)})"


@functools.cache
def _separator_runs() -> re.Pattern[str]:
    """Runs of separators (compiled when a run of a secret is first found: it is big)."""
    return re.compile(_char_class(_SEPARATOR_RANGES) + "+")


@functools.cache
def _basic_separator_runs() -> re.Pattern[str]:
    """Runs of the separators of the Basic Multilingual Plane, for a text with no other
    characters: one table lookup a character."""
    basic = [(a, min(b, 0xFFFF)) for a, b in _SEPARATOR_RANGES if a <= 0xFFFF]
    return re.compile(_char_class(basic) + "+")


@functools.cache
def _visible_separators() -> re.Pattern[str]:
    """Runs of visible separators."""
    return re.compile(_char_class(_VISIBLE_RANGES) + "+")


def separator_set() -> frozenset[str]:
    """Every separator, as characters (for tests and tools: matching uses the ranges)."""
    return frozenset(chr(c) for a, b in _SEPARATOR_RANGES for c in range(a, b + 1))


_ASCII_LOWER = bytes.maketrans(bytes(range(65, 91)), bytes(range(97, 123)))
_ASCII_SEPARATORS = bytes(
    c for a, b in _SEPARATOR_RANGES if a < 0x80 for c in range(a, min(b, 0x7F) + 1)
)


_ASCII_MARK = bytes(0 if c in _ASCII_SEPARATORS else c for c in range(256))
_NUL_RUNS = re.compile("\x00+")


@functools.cache
def _mark_table() -> dict[int, int]:
    return {c: 0 for a, b in _SEPARATOR_RANGES for c in range(a, b + 1)}


def _separator_spans(text: str) -> Iterator[re.Match[str]]:
    """The runs of separators in `text`: by a pattern where each character of the text is a
    table lookup (ASCII, or the Basic Multilingual Plane: a UTF-16 code unit each), else
    by `_marked`'s table, not a pattern that tries the astral ranges one by one."""
    if text.isascii() or len(text.encode("utf-16-le", "surrogatepass")) == 2 * len(text):
        return _basic_separator_runs().finditer(text)
    return _NUL_RUNS.finditer(_marked(text))


def _marked(text: str) -> str:
    """`text` with each separator a NUL (itself one): where `_fold` drops characters,
    found by a table, not by a pattern of the separators (whose astral ranges a pattern
    tries one by one)."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_MARK).decode("ascii")
    return text.translate(_mark_table())


@functools.cache
def _fold_table() -> dict[int, int | None]:
    """`_fold`'s table for a text that is not ASCII: ASCII letters lower-cased, fullwidth
    letters and digits as ASCII ones, separators dropped (built when first needed)."""
    table: dict[int, int | None] = {c: c + 32 for c in range(65, 91)}
    for c in (*range(0x30, 0x3A), *range(0x41, 0x5B), *range(0x61, 0x7B)):
        table[c + _FULLWIDTH] = c + 32 if 0x41 <= c <= 0x5A else c
    table.update((c, None) for a, b in _SEPARATOR_RANGES for c in range(a, b + 1))
    return table


_ELLIPSIS = "…"
_AUTH_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9_-]*)\s+(\S.*)$")
_AUTH_PARAM_VALUE = re.compile(r"[=:]\s*\"?([^\s\",;]+)")
# Credential shapes a server may echo even when it is not the caller's (another key, a proof).
_KEY_SHAPES = re.compile(
    r"\b(?:sk|pk|rk)[-_](?:live|test|proj|ant|or)?[-_]?[A-Za-z0-9_\-]{16,}"
    r"|\b(?:Bearer|Basic|L402|LSAT|Payment)\s+[A-Za-z0-9._~+/=:\-]{16,}",
)


# One escape of any kind a server may quote a secret in: a percent-encoded character (the
# bytes of one UTF-8 sequence: `%C2%AD` is a soft hyphen), byte or a `%uXXXX` (JavaScript's
# `escape`), a JSON, JavaScript or Python escape (Python's bytes write one UTF-8 sequence as
# `\xf3\xa0\x80\xa0`), an HTML character reference (named, decimal or hex, `;` optional).
# An astral character escaped as a UTF-16 pair, two escapes (JSON's `\ud83d\udd11`,
# `escape()`'s `%uD83D%uDD11`), is joined into that character (`_Unescaped.of`).
_ESCAPE = re.compile(
    r"%[CDcd][0-9A-Fa-f](?:%[89ABab][0-9A-Fa-f])"
    r"|%[Ee][0-9A-Fa-f](?:%[89ABab][0-9A-Fa-f]){2}"
    r"|%[Ff][0-4](?:%[89ABab][0-9A-Fa-f]){3}"
    r"|%[0-9A-Fa-f]{2}|%[uU][0-9A-Fa-f]{4}"
    r"|\\x[CDcd][0-9A-Fa-f]\\x[89ABab][0-9A-Fa-f]"
    r"|\\x[Ee][0-9A-Fa-f](?:\\x[89ABab][0-9A-Fa-f]){2}"
    r"|\\x[Ff][0-4](?:\\x[89ABab][0-9A-Fa-f]){3}"
    r"|\\u[0-9A-Fa-f]{4}|\\u\{[0-9A-Fa-f]{1,6}\}|\\U[0-9A-Fa-f]{8}|\\x[0-9A-Fa-f]{2}"
    r"|\\[/\\\"'+=bfnrt]"
    r"|&#[0-9]{1,7};?|&#[xX][0-9A-Fa-f]{1,6};?|&[A-Za-z][A-Za-z0-9]{1,31};?"
)
# A cut text may end inside an escape: that unfinished escape is dropped before looking for
# the start of a secret at the cut.
_PARTIAL_ESCAPE = re.compile(
    r"(?:%(?:[uU][0-9A-Fa-f]{0,3}|[0-9A-Fa-f])?"
    r"|\\(?:[uU]\{?[0-9A-Fa-f]{0,7}|x[0-9A-Fa-f]?)?|&#?[xX]?[0-9A-Za-z]{0,31})$"
)
# JSON's (and JavaScript's) escapes of controls: a line break inside an echo is a separator.
_CONTROL_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
#: Escapes inside escapes (`%252B`) are undone this many times at most.
_MAX_UNESCAPE_DEPTH = 3


@functools.lru_cache(maxsize=2048)
def name_parts(name: str) -> list[str]:
    """The parts of a header's, a query parameter's or a field's name, lower case: split at
    anything but letters and digits, and at camelCase (`apiKey` is `api`, `key`)."""
    return _NAME_PARTS.split(_CAMEL.sub("-", name).lower())


def credential_kind(name: str, place: str = "header") -> str | None:
    """What the value of a header (`place="header"`) or query parameter (`"query"`) named
    `name` is, by `CREDENTIAL_NAMES`: `"account"` (a credential that names the account),
    `"per_request"` (a credential that changes with each request) or `None` (none)."""
    lowered = name.lower()
    parts = name_parts(name)
    kind = None
    for row in CREDENTIAL_NAMES:
        if place in row.places and _matches(row, lowered, parts):
            if row.per_request:
                return "per_request"
            kind = "account"
    if kind is not None and any(word in lowered for word in PER_REQUEST_WORDS):
        return "per_request"
    return kind


def changes_per_request(name: str, place: str = "header") -> bool:
    """Whether the value of a header (`place="header"`) or query parameter (`"query"`) named
    `name` changes with every request of one account: a per-request credential (a proof, a
    signature, an idempotency key, a one-time password), or a name that holds one of
    `PER_REQUEST_WORDS` (a `timestamp`, a `nonce`, credential or not), or is one of
    `PER_REQUEST_NAMES` (`salt`, `X-Amz-Date`, `_`). The one definition of
    what names no account and no need: the billing scope leaves such values out, and so does
    what a request asks for (`_replay.request_target`: hold keys, a top-up's need, an SDK
    call), so that a call signed anew on every send is one call."""
    lowered = name.lower()
    if lowered in PER_REQUEST_NAMES or any(word in lowered for word in PER_REQUEST_WORDS):
        return True
    return credential_kind(name, place) == "per_request"


def _matches(row: CredentialName, lowered: str, parts: list[str]) -> bool:
    if row.match == "within":
        return any(word in lowered for word in row.words)
    if row.match == "prefix":
        return lowered.startswith(row.words)
    if row.match == "part":
        return any(part in row.words for part in parts)
    if row.match == "name":
        return lowered in row.words
    return any(part.endswith(row.words) for part in parts)


def is_sensitive_header(name: str) -> bool:
    """`True` for a header whose value is a credential or a payment proof."""
    return credential_kind(name, "header") is not None


def is_credential_query_name(name: str) -> bool:
    """`True` for a query parameter whose value is a credential (`key`, `apiKey`, `sig`...)."""
    return credential_kind(name, "query") is not None


def is_payment_proof_header(name: str) -> bool:
    """`True` for a header that carries a payment proof, which is new on every request."""
    return name.lower().startswith(_PAYMENT_PREFIXES)


def run_length(length: int) -> int:
    """The shortest run of a secret of `length` characters (folded: lower case, no
    separators) that is scrubbed: 8 up to 26 characters, then a third of the length, at
    most 12. Shorter pieces (a key's `sk-`, the last 4 characters a dashboard shows) stay."""
    return min(_MAX_RUN, max(_MIN_RUN, length // 3), length)


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


def _fold(text: str) -> str:
    """`text` with ASCII letters lower-cased and separators dropped."""
    if text.isascii():
        return text.encode("ascii").translate(_ASCII_LOWER, _ASCII_SEPARATORS).decode("ascii")
    return text.translate(_fold_table())


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
    """`url` without userinfo, with credential query values replaced, and with each path
    segment that holds a key (`/v2/<key>`: `_path_keys`) replaced."""
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
    return urlunsplit((parts.scheme, netloc, _shown_path(host, parts.path), query, ""))


def credential_free_url(url: str) -> str:
    """`url` without the credentials a request carries in it (those `collect_secrets` finds
    there): its userinfo, the value of each credential query parameter, and the key in its
    path where keys are put (`account_key`); everything else as sent. What a request asks
    for, as a digest that anyone may read keys it (a hold's key in a fleet's store): a URL
    that carries none is returned unchanged, so such a key stays as it was."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return REDACTED
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path
    if len(path) > _MIN_SECRET_LENGTH:
        segments = segments_of(path)
        at = account_key(host, segments)
        if at is not None:
            path = "/" + "/".join(REDACTED if i == at else s for i, s in enumerate(segments))
    query = parts.query
    if query:
        query = "&".join(
            f"{name}={REDACTED}"
            if equals and is_credential_query_name(unquote(name.replace("+", " ")))
            else pair
            for pair in query.split("&")
            for name, equals, _ in (pair.partition("="),)
        )
    if netloc == parts.netloc and path == parts.path and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def _shown_path(host: str, path: str) -> str:
    """`path` with each segment that holds a key replaced (a short path has none)."""
    if len(path) <= _MIN_SECRET_LENGTH:
        return path
    segments = segments_of(path)
    keys = key_segments(host, segments)
    if not keys:
        return path
    shown = (REDACTED if at in keys else segment for at, segment in enumerate(segments))
    return "/" + "/".join(shown)


def _shown_query_pair(pair: str) -> str:
    """`pair` as sent, or with its value replaced: a credential's by its name, and any value
    shaped like a key by the test a path segment is elided by (`looks_like_key`: a vendor's
    name the table does not know, `?token_v2=`, still hides its key)."""
    name, equals, value = pair.partition("=")
    if equals and (
        is_credential_query_name(unquote(name.replace("+", " "))) or looks_like_key(value)
    ):
        return f"{name}={REDACTED}"
    return pair


class Redactor:
    """Scrubs a known set of secret values, and credential-shaped tokens, from text.

    Secrets are found by substring search: building one for a new key costs a sort and an
    index of its 4-character pieces, not a regular expression compile.
    """

    __slots__ = ("_anchors", "_atoms", "_grams", "_heads", "_secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        given = sorted({s for s in secrets if len(s) >= _MIN_SECRET_LENGTH}, key=len)
        # `Bearer <key>` needs no encoded forms of its own beside `<key>`'s: those, at every
        # offset, are inside its own, and the scheme in front of the key is no secret.
        encoded = [s for s in given if not any(_is_scheme_of(s, t) for t in given)]
        forms = {s: _encoded_forms(s) for s in encoded}
        self._secrets = tuple(
            sorted(
                {*given, *(v for s in encoded for v in _variants(s, forms[s]))},
                key=len,
                reverse=True,
            )
        )
        #: The shortest start of each secret that `bounded` scrubs: a text with none of them
        #: (and no escape, and no run) holds no secret and ends in no piece of one.
        self._heads = tuple({s[:_MIN_PIECE] for s in self._secrets})
        # Runs are looked for in the same secrets (the key, not `Bearer <key>`), as sent,
        # percent-decoded and in each encoded form, folded (base64's two alphabets and hex's
        # two cases fold alike). A secret that is mostly another (`session=<key>; theme=dark`)
        # has no runs of its own: what is secret in it is the other's, whose runs are looked
        # for, and the rest is names, which a run of the whole would take from the text
        # around an echo, the separators between them ignored ("Invalid session <key>").
        atoms: dict[str, None] = {}
        for secret in encoded:
            if any(2 * len(t) >= len(secret) and t != secret and t in secret for t in given):
                continue
            sent = (secret, unquote(secret)) if "%" in secret else (secret,)
            for form in (*sent, *forms[secret]):
                folded = _fold(form)
                if len(folded) >= _MIN_SECRET_LENGTH:
                    atoms[folded] = None
        self._atoms = tuple(atoms)
        #: The pieces of each atom every `run_length - _ANCHOR + 1` characters, and where
        #: they stand (`(atom, offset)`): any run of the atom's length holds one whole. A
        #: long atom's are all in `_grams`.
        self._anchors: dict[str, list[tuple[int, int]]] = {}
        self._grams: dict[str, list[tuple[int, int]]] = {}
        for index, atom in enumerate(self._atoms):
            step = run_length(len(atom)) - _ANCHOR + 1
            starts = range(0, len(atom) - _ANCHOR + 1, step)
            if len(starts) > _MAX_ANCHORS:
                starts = range(len(atom) - _ANCHOR + 1)
                pieces = self._grams
            else:
                pieces = self._anchors
            for at in starts:
                pieces.setdefault(atom[at : at + _ANCHOR], []).append((index, at))

    def __call__(self, text: str) -> str:
        return self._scrubbed(text)

    def _scrubbed(self, text: str, folded: str | None = None) -> str:
        """`text` scrubbed; `folded`, when given, is `_fold(text)` (a text that is not ASCII
        costs a table lookup a character to fold: `bounded` folds it once)."""
        spans = self._spans(text, folded)
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
        folded = None
        if (
            len(text) <= limit
            and not text.endswith(_ELLIPSIS)
            and not _may_hold_key_shape(text)
            and not (self._secrets and _may_escape(text))
            and not (self._atoms and self._may_run(folded := _fold(text)))  # none: no fold
        ):
            for head in self._heads:
                if head in text:
                    break
            else:
                return text  # the usual case: nothing to scrub, nothing to cut
        text = self._scrubbed(text, folded)
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

    def _spans(self, text: str, folded: str | None = None) -> list[tuple[int, int]]:
        """The merged spans of `text` to replace, in order: each secret as it stands in the
        text, each run of one, and the same once the text's escapes are undone (mapped
        back)."""
        spans = self._plain_spans(text)
        spans += self._run_spans(text, folded)
        if self._secrets and _may_escape(text):
            views: list[_Unescaped] = []
            view = text
            for _ in range(_MAX_UNESCAPE_DEPTH):
                unescaped = _Unescaped.of(view)
                if unescaped is None:
                    break
                views.append(unescaped)
                found = self._plain_spans(unescaped.text) + self._run_spans(unescaped.text)
                for start, stop in found:
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

    def _may_run(self, folded: str) -> bool:
        """`False` when the folded text holds no run of any atom (it may hold one
        otherwise): no anchor of a short atom, no sample of the text in a long one's."""
        if not self._atoms or len(folded) < _MIN_RUN:
            return False
        for anchor in self._anchors:
            if anchor in folded:
                return True
        return bool(self._grams) and not self._grams.keys().isdisjoint(_samples(folded))

    def _run_spans(self, text: str, folded_text: str | None = None) -> list[tuple[int, int]]:
        """The spans of `text` that hold a run of an atom at least `run_length` long,
        compared folded. Each run holds an anchor of its atom (found wherever it stands)
        or, for a long atom, a sample of the text (every `_STEP` characters) that is one
        of its pieces: each is extended both ways as far as text and atom agree."""
        folded = _Folded(text, folded_text)
        seen = folded.text
        if not self._may_run(seen):
            return []
        found: list[tuple[int, list[tuple[int, int]]]] = []
        for anchor, places in self._anchors.items():
            at = seen.find(anchor)
            while at != -1:
                found.append((at, places))
                at = seen.find(anchor, at + 1)
        if self._grams:
            for at, sample in enumerate(_samples(seen)):
                if sample in self._grams:
                    found.append((at * _STEP, self._grams[sample]))
        spans = []
        reached: dict[tuple[int, int], tuple[int, int]] = {}  # (atom, alignment): its run
        for at, places in found:
            for index, offset in places:
                known = reached.get((index, at - offset))
                if known is not None and known[0] <= at < known[1]:
                    continue  # inside a run already found
                atom = self._atoms[index]
                before = _agreed_before(seen, at, atom, offset)
                after = _agreed_after(seen, at + _ANCHOR, atom, offset + _ANCHOR)
                start, stop = at - before, at + _ANCHOR + after
                reached[(index, at - offset)] = (start, stop)
                least = run_length(len(atom))
                if stop - start >= least:
                    start, stop = folded.origin(start, stop)
                    whole_start = before == offset
                    whole_stop = offset + _ANCHOR + after == len(atom)
                    spans.append(
                        _trimmed(
                            text, start, stop, least, whole_start=whole_start, whole_stop=whole_stop
                        )
                    )
        return spans

    def _trailing_piece(self, text: str, shortest: int) -> int:
        """The length of the longest end of `text` that starts one of the secrets, as it
        stands or folded, or once its escapes are undone (an unfinished escape at the end
        counts too)."""
        longest = self._piece(text, shortest)
        if self._secrets and _may_escape(text):
            partial = _PARTIAL_ESCAPE.search(text)
            cut = text[: partial.start()] if partial is not None and partial.group() else text
            unescaped = _Unescaped.of(cut)
            if unescaped is not None:
                piece = self._piece(unescaped.text, shortest)
                if piece:
                    start, _ = unescaped.origin(len(unescaped.text) - piece, len(unescaped.text))
                    longest = max(longest, len(text) - start)
            if partial is not None and partial.group() and cut != text:
                # The unfinished escape continues a piece of a secret before it; alone it is
                # no piece (counting it trimmed a text of escapes one character per pass).
                before = self._piece(cut, shortest)
                if before:
                    longest = max(longest, before + len(text) - len(cut))
        return longest

    def _piece(self, text: str, shortest: int) -> int:
        longest = _trailing_start(text, self._secrets, shortest)
        if self._atoms:
            folded = _Folded(text)
            piece = _trailing_start(folded.text, self._atoms, shortest)
            if piece:
                start, _ = folded.origin(len(folded.text) - piece, len(folded.text))
                longest = max(longest, len(text) - start)
        return longest


def _samples(folded: str) -> list[str]:
    """The text's pieces every `_STEP` characters: any run of `_MIN_RUN` holds one whole."""
    return [folded[at : at + _ANCHOR] for at in range(0, len(folded) - _ANCHOR + 1, _STEP)]


def _agreed_after(text: str, at: int, atom: str, offset: int) -> int:
    """How many characters `text` from `at` and `atom` from `offset` have in common."""
    most = min(len(text) - at, len(atom) - offset)
    low, high = 0, most
    while low < high:  # the agreement only shrinks: bisect it, one C comparison a step
        middle = (low + high + 1) // 2
        if text.startswith(atom[offset : offset + middle], at):
            low = middle
        else:
            high = middle - 1
    return low


def _agreed_before(text: str, at: int, atom: str, offset: int) -> int:
    """How many characters `text` before `at` and `atom` before `offset` have in common."""
    low, high = 0, min(at, offset)
    while low < high:
        middle = (low + high + 1) // 2
        if text.endswith(atom[offset - middle : offset], 0, at):
            low = middle
        else:
            high = middle - 1
    return low


def _trimmed(
    text: str, start: int, stop: int, least: int, *, whole_start: bool, whole_stop: bool
) -> tuple[int, int]:
    """A run's span of `text` without a first or last group of one or two characters set
    apart by visible separators (`key Zm9v…` matching a key that holds `yZm9v`): more likely
    the end of a neighbouring word than a piece of the secret. A group at an end where the
    run reaches the end of its form (`whole_start`, `whole_stop`) is the secret's own and
    stays in (the first byte of a hex dump `73:6b:…`). Invisible separators set nothing
    apart, and a group's size counts folded characters. What is left must still be a run
    (`least` characters)."""
    separators = [match.span() for match in _visible_separators().finditer(text, start, stop)]
    if not separators:
        return start, stop  # one group: nothing to trim
    kept = len(_fold(text[start:stop]))
    if not whole_start:
        first = len(_fold(text[start : separators[0][0]]))
        if first <= 2 and kept - first >= least:
            kept -= first
            start = separators[0][1]
    if not whole_stop and separators[-1][0] >= start:
        last = len(_fold(text[separators[-1][1] : stop]))
        if last <= 2 and kept - last >= least:
            stop = separators[-1][0]
    return start, stop


def _trailing_start(text: str, secrets: Sequence[str], shortest: int) -> int:
    """The length of the longest end of `text` (at least `shortest`) that starts one of
    `secrets`."""
    longest = 0
    for secret in secrets:
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


def _variants(secret: str, forms: list[str]) -> list[str]:
    """`secret` and the forms a server may echo it in that are not character escapes (those
    `_Unescaped` undoes in the text instead): with `+` read as a space (a form decoder), and
    each long word of that; sent percent-encoded and echoed decoded; its encoded `forms`
    (`_encoded_forms`), base64 in both alphabets and hex in both cases."""
    found = [secret]
    if "+" in secret:
        # Read as a space, the key also falls apart into words that a link or a field
        # boundary may cut between: each long one is a secret too.
        spaced = secret.replace("+", " ")
        found += (spaced, *spaced.split(" "))
    if "%" in secret:
        found.append(unquote(secret))
    if forms:
        *cores, hexed = forms
        found += (*cores, hexed, hexed.upper())
        found += (c.replace("+", "-").replace("/", "_") for c in cores if "+" in c or "/" in c)
    return [v for v in found if len(v) >= _MIN_SECRET_LENGTH]


def _encoded_forms(secret: str) -> list[str]:
    """`secret`'s bytes (UTF-8) in base64 at each of the three offsets it can take inside a
    longer blob, and in hex: one of each as they fold (base64url folds as base64 does, and
    upper-case hex as lower-case)."""
    raw = secret.encode("utf-8", "surrogatepass")
    if len(raw) > _MAX_ENCODED:
        return []
    return [*(_base64_core(raw, offset) for offset in range(3)), raw.hex()]


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
        found: list[tuple[int, int, str]] = []
        for match in _ESCAPE.finditer(text):
            char = _unescape(match.group())
            if char is None:
                continue
            start, end = match.span()
            if found and len(char) == 1 and "\udc00" <= char <= "\udfff":
                # The low half of a UTF-16 pair right after its high half, each escaped
                # (`\ud83d\udd11`, `%uD83D%uDD11`): one astral character, judged as one.
                first, last, high = found[-1]
                if last == start and len(high) == 1 and "\ud800" <= high <= "\udbff":
                    pair = 0x10000 + ((ord(high) - 0xD800) << 10) + ord(char) - 0xDC00
                    found[-1] = (first, end, chr(pair))
                    continue
            found.append((start, end, char))
        if not found:
            return None
        pieces: list[str] = []
        segments: list[tuple[int, int, int, bool]] = []
        here = there = 0
        for start, end, char in found:
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


class _Folded:
    """`text` folded (`_fold`: ASCII letters lower-cased, separators dropped), and where
    each of its characters came from."""

    __slots__ = ("_dropped", "_source", "text")

    def __init__(self, source: str, folded: str | None = None) -> None:
        self._source = source
        self.text = _fold(source) if folded is None else folded
        #: For each separator dropped, in order: where it would stand in `text`.
        self._dropped: list[int] | None = None

    def origin(self, start: int, stop: int) -> tuple[int, int]:
        """The span of the source text that `[start, stop)` of this view came from."""
        if len(self.text) == len(self._source):
            return start, stop
        if self._dropped is None:
            self._dropped = dropped = []
            removed = 0
            for match in _separator_spans(self._source):
                start_at, end_at = match.span()
                dropped += [start_at - removed] * (end_at - start_at)
                removed += end_at - start_at
        dropped = self._dropped
        return start + bisect.bisect_right(dropped, start), stop + bisect.bisect_right(
            dropped, stop - 1
        )


def _unescape(escape: str) -> str | None:
    """The character an escape stands for, or `None` for one that stands for nothing."""
    try:
        if escape[0] == "%":
            if len(escape) > 3 and escape[1] not in "uU":  # one UTF-8 sequence
                # (a surrogate's three bytes too, as Java's modified UTF-8 writes an astral
                # character: the pair is joined where it is undone)
                return bytes.fromhex(escape.replace("%", "")).decode("utf-8", "surrogatepass")
            return chr(int(escape[2:] if escape[1] in "uU" else escape[1:], 16))
        if escape[0] == "\\":
            kind = escape[1]
            if kind in "uU":
                return chr(int(escape[2:].strip("{}"), 16))
            if kind == "x":
                if len(escape) > 4:  # one UTF-8 sequence, as Python's bytes write it
                    hexed = escape.replace("\\x", "")
                    return bytes.fromhex(hexed).decode("utf-8", "surrogatepass")
                return chr(int(escape[2:], 16))
            return _CONTROL_ESCAPES.get(kind, kind)
        body = escape[1:].rstrip(";")
        if body[0] == "#":
            number = int(body[2:], 16) if body[1] in "xX" else int(body[1:])
            return chr(number)
        named = html.entities.html5.get(body + ";") if escape.endswith(";") else None
        return named if named is not None else html.entities.html5.get(body)
    except (ValueError, OverflowError, IndexError):
        return None


#: A request's body as `request_body` hands it over: its bytes and its `Content-Type`.
RequestBody = tuple[bytes, str]


def collect_secrets(
    url: str, headers: Iterable[tuple[str, str]], body: RequestBody | None = None
) -> tuple[str, ...]:
    """The secret values that a request carries in its headers, its URL and its body (the
    credential-named fields of a JSON or form body in memory: `body_secrets`)."""
    secrets: list[str] = list(body_secrets(body)) if body is not None else []
    for name, value in headers:
        if not is_sensitive_header(name):
            continue
        secrets.append(value)
        secrets.extend(_encoded_secrets(value))
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
    try:
        parts = urlsplit(url)
        segments = segments_of(parts.path) if len(parts.path) > _MIN_SECRET_LENGTH else []
        at = account_key(parts.hostname or "", segments)
        if at is not None and len(segments[at]) <= _MAX_PATH_SECRET:
            secrets += (segments[at], unquote(segments[at]))
        if "@" not in url and "?" not in url:
            return tuple(sorted(set(secrets)))  # no userinfo, no query: nothing more to split
        for userinfo in (parts.username, parts.password):
            if userinfo:
                secrets += (userinfo, unquote(userinfo))
        secrets += _form_secrets(parts.query)
    except ValueError:
        pass
    return tuple(sorted(set(secrets)))


def _form_secrets(query: str) -> list[str]:
    """The values of the credential-named parameters of a query string or a form body, as
    sent and decoded (`+` as a space, and as itself)."""
    secrets: list[str] = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        if value and is_credential_query_name(unquote(name.replace("+", " "))):
            secrets += (value, unquote(value.replace("+", " ")), unquote(value))
    return secrets


#: A request body is looked into for credentials only when it is in memory and at most
#: this long: a longer one (an upload) is not parsed at a gate.
_MAX_BODY_SECRETS = 64 * 1024
#: Members of an object under a credential's name that describe the credential rather than
#: hold it (`{"authentication": {"type": "api_key", "value": ...}}`): their strings are no
#: secret of their own. Every other member of such an object is (its `value`, `data`...).
_DESCRIBING_NAMES = frozenset(
    {
        "type",
        "kind",
        "scheme",
        "method",
        "in",
        "header",
        "location",
        "format",
        "encoding",
        "alg",
        "algorithm",
        "provider",
        "description",
        "label",
        "scope",
        "scopes",
        "grant_type",
        "expires_in",
        "expires_at",
        "expiry",
        "created_at",
    }
)
# A JSON object's string member, found in the text when the body cannot be parsed (a body
# nested deeper than Python's parser goes, JSON with a flaw a lenient server reads).
_JSON_STRING_MEMBER = re.compile(r'"((?:[^"\\\n]|\\.){1,200})"\s*:\s*"((?:[^"\\\n]|\\.)*)"')
_BOUNDARY = re.compile(r"boundary=\"?([^\";,]{1,200})", re.IGNORECASE)
_PART_NAME = re.compile(rb'name="([^"]{1,200})"', re.IGNORECASE)


def request_body(request: Any) -> RequestBody | None:
    """`request`'s body and its content type, when the body is already in memory (a request
    made with `json=`, `data=` or `content=` bytes) and at most `_MAX_BODY_SECRETS` bytes.
    A streamed body is never read here: it is `None`, as an empty one is."""
    try:
        content = request.content  # httpx raises `RequestNotRead` for a stream not read
    except Exception:
        return None
    if not isinstance(content, bytes) or not content or len(content) > _MAX_BODY_SECRETS:
        return None
    try:
        content_type = request.headers.get("content-type") or ""
    except Exception:
        content_type = ""
    return content, content_type


def request_secrets(request: Any) -> tuple[str, ...]:
    """Every secret `request` carries: its headers (a hook's too), its URL and its body."""
    return collect_secrets(str(request.url), credential_view(request), request_body(request))


@functools.lru_cache(maxsize=32)
def body_secrets(body: RequestBody) -> tuple[str, ...]:
    """The values of a request body's fields whose name the table (`CREDENTIAL_NAMES`, as a
    query parameter's) calls a credential: Tavily's `{"api_key": ...}`, a form's
    `api_key=...`, a multipart form's `name="apikey"` part. A JSON body's nested objects are
    looked into (`{"auth": {"token": ...}}`), each string under a credential's name counts,
    in a list too; a body that is neither JSON nor a form holds none."""
    content, content_type = body
    if len(content) > _MAX_BODY_SECRETS:
        return ()
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if "json" in kind or (not kind and content.lstrip()[:1] in (b"{", b"[")):
            try:
                return tuple(_json_secrets(json.loads(content)))
            except (ValueError, RecursionError):  # a server may read what Python does not
                return tuple(_json_text_secrets(content.decode("utf-8", "replace")))
        if kind == "application/x-www-form-urlencoded" or (
            not kind and b"=" in content and not any(c in content for c in b" \r\n\t")
        ):
            return tuple(_form_secrets(content.decode("utf-8", "replace")))
        if kind == "multipart/form-data":
            return tuple(_multipart_secrets(content, content_type))
    except (ValueError, RecursionError):  # not JSON after all (UnicodeDecodeError is one)
        pass
    return ()


def _json_secrets(document: Any) -> list[str]:
    """The strings of a parsed JSON body that stand under a credential's name: a member
    whose name the table calls a credential's (`api_key`, `token`, `auth`), each string in
    it, in its lists and in its objects (`{"authentication": {"value": ...}}`: the parent
    names the credential, the member's own name says nothing), but for the members that
    describe it (`_DESCRIBING_NAMES`: its `type`, `scheme`...).

    Every value is looked at, breadth-first: no bound on work decides which secrets are
    found (case 181: a node bound spent on a long array after a top-level `api_key` left
    the key out). The body's own bound (`_MAX_BODY_SECRETS`) bounds the walk, and the
    values that cannot hold a secret (numbers, strings under no credential's name) are
    passed over, not queued."""
    found: list[str] = []
    named: dict[str, bool] = {}  # the arrays of objects of a body repeat their names
    queue: deque[tuple[Any, bool]] = deque(((document, False),))
    while queue:
        node, secret = queue.popleft()
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, str):
                    if len(item) < _MIN_SECRET_LENGTH:
                        continue
                elif not item or not isinstance(item, (dict, list)):
                    continue
                is_named = named.get(key)
                if is_named is None:
                    is_named = named[key] = is_credential_query_name(key)
                under = is_named or (secret and key.lower() not in _DESCRIBING_NAMES)
                if isinstance(item, str):
                    if under:
                        found.append(item)
                else:
                    queue.append((item, under))
        elif isinstance(node, list):
            for item in node:
                if isinstance(item, str):
                    if secret and len(item) >= _MIN_SECRET_LENGTH:
                        found.append(item)
                elif item and isinstance(item, (dict, list)):
                    queue.append((item, secret))
    return found


def _json_text_secrets(text: str) -> list[str]:
    """The credential-named string members of a JSON text Python cannot parse (nested
    deeper than its parser goes, or with a flaw a lenient server reads past): found in the
    text, so that a body the server may have read keeps its key a secret (fail closed)."""
    found: list[str] = []
    named: dict[str, bool] = {}
    for match in _JSON_STRING_MEMBER.finditer(text):
        name, value = match.groups()
        if len(value) < _MIN_SECRET_LENGTH:
            continue  # an escape only lengthens a value: it is shorter still decoded
        if "\\" not in name:
            is_named = named.get(name)
            if is_named is None:
                is_named = named[name] = is_credential_query_name(name)
            if not is_named:
                continue
        try:
            name, value = json.loads(f'["{name}","{value}"]')
        except ValueError:
            continue
        if len(value) >= _MIN_SECRET_LENGTH and is_credential_query_name(name):
            found += (value, match.group(2)) if value != match.group(2) else (value,)
    return found


def _multipart_secrets(content: bytes, content_type: str) -> list[str]:
    """The values of a multipart form's credential-named parts (RFC 7578)."""
    boundary = _BOUNDARY.search(content_type)
    if boundary is None:
        return []
    found: list[str] = []
    for part in content.split(b"--" + boundary.group(1).encode("latin-1")):
        head, separator, value = part.partition(b"\r\n\r\n")
        name = _PART_NAME.search(head) if separator else None
        if name is None or b"filename=" in head.lower():
            continue
        if is_credential_query_name(name.group(1).decode("utf-8", "replace")):
            text = value.removesuffix(b"\r\n").decode("utf-8", "replace")
            if len(text) >= _MIN_SECRET_LENGTH:
                found.append(text)
    return found


#: The longest credential value decoded to look for the secrets it encodes.
_MAX_DECODED = 16 * 1024


def _encoded_secrets(value: str) -> list[str]:
    """The secrets a credential value carries encoded: a payment proof is base64 JSON
    (x402's `PAYMENT-SIGNATURE` and `X-PAYMENT`), and a server that refuses it may quote
    what it decoded (the EIP-3009 `signature` it checked). Each string under a key that the
    names table calls a credential (`signature`, `token`, `preimage`...) counts; what such a
    key holds as an object (x402's `authorization`: addresses, amounts, times) is public
    without the signature, and is not descended into."""
    if len(value) > _MAX_DECODED or len(value) < _MIN_SECRET_LENGTH:
        return []
    text = value.strip()
    if not text.startswith(("ey", "ew")):  # base64 of `{"`, `{ ` or `{\n`: JSON text only
        return []
    try:
        decoded = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_")
        document = json.loads(decoded)
    except (binascii.Error, ValueError, RecursionError):
        return []
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack and len(found) < 32:
        node, depth = stack.pop()
        if not isinstance(node, dict) or depth > 8:
            continue
        for key, item in node.items():
            if isinstance(item, str) and isinstance(key, str) and len(item) >= _MIN_SECRET_LENGTH:
                if credential_kind(key, "header") is not None:
                    found.append(item)
            elif isinstance(item, dict) and credential_kind(str(key), "header") is None:
                stack.append((item, depth + 1))
            elif isinstance(item, list):
                stack.extend((each, depth + 1) for each in item[:16])
    return found


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


def credential_view(request: Any) -> list[tuple[str, str]]:
    """The request's headers as they are searched for credentials: a header a hook added to
    a replay (a payment proof, a fresh key) is a secret whatever its name."""
    pairs: list[tuple[str, str]] = request.headers.multi_items()
    added = request.extensions.get(HOOK_HEADERS_EXTENSION)
    if not added:
        return pairs
    return [(f"x-hook-secret-{n}" if n.lower() in added else n, v) for n, v in pairs]


def redactor_of(request: Any) -> Redactor:
    """The (cached) redactor of every credential `request` carries, a hook's headers and its
    body's too: for any text that came back in answer to it."""
    return redactor_for(request_secrets(request))


def scrub_payload(value: Any, redact: Redactor) -> Any:
    """`value`, a decoded payload (JSON's dicts, lists, strings and numbers, or text), with
    every string in it scrubbed, keys too: what is kept of a response beyond one request
    (a known gate's payload) keeps no secret of the request that brought it."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {
            redact(key) if isinstance(key, str) else key: scrub_payload(item, redact)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub_payload(item, redact) for item in value]
    return value


def scrubbed_traceback(exc: BaseException, redact: Redactor) -> str:
    """`exc` with its traceback, as a log record would show it, scrubbed: an exception
    raised while reading a response may quote it."""
    import traceback  # only when something failed

    return redact("".join(traceback.format_exception(exc)).rstrip())
