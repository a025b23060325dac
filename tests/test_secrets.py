"""Secrets never leak: a canary credential in every place a request can carry one, echoed
back by the server, is searched for in every channel http402 writes to.

A leak is any 10-character piece of the canary in `str`, `repr` or `args` of the error and
its payment, a log record of the `http402` logger (message and extra fields), an
OpenTelemetry span event, a Redis key or value, or `http402 explain` output (text and JSON).
"""

from __future__ import annotations

import array
import asyncio
import base64
import contextlib
import functools
import html
import json
import logging
import re
import shutil
import traceback
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlencode

import attrs
import httpx
import pytest
import regex
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import http402
from http402 import _unicode_data
from http402._cli import main
from http402._redaction import (
    _SEPARATOR_RANGES,
    CREDENTIAL_NAMES,
    NOT_CREDENTIALS,
    CredentialName,
    Redactor,
    _basic_separator_runs,
    _fold,
    _separator_runs,
    _separator_spans,
    body_secrets,
    collect_secrets,
    credential_kind,
    is_credential_query_name,
    is_sensitive_header,
    request_body,
    request_secrets,
    separator_set,
)
from http402._replay import default_scope

from .test_fleet import RedisServer, settle

CANARY = "ZQ7kP2mX9vL4nR8tW3yB6cD1fG5hJ0sA"
HOST = "api.vendor.example"
URL = f"https://{HOST}/v1/run"
#: Query parameter names that `docs/safety.md` lists as credentials.
QUERY_NAMES = (
    "key",
    "api_key",
    "apikey",
    "apiKey",
    "token",
    "access_token",
    "sessionid",
    "session",
    "jwt",
    "pwd",
    "password",
    "access",
    "secret",
    "sig",
    "signature",
    "auth",
    "passphrase",
)


@attrs.frozen
class Placement:
    """Where the request carries the canary."""

    url: str = URL
    headers: tuple[tuple[str, str], ...] = ()
    hook_headers: tuple[tuple[str, str], ...] = ()
    #: The request's body and its type (case 137: Tavily's `{"api_key": ...}`).
    body: tuple[bytes, str] = (b"{}", "application/json")


PLACEMENTS: dict[str, Placement] = {
    "Authorization": Placement(headers=(("Authorization", f"Bearer {CANARY}"),)),
    "Authorization Basic": Placement(
        headers=(("Authorization", "Basic " + base64.b64encode(f"bob:{CANARY}".encode()).decode()),)
    ),
    "x-api-key": Placement(headers=(("x-api-key", CANARY),)),
    "X-ApiKey": Placement(headers=(("X-ApiKey", CANARY),)),
    "X-ELS-APIKey": Placement(headers=(("X-ELS-APIKey", CANARY),)),
    "X-MBX-APIKEY": Placement(headers=(("X-MBX-APIKEY", CANARY),)),
    "Ocp-Apim-Subscription-Key": Placement(headers=(("Ocp-Apim-Subscription-Key", CANARY),)),
    "CB-ACCESS-PASSPHRASE": Placement(
        headers=(("CB-ACCESS-KEY", "c2f9a1e0b7d64f3a"), ("CB-ACCESS-PASSPHRASE", CANARY))
    ),
    "OK-ACCESS-PASSPHRASE": Placement(
        headers=(("OK-ACCESS-KEY", "9b1d7f3e5a2c4e6f"), ("OK-ACCESS-PASSPHRASE", CANARY))
    ),
    "cookie session": Placement(headers=(("Cookie", f"session={CANARY}; theme=dark"),)),
    "cookie sid": Placement(headers=(("Cookie", f"theme=dark; sid={CANARY}"),)),
    "userinfo": Placement(url=f"https://bob:{CANARY}@{HOST}/v1/run"),
    **{
        f"query {name}": Placement(url=f"{URL}?page=2&{name}={CANARY}&model=m")
        for name in QUERY_NAMES
    },
    # An API key in the URL's path, as Ethereum RPC providers take it (`_path_keys`).
    "path Alchemy": Placement(url=f"https://eth-mainnet.g.alchemy.com/v2/{CANARY}"),
    "path Infura": Placement(url=f"https://mainnet.infura.io/v3/{CANARY}"),
    "path QuickNode": Placement(url=f"https://docs-demo.quiknode.pro/{CANARY}/"),
    "path Ankr": Placement(url=f"https://rpc.ankr.com/eth/{CANARY}"),
    "path any host": Placement(url=f"https://rpc.example.net/v1/{CANARY}/status"),
    "hook X-Fresh-Token": Placement(hook_headers=(("X-Fresh-Token", CANARY),)),
    "hook Authorization": Placement(hook_headers=(("Authorization", f"Bearer {CANARY}"),)),
    "hook PAYMENT-SIGNATURE": Placement(hook_headers=(("PAYMENT-SIGNATURE", CANARY),)),
    "hook X-PAYMENT": Placement(hook_headers=(("X-PAYMENT", CANARY),)),
    "hook X-Payment-Proof": Placement(hook_headers=(("X-Payment-Proof", CANARY),)),
    # A key in the request's body, under a credential's name (case 137).
    "body JSON api_key": Placement(
        body=(json.dumps({"api_key": CANARY, "query": "who won"}).encode(), "application/json")
    ),
    "body JSON nested auth.token": Placement(
        body=(json.dumps({"auth": {"type": "bearer", "token": CANARY}}).encode(), "text/json")
    ),
    "body form api_key": Placement(
        body=(f"query=who+won&api_key={CANARY}".encode(), "application/x-www-form-urlencoded")
    ),
    "body multipart apikey": Placement(
        body=(
            b'--b0undary\r\nContent-Disposition: form-data; name="language"\r\n\r\neng\r\n'
            b'--b0undary\r\nContent-Disposition: form-data; name="apikey"\r\n\r\n'
            + CANARY.encode()
            + b"\r\n--b0undary--\r\n",
            "multipart/form-data; boundary=b0undary",
        )
    ),
}


def pieces(secret: str, size: int = 10) -> list[str]:
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


#: What a reader skips between a key's characters, by the `regex` package's Unicode tables
#: (not the redactor's): any punctuation, symbol or space between groups, and whatever
#: renders as nothing.
READER_SEPARATORS = regex.compile(r"[\p{P}\p{S}\p{Z}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}]")


#: The planes that hold any such character (the rest are ideographs and private use).
SEPARATOR_PLANES = "".join(map(chr, (*range(0x20000), *range(0xE0000, 0xE1000))))


@functools.cache
def reader_table() -> dict[int, None]:
    """`READER_SEPARATORS` as a table (a pattern of Unicode properties is slow to run on
    the many texts the tests fold)."""
    return dict.fromkeys(map(ord, READER_SEPARATORS.findall(SEPARATOR_PLANES)))


def folded(text: str) -> str:
    """`text` as a reader compares it with a key: case aside, and the separators a server
    groups a key with (or a form decoder makes of `+`) left out."""
    return text.translate(reader_table()).lower()


def leaks(text: str, secret: str = CANARY) -> list[str]:
    shown = folded(text)
    return [piece for piece in pieces(folded(secret)) if piece in shown]


def echoes(request: httpx.Request) -> bool:
    """`True` when the request carries the canary anywhere a server can read it."""
    seen = [str(request.url), *(v for _, v in request.headers.multi_items())]
    with contextlib.suppress(httpx.RequestNotRead):
        seen.append(request.content.decode("utf-8", "replace"))
    for value in request.headers.get_list("authorization"):
        if value.startswith("Basic "):
            seen.append(base64.b64decode(value[6:]).decode())
    return any(CANARY in text for text in seen)


def echoing_provider(request: httpx.Request) -> httpx.Response:
    """A 402 that quotes the caller's credential: in full, across the message's 2,000-character
    cut, in the code, the request id and the plan."""
    said = CANARY if echoes(request) else "none"
    head = f"Invalid credential {said}: no credits left. "
    message = head + "x" * (2000 - len(head) - 12) + said
    body = {
        "error": {
            "message": message,
            "code": f"insufficient_credits_{said}",
            "current_plan": f"plan-{said}",
        }
    }
    return httpx.Response(402, json=body, headers={"x-request-id": f"req-{said}"})


def x402_provider(request: httpx.Request) -> httpx.Response:
    """An x402 challenge whose refusal quotes the proof it was sent."""
    said = CANARY if echoes(request) else "none"
    body = {
        "x402Version": 1,
        "error": f"invalid payment proof {said}",
        "accepts": [
            {
                "scheme": "exact",
                "network": "base",
                "maxAmountRequired": "1000",
                "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
                "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
                "resource": f"https://{HOST}/v1/run",
                "description": f"proof {said}",
                "maxTimeoutSeconds": 60,
            }
        ],
    }
    return httpx.Response(402, json=body)


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    binary = shutil.which("redis-server")
    if binary is None:
        yield None
        return
    server = RedisServer(binary, tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def spans() -> Iterator[Callable[[], str]]:
    """The events of spans finished while the test runs, as text."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    def events() -> str:
        return repr(
            [
                (e.name, dict(e.attributes or {}))
                for s in exporter.get_finished_spans()
                for e in s.events
            ]
        )

    with tracer.start_as_current_span("call"):
        yield events


def error_texts(error: BaseException) -> list[str]:
    texts = [str(error), repr(error), repr(error.args)]
    payment = getattr(error, "payment", None)
    if payment is not None:
        texts += [
            repr(payment),
            str(payment),
            json.dumps(attrs.asdict(payment, filter=_shown), default=str),
        ]
    return texts


def _shown(attribute: attrs.Attribute[Any], value: object) -> bool:
    return attribute.name != "raw"


def log_texts(records: list[logging.LogRecord]) -> list[str]:
    texts = []
    for record in records:
        if record.name.startswith("http402"):
            texts.append(record.getMessage())
            texts.append(repr(vars(record)))
    return texts


def har(placement: Placement, response: httpx.Response) -> dict[str, Any]:
    cookies = [
        {"name": n.strip(), "value": v}
        for name, value in placement.headers
        if name.lower() == "cookie"
        for n, _, v in (pair.partition("=") for pair in value.split(";"))
    ]
    entry = {
        "request": {
            "method": "POST",
            "url": placement.url,
            "headers": [
                {"name": n, "value": v} for n, v in placement.headers + placement.hook_headers
            ],
            "cookies": cookies,
            "postData": {
                "mimeType": placement.body[1],
                "text": placement.body[0].decode(),
            },
        },
        "response": {
            "status": response.status_code,
            "headers": [{"name": n, "value": v} for n, v in response.headers.multi_items()],
            "content": {"mimeType": "application/json", "text": response.text},
        },
    }
    return {"log": {"version": "1.2", "entries": [entry]}}


def sweep(
    placement: Placement,
    provider: Callable[[httpx.Request], httpx.Response],
    redis_url: str | None,
    caplog: pytest.LogCaptureFixture,
    spans: Callable[[], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> dict[str, list[str]]:
    """Every channel's text after gated requests that carry the canary as `placement` says."""
    coordinator: Any = None
    if redis_url is not None:
        redis = pytest.importorskip("redis")
        store = redis.Redis.from_url(redis_url)
        store.flushdb()
        settle(store)  # a store that has served a while, not one that just lost its data
        coordinator = http402.RedisCoordinator(store)

    def hook(error: http402.PaymentRequiredError) -> http402.Retry:
        return http402.Retry(headers=placement.hook_headers, within=5)

    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(provider),
        on_payment_required=hook,
        retry=http402.RetryPolicy(max_replays=1),
        sleep=lambda seconds: None,
        coordinator=coordinator,
        preflight=http402.Preflight(gate_ttl=30),
    )
    channels: dict[str, list[str]] = {"error": [], "log": [], "span": [], "redis": [], "cli": []}
    caplog.set_level(logging.DEBUG, logger="http402")
    with httpx.Client(transport=transport) as client:
        for _ in range(2):  # the second one fails fast, from the stored gate
            with pytest.raises(http402.PaymentRequiredError) as caught:
                client.post(
                    placement.url,
                    headers=[*placement.headers, ("content-type", placement.body[1])],
                    content=placement.body[0],
                )
            channels["error"] += error_texts(caught.value)
    channels["log"] = log_texts(caplog.records)
    channels["span"] = [spans()]
    if redis_url is not None:
        channels["redis"] = [repr((key, store.dump(key))) for key in store.scan_iter("*")]
    request = httpx.Request(
        "POST",
        placement.url,
        headers=list(placement.headers + placement.hook_headers),
        content=placement.body[0],
    )
    path = tmp_path / "capture.har"
    path.write_text(json.dumps(har(placement, provider(request))))
    for args in ([str(path)], [str(path), "--json"]):
        capsys.readouterr()
        main(["explain", *args])
        out, err = capsys.readouterr()
        channels["cli"].append(out + err)
    return channels


