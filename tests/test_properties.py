"""Property tests of everything that reads untrusted bytes: `classify` and the parsers.

Profiles (env `HTTP402_HYPOTHESIS_PROFILE`): `ci` (default: 200 examples a test, derandomized,
the file runs in well under a minute) and `long` (10 000 examples a test, random seeds).

Every bug these properties found has a minimal regression test at the end of this file
(`test_regression_*`). `fuzz/fuzz_classify.py` drives the same strategies for minutes.
"""

from __future__ import annotations

import base64
import datetime
import encodings
import encodings.aliases
import functools
import gzip
import itertools
import json
import os
import pkgutil
import random
import string
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from decimal import Decimal
from email.utils import format_datetime
from typing import Any

import attrs
import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

import http402
from http402 import PaymentRequired, Reason
from http402._exceptions import error_for
from http402._providers.l402 import bolt11_amount_msat
from http402._providers.paypercrawl import parse_crawler_price
from http402._untrusted import (
    MAX_HEADER_PAYLOAD_BYTES,
    MAX_RETRY_AFTER,
    BodyReader,
    as_amount,
    bounded_text,
    decode_base64_json,
    decode_base64url_json,
    loads_json,
    parse_retry_after,
    parse_www_authenticate,
    safe_action_url,
)

# --------------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------------

_COMMON: dict[str, Any] = {
    "database": None,
    "print_blob": True,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.filter_too_much,
    ],
}
settings.register_profile("ci", max_examples=200, derandomize=True, deadline=None, **_COMMON)
settings.register_profile("long", max_examples=10_000, deadline=None, **_COMMON)
PROFILE = os.environ.get("HTTP402_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

NOW = 1_800_000_000.0
#: The pathological-regex regressions: one `classify` call on one of their bodies.
TIME_BOUND = 0.050
#: The bounded-work guard: the calls one `classify` of up to 64 KiB of anything may make.
#: The generated cases need at most about 17,000; a reading that makes two calls per byte of
#: 64 KiB needs more, and one that starts over at each byte far more (a text of escapes,
#: trimmed one character per pass before it was scrubbed, needed 6 million).
WORK_BOUND = 100_000

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

ALNUM = string.ascii_letters + string.digits
TCHAR = "!#$%&'*+.^_`|~" + ALNUM + "-"

PROVIDER_HOSTS = (
    "api.openai.com",
    "api.anthropic.com",
    "openrouter.ai",
    "api.stripe.com",
    "x.myshopify.com",
    "queue.fal.run",
    "fal.run",
    "api.elevenlabs.io",
    "api.deepseek.com",
    "api.firecrawl.dev",
    "api.sendgrid.com",
    "api.x.ai",
    "example.com",
    "localhost",
    "127.0.0.1",
    "[::1]",
)
REAL_HEADERS = (
    "content-type",
    "content-encoding",
    "www-authenticate",
    "payment-required",
    "payment-response",
    "x-payment-response",
    "crawler-price",
    "crawler-error",
    "retry-after",
    "x-request-id",
    "request-id",
    "x-amzn-requestid",
    "x-correlation-id",
)
BILLING_KEYS = (
    "error",
    "errors",
    "message",
    "detail",
    "title",
    "type",
    "code",
    "error_code",
    "status",
    "reason",
    "name",
    "data",
    "metadata",
    "balance",
    "credits",
    "credits_required",
    "creditsAvailable",
    "cost",
    "price",
    "currency",
    "plan",
    "current_plan",
    "required_plan",
    "upgrade_url",
    "action_url",
    "url",
    "href",
    "retry_after",
    "request_id",
    "x402Version",
    "accepts",
    "amount",
    "maxAmountRequired",
    "payTo",
    "asset",
    "network",
    "scheme",
    "resource",
    "success",
    "errorReason",
)
CODES = (
    "insufficient_quota",
    "insufficient_credits",
    "billing_not_active",
    "card_declined",
    "subscription_expired",
    "plan_limit_exceeded",
    "rate_limit_exceeded",
    "InsufficientBalanceError",
    "https://paymentauth.org/problems/payment-required",
    "https://paymentauth.org/problems/verification-failed",
    "https://example.com/probs/out-of-credit",
    "about:blank",
)
PHRASES = (
    "Insufficient credits",
    "Your credit balance is too low",
    "You exceeded your current quota",
    "Your card was declined.",
    "Your subscription has expired",
    "Please upgrade your plan",
    "Rate limit reached: 10 requests per minute",
    "This request requires 50 credits. You have 3 credits remaining.",
    "Your current balance is 30, but that costs 50.",
    "Top up at https://billing.example.com/top-up.",
    "past due",
    "Unavailable Shop",
)
URLS = (
    "https://billing.example.com/top-up",
    "http://127.0.0.1:8402/top-up",
    "http://billing.example.com/top-up",
    "javascript:alert(1)",
    "https://user:pw@billing.example.com/",
    "https://billing.example.com:99999/",
    "//billing.example.com/",
)
CHARSETS = tuple(
    sorted(
        set(encodings.aliases.aliases)
        | set(encodings.aliases.aliases.values())
        | {m.name for m in pkgutil.iter_modules(encodings.__path__)}
        | {"utf-8", "UTF-8", '"utf-8"', "latin-1", "no-such-charset", ""}
    )
)
COMMON_CHARSETS = (
    *("utf-8", "latin-1", "utf-16", "utf-32-be", "cp1252", "shift_jis", "bogus"),
    *("idna", "punycode", "undefined"),  # codecs that refuse errors="replace"
)
# Repeated to 64 KiB for the timing guard. `SLOW_FRAGMENTS` once made a regex take seconds
# (see test_regression_slow_*).
FRAGMENTS = (
    '{"error": ',
    '"message": "',
    '"},',
    "[",
    "]",
    "{",
    "}",
    '"',
    "\\",
    "\\u00e9",
    ",",
    "=",
    ":",
    " ",
    "\t",
    "\r\n",
    ".",
    "a",
    "é",
    "\x00",
    "\ufffd",
    "credits ",
    "credit ",
    "balance ",
    "insufficient ",
    "card ",
    "declined ",
    "payment ",
    "plan ",
    "upgrade ",
    "subscription ",
    "past due ",
    "top up ",
    "not enough ",
    "rate limit ",
    "per minute ",
    "try again in ",
    "0.5 ",
    "$",
    "https://",
    "https://a.b/",
    "sk-proj-",
    "Bearer ",
    "<b>",
    "</b>",
    "</title>",
    "<p>x</p>",
    "&amp;",
    "&#39;",
    "L402 ",
    "Payment ",
    'x="',
    'invoice="lnbc10u1',
    "x402Version",
)
# "<title>" repeated: _TITLE scans 500 characters after each for a "</title" (50-70 ms).
SLOW_FRAGMENTS = ("<", "<script", "<style ", "<title", "<title>", "7", "7,")
FRAGMENTS += SLOW_FRAGMENTS

# --------------------------------------------------------------------------------------------
# Strategies
# --------------------------------------------------------------------------------------------

#: A credential: alphanumeric, 12 to 42 characters, with an upper-case letter and a digit so
#: that it cannot occur by chance in the fixed text of a repr.
secrets_st = st.text(ALNUM, min_size=10, max_size=40).map(lambda s: f"Q{s}7")
tokens = st.text(TCHAR, min_size=1, max_size=16)
hostnames = st.one_of(
    st.sampled_from(PROVIDER_HOSTS),
    st.from_regex(r"[a-z][a-z0-9-]{0,9}(\.[a-z][a-z0-9]{0,9}){0,3}", fullmatch=True),
)
number_text = st.from_regex(
    r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][+-]?[0-9]{1,25})?",
    fullmatch=True,
)