@pytest.mark.parametrize("place", list(PLACEMENTS))
def test_an_echoed_credential_shows_in_no_channel(
    place: str,
    redis_url: str | None,
    caplog: pytest.LogCaptureFixture,
    spans: Callable[[], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No 10-character piece of the caller's credential reaches any output channel."""
    placement = PLACEMENTS[place]
    provider = x402_provider if "PAYMENT" in place else echoing_provider
    channels = sweep(placement, provider, redis_url, caplog, spans, tmp_path, capsys)
    found = {
        channel: [text[:200] for text in texts if leaks(text)]
        for channel, texts in channels.items()
    }
    assert not any(found.values()), found
    # The sweep is only worth something if the server did echo the canary back.
    request = httpx.Request(
        "POST", placement.url, headers=list(placement.headers), content=placement.body[0]
    )
    if not placement.hook_headers:
        assert CANARY in provider(request).text
    assert channels["error"] and channels["cli"]
    if redis_url is not None and provider is echoing_provider:
        assert channels["redis"]  # a challenge is per request: it is never stored


@pytest.mark.parametrize(
    "headers", [{"Cookie": f"session={CANARY}; theme=dark"}, {"x-apikey": CANARY}]
)
def test_an_echoed_cookie_value_or_x_apikey_is_scrubbed(headers: dict[str, str]) -> None:
    """The shared repro: a cookie value and an `x-apikey` echoed back are scrubbed."""

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"message": f"Invalid session {CANARY}"}})

    client = httpx.Client(transport=http402.PaymentRequiredTransport(httpx.MockTransport(provider)))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.get(URL, headers=headers)
    assert caught.value.payment.message == "Invalid session [redacted]"
    assert CANARY not in str(caught.value) + repr(caught.value.payment)


@pytest.mark.anyio
@pytest.mark.parametrize("place", list(PLACEMENTS))
async def test_an_echoed_credential_shows_in_no_channel_async(
    place: str, caplog: pytest.LogCaptureFixture, spans: Callable[[], str]
) -> None:
    """The async transport keeps the credential out of the error, the logs and the spans."""
    placement = PLACEMENTS[place]
    provider = x402_provider if "PAYMENT" in place else echoing_provider

    async def hook(error: http402.PaymentRequiredError) -> http402.Retry:
        return http402.Retry(headers=placement.hook_headers, within=5)

    async def no_sleep(seconds: float) -> None:
        pass

    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(provider),
        on_payment_required=hook,
        retry=http402.RetryPolicy(max_replays=1),
        sleep=no_sleep,
        preflight=http402.Preflight(gate_ttl=30),
    )
    caplog.set_level(logging.DEBUG, logger="http402")
    texts: list[str] = []
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(2):
            with pytest.raises(http402.PaymentRequiredError) as caught:
                await client.post(placement.url, headers=list(placement.headers), content=b"{}")
            texts += error_texts(caught.value)
    texts += [*log_texts(caplog.records), spans()]
    assert not [text[:200] for text in texts if leaks(text)]


def test_the_sweep_sees_a_leak() -> None:
    """The sweep's search finds a credential that is not one of the request's own."""
    text = str(echoing_provider(httpx.Request("GET", URL, headers={"x-other": CANARY})).text)
    assert leaks(text)


# --- Echoed in another encoding ----------------------------------------------------------

#: A base64-style key: `+`, `/` and `=` are what percent-encoding, JSON and HTML change.
SLASHED = "Zm9vYmFyYmF6+qux/quuxQ==AbCdEf01"


def _escaped(text: str, escape: Callable[[str], str]) -> str:
    return "".join(c if c.isalnum() else escape(c) for c in text)


#: Every way a server has been seen (or could be expected) to quote a value back.
ECHOES: dict[str, Callable[[str], str]] = {
    "percent-encoded": lambda s: quote(s, safe=""),
    "percent-encoded, lower-case hex": lambda s: _escaped(s, lambda c: f"%{ord(c):02x}"),
    "percent-encoded letters too": lambda s: "".join(f"%{ord(c):02X}" for c in s),
    "form-encoded": quote_plus,
    "percent-encoded twice": lambda s: quote(quote(s, safe=""), safe=""),
    "JSON-escaped slash": lambda s: s.replace("/", "\\/"),
    "JSON \\u escapes": lambda s: _escaped(s, lambda c: f"\\u{ord(c):04x}"),
    "JavaScript \\x escapes": lambda s: _escaped(s, lambda c: f"\\x{ord(c):02X}"),
    "HTML decimal references": lambda s: _escaped(s, lambda c: f"&#{ord(c)};"),
    "HTML hex references": lambda s: _escaped(s, lambda c: f"&#x{ord(c):x};"),
    "HTML named references": lambda s: (
        s.replace("+", "&plus;").replace("/", "&sol;").replace("=", "&equals;")
    ),
    "base64, inside a longer value": lambda s: base64.b64encode(f"user:{s}".encode()).decode(),
    "base64url, at another offset": lambda s: base64.urlsafe_b64encode(f"k={s}".encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "read by a form decoder (+ as a space)": lambda s: s.replace("+", " "),
    "JavaScript escape() %uXXXX": lambda s: "".join(f"%u{ord(c):04X}" for c in s),
    "lower-cased": str.lower,
    "upper-cased": str.upper,
    "in groups of four": lambda s: " ".join(s[i : i + 4] for i in range(0, len(s), 4)),
    "in dashed groups of four": lambda s: "-".join(s[i : i + 4] for i in range(0, len(s), 4)),
    "shortened by the server (24 characters and ...)": lambda s: s[:24] + "...",
    "a middle piece of 16": lambda s: s[4:20],
    "lower-cased, then percent-encoded": lambda s: quote(s.lower(), safe=""),
    # Characters a reader does not see, between the key's: a UTF-16 or UTF-32 body read as
    # UTF-8 (case 101), word-break hints (case 104) and other format characters.
    "NUL after each character (UTF-16-LE read as UTF-8)": lambda s: s.encode("utf-16-le").decode(),
    "NUL before each character (UTF-16-BE read as UTF-8)": lambda s: s.encode("utf-16-be").decode(),
    "three NULs after each (UTF-32-LE read as UTF-8)": lambda s: s.encode("utf-32-le").decode(),
    "a soft hyphen every four characters": lambda s: "\u00ad".join(_groups(s, 4)),
    "a zero-width joiner between characters": "\u200d".join,
    "a word joiner and a BOM by turns": lambda s: "".join(
        c + "\u2060\ufeff"[i % 2] for i, c in enumerate(s)
    ),
    "fullwidth": lambda s: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in s),
    # Encoded forms with separators in them (cases 102 and 105), and pieces of them anywhere
    # (case 103).
    "hex dump, bytes apart by spaces": lambda s: s.encode().hex(" "),
    "hex dump, colons, upper case": lambda s: s.encode().hex(":").upper(),
    "hex, dashes every four bytes": lambda s: s.encode().hex("-", 4),
    "base64 wrapped every 16 characters (CRLF)": lambda s: "\r\n".join(
        _groups(base64.b64encode(s.encode()).decode(), 16)
    ),
    "base64url wrapped every 20 characters": lambda s: "\n".join(
        _groups(base64.urlsafe_b64encode(f"id:{s}".encode()).decode(), 20)
    ),
    "MIME base64 (base64.encodebytes)": lambda s: base64.encodebytes(s.encode()).decode(),
    "the first 24 base64 characters, then more text": lambda s: (
        base64.b64encode(s.encode()).decode()[:24] + " (truncated) and more"
    ),
    "a middle piece of its base64": lambda s: base64.b64encode(s.encode()).decode()[8:30],
}