#: The secrets of the case being drawn: `cases` sets them, then draws the rest, whose echo
#: strategies read them at draw time. The strategies are thus built once, not per example.
_ECHOED: list[str] = []


def _echo(index: int) -> str:
    return _ECHOED[index % len(_ECHOED)]


PLAIN_TEXTS: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=80),
    st.sampled_from(PHRASES + CODES + URLS),
    st.from_regex(r"[0-9]{1,6}(\.[0-9]{1,4})?", fullmatch=True),
)
_SECRET = st.integers(0, 2).map(_echo)
#: Any text, billing words, and the request's secrets echoed back.
ECHOED_TEXTS: st.SearchStrategy[str] = st.one_of(
    PLAIN_TEXTS,
    _SECRET,
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=20), _SECRET, st.text(max_size=20)),
    st.builds(lambda s: f"Invalid API key provided: {s}.", _SECRET),
    st.builds(lambda s: f"https://billing.example.com/top-up?key={s}", _SECRET),
)


def json_values(texts: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(10**60), max_value=10**60),
        st.floats(allow_nan=True, allow_infinity=True),
        texts,
    )
    keys = st.one_of(st.sampled_from(BILLING_KEYS), st.text(max_size=12))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=6),
        ),
        max_leaves=24,
    )


def _dumps(value: Any, ensure_ascii: bool) -> str:
    return json.dumps(value, ensure_ascii=ensure_ascii, allow_nan=True)


def json_texts(texts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """JSON documents: random, billing-shaped, deeply nested, with absurd numbers."""
    values = json_values(texts)
    billing = st.fixed_dictionaries(
        {},
        optional={
            "error": st.one_of(
                texts,
                st.fixed_dictionaries(
                    {},
                    optional={
                        "message": texts,
                        "code": st.one_of(st.sampled_from(CODES), texts),
                        "type": st.sampled_from(CODES),
                    },
                ),
            ),
            "message": texts,
            "detail": texts,
            "title": texts,
            "type": st.sampled_from(CODES),
            "code": st.one_of(st.sampled_from(CODES), texts),
            "balance": st.one_of(texts, st.integers(), st.floats()),
            "credits_required": st.one_of(texts, st.integers()),
            "currency": texts,
            "current_plan": texts,
            "required_plan": texts,
            "upgrade_url": texts,
            "retry_after": st.one_of(st.integers(-10, 1000), texts, st.floats()),
            "request_id": texts,
            "x402Version": st.integers(0, 3),
            "accepts": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "scheme": texts,
                        "network": texts,
                        "amount": st.one_of(texts, st.integers(), st.floats()),
                        "maxAmountRequired": st.one_of(texts, st.integers()),
                        "payTo": texts,
                        "asset": texts,
                        "resource": texts,
                        "description": texts,
                        "maxTimeoutSeconds": st.integers(),
                    },
                ),
                max_size=3,
            ),
        },
    )
    document = st.builds(_dumps, st.one_of(values, billing), st.booleans())
    nested = st.builds(
        lambda n, opener, leaf: opener * n + leaf + ("]" if opener == "[" else "}") * n,
        st.integers(1, 200),
        st.sampled_from(["[", '{"error":']),
        st.sampled_from(['"x"', "1", "null", '{"message": "insufficient credits"}']),
    )
    numbers = st.builds(
        lambda key, number, digits: f'{{"{key}": {number}, "message": "{digits}"}}',
        st.sampled_from(["balance", "credits_required", "amount", "x"]),
        st.one_of(
            number_text,
            st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999999", "-0"]),
            st.integers(4290, 4310).map(lambda n: "9" * n),
        ),
        st.from_regex(r"[0-9]{0,40}", fullmatch=True),
    )
    return st.one_of(document, nested, numbers)


def bodies(texts: st.SearchStrategy[str]) -> st.SearchStrategy[bytes]:
    documents = json_texts(texts)
    html = st.builds(
        lambda title, inner: (
            f"<!DOCTYPE html><html><head><title>{title}</title></head>"
            f"<body><h1>{title}</h1><script>var x = '<p>';</script><p>{inner}</p></body></html>"
        ),
        texts,
        st.one_of(texts, documents),
    )
    words = st.lists(st.one_of(st.sampled_from(PHRASES), texts), max_size=5).map(" ".join)
    as_text = st.one_of(documents, html, words, texts)
    return st.one_of(
        st.binary(max_size=512),
        as_text.map(lambda t: t.encode("utf-8")),
        st.builds(lambda t, enc: t.encode(enc, "replace"), as_text, st.sampled_from(["latin-1"])),
    )


def _b64(value: Any) -> str:
    return base64.b64encode(_dumps(value, False).encode("utf-8")).decode("ascii")


def _b64url(value: Any) -> str:
    return _b64url_text(_dumps(value, False))