def _groups(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def unseen(text: str) -> str:
    """`text` as a reader sees it: without the characters that render as nothing (controls,
    format characters) nor spaces and line breaks, and with its fullwidth letters and digits
    as ASCII (NFKC)."""
    shown = unicodedata.normalize("NFKC", text)
    if shown.isascii():  # ASCII's Cc, Cf and Zs: its controls and the space
        return shown.translate(_ASCII_UNSEEN)
    return "".join(c for c in shown if unicodedata.category(c) not in ("Cc", "Cf", "Zs"))


_ASCII_UNSEEN = {
    code: None for code in range(128) if unicodedata.category(chr(code)) in ("Cc", "Cf", "Zs")
}


_RUN = re.compile(r"[A-Za-z0-9+/_\-]{12,}={0,2}")


def revealed(text: str) -> list[str]:
    """`text` and every decoding of it a reader could apply: the test's own decoders, not
    the redactor's, so that a leak the redactor cannot see is still found."""
    unescaped = re.sub(r"\\[nrt]", " ", text)
    found = [text, html.unescape(text), text.replace("\\/", "/"), unseen(html.unescape(unescaped))]
    for _ in range(2):
        found += [unquote(found[-1]), unquote_plus(found[-1])]
    found.append(
        re.sub(
            r"(?:\\u|%u)([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})",
            lambda m: chr(int(m.group(1) or m.group(2), 16)),
            text,
        )
    )
    found.append(unseen(found[-1]))
    # Base64 and hex, also as a reader sees them (a MIME line break or a NUL left out).
    views = dict.fromkeys((text, found[3], found[-2], found[-1]))
    runs = dict.fromkeys(run for view in views for run in _RUN.findall(view))
    for view in views:  # hex dumps: pairs of digits, apart by a separator or not
        for dump in re.findall(r"(?:[0-9a-fA-F]{2}[\s:\-.]?){8,}", view):
            found.append(bytes.fromhex(re.sub(r"[^0-9a-fA-F]", "", dump)).decode("latin-1"))
    for run in runs:
        for skip in range(4):
            chunk = run[skip:].rstrip("=")
            chunk = chunk[: len(chunk) - len(chunk) % 4]
            for alphabet in (None, b"-_"):
                with contextlib.suppress(ValueError):
                    found.append(base64.b64decode(chunk, altchars=alphabet).decode("latin-1"))
    return found


def encoded_leaks(text: str, secret: str = SLASHED, size: int = 10) -> list[str]:
    """The `size`-character pieces of `secret` that some decoding of `text` shows, compared
    `folded`."""
    views, joined = _revealed_folded(text)
    if "\0" in secret:  # a piece could span two views in `joined`: one view at a time
        return [p for p in pieces(folded(secret), size) if any(p in view for view in views)]
    return [piece for piece in pieces(folded(secret), size) if piece in joined]


@functools.lru_cache(maxsize=4096)
def _revealed_folded(text: str) -> tuple[tuple[str, ...], str]:
    """Every decoding of `text` (`revealed`), `folded`, each once, and the same joined by
    NUL, in which a piece without NUL is found only where one of them holds it. A sweep
    searches the same texts again and again (both requests' errors, the log records)."""
    views = tuple(dict.fromkeys(folded(shown) for shown in revealed(text)))
    return views, "\0".join(views)


def documented_run(secret: str) -> int:
    """The shortest run of `secret` that docs/safety.md promises to scrub: 8 characters up
    to a 26-character key (folded), a third of its length beyond, at most 12."""
    length = len(folded(secret))
    return min(12, max(8, length // 3), length)


def run_leaks(text: str, secret: str) -> list[str]:
    """The runs of `secret`, of the documented length, that any decoding of `text` shows."""
    return encoded_leaks(text, secret, documented_run(secret))


def echo_in(encode: Callable[[str], str]) -> Callable[[httpx.Request], httpx.Response]:
    """A 402 that quotes the caller's key back in one encoding: in a usage link in the
    message, in the code and in the request id."""

    def provider(request: httpx.Request) -> httpx.Response:
        sent = [v for _, v in request.headers.multi_items()]
        said = encode(SLASHED) if any(SLASHED in value for value in sent) else "none"
        message = f"Insufficient credits. Check usage at https://dash.example.com/u?key={said} now"
        body = {"error": {"message": message, "code": f"no_credits:{said}"}}
        # A header holds printable ASCII: any other echo is percent-encoded there.
        header = said if said.isascii() and said.isprintable() else quote(said, safe="")
        return httpx.Response(402, json=body, headers={"x-request-id": f"req-{header}"})

    return provider


@pytest.mark.parametrize("echo", list(ECHOES))
@pytest.mark.parametrize(
    "headers",
    [
        (("x-api-key", SLASHED),),
        (("Authorization", f"Bearer {SLASHED}"),),
        (("Cookie", f"theme=dark; session={SLASHED}"),),
    ],
    ids=["x-api-key", "Authorization", "Cookie"],
)
def test_a_credential_echoed_in_another_encoding_shows_in_no_channel(
    echo: str,
    headers: tuple[tuple[str, str], ...],
    redis_url: str | None,
    caplog: pytest.LogCaptureFixture,
    spans: Callable[[], str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key quoted back percent-encoded, escaped, as HTML references, in base64 or hex
    reaches no channel: error, traceback, logs, spans, the gate stored in Redis, the CLI."""
    provider = echo_in(ECHOES[echo])
    assert encoded_leaks(provider(httpx.Request("GET", URL, headers=headers)).text)
    channels = sweep(
        Placement(headers=headers), provider, redis_url, caplog, spans, tmp_path, capsys
    )
    found = {
        channel: [text[:300] for text in texts if encoded_leaks(text)]
        for channel, texts in channels.items()
    }
    assert not any(found.values()), found


@pytest.mark.parametrize("echo", list(ECHOES))
def test_a_traceback_shows_no_encoded_echo(echo: str) -> None:
    """The traceback of the typed error carries no piece of the key in any encoding."""
    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(httpx.MockTransport(echo_in(ECHOES[echo])))
    )
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.get(URL, headers={"x-api-key": SLASHED})
    shown = "".join(traceback.format_exception(caught.value))
    assert "[redacted]" in shown
    assert not encoded_leaks(shown)


@pytest.mark.parametrize("echo", list(ECHOES))
@pytest.mark.parametrize("limit", [40, 90, 200])
def test_a_cut_inside_an_encoded_echo_leaves_no_piece(echo: str, limit: int) -> None:
    """Wherever a cut lands inside an encoded echo, what is left of it is scrubbed."""
    redact = Redactor([SLASHED])
    encoded = ECHOES[echo](SLASHED)
    for start in range(limit - len(encoded) - 4, limit + 2):
        text = redact.bounded("a" * max(0, start) + encoded + "b" * 30, limit)
        assert len(text) <= limit
        assert not encoded_leaks(text, size=6), text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~"),
        min_size=16,
        max_size=48,
    ),
    echo=st.sampled_from(sorted(ECHOES)),
    before=st.text(max_size=40),
    after=st.text(max_size=40),
)
def test_any_key_in_any_encoding_is_scrubbed(
    secret: str, echo: str, before: str, after: str
) -> None:
    """Property: any key of base64 and URL characters, echoed in any of the encodings (or
    shortened, re-cased, grouped) amid any text, leaves no run of the documented length in
    the scrubbed text, however it is decoded and compared."""
    assume(len(folded(secret)) >= 8)  # shorter once folded: a secret only as it stands
    text = before + ECHOES[echo](secret) + after
    shown = Redactor([secret])(text)
    around = folded(before) + " " + folded(after)
    assert not [p for p in run_leaks(shown, secret) if p not in around]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        min_size=150,
        max_size=600,
    ),
    echo=st.sampled_from(sorted(ECHOES)),
    before=st.text(max_size=40),
)
def test_a_long_secret_leaves_no_run_either(secret: str, echo: str, before: str) -> None:
    """Property: a JWT-sized secret or a payment proof (found by sampling the text, not by
    its own anchors) echoed in any of the encodings leaves no run of its length (12)."""
    shown = Redactor([secret])(before + ECHOES[echo](secret) + " after")
    around = folded(before) + " after"
    assert not [p for p in run_leaks(shown, secret) if p not in around]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_"),
        min_size=16,
        max_size=48,
    ),
    text=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789 .,:"), max_size=200),
    quoted=st.integers(min_value=1, max_value=7),
)
def test_what_holds_no_run_of_a_secret_is_left_as_it_is(
    secret: str, text: str, quoted: int
) -> None:
    """Property: a text that holds no run of the documented length of a secret (however it is
    compared) comes back unchanged, a dashboard's last few characters of the key included:
    the runs make the redactor find more, not scrub ordinary words."""
    tail = secret[-quoted:]
    shown = f"{text} (key ending {tail})"
    assume(not run_leaks(shown, secret))
    assert Redactor([secret])(shown) == shown


# --- Echoed where a reader does not see the separators ------------------------------------

#: The adversary's key (cases 101-105), and a long project key for line-wrapped base64.
KEY = "sk-live-9f8e7d6c5b4a39281706abcdef"
LONG_KEY = "sk-proj-" + "".join(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"[(i * 37 + 11) % 62]
    for i in range(156)
)
#: As `base64.encodebytes` writes it: a line break every 76 characters (case 102).
MIME_LONG_KEY = base64.encodebytes(LONG_KEY.encode()).decode()


def _json_402(message: str, **more: str) -> Callable[[httpx.Request], httpx.Response]:
    body = {"error": {"code": "insufficient_credits", "message": message}, **more}
    return lambda request: httpx.Response(402, json=body)


def _bytes_402(encoding: str) -> Callable[[httpx.Request], httpx.Response]:
    """A 402 whose JSON body is in `encoding`, no BOM and no charset (case 101)."""
    text = json.dumps({"error": {"code": "insufficient_credits", "message": f"for key {KEY}"}})
    content = text.encode(encoding)
    return lambda request: httpx.Response(
        402, content=content, headers={"content-type": "application/json"}
    )


def _b64(text: str, alphabet: Callable[[bytes], bytes] = base64.b64encode) -> str:
    return alphabet(text.encode()).decode()


#: What a server quoted, by kind: the adversary's five (cases 101-105), and for each a
#: variant it did not write. Each is `(key, the 402's answer)`.
UNSEEN_ECHOES: dict[str, tuple[str, Callable[[httpx.Request], httpx.Response]]] = {
    "101 UTF-16-LE body, no BOM, no charset": (KEY, _bytes_402("utf-16-le")),
    "UTF-16-BE body": (KEY, _bytes_402("utf-16-be")),
    "UTF-32-LE body": (KEY, _bytes_402("utf-32-le")),
    "102 MIME base64 of a long key": (
        LONG_KEY,
        _json_402(f"Insufficient credits for the key (base64) {MIME_LONG_KEY}"),
    ),
    "base64url of a long key, CRLF every 64": (
        LONG_KEY,
        _json_402("key: " + "\r\n".join(_groups(_b64(LONG_KEY, base64.urlsafe_b64encode), 64))),
    ),
    "103 the first 24 base64 characters, mid-text": (
        KEY,
        _json_402(
            f"No credits left for credential {_b64(KEY)[:24]} (truncated); top up first",
            credential_b64_prefix=_b64(KEY)[:24],
            request_id="req_123",
        ),
    ),
    "a base64 piece at the start of a text": (
        KEY,
        _json_402(f"{_b64(KEY)[:20]} has no credits left", request_id=_b64(KEY)[4:28]),
    ),
    "a base64url piece of a key inside a longer value": (
        KEY,
        _json_402(f"token {_b64('user=' + KEY, base64.urlsafe_b64encode)[12:40]} is out of credit"),
    ),
    "104 a soft hyphen every four characters": (
        KEY,
        _json_402("Insufficient credits for API key " + "\u00ad".join(_groups(KEY, 4))),
    ),
    "a zero-width joiner between characters": (
        KEY,
        _json_402("Insufficient credits for API key " + "\u200d".join(KEY)),
    ),
    "&shy; in an HTML page": (
        KEY,
        lambda request: httpx.Response(
            402,
            text="<p>No credits for key " + "&shy;".join(_groups(KEY, 3)) + "</p>",
            headers={"content-type": "text/html"},
        ),
    ),
    "133 invisible characters that are no format character, by turns": (
        KEY,
        _json_402(
            "Insufficient credits for API key "
            + "".join(
                g + "\u034f\ufe0f\u3164\uffa0\u2800\U000e0100"[i % 6]
                for i, g in enumerate(_groups(KEY, 4))
            )
        ),
    ),
    "134 look-alike separators, by turns": (
        KEY,
        _json_402(
            "Insufficient credits for API key "
            + "".join(
                g + "\u2212\u2024\u3002\u00b7\u2022\u30fb\u2044"[i % 7]
                for i, g in enumerate(_groups(KEY, 4))
            )
        ),
    ),
    "105 hex dump, bytes apart by spaces": (
        KEY,
        _json_402(f"credential bytes [{KEY.encode().hex(' ')}]"),
    ),
    "105 hex dump, bytes apart by colons": (
        KEY,
        _json_402(f"credential bytes [{KEY.encode().hex(':')}]"),
    ),
    "hex, upper case, dashes every two bytes": (
        KEY,
        _json_402(f"credential bytes {KEY.encode().hex('-', 2).upper()}"),
    ),
    "hex dump over lines, as xxd prints it": (
        KEY,
        _json_402(
            "dump:\n" + "\n".join(KEY.encode()[i : i + 16].hex(" ") for i in range(0, 34, 16))
        ),
    ),
}


@pytest.mark.parametrize("kind", list(UNSEEN_ECHOES))
@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_key_echoed_where_a_reader_does_not_see_the_separators_shows_nowhere(
    kind: str, shell: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Cases 101-105 and a variant of each: the key quoted in a UTF-16 or UTF-32 body, in
    line-wrapped base64, as a piece of its base64 anywhere, with invisible characters
    between its own, or as a hex dump with separators. No run of it, decoded however a
    reader would, is in `str(error)`, `error.message`, `error.body`, the traceback or the
    log, and what the server said around it stays."""
    key, provider = UNSEEN_ECHOES[kind]
    assert run_leaks(provider(httpx.Request("GET", URL)).content.decode(), key), "no echo"
    caplog.set_level(logging.DEBUG, logger="http402")
    headers = {"Authorization": f"Bearer {key}"}
    if shell == "sync":
        client = http402.wrap(httpx.Client(transport=httpx.MockTransport(provider)))
        with pytest.raises(http402.PaymentRequiredError) as caught:
            client.get(URL, headers=headers)
    else:

        async def call() -> None:
            transport = httpx.MockTransport(provider)
            async with http402.wrap(httpx.AsyncClient(transport=transport)) as client:
                await client.get(URL, headers=headers)

        with pytest.raises(http402.PaymentRequiredError) as caught:
            asyncio.run(call())
    error = caught.value
    shown = {
        "str": str(error),
        "message": error.message or "",
        "body": error.body or "",
        "traceback": "".join(traceback.format_exception(error)),
        "log": "\n".join(log_texts(caplog.records)),
    }
    found = {name: run_leaks(text, key) for name, text in shown.items()}
    assert not any(found.values()), found
    assert "[redacted]" in shown["body"]


#: Echoes scrubbed whole: nothing of the echo is left at either end of `[redacted]`, not a
#: group of a dump, a NUL's character or a line of base64 (the first and last groups are
#: the key's own when the run reaches the ends of its form).
WHOLE_ECHOES = {
    "hex dump, spaces": (KEY, f"bytes [{KEY.encode().hex(' ')}]", "bytes [[redacted]]"),
    "hex dump, colons": (KEY, f"bytes [{KEY.encode().hex(':')}] ok", "bytes [[redacted]] ok"),
    "hex, dashes every byte, upper": (KEY, f"({KEY.encode().hex('-').upper()})", "([redacted])"),
    "UTF-16-LE read as UTF-8": (
        KEY,
        "key " + KEY.encode("utf-16-le").decode() + ".",
        "key [redacted]\x00.",
    ),
    "UTF-16-BE read as UTF-8": (
        KEY,
        "key " + KEY.encode("utf-16-be").decode() + ".",
        "key \x00[redacted].",
    ),
    "soft hyphens": (KEY, "key " + "\u00ad".join(_groups(KEY, 4)) + " now", "key [redacted] now"),
    "zero-width spaces, two characters apart": (
        KEY,
        "key " + "\u200b".join(_groups(KEY, 2)) + " now",
        "key [redacted] now",
    ),
    "fullwidth": (
        KEY,
        "key " + "".join(chr(ord(c) + 0xFEE0) for c in KEY) + " now",
        "key [redacted] now",
    ),
    "the first 24 base64 characters, mid-text": (
        KEY,
        f"credential {_b64(KEY)[:24]} (truncated)",
        "credential [redacted] (truncated)",
    ),
    "a base64 piece first in a text": (KEY, f"{_b64(KEY)[:20]} is out", "[redacted] is out"),
    "minus signs between groups (case 134)": (
        KEY,
        "key " + "\u2212".join(_groups(KEY, 4)) + " now",
        "key [redacted] now",
    ),
    "variation selectors between characters (case 133)": (
        KEY,
        "key «" + "\ufe0f".join(KEY) + "» now",
        "key «[redacted]» now",
    ),
    "Hangul fillers and braille blanks (case 133)": (
        KEY,
        "key " + "\u3164\u2800".join(_groups(KEY, 3)) + ", now",
        "key [redacted], now",
    ),
}


@pytest.mark.parametrize("kind", list(WHOLE_ECHOES))
def test_an_echo_is_scrubbed_whole_and_its_neighbours_stay(kind: str) -> None:
    key, text, expected = WHOLE_ECHOES[kind]
    assert Redactor([key, f"Bearer {key}"])(text) == expected


#: Texts near a key or its forms that hold no run of any of them: left as they are. A
#: short piece of the key (`sk-`, a dashboard's last 4) in any form, ordinary words with
#: invisible characters in them, other hex and base64 with the same separators.
LOOK_ALIKES = {
    "the key's prefix and last four": "Key sk-live-…cdef has no credits",
    "the first three bytes of the key in hex, dumped": "starts 73 6b 2d, ends 65:66",
    "the first four bytes of the key in base64": f"key {_b64(KEY[:4])} is out of credit",
    "soft-hyphenated words": "In\u00adsuf\u00adfi\u00adcient cred\u00adits: top up, bil\u00adling",
    "an ordinary message in UTF-16 read as UTF-8": "Insufficient credits, top up".encode(
        "utf-16-le"
    ).decode(),
    "a fingerprint of other bytes": "fingerprint de:ad:be:ef:00:11:22:33:44:55:66:77:88:99:aa:bb",
    "a hex dump of other bytes": bytes(range(48)).hex(" "),
    "a UUID": "request 123e4567-e89b-12d3-a456-426614174000",
    "base64 of other text, wrapped": base64.encodebytes(
        b"Insufficient credits for this account " * 3
    ).decode(),
    "an emoji joined by a zero-width joiner": "developer \U0001f469\u200d\U0001f4bb out of credits",
    "fullwidth words": "ＡＰＩ ｋｅｙ ｈａｓ ｎｏ ｃｒｅｄｉｔｓ",
    "a JSON body with control escapes": '{"message":"line\\none\\ttab\\rret","code":"402"}',
    "a bullet list with CJK punctuation": "残高不足です。• プラン・料金 • お問い合わせ：support",
    "prices with signs and an emoji": "Balance −$4.20 · top up ≥ $10 → https://x.example 💳✨",
    "a sentence with typographic quotes": "“Insufficient credits” — please top up (⁄ month)",
}


@pytest.mark.parametrize("kind", list(LOOK_ALIKES))
@pytest.mark.parametrize("key", [KEY, LONG_KEY, SLASHED])
def test_a_look_alike_of_a_keys_forms_stays(kind: str, key: str) -> None:
    text = LOOK_ALIKES[kind]
    redact = Redactor([key, f"Bearer {key}"])
    assert redact(text) == text
    assert redact.bounded(text, 4000) == text


@functools.cache
def reader_separators() -> list[str]:
    """What a reader skips (`READER_SEPARATORS`, the `regex` package's Unicode), visible and
    invisible, of every plane that has any: the characters this Python's Unicode assigns,
    where it is not newer than the redactor's table (a later Unicode's new characters are
    not in the table), else those of the table."""
    planes = SEPARATOR_PLANES
    found = set(map(chr, reader_table()))
    if tuple(map(int, unicodedata.unidata_version.split("."))) <= tuple(
        map(int, _unicode_data.UNICODE_VERSION.split("."))
    ):
        ignorable = set(regex.findall(r"\p{Default_Ignorable_Code_Point}", planes))
        return sorted(c for c in found if unicodedata.category(c) != "Cn" or c in ignorable)
    return sorted(found & separator_set())


KEY_CHARACTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_."


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(st.sampled_from(KEY_CHARACTERS), min_size=16, max_size=48),
    size=st.integers(min_value=1, max_value=6),
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    data=st.data(),
)
def test_a_key_split_by_any_separators_leaves_no_run(
    secret: str, size: int, before: str, after: str, data: st.DataObject
) -> None:
    """Property (cases 133, 134): a key in groups of any size, split by any separators (a
    minus sign, a bullet, a variation selector, a Hangul filler, a tag, a braille blank...,
    several kinds in turn), amid any text, leaves no run of the documented length that a
    reader who skips them (the `regex` package's Unicode, not the redactor's) could read."""
    assume(len(folded(secret)) >= 8)
    between = data.draw(st.lists(st.sampled_from(reader_separators()), min_size=1, max_size=4))
    echo = "".join(g + between[i % len(between)] for i, g in enumerate(_groups(secret, size)))
    shown = Redactor([secret])(before + echo + after)
    around = folded(before) + " " + folded(after)
    assert not [p for p in run_leaks(shown, secret) if p not in around]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=st.text(st.sampled_from(KEY_CHARACTERS), min_size=16, max_size=48),
    words=st.lists(
        st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzé0123456789"), min_size=1, max_size=9),
        min_size=1,
        max_size=30,
    ),
    data=st.data(),
)
def test_words_apart_by_any_separators_are_left_as_they_are(
    secret: str, words: list[str], data: st.DataObject
) -> None:
    """Property: the wider separators make no false positive. A text of words apart by any
    separators that holds no run of a key (as a reader compares it) comes back unchanged."""
    between = data.draw(st.lists(st.sampled_from(reader_separators()), min_size=1, max_size=4))
    text = "".join(w + between[i % len(between)] for i, w in enumerate(words))
    assume(not run_leaks(text, secret))
    redact = Redactor([secret, f"Bearer {secret}"])
    assert redact(text) == text
    assert redact.bounded(text, 4000) == text


#: The general categories whose every character is a separator, and the properties.
SEPARATOR_CATEGORIES = {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf"}
SEPARATOR_CATEGORIES |= {"Po", "Sm", "Sc", "Sk", "So"}


def test_the_separators_are_unicodes_properties_and_nothing_else() -> None:
    """The separators are every character of the general categories P*, S*, Z*, Cc, Cf and Cs,
    of White_Space and of Default_Ignorable_Code_Point, as the table written from the
    Unicode data files has them. Checked against two other sources: the `regex` package's
    tables (the properties exactly; the categories of a later Unicode hold the table's) and
    this Python's `unicodedata` (each character's category, where this Python's Unicode is
    not newer than the table's: a later one's new characters are not in it). The matcher's
    patterns and fold agree with the set, character for character."""
    # Every code point, lone surrogates too, made in one call rather than one per character.
    everything = array.array("I", range(0x110000)).tobytes().decode("utf-32-le", "surrogatepass")
    separators = separator_set()

    def found(pattern: str) -> set[str]:
        return set(regex.findall(pattern, everything))

    ignorable = found(r"\p{Default_Ignorable_Code_Point}")
    white = found(r"\p{White_Space}")
    categorized = found(r"[\p{P}\p{S}\p{Z}\p{Cc}\p{Cf}\p{Cs}]")
    assert {"\u034f", "\ufe0f", "\u3164", "\uffa0", "\U000e0100"} <= ignorable
    assert ignorable | white <= separators
    assert separators <= ignorable | white | categorized
    table = separators - ignorable - white
    assert all(unicodedata.category(c) in {*SEPARATOR_CATEGORIES, "Cn"} for c in table)
    older = tuple(map(int, unicodedata.unidata_version.split("."))) <= tuple(
        map(int, _unicode_data.UNICODE_VERSION.split("."))
    )
    if older:  # every character this Python knows of those categories is in the table
        missing = {c for c in categorized - separators if unicodedata.category(c) != "Cn"}
        assert not missing, sorted(f"U+{ord(c):04X}" for c in missing)[:20]
    # The patterns: every character of the first plane, and past it each range's ends and
    # their neighbours (a pattern of ranges can only be wrong at an end).
    basic = everything[:0x10000]
    ends = {c for a, b in _SEPARATOR_RANGES for c in (a - 1, a, b, b + 1) if 0xFFFF < c < 0x110000}
    astral = "".join(map(chr, sorted(ends)))
    for pattern, sample in (
        (_separator_runs(), basic),
        (_separator_runs(), astral),
        (_basic_separator_runs(), basic),  # only ever given a text of the first plane
    ):
        assert set("".join(pattern.findall(sample))) == separators & set(sample)
    for sample in (basic, astral):
        spans = "".join(sample[slice(*match.span())] for match in _separator_spans(sample))
        assert set(spans) == separators & set(sample)
    # Folded, each separator is dropped and nothing else is (a character folds to at most one).
    assert _fold("".join(sorted(separators))) == ""
    assert len(_fold(everything)) == len(everything) - len(separators)


# --- Echoed in a settlement ---------------------------------------------------------------

#: What the wallet signed: a payment proof, as secret as the key.
PROOF = "eyJzaWduYXR1cmUiOiIweGRlYWRiZWVmIn0+proof/01="


def pending_settlement(encode: Callable[[str], str]) -> Callable[[httpx.Request], httpx.Response]:
    """An x402 v1 challenge whose paid replay is answered by a pending settlement
    (`X-PAYMENT-RESPONSE`: base64 JSON of x402's SettleResponse, `success`, `errorReason`,
    `transaction`, `network`; coinbase/x402 specs/transports-v1/http.md) that quotes the
    proof in its `errorReason` and the caller's key in its `transaction`, in `encode`."""

    def provider(request: httpx.Request) -> httpx.Response:
        proof = request.headers.get("x-payment")
        if proof is None:
            return x402_provider(request)
        settled = {
            "success": False,
            "errorReason": f"settlement_pending payload={encode(proof)}",
            "transaction": "0x9f" + encode(request.headers["x-api-key"]),
            "network": "base",
        }
        header = base64.b64encode(json.dumps(settled).encode()).decode()
        body = {"x402Version": 1, "error": "settlement pending", "accepts": []}
        return httpx.Response(402, headers={"x-payment-response": header}, json=body)

    return provider


@pytest.mark.parametrize("echo", ["as sent", *ECHOES])
def test_a_settlement_quoting_the_proof_and_the_key_shows_neither(
    echo: str, redis_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A facilitator's `errorReason` and `transaction` are server text: a pending settlement
    that quotes the proof and the key, in any encoding, leaves neither in the unknown
    outcome's error, its traceback, the log, or the hold written to Redis."""
    coordinator: Any = None
    if redis_url is not None:
        redis = pytest.importorskip("redis")
        store = redis.Redis.from_url(redis_url)
        store.flushdb()
        settle(store)
        coordinator = http402.RedisCoordinator(store)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        return http402.Retry(headers={"X-PAYMENT": PROOF}, paid=error.payment.payment_options[0])

    encode = ECHOES.get(echo, lambda s: s)
    caplog.set_level(logging.DEBUG, logger="http402")
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(pending_settlement(encode)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        coordinator=coordinator,
        sleep=lambda seconds: None,
    )
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(http402.PaymentOutcomeUnknownError) as caught,
    ):
        client.get(URL, headers={"x-api-key": SLASHED})
    error = caught.value
    assert error.hold.receipt is not None  # the settlement was read, not ignored
    texts = [
        *error_texts(error),
        "".join(traceback.format_exception(error)),
        error.hold.encode(),
        *log_texts(caplog.records),
    ]
    if redis_url is not None:
        stored = [repr(store.dump(key)) for key in store.scan_iter("*")]
        assert stored
        texts += stored
    assert not [t[:300] for t in texts if encoded_leaks(t) or encoded_leaks(t, PROOF)]


@pytest.mark.anyio
@pytest.mark.parametrize("echo", ["as sent", "lower-cased", "JavaScript escape() %uXXXX"])
async def test_a_settlement_quoting_the_proof_and_the_key_shows_neither_async(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The async transport keeps a pending settlement's echo of the proof and the key out
    of the error, its traceback, the log and the hold's record."""

    async def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        return http402.Retry(headers={"X-PAYMENT": PROOF}, paid=error.payment.payment_options[0])

    async def no_sleep(seconds: float) -> None:
        pass

    encode = ECHOES.get(echo, lambda s: s)
    caplog.set_level(logging.DEBUG, logger="http402")
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(pending_settlement(encode)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        sleep=no_sleep,
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            await client.get(URL, headers={"x-api-key": SLASHED})
    error = caught.value
    assert error.hold.receipt is not None
    texts = [
        *error_texts(error),
        "".join(traceback.format_exception(error)),
        error.hold.encode(),
        *log_texts(caplog.records),
    ]
    assert not [t[:300] for t in texts if encoded_leaks(t) or encoded_leaks(t, PROOF)]


#: An EIP-3009 signature inside an x402 v2 proof (the coinbase/x402 exact-EVM payload's
#: shape: `payload.signature` beside `payload.authorization`), made up for the test.
SIGNATURE = "0x2d6a7588d6acca505cbf0d9a4a227e0c52c6c34008c8e8986a1283259764173608a2ce64" + "9" * 58
PAYER = "0x857b06519E91e3A54538791bDbb0E22373e36b66"
DECODABLE_PROOF = base64.b64encode(
    json.dumps(
        {
            "x402Version": 2,
            "payload": {
                "signature": SIGNATURE,
                "authorization": {"from": PAYER, "value": "1000", "nonce": "0x" + "f3" * 32},
            },
        }
    ).encode()
).decode()
DECODED_OFFER = {
    "scheme": "exact",
    "network": "eip155:8453",
    "amount": "1000",
    "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
}


def _refusing_decoded(encode: Callable[[str], str]) -> Callable[[httpx.Request], httpx.Response]:
    """A server that refuses the proof quoting the signature it DECODED from it."""

    def provider(request: httpx.Request) -> httpx.Response:
        proof = request.headers.get("payment-signature")
        body: dict[str, Any] = {"x402Version": 2, "accepts": [DECODED_OFFER]}
        if proof is not None:
            checked = json.loads(base64.b64decode(proof))["payload"]["signature"]
            reason = f"{encode(checked)} does not recover the payer"
            body["error"] = f"invalid_exact_evm_payload_signature: {reason}"
        return httpx.Response(402, json=body)

    return provider


@pytest.mark.parametrize("echo", ["as sent", "lower-cased", "percent-encoded"])
@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_refusal_quoting_what_the_proof_encodes_shows_none_of_it(
    echo: str, shell: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A proof is base64 JSON: a server that refuses it quoting the signature it decoded
    (not the header's value) leaves no piece of the signature in the error, its payment,
    the traceback or the log; the payer's address, public, stays readable."""
    encode = ECHOES.get(echo, lambda s: s)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        headers = {"PAYMENT-SIGNATURE": DECODABLE_PROOF}
        return http402.Retry(headers=headers, paid=error.payment.payment_options[0])

    caplog.set_level(logging.DEBUG, logger="http402")
    hooks = {http402.Reason.PAYMENT_CHALLENGE: pay}
    mock = httpx.MockTransport(_refusing_decoded(encode))

    def send() -> None:
        if shell == "sync":
            with http402.wrap(httpx.Client(transport=mock), on_payment_required=hooks) as client:
                client.get(URL)
            return

        async def main() -> None:
            async with http402.wrap(
                httpx.AsyncClient(transport=mock), on_payment_required=hooks
            ) as client:
                await client.get(URL)

        asyncio.run(main())

    with pytest.raises(http402.PaymentRequiredError) as caught:
        send()
    error = caught.value
    assert "invalid_exact_evm_payload_signature" in str(error)  # the refusal was read
    texts = [*error_texts(error), "".join(traceback.format_exception(error))]
    texts += log_texts(caplog.records)
    assert not [t[:300] for t in texts if encoded_leaks(t, SIGNATURE[2:])]
    assert DECODED_OFFER["payTo"] in repr(error.payment.payment_options)


@pytest.mark.parametrize("echo", ["as sent", "lower-cased", "in groups of four"])
def test_a_balance_probe_quoting_the_key_as_its_currency_shows_none_of_it(echo: str) -> None:
    """A probe's answer is server text too: DeepSeek's documented balance
    (api-docs.deepseek.com/api/get-user-balance) with a piece of the key where the currency
    goes leaves none of it in the `Balance` (its `repr`, the `http402.balance` metric)."""
    piece = ECHOES.get(echo, lambda s: s)(SLASHED)[:16]
    document = {
        "is_available": True,
        "balance_infos": [{"currency": piece, "total_balance": "110.00"}],
    }
    with httpx.Client(
        base_url="https://api.deepseek.com",
        headers={"Authorization": f"Bearer {SLASHED}"},
        transport=httpx.MockTransport(lambda request: httpx.Response(200, json=document)),
    ) as client:
        balance = http402.check_balance(client)
    assert balance is not None and balance.available == 110
    assert not encoded_leaks(repr(balance), size=8)


class _QuotingAdapter:
    """An adapter that fails on the body and quotes it in its exception."""

    name = "quoting"

    def classify(self, response: http402.ResponseSnapshot) -> http402.PaymentRequired:
        raise ValueError(f"cannot read {response.body.decode()!r}")


@pytest.mark.parametrize("echo", ["as sent", "lower-cased", "in groups of four"])
def test_an_adapter_that_fails_quoting_the_body_logs_no_key(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The traceback logged for an adapter that raised goes through the redactor: the
    exception may quote the body, and the body the key."""
    encode = ECHOES.get(echo, lambda s: s)
    body = json.dumps({"error": {"message": f"key {encode(SLASHED)} has no credits"}})
    request = httpx.Request("GET", URL, headers={"x-api-key": SLASHED})
    response = httpx.Response(402, content=body.encode(), request=request)
    caplog.set_level(logging.DEBUG, logger="http402")
    http402.classify(response, registry=http402.AdapterRegistry([_QuotingAdapter()]))
    logged = log_texts(caplog.records)
    assert any("cannot read" in text for text in logged)  # the failure was logged
    assert not [text[:300] for text in logged if encoded_leaks(text)]


# --- A gate kept for its scope ------------------------------------------------------------

OTHER = "Hn4Yc8Vb2Lm6Qw1Er5Ty9Ui3Op7As0Df"


def quoting(encode: Callable[[str], str]) -> Callable[[httpx.Request], httpx.Response]:
    """A 402 that quotes every credential of the request back in its message, in `encode`."""

    def provider(request: httpx.Request) -> httpx.Response:
        said = " ".join(encode(v) for n, v in request.headers.multi_items() if n.startswith("x-"))
        message = f"The account of {said} is out of credits"
        body = {"error": {"code": "insufficient_credits", "message": message}}
        return httpx.Response(402, json=body)

    return provider


@pytest.mark.parametrize(
    ("first", "second", "scope"),
    [
        ({"x-api-key": CANARY}, {"x-api-key": OTHER}, "org-42"),
        (
            {"x-api-key": OTHER, "x-signature": CANARY},
            {"x-api-key": OTHER, "x-signature": OTHER[::-1]},
            None,
        ),
    ],
    ids=["two keys of one scope=", "one key, per-request signatures"],
)
@pytest.mark.parametrize("echo", ["as sent", "lower-cased", "in groups of four"])
def test_a_refused_request_never_sees_another_requests_echo(
    first: dict[str, str], second: dict[str, str], scope: str | None, echo: str
) -> None:
    """The stand-in of a request refused from its scope's known gate quotes the gate of
    another request: that one's credentials, whatever form the server echoed them in, are
    scrubbed before the gate is kept, so the refused caller sees none of them."""
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(quoting(ECHOES.get(echo, lambda s: s))),
        scope=None if scope is None else (lambda request: scope),
        preflight=http402.Preflight(gate_ttl=30),
    )
    errors = []
    with httpx.Client(transport=transport) as client:
        for headers in (first, second):
            with pytest.raises(http402.PaymentRequiredError) as caught:
                client.post(URL, headers=headers, content=b"{}")
            errors.append(caught.value)
    refused = errors[1]
    assert refused.attempts == 0  # refused from the known gate, never sent
    assert "out of credits" in refused.body  # and it quotes the gate
    texts = [*error_texts(refused), refused.body, refused.response.content.decode()]
    assert not [text[:300] for text in texts if leaks(text)]


@pytest.mark.anyio
@pytest.mark.parametrize("echo", ["as sent", "lower-cased"])
async def test_a_refused_request_never_sees_another_requests_echo_async(echo: str) -> None:
    """The async transport keeps the gate of a scope scrubbed of the credentials of the
    request that met it: a second key of the scope, refused, sees none of the first's."""
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(quoting(ECHOES.get(echo, lambda s: s))),
        scope=lambda request: "org-42",
        preflight=http402.Preflight(gate_ttl=30),
    )
    errors = []
    async with httpx.AsyncClient(transport=transport) as client:
        for key in (CANARY, OTHER):
            with pytest.raises(http402.PaymentRequiredError) as caught:
                await client.post(URL, headers={"x-api-key": key}, content=b"{}")
            errors.append(caught.value)
    refused = errors[1]
    assert refused.attempts == 0 and "out of credits" in refused.body
    texts = [*error_texts(refused), refused.body, refused.response.content.decode()]
    assert not [text[:300] for text in texts if leaks(text)]


# --- What counts as a secret -------------------------------------------------------------


@pytest.mark.parametrize("row", CREDENTIAL_NAMES, ids=lambda row: "/".join(row.words))
def test_each_row_of_the_credential_names_holds_its_examples_and_not_its_look_alikes(
    row: CredentialName,
) -> None:
    """Each row of the one table of credential names makes its examples credentials, of its
    kind, wherever it applies, and leaves the names that merely look near them alone."""
    assert row.examples and row.look_alikes and row.source
    for place in row.places:
        for name in row.examples:
            kind = credential_kind(name, place)
            assert kind is not None, (place, name)
            assert kind == "per_request" or not row.per_request, (place, name)
        for name in row.look_alikes:
            assert credential_kind(name, place) is None, (place, name)


@pytest.mark.parametrize(
    ("place", "name"), [(place, name) for place, names in NOT_CREDENTIALS.items() for name in names]
)
def test_names_that_are_not_credentials(place: str, name: str) -> None:
    """Ordinary names near a credential's (a timestamp, a nonce, a request id) are not one."""
    assert credential_kind(name, place) is None


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "X-Api-Key",
        "X-ApiKey",
        "X-ELS-APIKey",
        "X-MBX-APIKEY",
        "api_key",
        "X-Goog-Api-Key",
        "xi-api-key",
        "Ocp-Apim-Subscription-Key",
        "X-RapidAPI-Key",
        "X-Auth-Token",
        "X-Client-Secret",
        "X-Session-Id",
        "X-Hub-Signature",
        "PAYMENT-SIGNATURE",
        "X-PAYMENT",
        "Payment-Authorization",
        "X-JWT-Assertion",
        "X-Payment-Proof",
        "Payment-Receipt-Token",
    ],
)
def test_credential_header_names(name: str) -> None:
    """Headers whose names mean a credential are secrets, whatever their case."""
    assert is_sensitive_header(name)
    assert is_sensitive_header(name.upper())


@pytest.mark.parametrize(
    "name", ["Content-Type", "Accept", "User-Agent", "X-Request-Id", "Keep-Alive", "Host"]
)
def test_ordinary_header_names(name: str) -> None:
    """Ordinary headers are not scrubbed."""
    assert not is_sensitive_header(name)


@pytest.mark.parametrize("name", [*QUERY_NAMES, "X-Amz-Signature", "client_secret", "appKey"])
def test_credential_query_names(name: str) -> None:
    """Query parameters named like credentials are secrets."""
    assert is_credential_query_name(name)


@pytest.mark.parametrize("name", ["page", "model", "q", "keyword", "limit", "format"])
def test_ordinary_query_names(name: str) -> None:
    """Ordinary query parameters are not."""
    assert not is_credential_query_name(name)


def test_each_cookie_value_is_a_secret() -> None:
    """Each cookie value counts on its own, not only the whole header."""
    secrets = collect_secrets(URL, [("Cookie", f"a=1; session={CANARY}; theme=dark")])
    assert CANARY in secrets


# --- Scrub, then cut ---------------------------------------------------------------------


@pytest.mark.parametrize("offset", range(-40, 8))
def test_a_key_across_the_cut_leaves_no_piece(offset: int) -> None:
    """Wherever the 2,000-character cut falls inside an echoed key, no piece of it is shown."""
    message = "x" * (2000 + offset) + CANARY + " and more"

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"message": message}})

    client = httpx.Client(transport=http402.PaymentRequiredTransport(httpx.MockTransport(provider)))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.get(URL, headers={"X-ApiKey": CANARY})
    shown = caught.value.payment.message
    assert shown is not None and len(shown) <= 2000
    assert not [p for p in pieces(CANARY, 4) if shown.endswith(p) or shown[:-1].endswith(p)]
    assert not leaks(str(caught.value))


@pytest.mark.parametrize("limit", [50, 300])
def test_bounded_scrubs_then_cuts(limit: int) -> None:
    """`Redactor.bounded` never returns more than `limit` characters, nor a piece of a key."""
    redact = Redactor([CANARY])
    for start in range(limit - 40, limit + 5):
        text = redact.bounded("a" * start + CANARY + "b" * 20, limit)
        assert len(text) <= limit
        assert not [p for p in pieces(CANARY, 4) if p in text]


def test_a_key_echoed_whole_is_replaced() -> None:
    """An echo inside the limit becomes `[redacted]`, and the rest of the words stay."""
    assert Redactor([CANARY]).bounded(f"bad key {CANARY}.", 2000) == "bad key [redacted]."


# --- The default billing scope -----------------------------------------------------------


def scope(url: str = URL, **headers: str) -> str:
    return default_scope(httpx.Request("GET", url, headers=headers))


@pytest.mark.parametrize(
    ("one", "two"),
    [
        ({"url": f"{URL}?key=tenant-one-key-1"}, {"url": f"{URL}?key=tenant-two-key-2"}),
        ({"url": f"{URL}?api_key=tenant-one-key-1"}, {"url": f"{URL}?api_key=tenant-two-key"}),
        ({"Cookie": "session=tenant-one-cookie"}, {"Cookie": "session=tenant-two-cookie"}),
        ({"X_ApiKey": "tenant-one-key-1"}, {"X_ApiKey": "tenant-two-key-2"}),
        ({"X-MBX-APIKEY": "tenant-one-key-1"}, {"X-MBX-APIKEY": "tenant-two-key-2"}),
        ({"url": f"https://one:pw-one-1234@{HOST}/"}, {"url": f"https://two:pw-two-1234@{HOST}/"}),
    ],
)
def test_two_tenants_are_two_scopes(one: dict[str, str], two: dict[str, str]) -> None:
    """Credentials in the query, a cookie, any API-key header or the userinfo split scopes."""
    assert scope(**one) != scope(**two)


@pytest.mark.parametrize(
    "header", ["PAYMENT-SIGNATURE", "X-PAYMENT", "Idempotency-Key", "X-Signature"]
)
def test_per_request_values_do_not_split_a_scope(header: str) -> None:
    """A payment proof or a per-request signature leaves one account one scope."""
    key = {"Authorization": "Bearer the-account-key"}
    assert scope(**key, **{header: "proof-one-123456"}) == scope(**key, **{header: "proof-two-9"})


def test_a_load_balancer_cookie_does_not_split_a_scope() -> None:
    """Cookies that CDNs rotate name no account."""
    assert scope(Cookie="session=s1-123456; __cf_bm=one") == scope(
        Cookie="session=s1-123456; __cf_bm=two"
    )


def test_the_scope_holds_digests_only() -> None:
    """No credential appears in the scope string."""
    shown = scope(f"https://bob:{CANARY}@{HOST}/?key={CANARY}", Cookie=f"session={CANARY}")
    assert not leaks(shown)


PICKLE_KEY = "sk-or-v1-" + "5f3c9a1b7e2d4c6a8b0f1e3d5c7a9b2e"


@pytest.mark.parametrize("family", ["httpx", "httpx2"])
def test_a_pickled_error_carries_no_secret(family: str) -> None:
    """An error pickled to cross a process boundary keeps its names, its words and its body,
    but no credential: not the request's header, query or body, not the server's echo of the
    key in the body, its headers or the payload (`payment.raw`), in any form the redactor
    knows (here whole, lower-cased, shortened)."""
    import pickle

    import httpx2

    import http402.httpx2

    lib: Any = httpx if family == "httpx" else httpx2
    wrap: Any = http402.wrap if family == "httpx" else http402.httpx2.wrap
    echo = {
        "error": {
            "code": 402,
            "message": f"Insufficient credits for key {PICKLE_KEY}",
            "metadata": {"key": PICKLE_KEY.lower(), "hint": PICKLE_KEY[:30]},
        }
    }

    def provider(request: Any) -> Any:
        return lib.Response(402, json=echo, headers={"x-echo": PICKLE_KEY})

    client = wrap(lib.Client(transport=lib.MockTransport(provider)))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.post(
            f"https://openrouter.ai/api/v1/chat/completions?api_key={PICKLE_KEY}",
            headers={"authorization": f"Bearer {PICKLE_KEY}", "x-custom": "kept"},
            json={"prompt": PICKLE_KEY},
        )
    error = caught.value
    shipped = pickle.dumps(error)
    for piece in (PICKLE_KEY, PICKLE_KEY.lower(), PICKLE_KEY[9:21], PICKLE_KEY[-12:]):
        assert piece.encode() not in shipped
    copy = pickle.loads(shipped)
    assert type(copy) is type(error) and str(copy) == str(error)
    assert (copy.status_code, copy.code, copy.message, copy.body) == (
        error.status_code,
        error.code,
        error.message,
        error.body,
    )
    assert copy.payment == error.payment
    assert copy.request.headers["authorization"] == "[redacted]"
    assert copy.request.headers["x-custom"] == "kept"
    assert copy.request.method == "POST" and copy.request.url.host == "openrouter.ai"
    assert isinstance(copy.response, lib.Response)
    # The original is untouched: the application in this process still has the real objects.
    assert error.request.headers["authorization"] == f"Bearer {PICKLE_KEY}"


# --- A key in the URL's path -------------------------------------------------------------

#: Each family's URL with a key of the shape its documentation shows (`_path_keys` cites
#: them): Alchemy's 32 base62 characters after `/v2/` (and `/nft/v3/`), Infura's 32 hex after
#: `/v3/`, QuickNode's 40 hex as the first segment, Ankr's 64 hex after the chain, GetBlock's
#: 32 hex; a Telegram bot token; any host's key-shaped segment.
PATH_KEYS = {
    "alchemy": ("https://eth-mainnet.g.alchemy.com/v2/{}", "Zk3Qp9Lm2Xv7Rt5Nw8Yb4Hc6aD1eF0g"),
    "alchemy nft": (
        "https://eth-mainnet.g.alchemy.com/nft/v3/{}/getNFTsForOwner?owner=vitalik.eth",
        "Zk3Qp9Lm2Xv7Rt5Nw8Yb4Hc6aD1eF0g",
    ),
    "infura": ("https://mainnet.infura.io/v3/{}", "9aa3d95b3bc440fa88ea12eaa4456161"),
    "infura ws": ("wss://mainnet.infura.io/ws/v3/{}", "9aa3d95b3bc440fa88ea12eaa4456161"),
    "quicknode": (
        "https://docs-demo.ethereum.quiknode.pro/{}/",
        "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
    ),
    "ankr": (
        "https://rpc.ankr.com/eth/{}",
        "9f7d929b018cdffb338517efa06f58359e86ff1ffd350bc889738523659e7972",
    ),
    "getblock": ("https://go.getblock.io/{}/", "3b8f1c2d4e5a69788a9bacbdcedf0123"),
    "telegram": (
        "https://api.telegram.org/bot{}/getMe",
        "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ),
    "any host": ("https://rpc.example.net/{}", "tKx82LmQ0pzR7vWc5NyB1hJd4gFs9aEu"),
    "known host, short key": ("https://mainnet.infura.io/v3/{}", "a1b2c3d4e5"),
}


@pytest.mark.parametrize("family", list(PATH_KEYS))
def test_a_key_in_the_path_is_shown_nowhere(family: str) -> None:
    """A path key is elided from the URL shown in the error, its traceback, its args and its
    pickled copy, and scrubbed where the server quotes the request line."""
    import pickle

    template, key = PATH_KEYS[family]
    url = template.format(key).replace("wss://", "https://")
    assert "[redacted]" in http402._redaction.safe_url_for_display(url)
    assert key not in http402._redaction.safe_url_for_display(url)

    def provider(request: httpx.Request) -> httpx.Response:
        said = f"{request.method} {request.url}"  # as Alchemy's 429 quotes the request line
        return httpx.Response(402, json={"error": {"message": f"Out of compute units: {said}"}})

    client = http402.wrap(httpx.Client(transport=httpx.MockTransport(provider)))
    error, shown = _raised_with_traceback(lambda: client.post(url, json={"id": 1}))
    texts = [*error_texts(error), shown, repr(pickle.dumps(error))]
    assert "[redacted]" in str(error)
    assert not [text[:200] for text in texts if leaks(text, key)], texts[0]


def _raised_with_traceback(call: Callable[[], Any]) -> tuple[BaseException, str]:
    try:
        call()
    except http402.PaymentRequiredError as error:
        return error, traceback.format_exc()
    raise AssertionError("no gate was raised")


#: Paths that hold no key: shown as sent.
ORDINARY_PATHS = (
    "/v1/chat/completions",
    "/v1/models/gpt-4o-mini-2024-07-18",
    "/v1/models/claude-3-5-sonnet-20241022",
    "/repos/http402/http402/issues/1234",
    "/blog/my-post-about-things-2024/comments",
    "/api/ChatCompletionsStreamingEndpoint",
    "/eth",
    "/v2/demo",
    "/v3/",
    "/reports/2024-07-18T12:00:00Z",
    "/users/123456789012345678",
)
#: Ids that cannot be told from keys: elided too (docs/safety.md says so).
ELIDED_IDS = (
    "/v1/files/file-abc123XYZdef456ghi789",
    "/v1/objects/550e8400-e29b-41d4-a716-446655440000",
    "/repos/a/b/commits/4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39",
)


@pytest.mark.parametrize("path", ORDINARY_PATHS)
def test_an_ordinary_path_is_shown_as_sent(path: str) -> None:
    for host in ("api.example.com", "eth-mainnet.g.alchemy.com", "mainnet.infura.io"):
        url = f"https://{host}{path}?page=2"
        assert http402._redaction.safe_url_for_display(url) == url
        assert collect_secrets(url, []) == ()


@pytest.mark.parametrize("path", ELIDED_IDS)
def test_an_id_shaped_like_a_key_is_elided_but_not_scrubbed_from_messages(path: str) -> None:
    """Shown, the URL elides the id (a key cannot be told from it); a message quoting the
    id keeps it, as it is not where keys are put (MongoDB Atlas: "for group <id>")."""
    url = f"https://api.example.com{path}"
    shown = http402._redaction.safe_url_for_display(url)
    head = path.rpartition("/")[0]
    assert shown == f"https://api.example.com{head}/[redacted]"
    assert collect_secrets(url, []) == ()


@pytest.mark.parametrize(
    "path",
    [
        "/" + "a" * 64000,
        "/" + "/".join(["abcdefghijklmnop"] * 3700),
        "/" + "/".join(["x"] * 30000),
        "/" + "/".join(["Zk3Qp9Lm2Xv7Rt5N"] * 3700),
        "/v2/" + "%4" * 30000,
        "/" + "v2/" * 20000 + CANARY,
    ],
)
def test_a_hostile_64_kib_path_costs_bounded_work(path: str) -> None:
    """Nothing crashes, and a path longer than the segments looked at is elided past them
    (its rest may hold a key), in well under a second."""
    import time

    url = f"https://eth-mainnet.g.alchemy.com{path}"
    started = time.perf_counter()
    shown = http402._redaction.safe_url_for_display(url)
    secrets = collect_secrets(url, [])
    scope(url)
    assert time.perf_counter() - started < 1.0
    assert CANARY not in shown and len(shown) <= len(url) + 20
    assert all(len(secret) <= 4 * 1024 for secret in secrets)


def test_a_priced_offers_resource_shows_no_path_key() -> None:
    """An x402 offer whose `resource` is the request's URL shows it with the key elided."""
    key = PATH_KEYS["alchemy"][1]
    url = PATH_KEYS["alchemy"][0].format(key)

    def priced(request: httpx.Request) -> httpx.Response:
        offer = {
            "scheme": "exact",
            "network": "base",
            "maxAmountRequired": "1000",
            "asset": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
            "resource": str(request.url),
            "description": "one RPC call",
            "maxTimeoutSeconds": 60,
        }
        return httpx.Response(402, json={"x402Version": 1, "accepts": [offer]})

    client = http402.wrap(httpx.Client(transport=httpx.MockTransport(priced)))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"})
    (option,) = caught.value.payment.payment_options
    assert option.resource is not None and "[redacted]" in option.resource
    assert not leaks(repr(caught.value.payment), key)


# --- Keys in the query under a vendor's name, or under no known name (case 140) ----------

#: Vendors' documented query names for a key (the table's "name" row), each with a key of
#: the vendor's shape, and the host its documentation shows.
VENDOR_QUERY_KEYS = {
    "Azure Functions ?code=": (
        "https://contoso-fn.azurewebsites.net/api/generate?code={}",
        "pXq3Zr8KmW2vN5tY7bC1dF4gH6jL9sA0eR2uI8oP5yT3wQ6zXc1VbA==",
    ),
    "Baidu Maps ?ak=": (
        "https://api.map.baidu.com/place/v2/search?query=cafe&region=beijing&ak={}",
        "Gd7kP2mX9vL4nR8tW3yB6cD1fH5jQ0sA",
    ),
    "?pat=": ("https://api.example.com/v1/run?pat={}", "ghp_R8tW3yB6cD1fG5hJ0sAZq7kP2mX9vL4nQ"),
    "OpenWeatherMap ?appid=": (
        "https://api.openweathermap.org/data/2.5/weather?q=London&appid={}",
        "0f3d9a7c21b84e6d9c5a8b7e6f1d2c3a",
    ),
    # A name no table knows: the value's shape hides it, by the test a path segment's does.
    "?token_v2= (no known name)": (
        "https://api.example.com/v1/run?page=2&token_v2={}",
        "Zq7kP2mX9vL4nR8tW3yB6cD1fG5hJ0sA",
    ),
    "?u= (no known name, a UUID)": (
        "https://api.example.com/v1/run?u={}",
        "550e8400-e29b-41d4-a716-446655440000",
    ),
}


@pytest.mark.parametrize("vendor", list(VENDOR_QUERY_KEYS))
def test_a_key_in_the_query_under_any_name_is_shown_nowhere(
    vendor: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Case 140: no echo needed, the URL in every error and log record would show the key;
    it is elided by its name or by its shape, and the rest of the query stays as sent."""
    template, key = VENDOR_QUERY_KEYS[vendor]
    url = template.format(quote(key, safe=""))
    caplog.set_level(logging.DEBUG, logger="http402")
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(_json_402("Insufficient credits")))
    )
    error, shown = _raised_with_traceback(lambda: client.get(url))
    texts = [*error_texts(error), shown, *log_texts(caplog.records)]
    assert "[redacted]" in str(error)
    assert not [text[:200] for text in texts if leaks(text, key)]
    for pair in urlsplit_query(url):
        if quote(key, safe="") not in pair:
            assert pair in str(error)


def urlsplit_query(url: str) -> list[str]:
    return url.partition("?")[2].split("&")


#: Query values that are no key: shown as sent, whatever their name.
ORDINARY_QUERY_VALUES = (
    "page=2",
    "q=who+won+the+2024+final",
    "model=gpt-4o-mini-2024-07-18",
    "after=2024-07-18T12:00:00Z",
    "region=beijing",
    "country_code=US",
    "zip_code=94103-1234",
    "ids=12345678901234567890",
    "sort=CreatedAtDescending",
    "redirect=https%3A%2F%2Fexample.com%2Fdone",
)


@pytest.mark.parametrize("pair", ORDINARY_QUERY_VALUES)
def test_an_ordinary_query_is_shown_as_sent(pair: str) -> None:
    url = f"https://api.example.com/v1/run?{pair}"
    assert http402._redaction.safe_url_for_display(url) == url


@settings(max_examples=200, deadline=None)
@given(
    name=st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyz_"), min_size=1, max_size=12),
    value=st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."),
        max_size=48,
    ),
)
def test_a_query_value_is_elided_as_the_same_value_in_the_path_would_be(
    name: str, value: str
) -> None:
    """Property: one test of a key's shape for both places. Under a name that is no
    credential's, a query value is elided exactly when the same text as a path segment is."""
    assume(not is_credential_query_name(name))
    in_path = http402._redaction.safe_url_for_display(f"https://h.example/a/b/c/{value}")
    in_query = http402._redaction.safe_url_for_display(f"https://h.example/a?{name}={value}")
    assert ("[redacted]" in in_path) == ("[redacted]" in in_query), (in_path, in_query)


# --- A key in the request's body (case 137) ----------------------------------------------

#: Names that the table calls a credential as a query parameter's, and so as a body field's.
BODY_CREDENTIAL_NAMES = (
    "api_key",
    "apiKey",
    "key",
    "token",
    "access_token",
    "client_secret",
    "password",
    "auth",
)
#: Field names near them that are not: what a body says beside its key stays readable.
BODY_ORDINARY_NAMES = ("query", "author", "max_tokens", "keyword", "model", "input", "messages")


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(BODY_CREDENTIAL_NAMES),
    other=st.sampled_from(BODY_ORDINARY_NAMES),
    key=st.text(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=."),
        min_size=8,
        max_size=64,
    ),
    said=st.text(min_size=8, max_size=30),
    depth=st.integers(min_value=0, max_value=4),
    in_list=st.booleans(),
    form=st.booleans(),
)
def test_a_credential_field_of_a_body_is_a_secret_and_no_other_field_is(
    name: str, other: str, key: str, said: str, depth: int, in_list: bool, form: bool
) -> None:
    """Property: the value under a credential's name, at any depth of a JSON body (in a list
    too) or in a form, is a secret of the request; the value beside it under an ordinary
    name is not (a prompt quoted in an error stays readable)."""
    assume(said != key)
    if form:
        content = urlencode({other: said, name: key}).encode()
        request = httpx.Request("POST", URL, content=content, headers={"content-type": FORM})
    else:
        field: Any = [key] if in_list else key
        document: Any = {other: said, name: field}
        for level in range(depth):
            document = {f"level{level}": document}
        request = httpx.Request("POST", URL, json=document)
    secrets = request_secrets(request)
    assert key in secrets
    assert said not in secrets


FORM = "application/x-www-form-urlencoded"


def test_a_body_not_in_memory_is_not_read_nor_one_too_long_parsed() -> None:
    """A streamed body is never consumed to look for a key (its iterator is not advanced),
    and a body in memory longer than 64 KiB is not parsed; neither fails the request."""
    taken: list[bytes] = []

    def chunks() -> Iterator[bytes]:
        for chunk in (b'{"api_key": "', CANARY.encode(), b'"}'):
            taken.append(chunk)
            yield chunk

    streamed = httpx.Request("POST", URL, content=chunks())
    assert request_body(streamed) is None
    assert request_secrets(streamed) == ()
    assert taken == []
    long = {"api_key": CANARY, "input": "x" * 64 * 1024}
    assert request_body(httpx.Request("POST", URL, json=long)) is None
    assert body_secrets((json.dumps(long).encode(), "application/json")) == ()
    short = httpx.Request("POST", URL, json={"api_key": CANARY})
    assert request_body(short) == (b'{"api_key":"' + CANARY.encode() + b'"}', "application/json")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"a": ' * 10000 + b"1" + b"}" * 10000, "application/json"),
        (b"\xff\xfe{}", ""),
        (b"plain text with api_key=" + CANARY.encode(), "text/plain"),
        (b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--", "multipart/form-data"),
        (b"--x\r\nno head end", "multipart/form-data; boundary=x"),
    ],
    ids=["bad JSON", "deep JSON", "undecodable", "text", "multipart, no boundary", "torn part"],
)
def test_a_body_that_is_no_form_holds_no_secret_and_raises_nothing(
    content: bytes, content_type: str
) -> None:
    assert body_secrets((content, content_type)) == ()


def test_a_key_in_a_json_body_is_scrubbed_where_a_server_echoes_it() -> None:
    """Case 137 as the adversary wrote it: Tavily's 432 quoting the key sent in the body."""
    key = "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"

    def api(request: httpx.Request) -> httpx.Response:
        said = f"This request exceeds your plan's set usage limit for key {key}."
        return httpx.Response(432, json={"detail": {"error": said}})

    client = http402.wrap(httpx.Client(transport=httpx.MockTransport(api)))
    for kwargs in ({"json": {"api_key": key, "query": "who won"}}, {"data": {"api_key": key}}):
        error, shown = _raised_with_traceback(
            lambda kwargs=kwargs: client.post("https://api.tavily.com/search", **kwargs)
        )
        texts = [*error_texts(error), shown, error.body or "", error.message or ""]
        assert not [text[:200] for text in texts if leaks(text, key)]
        assert "usage limit for key [redacted]" in (error.message or "")


#: Bodies whose credential stands before (or after) more values than a walk bounded by a
#: count of values reached (case 181: 4096 values, walked from the last member), all under
#: the 64 KiB looked into: token ids, a bulk send's recipients, a batch of documents.
LONG_BODIES = {
    "token ids after a top-level key": {"api_key": CANARY, "input": [list(range(5000))]},
    "short strings after a top-level key": {"api_key": CANARY, "input": ["ab"] * 9000},
    "objects after a top-level key": {"token": CANARY, "to": [{"id": n} for n in range(4500)]},
    "a nested key after a long array": {
        "input": list(range(6000)),
        "config": {"client": {"auth": {"token": CANARY}}},
    },
    "a key past sixteen levels": functools.reduce(
        lambda inner, name: {name: inner}, "abcdefghijklmnopq", {"password": CANARY}
    ),
}


@pytest.mark.parametrize("document", LONG_BODIES.values(), ids=LONG_BODIES.keys())
def test_no_bound_on_work_decides_which_key_of_a_body_is_a_secret(document: Any) -> None:
    """Case 181's kind: every credential of a JSON body in memory is a secret, wherever it
    stands and whatever follows it: the walk reaches every value (the body's 64 KiB bound
    it), breadth-first."""
    request = httpx.Request("POST", URL, json=document)
    assert len(request.content) < 64 * 1024
    assert CANARY in request_secrets(request)


def test_a_body_python_cannot_parse_keeps_its_keys_secret() -> None:
    """A body the server may read and Python's parser cannot (nested deeper than it goes,
    or a flaw a lenient reader skips) is searched as text for its credential members: the
    key before it is a secret (fail closed); nothing else in it is."""
    deep = b'{"api_key": "' + CANARY.encode() + b'", "q": "hello there", "x": '
    deep += b"[" * 5000 + b"]" * 5000 + b"}"
    flawed = b'{"query": "who won the match", "apiKey": "' + CANARY.encode() + b'",}'
    escaped = b'{"api\\u005fkey": "' + CANARY[:10].encode() + b"\\/" + CANARY[10:].encode() + b'"'
    for content in (deep, flawed, escaped):
        found = body_secrets((content, "application/json"))
        assert CANARY in found or CANARY[:10] + "/" + CANARY[10:] in found, content[:60]
        assert not {"hello there", "who won the match"} & set(found)


#: A credential under a member whose own name says nothing, in an object whose name says it
#: holds a credential (case 192): the parent names the credential.
NESTED_CREDENTIALS = {
    "authentication.value": {"authentication": {"type": "api_key", "value": CANARY}},
    "api_key.value": {"api_key": {"value": CANARY}},
    "credentials.data": {"credentials": {"id": "cred_1", "data": CANARY}},
    "auth.config.string": {"auth": {"config": {"string": CANARY}}},
    "creds list": {"creds": [{"raw": CANARY}]},
    "auth.basic.username": {"auth": {"basic": {"username": CANARY}}},
}
#: Look-alikes: what describes a credential, and generic members under ordinary parents.
NOT_NESTED_CREDENTIALS = {
    "authentication.type": {"authentication": {"type": "api_key_header", "value": CANARY}},
    "auth.scheme": {"auth": {"scheme": "bearer_token", "value": CANARY}},
    "author.value": {"author": {"value": "Ursula K. Le Guin", "token": CANARY}},
    "metadata.value": {"metadata": {"value": "a long ordinary value", "key": CANARY}},
    "credit.data": {"credit": {"data": "credit note 2024-11", "secret": CANARY}},
}


@pytest.mark.parametrize("document", NESTED_CREDENTIALS.values(), ids=NESTED_CREDENTIALS.keys())
def test_a_credential_under_a_generic_member_of_a_credential_object_is_a_secret(
    document: Any,
) -> None:
    assert CANARY in request_secrets(httpx.Request("POST", URL, json=document))


@pytest.mark.parametrize(
    "document", NOT_NESTED_CREDENTIALS.values(), ids=NOT_NESTED_CREDENTIALS.keys()
)
def test_what_describes_a_credential_or_stands_under_an_ordinary_name_is_no_secret(
    document: Any,
) -> None:
    """The look-alikes: a credential's `type` or `scheme`, and a `value` or `data` under a
    parent that names no credential (`author`, `metadata`, `credit`), stay readable; the
    credential beside them is still found."""
    secrets = request_secrets(httpx.Request("POST", URL, json=document))
    assert CANARY in secrets
    assert secrets == (CANARY,)


@pytest.mark.parametrize(
    "document",
    [NESTED_CREDENTIALS["authentication.value"], LONG_BODIES["token ids after a top-level key"]],
    ids=["authentication.value", "a key before 5000 token ids"],
)
def test_a_key_of_a_body_a_server_echoes_is_scrubbed_everywhere(document: Any) -> None:
    """Cases 181 and 192 end to end: the server quotes the key; the error, its message, its
    body and the log record show none of it."""

    def api(request: httpx.Request) -> httpx.Response:
        said = f"Insufficient credits for key {CANARY}"
        return httpx.Response(
            402, json={"error": {"code": "insufficient_credits", "message": said}}
        )

    client = http402.wrap(httpx.Client(transport=httpx.MockTransport(api)))
    error, shown = _raised_with_traceback(
        lambda: client.post("https://api.example.com/v1/embeddings", json=document)
    )
    texts = [*error_texts(error), shown, error.body or "", error.message or ""]
    assert not [text[:200] for text in texts if leaks(text, CANARY)]


# --- An astral separator escaped as a UTF-16 pair (case 173) -------------------------------

#: Separators past the first plane: a tag (Cf), a variation selector of the supplement, an
#: emoji (So), a musical format character (Cf), an Aegean word separator (Po).
ASTRAL_SEPARATORS = {
    "tag space": "\U000e0020",
    "variation selector-17": "\U000e0100",
    "key emoji": "\U0001f511",
    "musical symbol begin beam": "\U0001d173",
    "Aegean word separator": "\U00010100",
}


def _utf16_units(text: str) -> list[int]:
    raw = text.encode("utf-16-le", "surrogatepass")
    return [int.from_bytes(raw[at : at + 2], "little") for at in range(0, len(raw), 2)]


def _from_units(units: list[int]) -> str:
    raw = b"".join(unit.to_bytes(2, "little") for unit in units)
    return raw.decode("utf-16-le", "surrogatepass")


def _js_escape(text: str) -> str:
    """JavaScript's global `escape()`: UTF-16 code units, `%XX` below 256, `%uXXXX` above."""
    out = []
    for unit in _utf16_units(text):
        char = chr(unit)
        if char.isascii() and (char.isalnum() or char in "@*_+-./"):
            out.append(char)
        else:
            out.append(f"%{unit:02X}" if unit < 256 else f"%u{unit:04X}")
    return "".join(out)


def _js_unescape(text: str) -> str:
    units = re.sub(r"%u([0-9A-Fa-f]{4})", lambda m: chr(int(m.group(1), 16)), text)
    units = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), units)
    return _from_units([ord(c) for c in units])


def _modified_utf8(text: str) -> str:
    """Java's modified UTF-8 (CESU-8), percent-encoded: each half of a pair in 3 bytes."""
    halves = _from_units(_utf16_units(text))
    return quote(halves.encode("utf-8", "surrogatepass"), safe="")


def _from_modified_utf8(text: str) -> str:
    halves = unquote(text, errors="surrogatepass")
    return _from_units(_utf16_units(halves))


def _python_bytes(text: str) -> str:
    return f"error: {text.encode()!r}"


def _json_upper(text: str) -> str:
    dumped = json.dumps({"error": {"code": "insufficient_credits", "message": text}})
    return re.sub(r"\\u([0-9a-f]{4})", lambda m: "\\u" + m.group(1).upper(), dumped)


#: How servers write an astral character as escapes, and how a reader undoes them.
PAIR_ESCAPES: dict[str, tuple[Callable[[str], str], str, Callable[[str], str]]] = {
    "JSON pairs (json.dumps, json_encode)": (
        lambda t: json.dumps({"error": {"code": "insufficient_credits", "message": t}}),
        "application/json",
        lambda body: json.loads(body)["error"]["message"],
    ),
    "JSON pairs, upper-case hex": (
        _json_upper,
        "application/json",
        lambda body: json.loads(body)["error"]["message"],
    ),
    "escape()'s %u pairs": (_js_escape, "text/plain", _js_unescape),
    "modified UTF-8, percent-encoded": (_modified_utf8, "text/plain", _from_modified_utf8),
    "Python bytes (UTF-8 as \\x)": (
        _python_bytes,
        "text/plain",
        lambda body: __import__("ast").literal_eval(body.split(": ", 1)[1]).decode(),
    ),
}


@pytest.mark.parametrize("separator", ASTRAL_SEPARATORS.values(), ids=ASTRAL_SEPARATORS.keys())
@pytest.mark.parametrize("escaping", PAIR_ESCAPES, ids=PAIR_ESCAPES.keys())
def test_a_key_apart_by_an_escaped_astral_separator_shows_nowhere(
    escaping: str, separator: str
) -> None:
    """Case 173's kind: an astral separator between a key's groups, written as two escapes
    of its UTF-16 halves (or as the bytes of its UTF-8 or modified UTF-8), is one character
    once unescaped, judged a separator as it stands. What a reader of the escapes shows of
    `error.body` (and `str(error)`, `message`) holds no run of the key; the text around it
    stays."""
    encode, content_type, read = PAIR_ESCAPES[escaping]
    said = "Insufficient credits for API key " + separator.join(_groups(KEY, 4))
    body = encode(said)
    assert leaks(read(body), KEY), "the reader shows the key"

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, content=body.encode(), headers={"content-type": content_type})

    client = http402.wrap(httpx.Client(transport=httpx.MockTransport(provider)))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.get(URL, headers={"Authorization": f"Bearer {KEY}"})
    error = caught.value
    shown = error.body or ""
    assert "[redacted]" in shown
    try:
        seen = read(shown)
    except ValueError:  # the scrubbed text no longer parses: read it as it stands
        seen = shown
    found = {
        name: leaks(text, KEY)
        for name, text in (("str", str(error)), ("message", error.message or ""), ("body", seen))
    }
    assert not any(found.values()), found
    assert "Insufficient" in shown