def _b64url_text(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


bolt11 = st.builds(
    lambda prefix, digits, mult, tail: f"{prefix}{digits}{mult}1{tail}",
    st.sampled_from(["lnbc", "LNBC", "lntb", "lnbcrt", "lnsb", "lntbs", "lnxx"]),
    st.from_regex(r"[0-9]{0,22}", fullmatch=True),
    st.sampled_from(["", "m", "u", "n", "p", "M", "x"]),
    st.text("qpzry9x8gf2tvdw0s3jn54khce6mua7l", max_size=30),
)


def header_values(texts: st.SearchStrategy[str]) -> dict[str, st.SearchStrategy[str]]:
    """Values shaped like the real thing, for the headers the adapters read."""
    challenge = st.one_of(
        st.builds(
            lambda scheme, mac, inv: f'{scheme} macaroon="{mac}", invoice="{inv}"',
            st.sampled_from(["L402", "LSAT", "l402"]),
            st.text(ALNUM + "+/=", max_size=30),
            bolt11,
        ),
        st.builds(
            lambda request, intent, expires: (
                f'Payment id="x", method="tempo", intent={quoted(intent)}, '
                f'request="{request}", expires="{expires}"'
            ),
            st.one_of(json_values(texts).map(_b64url), st.text(ALNUM + "-_", max_size=40)),
            texts,
            st.sampled_from(["2027-01-15T08:00:00Z", "not a date", "", "9" * 50]),
        ),
        st.builds(lambda s: f'Bearer realm="api", error={quoted(s)}', texts),
        st.builds(lambda t: f"Negotiate {t}", st.text(ALNUM + "+/=", max_size=30)),
    )
    offers = st.lists(
        st.fixed_dictionaries(
            {"scheme": st.just("exact")},
            optional={
                "amount": st.one_of(texts, st.integers(), number_text),
                "payTo": texts,
                "asset": texts,
                "network": texts,
                "resource": texts,
                "maxTimeoutSeconds": st.integers(),
            },
        ),
        max_size=3,
    )
    return {
        "content-type": st.builds(
            lambda base, charset: base + charset,
            st.sampled_from(
                [
                    "application/json",
                    "application/problem+json",
                    "text/html",
                    "text/plain",
                    "application/octet-stream",
                    "",
                ]
            ),
            st.one_of(
                st.just(""),
                st.one_of(st.sampled_from(COMMON_CHARSETS), st.sampled_from(CHARSETS)).map(
                    lambda c: f"; charset={c}"
                ),
            ),
        ),
        "content-encoding": st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, br"]),
        "www-authenticate": st.lists(challenge, min_size=1, max_size=3).map(", ".join),
        "payment-required": st.one_of(
            st.builds(
                lambda accepts, error: _b64({"x402Version": 2, "accepts": accepts, "error": error}),
                offers,
                texts,
            ),
            json_values(texts).map(_b64),
            st.text(ALNUM + "+/=", max_size=60),
        ),
        "payment-response": st.builds(
            lambda ok, why: _b64({"success": ok, "errorReason": why}), st.booleans(), texts
        ),
        "crawler-price": st.one_of(
            st.builds(
                lambda cur, amount, pad: f"{pad}{cur} {amount}{pad}",
                st.from_regex(r"[A-Z]{3}", fullmatch=True),
                st.from_regex(r"[0-9]{1,14}(\.[0-9]{0,14})?", fullmatch=True),
                st.sampled_from(["", " ", "\t"]),
            ),
            st.just("USD 0.01"),
        ),
        "crawler-error": st.sampled_from(
            [
                "PaymentFailed",
                "MissingCrawlerPrice",
                "InvalidCrawlerExactPrice",
                "InvalidCrawlerMaxPrice",
                "SomethingElse",
                "",
            ]
        ),
        "retry-after": st.one_of(
            st.integers(-5, 500).map(str),
            st.integers(-200, 200).map(
                lambda delta: format_datetime(_utc(time.time() + delta), usegmt=True)
            ),
            st.sampled_from(["soon", "1.5", "99999999999999999999", "Sun, 31 Feb 2027"]),
        ),
    }


def _utc(timestamp: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(int(timestamp), tz=datetime.timezone.utc)


class Case:
    """One response to classify and the request it answers.

    A plain class, not a dataclass, so that Hypothesis reports a failure with the short
    `__repr__` below (the reproduce_failure blob replays it exactly).
    """

    __slots__ = ("body", "headers", "method", "request_headers", "secrets", "status", "url")

    def __init__(
        self,
        *,
        status: int,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        method: str,
        url: str,
        request_headers: tuple[tuple[str, str], ...],
        secrets: tuple[str, ...],
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body
        self.method = method
        self.url = url
        self.request_headers = request_headers
        self.secrets = secrets

    def replace(self, **changes: Any) -> Case:
        return Case(**{**{name: getattr(self, name) for name in self.__slots__}, **changes})

    def request(self) -> httpx.Request:
        return httpx.Request(self.method, self.url, headers=list(self.request_headers))

    def __repr__(self) -> str:
        headers = [(name, _clip(value)) for name, value in self.headers]
        return (
            f"Case(status={self.status}, headers={headers!r}, body={_clip(self.body)!r}, "
            f"method={self.method!r}, url={self.url!r}, "
            f"request_headers={self.request_headers!r}, secrets={self.secrets!r})"
        )

    def response(self) -> httpx.Response:
        request = self.request()
        response = httpx.Response(self.status, content=self.body, request=request)
        # Set after the body so that httpx does not try to decode it by content-encoding.
        response.headers = httpx.Headers(
            [(name.encode("ascii"), value.encode("utf-8")) for name, value in self.headers]
        )
        return response


PLACES = ("authorization", "x-api-key", "user", "password", "query")


def _clip(value: Any, size: int = 300) -> Any:
    if len(value) <= size:
        return value
    note = f"...({len(value)} long)"
    return value[:size] + (note.encode() if isinstance(value, bytes) else note)


STATUSES = st.one_of(
    st.sampled_from([402, 402, 402, 400, 401, 403, 429, 200, 301]), st.integers(100, 599)
)


@functools.cache
def _case_parts(echo: bool) -> tuple[st.SearchStrategy[list[tuple[str, str]]], Any]:
    texts = ECHOED_TEXTS if echo else PLAIN_TEXTS
    specific = header_values(texts)
    real = st.one_of(
        *(
            st.tuples(
                st.sampled_from([name, name.title()]),
                st.one_of(texts, specific[name]) if name in specific else texts,
            )
            for name in REAL_HEADERS
        )
    )
    return st.lists(st.one_of(real, st.tuples(tokens, texts)), max_size=8), bodies(texts)


@st.composite
def cases(draw: st.DrawFn, *, echo: bool = True) -> Case:
    """A response from any host, with secrets in the request (and, if `echo`, in the answer)."""
    secrets = tuple(draw(st.lists(secrets_st, min_size=1, max_size=3, unique=True)))
    _ECHOED[:] = secrets
    header_lists, body_bytes = _case_parts(echo)
    headers = draw(header_lists)
    host = draw(hostnames)
    path = draw(st.from_regex(r"(/[A-Za-z0-9._~-]{0,10}){0,3}", fullmatch=True))
    # Every secret is planted somewhere in the request: a header, the userinfo, the query.
    places = draw(st.lists(st.sampled_from(PLACES), min_size=len(secrets), max_size=len(secrets)))
    planted: dict[str, str] = {}
    query = draw(
        st.lists(st.tuples(st.sampled_from(["page", "model"]), st.text(ALNUM, max_size=8)))
    )
    for secret, place in zip(secrets, places, strict=True):
        if place in planted or place == "query":
            query.append((draw(st.sampled_from(["api_key", "token", "key", "sig"])), secret))
        else:
            planted[place] = secret
    userinfo = ""
    if "password" in planted:
        userinfo = f"{planted.get('user', 'user')}:{planted['password']}@"
    elif "user" in planted:
        userinfo = f"{planted['user']}@"
    url = f"https://{userinfo}{host}{path or '/'}"
    if query:
        url += "?" + "&".join(f"{name}={value}" for name, value in query)
    request_headers = []
    if "authorization" in planted:
        scheme = draw(st.sampled_from(["Bearer ", "Basic ", "L402 ", ""]))
        request_headers.append(("Authorization", scheme + planted["authorization"]))
    if "x-api-key" in planted:
        request_headers.append(("X-Api-Key", planted["x-api-key"]))
    return Case(
        status=draw(STATUSES),
        headers=tuple(headers),
        body=draw(body_bytes),
        method=draw(st.sampled_from(["GET", "POST", "DELETE"])),
        url=url,
        request_headers=tuple(request_headers),
        secrets=secrets,
    )


@st.composite
def large_cases(draw: st.DrawFn) -> Case:
    """Up to 64 KiB of repeated fragments, in the body and in the headers adapters parse."""
    pieces = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=4))
    unit = "".join(pieces)
    size = draw(st.sampled_from([2_000, 16_000, 65_536]))
    filler = (unit * (size // len(unit) + 1))[:size]
    wrapper = draw(st.sampled_from(["raw", "message", "html", "title", "header", "x402"]))
    content_type = "text/html" if wrapper in ("html", "title") else "application/json"
    headers = [("content-type", content_type)]
    body = filler
    if wrapper == "message":
        body = json.dumps({"error": {"message": filler, "code": "insufficient_quota"}})
    elif wrapper == "html":
        body = f"<html><body><p>{filler}</p></body></html>"
    elif wrapper == "title":
        body = f"<html><head><title>{filler}</title></head></html>"
    elif wrapper == "header":
        body = "{}"
        headers += [
            ("www-authenticate", filler[:MAX_HEADER_PAYLOAD_BYTES]),
            ("retry-after", filler[:2000]),
            ("crawler-price", filler[:2000]),
            ("x-request-id", filler[:2000]),
        ]
    elif wrapper == "x402":
        body = "{}"
        headers.append(
            ("payment-required", _b64({"x402Version": 2, "accepts": [], "error": filler[:9000]}))
        )
    host = draw(hostnames)
    return Case(
        status=draw(st.sampled_from([402, 402, 402, 400, 403, 429])),
        headers=tuple(headers),
        body=body.encode("utf-8", "surrogatepass")[:65_536],
        method="POST",
        url=f"https://{host}/v1",
        request_headers=(("Authorization", "Bearer Qsecretsecret7"),),
        secrets=("Qsecretsecret7",),
    )


# --------------------------------------------------------------------------------------------
# Checks, shared with fuzz/fuzz_classify.py
# --------------------------------------------------------------------------------------------


def amounts(payment: PaymentRequired) -> Iterator[object]:
    yield payment.credits_required
    yield payment.credits_available
    for option in payment.payment_options:
        yield option.amount


def check_classification(case: Case, response: httpx.Response, result: object) -> None:
    """What `classify` promises for any response whatsoever."""
    assert result is None or isinstance(result, PaymentRequired), type(result)
    if not 400 <= case.status <= 599:
        assert result is None, "only 4xx/5xx responses can be gates"
    if case.status == 402 and result is None:
        # A 402 is a gate unless its own words say it is something else (bad credentials, a
        # limit that lifts by itself: docs/reasons.md): the words decide that, so the same
        # 402 without its body, or with a page's markup, is a gate.
        assert response.content.strip(), "a wordless 402 is always a gate"
        headers = [
            (name.encode("ascii"), value.encode("utf-8"))
            for name, value in case.headers
            if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        ]
        for body in (b"", b"<html><body>Payment Required</body></html>"):
            bare = httpx.Response(402, headers=headers, content=body, request=case.request())
            assert http402.classify(bare) is not None, "a 402 with no words is always a gate"
    if result is None:
        return
    assert isinstance(result, PaymentRequired)
    assert result.status_code == case.status
    assert isinstance(result.reason, Reason)
    assert result.action_url is None or safe_action_url(result.action_url) == result.action_url
    retry_after = result.retry_after
    assert retry_after is None or (
        isinstance(retry_after, (int, float))
        and not isinstance(retry_after, bool)
        and 0 <= retry_after <= MAX_RETRY_AFTER
    ), retry_after
    for amount in amounts(result):
        assert amount is None or (isinstance(amount, Decimal) and amount.is_finite()), amount
    assert result.message is None or 0 < len(result.message) <= 2000
    assert result.code is None or len(result.code) <= 300
    assert result.request_id is None or len(result.request_id) <= 200
    error = error_for(result, request=case.request(), response=response)
    shown = [repr(result), str(result), repr(error), str(error)]
    # The provider's words are scrubbed of the request's credentials, even when echoed.
    for secret in case.secrets:
        assert secret not in (result.message or ""), "secret in message"
        assert secret not in (result.code or ""), "secret in code"
    assert all(isinstance(text, str) for text in shown)


def leaked(case: Case, response: httpx.Response, result: PaymentRequired | None) -> list[str]:
    """The request's secrets that show in the repr or str of the result or of its error."""
    if result is None:
        return []
    error = error_for(result, request=case.request(), response=response)
    shown = "\n".join([repr(result), str(result), repr(error), str(error)])
    return [secret for secret in case.secrets if secret in shown]


def classify_case(case: Case) -> tuple[httpx.Response, PaymentRequired | None]:
    response = case.response()
    return response, http402.classify(response)


def _elapsed(call: Callable[[], object]) -> float:
    # CPU time of this thread, not the wall clock: the guard is against a pathological
    # regex (CPU), and other test processes (pytest-xdist) or a busy host must not move it.
    start = time.thread_time()
    call()
    return time.thread_time() - start


def work_of(function: Callable[[Any], object], argument: Any) -> int:
    """How many calls `function(argument)` makes with http402's caches of earlier texts
    emptied first: the work of reading this input, counted the same on a busy host as on an
    idle one. The caches that build a table once are kept."""
    for name, module in list(sys.modules.items()):
        if name == "http402" or name.startswith("http402."):
            for value in list(vars(module).values()):
                info = getattr(value, "cache_info", None)
                if info is not None and info().maxsize is not None:
                    value.cache_clear()
    return calls_of(function, argument)


def calls_of(function: Callable[[Any], object], argument: Any) -> int:
    """How many calls, of Python and of C functions, `function(argument)` makes."""
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        function(argument)
    finally:
        sys.setprofile(None)
    return calls


# --------------------------------------------------------------------------------------------
# classify
# --------------------------------------------------------------------------------------------


@given(case=cases())
@example(  # the fuzzer's find: a 402 that says only "Invalid key" is no gate, its bare twin is
    case=Case(
        status=402,
        headers=(),
        body=b"Invalid\x00key",
        method="GET",
        url="https://a/",
        request_headers=(("Authorization", "Bearer Q00000000007"),),
        secrets=("Q00000000007",),
    )
)
@example(  # and its twin with a header value that is not ASCII: the bare twins keep it as bytes
    case=Case(
        status=402,
        headers=(("content-type", "\x80"),),
        body=b"Invalid\x00key",
        method="GET",
        url="https://example.com/?api_key=Q000000000007",
        request_headers=(("Authorization", "Bearer Q00000000007"),),
        secrets=("Q00000000007", "Q000000000007"),
    )
)
def test_classify_never_raises_and_keeps_its_promises(case: Case) -> None:
    response, result = classify_case(case)
    check_classification(case, response, result)


@given(case=cases(echo=False))
def test_secrets_the_server_did_not_echo_never_show(case: Case) -> None:
    """The request's credentials (headers, userinfo, query) stay out of every repr and str."""
    response, result = classify_case(case)
    assert leaked(case, response, result) == []


@given(case=cases(echo=False))
def test_classify_of_an_sdk_error_is_the_same(case: Case) -> None:
    """An exception that carries the response classifies like the response itself."""
    response, result = classify_case(case)
    error = httpx.HTTPStatusError("x", request=case.request(), response=response)
    again = http402.classify(error)
    # An HTTP-date Retry-After counts from the clock, which moved between the two calls.
    assert _without_clock(again) == _without_clock(result)


def _without_clock(payment: PaymentRequired | None) -> PaymentRequired | None:
    return None if payment is None else attrs.evolve(payment, retry_after=None)


@given(
    junk=st.one_of(
        st.none(),
        st.integers(),
        st.text(),
        st.binary(),
        st.builds(
            lambda status, headers: type("R", (), {"status_code": status, "headers": headers})(),
            st.one_of(st.integers(), st.text(), st.none()),
            st.one_of(st.none(), st.dictionaries(st.text(), st.text()), st.integers()),
        ),
    )
)
def test_classify_of_anything_else_is_none_or_a_gate(junk: object) -> None:
    result = http402.classify(junk)
    assert result is None or isinstance(result, PaymentRequired)


@given(case=large_cases())
def test_classify_does_bounded_work_on_64_kib_of_anything(case: Case) -> None:
    """A pathological-parser guard, not a benchmark (benchmarks/classify.py times it): one
    `classify` of up to 64 KiB, its caches of earlier texts emptied, makes at most
    `WORK_BOUND` calls."""
    http402.classify(case.response())  # the registry and the host cache, as in use
    work = work_of(http402.classify, case.response())
    assert work <= WORK_BOUND, f"{work} calls"


@given(case=cases(), seed=st.integers(0, 2**32))
def test_classify_does_bounded_work_on_random_64_kib(case: Case, seed: int) -> None:
    big = random.Random(seed).randbytes(max(0, 65_536 - len(case.body)))
    response = case.replace(body=big + case.body).response()
    http402.classify(case.response())
    work = work_of(http402.classify, response)
    assert work <= WORK_BOUND, f"{work} calls"


def test_the_work_count_counts_reading_not_remembering() -> None:
    """The guard can fail: a function called per byte of 64 KiB is over the bound, and a
    `classify` of a body read before is counted reading it again, not answering from a cache."""
    assert (
        work_of(lambda text: [c.isdigit() or c.isspace() for c in text], "x" * 65_536) > WORK_BOUND
    )
    body = json.dumps({"error": {"message": "Insufficient credits. " * 50, "code": 402}})

    def response() -> httpx.Response:
        request = httpx.Request("POST", "https://api.example.com/v1")
        return httpx.Response(402, content=body.encode(), request=request)

    http402.classify(response())
    assert work_of(http402.classify, response()) > calls_of(http402.classify, response())


# --------------------------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------------------------


@given(value=st.one_of(st.none(), st.text(), st.text("0123456789 :,-GMTJanFebSunMon")))
@example(value="99999999999999999999")
@example(value="Fri, 15 Jan 0000 08:00:30 GMT")
@example(value="Fri Jan  5 08:00:30 9999")
@example(value="Friday, 15-Jan-99 08:00:30 GMT")
def test_retry_after_is_none_or_bounded(value: str | None) -> None:
    seconds = parse_retry_after(value, now=NOW)
    assert seconds is None or (isinstance(seconds, float) and 0 <= seconds <= MAX_RETRY_AFTER)


@given(seconds=st.integers(0, 10**9), pad=st.sampled_from(["", " ", "\t", "  "]))
def test_retry_after_digits_round_trip(seconds: int, pad: str) -> None:
    expected = min(float(seconds), MAX_RETRY_AFTER)
    assert parse_retry_after(f"{pad}{seconds}{pad}", now=NOW) == expected


@given(delta=st.integers(-(10**6), 10**6))
def test_retry_after_http_date_round_trip(delta: int) -> None:
    value = format_datetime(_utc(NOW + delta), usegmt=True)
    expected = min(float(max(0, delta)), MAX_RETRY_AFTER)
    assert parse_retry_after(value, now=NOW) == expected


scheme_names = tokens
param_names = st.text(TCHAR, min_size=1, max_size=10)


@st.composite
def challenge_lists(draw: st.DrawFn) -> list[tuple[str, dict[str, str]]]:
    challenges = []
    for _ in range(draw(st.integers(1, 16))):
        names = draw(st.lists(param_names, max_size=4, unique_by=str.lower))
        values = draw(st.lists(st.text(max_size=30), min_size=len(names), max_size=len(names)))
        challenges.append((draw(scheme_names), dict(zip(names, values, strict=True))))
    return challenges


@given(challenges=challenge_lists(), data=st.data())
def test_www_authenticate_round_trip(
    challenges: list[tuple[str, dict[str, str]]], data: st.DataObject
) -> None:
    """Schemes with quoted parameters in any order, several to a header, several headers."""
    rendered = []
    for scheme, params in challenges:
        items = data.draw(st.permutations(list(params.items())))
        separator = data.draw(st.sampled_from([", ", ",", " , ", ",\t"]))
        rendered.append(
            f"{scheme} " + separator.join(f"{name}={quoted(value)}" for name, value in items)
            if items
            else scheme
        )
    cut = sorted(data.draw(st.lists(st.integers(0, len(rendered)), max_size=3)))
    bounds = [0, *cut, len(rendered)]
    values = [", ".join(rendered[a:b]) for a, b in itertools.pairwise(bounds) if b > a]
    expected = [
        (scheme, {k.lower(): v for k, v in params.items()}) for scheme, params in challenges
    ]
    assert parse_www_authenticate(values) == expected


@given(
    values=st.lists(
        st.one_of(
            st.text(max_size=300),
            st.lists(st.sampled_from(['"', "\\", "=", ",", " ", "a", "L402", "x="])).map("".join),
        ),
        max_size=4,
    )
)
def test_www_authenticate_never_raises(values: list[str]) -> None:
    challenges = parse_www_authenticate(values)
    assert len(challenges) <= 16
    for scheme, params in challenges:
        assert isinstance(scheme, str) and scheme
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in params.items())


@given(
    value=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=20,
    )
)
def test_base64_json_round_trip(value: Any) -> None:
    text = _dumps(value, False)
    try:
        expected = loads_json(text)
    except ValueError:  # NaN and Infinity are refused
        expected = None
    assert decode_base64_json(base64.b64encode(text.encode()).decode()) == expected
    assert decode_base64url_json(_b64url(value)) == expected


@given(
    value=st.one_of(
        st.text(),
        st.text(ALNUM + "+/=-_"),
        st.binary().map(lambda raw: base64.b64encode(raw).decode("ascii")),
    )
)
def test_base64_decoders_never_raise(value: str) -> None:
    for decode in (decode_base64_json, decode_base64url_json):
        decoded = decode(value)
        assert decoded is None or _no_floats(decoded)


@given(value=json_texts(PLAIN_TEXTS).map(lambda t: base64.b64encode(t.encode()).decode()))
def test_base64_json_of_hostile_documents_never_raises(value: str) -> None:
    decode_base64_json(value)
    decode_base64url_json(value.rstrip("=").replace("+", "-").replace("/", "_"))


def _no_floats(value: Any) -> bool:
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(_no_floats(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_floats(v) for v in value)
    return not isinstance(value, Decimal) or value.is_finite()


@given(text=st.one_of(st.text(), json_texts(PLAIN_TEXTS)))
def test_loads_json_returns_exact_values_or_raises_value_error(text: str) -> None:
    try:
        value = loads_json(text)
    except ValueError:
        return
    assert _no_floats(value)


@given(value=json_values(st.text(max_size=20)))
def test_loads_json_round_trip(value: Any) -> None:
    text = _dumps(value, False)
    try:
        parsed = loads_json(text)
    except ValueError:
        assert "NaN" in text or "Infinity" in text
        return
    assert json.dumps(parsed, default=str) == json.dumps(_as_decimal(value), default=str)


def _as_decimal(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_as_decimal(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_decimal(v) for k, v in value.items()}
    return value


@given(
    value=st.one_of(
        st.none(),
        st.text(max_size=80),
        st.from_regex(r"\s*[A-Za-z]{2,4}\s+[0-9.]{1,30}\s*", fullmatch=True),
    )
)
def test_crawler_price_is_none_or_well_formed(value: str | None) -> None:
    price = parse_crawler_price(value)
    if price is not None:
        currency, amount = price
        assert len(currency) == 3 and currency.isupper()
        assert as_amount(amount) is not None and len(amount) <= 25


@given(
    currency=st.from_regex(r"[A-Z]{3}", fullmatch=True),
    amount=st.from_regex(r"[0-9]{1,12}(\.[0-9]{1,12})?", fullmatch=True),
    pad=st.sampled_from(["", " ", "  ", "\t"]),
)
def test_crawler_price_round_trip(currency: str, amount: str, pad: str) -> None:
    assert parse_crawler_price(f"{pad}{currency} {amount}{pad}") == (currency, amount)


@given(
    value=st.one_of(
        st.text(),
        st.builds(
            lambda scheme, rest: scheme + rest,
            st.sampled_from(["https://", "http://", "HTTPS://", "javascript:", "//", "http:\\\\"]),
            st.text(),
        ),
        st.sampled_from(URLS),
        st.integers(),
        st.none(),
    )
)
def test_safe_action_url_is_none_or_safe(value: object) -> None:
    url = safe_action_url(value)
    if url is None:
        return
    assert url == value and len(url) <= 2048
    assert not any(ord(c) <= 0x20 or c == "\x7f" for c in url)
    assert "\\" not in url
    scheme, _, rest = url.partition("://")
    assert scheme.lower() in ("https", "http")
    netloc = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    assert netloc and "@" not in netloc


@given(
    host=st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){1,3}", fullmatch=True),
    path=st.from_regex(r"(/[A-Za-z0-9._~-]{0,10}){0,3}", fullmatch=True),
)
def test_safe_action_url_keeps_plain_https(host: str, path: str) -> None:
    url = f"https://{host}{path}"
    assert safe_action_url(url) == url


@given(
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.decimals(),
        st.text(max_size=80),
        number_text,
        st.lists(st.integers(), max_size=2),
    )
)
def test_as_amount_is_none_or_a_finite_decimal(value: object) -> None:
    amount = as_amount(value)
    assert amount is None or (isinstance(amount, Decimal) and amount.is_finite())
    if isinstance(value, (float, bool)):
        assert amount is None


@given(value=st.decimals(allow_nan=False, allow_infinity=False))
def test_as_amount_round_trip(value: Decimal) -> None:
    assert as_amount(value) == value
    text = str(value)
    if len(text) <= 64 and "E" not in text.upper():
        assert as_amount(text) == value


@given(value=st.one_of(st.text(max_size=60), bolt11))
def test_bolt11_amount_is_none_or_whole_msat(value: str) -> None:
    amount = bolt11_amount_msat(value)
    if amount is not None:
        assert isinstance(amount, Decimal)
        assert amount >= 0 and amount == amount.to_integral_value()
        assert amount <= Decimal(10) ** 31


@given(
    prefix=st.sampled_from(["lnbc", "lntb", "lnbcrt", "lnsb", "lntbs"]),
    digits=st.integers(0, 10**20 - 1),
    multiplier=st.sampled_from(["", "m", "u", "n", "p"]),
)
def test_bolt11_amount_round_trip(prefix: str, digits: int, multiplier: str) -> None:
    per_btc = {"": 1, "m": Decimal("1e-3"), "u": Decimal("1e-6"), "n": Decimal("1e-9")}
    btc = Decimal(digits) * per_btc.get(multiplier, Decimal("1e-12"))
    msat = btc * 100_000_000_000
    expected = msat if msat == msat.to_integral_value() else None
    assert bolt11_amount_msat(f"{prefix}{digits}{multiplier}1pvjluezpp5qqqsy") == expected


@given(
    value=st.one_of(
        st.text(),
        st.integers(min_value=-(10**4000), max_value=10**4000),
        st.decimals(),
        st.booleans(),
        st.none(),
        st.floats(),
    ),
    limit=st.integers(1, 3000),
)
def test_bounded_text_is_none_or_bounded(value: object, limit: int) -> None:
    text = bounded_text(value, limit)
    if text is not None:
        assert isinstance(text, str) and 0 < len(text) <= limit
        assert text == text.strip() and "  " not in text


@given(words=st.lists(st.text(ALNUM + "é€", min_size=1, max_size=12), min_size=1, max_size=20))
def test_bounded_text_round_trip(words: list[str]) -> None:
    text = " ".join(words)
    assert bounded_text(text) == text
    assert bounded_text(f"  {text}\n") == text


# --------------------------------------------------------------------------------------------
# BodyReader
# --------------------------------------------------------------------------------------------


def compress(data: bytes, encoding: str, level: int) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        return gzip.compress(data, compresslevel=level, mtime=0)
    if encoding == "deflate":
        return zlib.compress(data, level)
    compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate
    return compressor.compress(data) + compressor.flush()


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


def feed_all(reader: BodyReader, chunks: list[bytes], limit: int) -> None:
    for chunk in chunks:
        stop = reader.feed(chunk)
        assert len(reader.body) <= limit
        if stop:
            break
    reader.finish()


payloads = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=8), st.integers(1, 200_000)),
)