def test_an_escaped_pair_is_one_character_of_the_unescaped_view() -> None:
    """The halves of a pair, escaped side by side in any mix of the escapes, are one
    character; a half alone stays a half (a surrogate, which is a separator)."""
    from http402._redaction import _Unescaped

    for text in ("\\ud83d\\udd11", "\\uD83D\\uDD11", "%uD83D%uDD11", "\\ud83d%uDD11"):
        view = _Unescaped.of(f"a{text}b")
        assert view is not None and view.text == "a\U0001f511b", text
        assert view.origin(1, 2) == (1, 1 + len(text))
    view = _Unescaped.of("a\\ud83d b\\udd11")
    assert view is not None and view.text == "a\ud83d b\udd11"
    assert "\ud83d" in separator_set() and "\udd11" in separator_set()


def test_a_key_apart_by_lone_halves_of_pairs_is_scrubbed() -> None:
    """A half of a pair left alone (a pair cut by the server, or only its high half
    escaped) shows as nothing or one sign: a separator."""
    redact = Redactor([KEY])
    for half in ("\\ud83d", "\\udd11", "%uDB40", "&#55357;"):
        text = "key " + half.join(_groups(KEY, 4)) + " now"
        assert redact(text) == "key [redacted] now", half


def test_an_escaped_astral_letter_is_no_separator() -> None:
    """The look-alike: an astral letter (U+1D400, MATHEMATICAL BOLD CAPITAL A) escaped as a
    pair between groups is a letter once joined, as it is unescaped, and words apart by it
    are words; only separators join a key's groups."""
    redact = Redactor([KEY])
    text = "key " + "\\ud835\\udc00".join(_groups(KEY, 4)) + " now"
    assert redact(text) == text