@given(
    data=payloads,
    encoding=st.sampled_from(["gzip", "x-gzip", "deflate", "raw-deflate"]),
    level=st.integers(0, 9),
    limit=st.integers(1, 5000),
    cuts=st.lists(st.integers(0, 10**6), max_size=12),
)
def test_body_reader_decodes_any_chunking(
    data: bytes, encoding: str, level: int, limit: int, cuts: list[int]
) -> None:
    compressed = compress(data, encoding, level)
    chunks = chunked(compressed, cuts)
    if encoding == "raw-deflate":
        # The zlib-or-raw guess is made on the first chunk: see test_regression_raw_deflate_*.
        while len(chunks) > 1 and len(chunks[0]) < 2:
            chunks[:2] = [chunks[0] + chunks[1]]
        encoding = "deflate"
    reader = BodyReader(encoding, limit)
    feed_all(reader, chunks, limit)
    assert not reader.undecodable
    if len(compressed) <= limit:
        assert reader.body == data[:limit]
        assert reader.truncated == (len(data) > limit)
    else:
        # More compressed bytes than the limit stop the read: what was decoded is a prefix.
        assert data[:limit].startswith(reader.body)
        assert reader.truncated


@given(
    data=payloads,
    encoding=st.sampled_from(["gzip", "deflate", "raw-deflate"]),
    limit=st.integers(1, 5000),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
    damage=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6),
    cut_at=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_body_reader_survives_corrupt_data(
    data: bytes,
    encoding: str,
    limit: int,
    cuts: list[int],
    damage: list[tuple[int, int]],
    cut_at: int | None,
) -> None:
    corrupt = bytearray(compress(data, encoding, 6))
    for position, byte in damage:
        corrupt[position % len(corrupt)] = byte
    raw = bytes(corrupt)[: None if cut_at is None else cut_at % (len(corrupt) + 1)]
    reader = BodyReader("deflate" if encoding == "raw-deflate" else encoding, limit)
    feed_all(reader, chunked(raw, cuts), limit)
    assert isinstance(reader.body, bytes)


@given(
    raw=st.binary(max_size=3000),
    encoding=st.one_of(
        st.none(),
        st.sampled_from(["gzip", "deflate", "br", "identity", "gzip, gzip", " GZIP ", ",", "zstd"]),
        st.text(max_size=20),
    ),
    limit=st.integers(1, 5000),
    cuts=st.lists(st.integers(0, 10**6), max_size=8),
)
def test_body_reader_never_raises_on_arbitrary_bytes(
    raw: bytes, encoding: str | None, limit: int, cuts: list[int]
) -> None:
    reader = BodyReader(encoding, limit)
    feed_all(reader, chunked(raw, cuts), limit)
    if reader.undecodable:
        assert b"".join(reader.raw_chunks) == raw[: len(b"".join(reader.raw_chunks))]


# --------------------------------------------------------------------------------------------
# Known bugs: minimal failing examples. Remove the mark when the bug is fixed.
# --------------------------------------------------------------------------------------------


def _response(
    status: int,
    headers: dict[str, str],
    body: bytes = b"",
    url: str = "https://example.com/v1",
    request_headers: dict[str, str] | None = None,
    secrets: tuple[str, ...] = (),
) -> tuple[Case, httpx.Response]:
    case = Case(
        status=status,
        headers=tuple(headers.items()),
        body=body,
        method="GET",
        url=url,
        request_headers=tuple((request_headers or {}).items()),
        secrets=secrets,
    )
    return case, case.response()


@pytest.mark.parametrize("charset", ["idna", "undefined", "punycode"])
def test_regression_charset_that_rejects_errors_replace_escapes_classify(charset: str) -> None:
    """`decode_text` calls `body.decode(codec, errors="replace")`; these codecs raise
    UnicodeError for it, and `_complete` reads `snapshot.json` outside any try."""
    _, response = _response(402, {"content-type": f"text/plain; charset={charset}"}, b"\xff-\x80")
    http402.classify(response)


@pytest.mark.parametrize(
    "text", ["1e99999999999999999999", "123e999999999999999999", "[0e10000000000000000000]"]
)
def test_regression_loads_json_raises_invalid_operation(text: str) -> None:
    """`Decimal(text)` in `_parse_decimal` raises InvalidOperation (an ArithmeticError, not a
    ValueError) when the exponent does not fit, so it escapes `loads_json`'s contract."""
    with pytest.raises(ValueError):
        loads_json(text)


def test_regression_base64_json_decoders_raise_invalid_operation() -> None:
    assert decode_base64_json(base64.b64encode(b"1e99999999999999999999").decode()) is None
    assert decode_base64url_json(_b64url_text("1e99999999999999999999")) is None


def test_regression_huge_exponent_escapes_classify_on_a_pay_per_crawl_403() -> None:
    """The pay-per-crawl adapter does not read the body, so `_complete` is the first to parse
    it, outside the adapter's try."""
    _, response = _response(403, {"crawler-error": "PaymentFailed"}, b"[1e99999999999999999999]")
    http402.classify(response)


def test_regression_a_huge_exponent_makes_the_body_unusable_not_an_error() -> None:
    """DESIGN: absurd numbers make the JSON unusable; the 402 is `UNKNOWN`, never a crash."""
    body = b'{"error": {"code": "insufficient_quota"}, "x": 1e99999999999999999999}'
    _, response = _response(402, {}, body)
    result = http402.classify(response)
    assert result is not None and result.reason is Reason.UNKNOWN


def test_regression_pay_per_crawl_resource_leaks_url_userinfo_and_query() -> None:
    """`PaymentOption.resource = response.url`: userinfo and `?api_key=` show in the repr,
    with nothing echoed by the server."""
    url = "https://user:Qpassword12347@example.com/?api_key=Qapikey123457"
    case, response = _response(
        402, {"crawler-price": "USD 0.01"}, url=url, secrets=("Qpassword12347", "Qapikey123457")
    )
    assert leaked(case, response, http402.classify(response)) == []


def test_regression_request_id_header_echo_leaks_the_api_key() -> None:
    """`request_id` is shown by repr(result), repr(error) and str(error) without redaction."""
    case, response = _response(
        402,
        {"x-request-id": "Qkey123456789"},
        request_headers={"x-api-key": "Qkey123456789"},
        secrets=("Qkey123456789",),
    )
    assert leaked(case, response, http402.classify(response)) == []


@pytest.mark.parametrize(
    "body",
    [
        {"error": "x", "currency": "Qkey123456789"},
        {"error": "x", "current_plan": "Qkey123456789"},
        {"error": "x", "upgrade_url": "https://billing.example.com/?k=Qkey123456789"},
        {"x402Version": 2, "accepts": [{"scheme": "exact", "payTo": "Qkey123456789"}]},
    ],
)
def test_regression_body_echo_of_the_api_key_leaks_through_other_fields(
    body: dict[str, Any],
) -> None:
    case, response = _response(
        402,
        {"content-type": "application/json"},
        json.dumps(body).encode(),
        request_headers={"authorization": "Bearer Qkey123456789"},
        secrets=("Qkey123456789",),
    )
    assert leaked(case, response, http402.classify(response)) == []


@settings(phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking: see the above
@given(case=cases())
def test_regression_secrets_never_show_in_repr_or_str(case: Case) -> None:
    """README: credentials never appear in any message or repr, even when echoed back."""
    response, result = classify_case(case)
    assert leaked(case, response, result) == []


@pytest.mark.parametrize(
    "body",
    [
        b"<" * 16_000,  # _TAGS: every "<" scans 2000 characters for a ">" (64 KiB: ~1 s)
        b"<script " * 2_000,  # _SCRIPTS: every "<script" scans up to 20000 characters
    ],
    ids=["lt", "script"],
)
def test_regression_slow_html_regexes(body: bytes) -> None:
    _, response = _response(402, {"content-type": "text/html"}, body)
    http402.classify(response)
    elapsed = _elapsed(lambda: http402.classify(response))
    assert elapsed < TIME_BOUND, f"{elapsed * 1000:.0f} ms"


@pytest.mark.parametrize(
    ("body", "url"),
    [
        (json.dumps({"error": {"message": "7" * 1990 + " x"}}), "https://example.com/v1"),
        (json.dumps({"error": {"message": "7," * 995 + " x"}}), "https://example.com/v1"),
        # A provider adapter reads a plain-text body as the message.
        ("7" * 2000, "https://api.openai.com/v1"),
    ],
    ids=["json-digits", "json-commas", "openai-text"],
)
def test_regression_slow_credit_count_regexes_on_long_numbers(body: str, url: str) -> None:
    """`([0-9][0-9,]*(?:\\.[0-9]+)?) credits?` in `_CREDITS_REQUIRED_WORDS` and
    `_CREDITS_AVAILABLE_WORDS` restarts at every digit of a long run: 2000 digits of message,
    ~100-150 ms."""
    _, response = _response(402, {"content-type": "application/json"}, body.encode(), url=url)
    http402.classify(response)
    elapsed = _elapsed(lambda: http402.classify(response))
    assert elapsed < TIME_BOUND, f"{elapsed * 1000:.0f} ms"


def test_regression_slow_depth_scan_of_a_cut_json_string() -> None:
    """A string pattern restarts at every escaped quote of a string that never closes
    and scans to the end: 8 KiB take ~0.3 s, 64 KiB ~14 s. A JSON body longer than 64 KiB
    that is cut inside a string full of `\\"` (an error echoing a JSON request) does it."""
    text = '["' + '\\"' * 4_000 + "{" * 40
    _, response = _response(402, {"content-type": "application/json"}, text.encode())
    elapsed = _elapsed(lambda: http402.classify(response))
    assert elapsed < TIME_BOUND, f"{elapsed * 1000:.0f} ms"


def test_regression_raw_deflate_with_a_one_byte_first_chunk() -> None:
    """The zlib-or-raw guess is made on the first chunk only; one byte cannot fail the zlib
    header check, so the raw stream is then read as zlib and found corrupt."""
    raw = compress(b"payment required", "raw-deflate", 6)
    reader = BodyReader("deflate", 1000)
    feed_all(reader, [raw[:1], raw[1:]], 1000)
    assert reader.body == b"payment required"


def test_regression_bounded_text_of_a_huge_int() -> None:
    """Unreachable from JSON (loads_json caps digits), but a custom adapter can hand it one:
    it is absent information (`None`), not an error."""
    assert bounded_text(10**5000, 10) is None
