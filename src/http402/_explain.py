"""`http402 explain` and `http402 adapters`: triage a captured response from the command line.

`explain` reads what a person has in hand after a failed call (a `curl -i` or `curl -v`
capture, a JSON body copied from a log, or a browser's HAR export), rebuilds each response as
an `httpx.Response`, runs `http402.classify` on it and prints what the gate says, what resolves
it, and any x402 settlement receipt (`PAYMENT-RESPONSE`, `X-PAYMENT-RESPONSE`). Nothing is
fetched. Credentials in the captured requests are never printed: URLs go through
`safe_url_for_display`, and every string shown is scrubbed of the request's secrets.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import json
import os
import re
import sys
import types
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any
from urllib.parse import quote_plus, urljoin, urlsplit

import attrs
import httpx

from ._adapters import AdapterRegistry, Registration
from ._core import classify
from ._exceptions import _WHAT_RESOLVES_IT
from ._models import PaymentOption, PaymentRequired, Reason
from ._redaction import Redactor, collect_secrets, redactor_for, safe_url_for_display
from ._untrusted import decode_base64_json, shown_text

__all__ = [
    "EXIT_GATE",
    "EXIT_NO_GATE",
    "EXIT_USAGE",
    "MAX_INPUT_BYTES",
    "BodyOptions",
    "InputError",
    "explain",
    "list_adapters",
]

#: At least one payment gate was found.
EXIT_GATE = 0
#: The input was read, and it holds no payment gate.
EXIT_NO_GATE = 1
#: A usage error, or input that cannot be read or parsed.
EXIT_USAGE = 2
#: Larger inputs are refused; `classify` only ever looks at the first 64 KiB of a body.
MAX_INPUT_BYTES = 50 * 1024 * 1024

_STDIN = "-"
_UNKNOWN_URL = "http://unknown.invalid/"
#: `httpx.Request` needs a method; classification does not look at it.
_PLACEHOLDER_METHOD = "GET"
_STATUS_LINE = re.compile(rb"HTTP/[0-9](?:\.[0-9])? +([0-9]{3})(?: [^\r\n]*)?(?=\r?\n|$)")
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r?\n")
# `curl -v`: `> ` request lines, `< ` response lines, `* ` information, `{ [n bytes data]`.
_VERBOSE_RESPONSE = re.compile(rb"^< HTTP/[0-9]", re.MULTILINE)
_DATA_MARKER = re.compile(rb"[{}] \[[0-9]+ bytes data\]")
# curl's last information line, glued to a body that did not end with a newline.
_GLUED_INFO = re.compile(
    rb"\* (?:Connection #[0-9]+ to host|Closing connection|shutting down connection)[^\n]*\n?$"
)
_REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) +(\S+) +HTTP/([0-9.]+)")
_OPENED_STREAM = re.compile(r"\[HTTP/[23]\] \[[0-9]+\] OPENED stream for (https?://\S+)")
_TLS_INFO = re.compile(r"\b(?:SSL|TLS|ALPN)\b")
# x402 settlement receipts: coinbase/x402 specs/transports-v2/http.md ("Settlement Response
# Delivery", `PAYMENT-RESPONSE`) and specs/transports-v1/http.md (`X-PAYMENT-RESPONSE`), both
# base64 of the `SettlementResponse` of specs/x402-specification-v2.md section 5.3.
_RECEIPT_HEADERS = (
    ("payment-response", "PAYMENT-RESPONSE", 2),
    ("x-payment-response", "X-PAYMENT-RESPONSE", 1),
)
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_METHOD = _HEADER_NAME
_BODY_FRAMING = frozenset({"content-length", "transfer-encoding"})
_HOST_SCOPED_STATUSES = frozenset({400, 401, 403, 429})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_SHORT_VALUE = 16
_EXCERPT = 300


class InputError(Exception):
    """The input cannot be read or parsed; the message is the one-line reason."""


@attrs.frozen(kw_only=True)
class BodyOptions:
    """What the command line says about a response that is not a full capture.

    Args:
        status: The status of a JSON body (`None`: 402).
        headers: Response headers of a JSON body, as `(name, value)` pairs.
        url: The request URL (`None`: unknown); provider adapters only look at their hosts.
        method: The request method (`None`: unknown, or as a `curl -v` capture shows it).
    """

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    url: str | None = None
    method: str | None = None


@attrs.frozen(kw_only=True)
class _Exchange:
    """One captured request and response, as read from the input."""

    #: `None` when the capture does not say.
    method: str | None
    url: str | None
    status_code: int
    request_headers: tuple[tuple[str, str], ...] = ()
    #: The request's body and its type (a HAR's `postData`): its credential fields are
    #: secrets too.
    request_body: tuple[bytes, str] | None = None
    response_headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    #: `True` when the body may still carry its `Content-Encoding` (a raw capture).
    maybe_encoded: bool = False
    #: The index in a HAR's `log.entries`.
    entry: int | None = None


@attrs.frozen(kw_only=True)
class _Receipt:
    """An x402 settlement receipt (`PAYMENT-RESPONSE` or `X-PAYMENT-RESPONSE`), decoded."""

    header: str
    x402_version: int
    #: `False` when the header is not base64 of a JSON object.
    valid: bool = True
    success: bool | None = None
    transaction: str | None = None
    network: str | None = None
    payer: str | None = None
    error_reason: str | None = None


@attrs.frozen
class _Verdict:
    """An exchange and what `classify` made of it."""

    exchange: _Exchange
    payment: PaymentRequired | None
    receipt: _Receipt | None = None


# --- Reading -----------------------------------------------------------------------------


def read_input(source: str) -> bytes:
    """The bytes of `source` (a path, or `-` for stdin), at most `MAX_INPUT_BYTES`."""
    if source == _STDIN:
        return _bounded_read(sys.stdin.buffer, "standard input")
    try:
        if os.path.isdir(source):
            raise InputError(f"{source}: is a directory, not a capture")
        size = os.path.getsize(source)
        if size > MAX_INPUT_BYTES:
            raise InputError(
                f"{source}: {_mib(size)} is larger than the {_mib(MAX_INPUT_BYTES)} limit"
            )
        with open(source, "rb") as file:
            return _bounded_read(file, source)
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except PermissionError:
        raise InputError(f"{source}: permission denied") from None
    except OSError as exc:
        raise InputError(
            f"{source}: cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None


def _bounded_read(stream: IO[bytes], name: str) -> bytes:
    data = stream.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(f"{name}: larger than the {_mib(MAX_INPUT_BYTES)} limit")
    return data


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def parse_input(data: bytes, options: BodyOptions) -> tuple[str, list[_Exchange]]:
    """The format detected (`"http"`, `"har"`, `"json"`, or `"body"` for a text or XML body
    alone) and the exchanges in `data`."""
    data = _to_utf8(data)
    start = data.lstrip()
    if not start:
        raise InputError("empty input")
    if _STATUS_LINE.match(start):
        _refuse_body_options(options, "a curl -i capture has its own status line and headers")
        return "http", [_parse_curl(start, options)]
    if start[:1] not in (b"{", b"[") and _VERBOSE_RESPONSE.search(start):
        _refuse_body_options(options, "a curl -v capture has its own status line and headers")
        return "http", [_parse_verbose(start, options)]
    if start[:1] not in (b"{", b"["):
        if options.status is None and not options.headers:
            raise InputError(
                "not a curl -i or curl -v capture, a HAR file or a JSON body (a text or XML "
                "body alone is read when --status or --header 'content-type: ...' says what "
                "came with it)"
            )
        # A body alone that is not JSON (plain text, an XML `<Error>` document): the
        # caller said what came with it, so it is read as such a response would be.
        return "body", [_body_alone(start, options, "text/plain")]
    document = _load_json(start)
    if isinstance(document, dict) and isinstance(document.get("log"), dict):
        _refuse_body_options(options, "a HAR file has its own URLs, statuses and headers", url=True)
        return "har", _parse_har(document["log"])
    return "json", [_body_alone(start, options, "application/json")]


def _to_utf8(data: bytes) -> bytes:
    """`data` without a UTF-8 byte order mark, and re-encoded if it is UTF-16."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            raise InputError("starts like UTF-16 text but is not valid UTF-16") from None
    return data


def _refuse_body_options(options: BodyOptions, why: str, *, url: bool = False) -> None:
    given = [
        flag
        for flag, present in (
            ("--status", options.status is not None),
            ("--header", bool(options.headers)),
            ("--url", url and options.url is not None),
        )
        if present
    ]
    if given:
        verb = "applies" if len(given) == 1 else "apply"
        raise InputError(f"{' and '.join(given)} only {verb} to a JSON body: {why}")


def _load_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise InputError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # bad UTF-8, an integer of too many digits
        raise InputError(f"invalid JSON: {type(exc).__name__}") from None


def _body_alone(data: bytes, options: BodyOptions, content_type: str) -> _Exchange:
    """A body with what the command line says came with it (`content_type` unless a
    `--header` names one)."""
    headers = options.headers
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers = (("content-type", content_type), *headers)
    return _Exchange(
        method=options.method,
        url=options.url,
        status_code=402 if options.status is None else options.status,
        response_headers=headers,
        body=data,
    )


def _parse_curl(data: bytes, options: BodyOptions) -> _Exchange:
    """The last response of a `curl -i` (or `curl -i -L`) capture.

    Interim responses (`100 Continue`), a proxy's `200 Connection established` and redirects
    are skipped: a response is followed by another when a status line comes right after its
    headers. The request URL follows the redirects' `Location`s from `options.url`.
    """
    url = options.url
    rest = data
    while True:
        status, headers, rest = _parse_head(rest)
        following = rest.lstrip(b"\r\n")
        if not _STATUS_LINE.match(following):
            break
        url = _follow(url, status, headers)
        rest = following
    if status < 200:
        raise InputError(f"the capture ends with an interim {status} response, before any answer")
    return _Exchange(
        method=options.method,
        url=url,
        status_code=status,
        response_headers=tuple(headers),
        body=rest,
        maybe_encoded=True,
    )


def _parse_head(data: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and what follows the blank line, of the response at `data`."""
    match = _STATUS_LINE.match(data)
    if match is None:  # pragma: no cover - callers check first
        raise InputError("not a curl -i response")
    end = _HEAD_END.search(data)
    head, rest = (data[: end.start()], data[end.end() :]) if end else (data, b"")
    lines = _LINE_END.split(head.rstrip(b"\r\n"))[1:]
    headers: list[tuple[str, str]] = []
    for number, raw in enumerate(lines, start=2):
        line = raw.decode("latin-1")
        if line[:1] in (" ", "\t") and headers:  # obsolete line folding
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.fullmatch(name):
            raise InputError(f"line {number} of a response head is not a 'Name: value' header")
        headers.append((name, value.strip()))
    return int(match.group(1)), headers, rest


def _follow(url: str | None, status: int, headers: list[tuple[str, str]]) -> str | None:
    """The URL the next response of a capture answers: a redirect's `Location`, else `url`."""
    if status not in _REDIRECTS:
        return url
    location = next((v for n, v in headers if n.lower() == "location"), None)
    if not location:
        return url
    try:
        target = urljoin(url, location) if url else location
        return target if urlsplit(target).hostname else url
    except ValueError:  # a malformed Location: the URL stays as it was
        return url


@attrs.define(eq=False)
class _VerboseMessage:
    """A request or response head being read from a `curl -v` capture."""

    start: str
    headers: list[tuple[str, str]] = attrs.Factory(list)
    body: list[bytes] = attrs.Factory(list)
    #: `https` when the connection it went over is TLS, as far as the capture says.
    scheme: str = "http"
    #: The URL of its HTTP/2 or HTTP/3 stream, when curl printed it.
    stream_url: str | None = None


def _parse_verbose(data: bytes, options: BodyOptions) -> _Exchange:
    """The last response of a `curl -v` capture (with `2>&1`), and the request it answers.

    Request lines start with `> `, response lines with `< `, curl's notes with `* `; the
    body is every other line after the last response head (`{ [n bytes data]` markers, the
    progress meter and anything before the first response are left out). The method and
    URL come from the request (its target, `Host` and whether the connection was TLS),
    unless `--method` or `--url` say otherwise.
    """
    requests: list[_VerboseMessage] = []
    responses: list[_VerboseMessage] = []
    scheme, stream_url = "http", None
    reading: _VerboseMessage | None = None  # the head whose header lines come next
    in_request = False
    for raw in _split_lines(data):
        line = raw.rstrip(b"\r\n")
        marker, text = line[:2], line[2:].decode("latin-1")
        if line in (b">", b"<"):
            marker, text = line + b" ", ""
        if marker == b"> ":
            if reading is None or not in_request:
                reading = _VerboseMessage(text, scheme=scheme, stream_url=stream_url)
                in_request = True
                requests.append(reading)
            elif text.strip():
                _verbose_header(reading, text, "request")
            else:
                reading = None
        elif marker == b"< ":
            if _STATUS_LINE.match(line[2:]):
                reading, in_request = _VerboseMessage(text), False
                responses.append(reading)
            elif reading is not None and not in_request and text.strip():
                _verbose_header(reading, text, "response")
            else:
                reading = None
        elif marker == b"* " or line == b"*":
            if text.lstrip().startswith(("Connected to", "Trying")):
                scheme, stream_url = "http", None
            elif _TLS_INFO.search(text):
                scheme = "https"
            opened = _OPENED_STREAM.search(text)
            if opened:
                stream_url = opened.group(1)
        elif _DATA_MARKER.fullmatch(line) or line.startswith(b"\r"):
            continue  # curl's `{ [n bytes data]` notes, its progress meter (redrawn after a CR)
        elif responses and reading is None:
            responses[-1].body.append(raw)
    if not responses:  # pragma: no cover - parse_input checks for a `< HTTP/` line first
        raise InputError("a curl -v capture without a response")
    response = responses[-1]
    match = _STATUS_LINE.match(response.start.encode("latin-1"))
    assert match is not None
    status = int(match.group(1))
    if status < 200:
        raise InputError(f"the capture ends with an interim {status} response, before any answer")
    request = requests[-1] if requests else None
    body = _verbose_body(response.body)
    while _STATUS_LINE.match(body):  # `curl -iv`: each head printed again, before the body
        _, _, body = _parse_head(body)
        body = body.lstrip(b"\r\n") if _STATUS_LINE.match(body.lstrip(b"\r\n")) else body
    method, url = _verbose_request(request)
    return _Exchange(
        method=options.method or method,
        url=options.url or url,
        status_code=status,
        request_headers=tuple(request.headers) if request else (),
        response_headers=tuple(response.headers),
        body=body,
        maybe_encoded=True,
    )


def _split_lines(data: bytes) -> list[bytes]:
    """`data` cut after each LF (a CR alone is curl redrawing its progress meter)."""
    lines = data.split(b"\n")
    return [line + b"\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])


def _verbose_header(message: _VerboseMessage, text: str, kind: str) -> None:
    name, colon, value = text.partition(":")
    if not colon or not _HEADER_NAME.fullmatch(name):
        raise InputError(f"a {kind} line of the curl -v capture is not a 'Name: value' header")
    message.headers.append((name, value.strip()))


def _verbose_body(lines: list[bytes]) -> bytes:
    if lines:
        lines[-1] = _GLUED_INFO.sub(b"", lines[-1])
    return b"".join(lines)


def _verbose_request(request: _VerboseMessage | None) -> tuple[str | None, str | None]:
    """The method and URL of a `curl -v` request head; `None` for what it does not show."""
    if request is None:
        return None, None
    match = _REQUEST_LINE.fullmatch(request.start.strip())
    if match is None:
        return None, None
    method, target, version = match.groups()
    if target.startswith(("http://", "https://")):  # absolute form, through a proxy
        return method.upper(), target
    if request.stream_url is not None:
        return method.upper(), request.stream_url
    host = next((v for n, v in request.headers if n.lower() == "host"), None)
    if not host or not target.startswith("/"):
        return method.upper(), None
    # curl speaks HTTP/2 and HTTP/3 over TLS unless told otherwise.
    scheme = "https" if version[:1] in ("2", "3") else request.scheme
    return method.upper(), f"{scheme}://{host}{target}"


def _parse_har(log: dict[str, Any]) -> list[_Exchange]:
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise InputError("not a HAR file: log.entries is not a list")
    return [exchange for i, e in enumerate(entries) if (exchange := _har_entry(i, e)) is not None]


def _har_entry(index: int, entry: object) -> _Exchange | None:
    """The exchange of one HAR entry; `None` for one that got no HTTP answer (status 0)."""
    where = f"log.entries[{index}]"
    if not isinstance(entry, dict):
        raise InputError(f"not a HAR file: {where} is not an object")
    request, response = entry.get("request"), entry.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise InputError(f"not a HAR file: {where} has no request or response object")
    method, url, status = request.get("method"), request.get("url"), response.get("status")
    if not isinstance(method, str) or not _METHOD.fullmatch(method) or not isinstance(url, str):
        raise InputError(f"not a HAR file: {where}.request has no valid method or url")
    if not isinstance(status, int) or isinstance(status, bool):
        raise InputError(f"not a HAR file: {where}.response.status is not a number")
    if not 100 <= status <= 599:
        return None  # blocked, aborted or served from nowhere: no HTTP answer to classify
    headers = _har_headers(response.get("headers", []), f"{where}.response.headers")
    body, mime_type = _har_content(response.get("content"), f"{where}.response.content")
    if mime_type and not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("content-type", mime_type))
    request_headers = _har_headers(request.get("headers", []), f"{where}.request.headers")
    # Cookies listed apart from a Cookie header are secrets to scrub all the same.
    request_headers += [("cookie", value) for value in _har_cookie_values(request.get("cookies"))]
    return _Exchange(
        method=method.upper(),
        url=url,
        status_code=status,
        request_headers=tuple(request_headers),
        request_body=_har_post_data(request.get("postData")),
        response_headers=tuple(headers),
        body=body,
        entry=index,
    )


def _har_post_data(value: object) -> tuple[bytes, str] | None:
    """A HAR request's `postData` as a body to look for credentials in: its `text`, or its
    `params` as a form; at most as long as a request body is looked into."""
    if not isinstance(value, dict):
        return None
    mime_type = value.get("mimeType")
    mime_type = mime_type if isinstance(mime_type, str) else ""
    text = value.get("text")
    params = value.get("params")
    if not isinstance(text, str) or not text:
        if not isinstance(params, list):
            return None
        text = "&".join(
            f"{quote_plus(str(p.get('name', '')))}={quote_plus(str(p.get('value', '')))}"
            for p in params[:256]
            if isinstance(p, dict)
        )
        mime_type = "application/x-www-form-urlencoded"
    content = text.encode("utf-8", "surrogatepass")
    return (content, mime_type) if content else None


def _har_headers(value: object, where: str) -> list[tuple[str, str]]:
    if not isinstance(value, list):
        raise InputError(f"not a HAR file: {where} is not a list")
    headers = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        header = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not isinstance(header, str):
            raise InputError(f"not a HAR file: {where} holds something other than name/value")
        if not name.startswith(":"):  # HTTP/2 pseudo-headers
            headers.append((name, header))
    return headers


def _har_cookie_values(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    cookies = [item.get("value") for item in value if isinstance(item, dict)]
    return [cookie for cookie in cookies if isinstance(cookie, str) and cookie]


def _har_content(value: object, where: str) -> tuple[bytes, str | None]:
    """The decoded body and MIME type of a HAR `content` object (no text: no body)."""
    if value is None:
        return b"", None
    if not isinstance(value, dict):
        raise InputError(f"not a HAR file: {where} is not an object")
    mime_type = value.get("mimeType")
    text = value.get("text")
    if text is None:
        body = b""
    elif not isinstance(text, str):
        raise InputError(f"not a HAR file: {where}.text is not a string")
    elif value.get("encoding") == "base64":
        try:
            body = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise InputError(f"{where}.text is not valid base64") from None
    else:
        body = text.encode("utf-8", errors="surrogatepass")
    return body, mime_type if isinstance(mime_type, str) and mime_type else None


# --- Classifying -------------------------------------------------------------------------


def to_response(exchange: _Exchange) -> httpx.Response:
    """The exchange as a read `httpx.Response` with its request."""
    request = httpx.Request(
        exchange.method or _PLACEHOLDER_METHOD,
        _request_url(exchange.url),
        headers=_encoded(exchange.request_headers),
        # The body, so that what `classify` scrubs from the fields it reads knows its
        # credentials (`request_body`); a type the capture stated only in `postData` with it.
        content=exchange.request_body[0] if exchange.request_body else None,
    )
    if exchange.request_body and "content-type" not in request.headers:
        request.headers["content-type"] = exchange.request_body[1]
    headers = [(n, v) for n, v in exchange.response_headers if n.lower() not in _BODY_FRAMING]
    if exchange.maybe_encoded:
        try:
            return httpx.Response(
                exchange.status_code,
                headers=_encoded(headers),
                content=exchange.body,
                request=request,
            )
        except httpx.DecodingError:
            pass  # curl --compressed prints the decoded body under the original header
    headers = [(n, v) for n, v in headers if n.lower() != "content-encoding"]
    return httpx.Response(
        exchange.status_code, headers=_encoded(headers), content=exchange.body, request=request
    )


def _request_url(url: str | None) -> str | httpx.URL:
    if url is None:
        return _UNKNOWN_URL
    try:
        return httpx.URL(url)
    except (httpx.InvalidURL, ValueError, TypeError):
        return _UNKNOWN_URL


def _encoded(headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Headers as bytes; a value of several lines (as some HAR exporters join repeated
    headers) becomes one header per line."""
    return [
        (name.encode("utf-8", "replace"), line.strip().encode("utf-8", "replace"))
        for name, value in headers
        for line in (value.splitlines() or [""])
    ]


def classify_all(
    exchanges: Sequence[_Exchange], registry: AdapterRegistry | None
) -> list[_Verdict]:
    """What `http402.classify` says of each exchange, with its x402 receipt if it has one."""
    return [
        _Verdict(e, classify(to_response(e), registry=registry), _receipt(e, _redactor(e)))
        for e in exchanges
    ]


def _receipt(exchange: _Exchange, redact: Redactor) -> _Receipt | None:
    """The x402 settlement receipt among the response headers, decoded, its texts scrubbed
    of the request's credentials, then bounded."""
    for lower, header, version in _RECEIPT_HEADERS:
        value = next((v for n, v in exchange.response_headers if n.lower() == lower), None)
        if value is None:
            continue
        document = decode_base64_json(value)
        if not isinstance(document, dict):
            return _Receipt(header=header, x402_version=version, valid=False)
        success = document.get("success")
        return _Receipt(
            header=header,
            x402_version=version,
            success=success if isinstance(success, bool) else None,
            transaction=shown_text(document.get("transaction"), redact, 200),
            network=shown_text(document.get("network"), redact, 200),
            payer=shown_text(document.get("payer"), redact, 200),
            error_reason=shown_text(document.get("errorReason"), redact, 200),
        )
    return None


# --- Showing -----------------------------------------------------------------------------


def _redactor(exchange: _Exchange) -> Redactor:
    url = exchange.url or ""
    return redactor_for(collect_secrets(url, exchange.request_headers, exchange.request_body))


def _display_url(exchange: _Exchange, redact: Redactor) -> str | None:
    if exchange.url is None:
        return None
    return redact(safe_url_for_display(exchange.url))


def _printable(text: str) -> str:
    """`text` with control and format characters (terminal escapes, bidi overrides) replaced."""
    return "".join(
        "?" if unicodedata.category(c)[0] == "C" and c != " " else c for c in " ".join(text.split())
    )


def _shorten(value: str) -> str:
    if len(value) <= _SHORT_VALUE:
        return value
    return f"{value[:8]}...{value[-6:]}"


def _amount(value: Decimal) -> str:
    """A Decimal without trailing zeros or an exponent: `150000.000` -> `150000`."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _kind(payment: PaymentRequired) -> str:
    return "entitlement" if payment.is_entitlement else "payment"


def _title(verdict: _Verdict, redact: Redactor) -> str:
    url = _display_url(verdict.exchange, redact)
    method = verdict.exchange.method or "(method unknown)"
    return _printable(f"{method} {url or '(URL unknown)'}")


def _gate_lines(payment: PaymentRequired, redact: Redactor) -> list[str]:
    """The lines of one gate's block: a `label  value` line per field it has."""
    rows: list[tuple[str, object]] = [
        ("reason", f"{payment.reason.value} ({_kind(payment)})"),
        ("provider", payment.provider),
        ("status", payment.status_code),
        ("code", payment.code),
        ("message", payment.message),
        ("credits", _credits(payment)),
        ("plan", _plans(payment)),
        ("to resolve", _WHAT_RESOLVES_IT[payment.reason]),
        ("action_url", payment.action_url),
        ("retry_after", None if payment.retry_after is None else f"{payment.retry_after:g} s"),
        ("request_id", payment.request_id),
    ]
    rows += [
        (f"option {n}", _option(option, redact))
        for n, option in enumerate(payment.payment_options, start=1)
    ]
    if payment.reason is Reason.UNKNOWN and payment.message is None:
        rows.append(("body", _excerpt(payment.raw, redact)))
    return _lines(rows, redact)


def _lines(rows: Sequence[tuple[str, object]], redact: Redactor) -> list[str]:
    return [
        f"  {label:<13}{_printable(redact(str(value)))}"
        for label, value in rows
        if value is not None and value != ""
    ]


def _receipt_lines(receipt: _Receipt | None, redact: Redactor) -> list[str]:
    """`receipt  x402 v2 PAYMENT-RESPONSE: settled on eip155:84532`, then its transaction
    and payer in full (to look up on a block explorer)."""
    if receipt is None:
        return []
    summary = f"x402 v{receipt.x402_version} {receipt.header}: "
    if not receipt.valid:
        return _lines([("receipt", summary + "not base64 JSON, not decoded")], redact)
    if receipt.success is True:
        summary += "settled"
    elif receipt.success is False:
        summary += f"failed ({receipt.error_reason})" if receipt.error_reason else "failed"
    else:
        summary += "no success field"
    if receipt.network:
        summary += f" on {receipt.network}"
    rows = [
        ("receipt", summary),
        ("transaction", receipt.transaction),
        ("payer", receipt.payer),
    ]
    return _lines(rows, redact)


def _credits(payment: PaymentRequired) -> str | None:
    parts = []
    if payment.credits_required is not None:
        parts.append(f"{_amount(payment.credits_required)} required")
    if payment.credits_available is not None:
        parts.append(f"{_amount(payment.credits_available)} available")
    if not parts:
        return None
    currency = f" ({payment.currency})" if payment.currency else ""
    return ", ".join(parts) + currency


def _plans(payment: PaymentRequired) -> str | None:
    if payment.current_plan and payment.required_plan:
        return f"{payment.current_plan}, requires {payment.required_plan}"
    if payment.required_plan:
        return f"requires {payment.required_plan}"
    return f"current {payment.current_plan}" if payment.current_plan else None


def _option(option: PaymentOption, redact: Redactor) -> str:
    """`x402 exact on base: 10000 atomic of 0x036C..., pay to 0x2096...287C`."""
    text = " ".join(p for p in (option.protocol, option.scheme) if p)
    if option.network:
        text += f" on {option.network}"
    price = " ".join(
        p for p in (_amount(option.amount) if option.amount is not None else None, option.unit) if p
    )
    if option.asset:
        price = f"{price} of {option.asset}" if price else option.asset
    details = [price] if price else []
    if option.pay_to:
        details.append(f"pay to {_shorten(redact(option.pay_to))}")
    return f"{text}: {', '.join(details)}" if details else text


def _excerpt(raw: object, redact: Redactor) -> str | None:
    """The start of a payload nothing recognised, for a person to read: scrubbed of the
    request's credentials first, then cut, with no piece of a key left at the cut."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raw = json.dumps(raw, default=str, ensure_ascii=False)
    text = " ".join(raw.split())
    return redact.bounded(text, _EXCERPT) if text else None


def _not_a_gate(verdict: _Verdict, redact: Redactor) -> str:
    exchange = verdict.exchange
    line = f"not a payment gate: HTTP {exchange.status_code} from {_title(verdict, redact)}"
    if exchange.url is None and exchange.status_code in _HOST_SCOPED_STATUSES:
        line += (
            f" (provider adapters claim a {exchange.status_code} only from their own hosts:"
            " pass --url)"
        )
    return line


def render_text(kind: str, name: str, verdicts: Sequence[_Verdict], out: IO[str]) -> None:
    """Writes the verdicts for a person: one block per gate."""
    gates = [v for v in verdicts if v.payment is not None]
    if kind == "har":
        noun = "payment gate" if len(gates) == 1 else "payment gates"
        count = f"{len(gates)} {noun}" if gates else "no payment gate"
        out.write(f"{count} in {_printable(name)} ({len(verdicts)} responses)\n")
    elif not gates:
        redact = _redactor(verdicts[0].exchange)
        out.write(_not_a_gate(verdicts[0], redact) + "\n")
        for line in _receipt_lines(verdicts[0].receipt, redact):
            out.write(line + "\n")
        return
    for number, verdict in enumerate(gates, start=1):
        assert verdict.payment is not None
        redact = _redactor(verdict.exchange)
        prefix = f"\n[{number}] " if kind == "har" else "payment gate: "
        out.write(prefix + _title(verdict, redact) + "\n")
        for line in _gate_lines(verdict.payment, redact) + _receipt_lines(verdict.receipt, redact):
            out.write(line + "\n")


def render_json(kind: str, verdicts: Sequence[_Verdict], out: IO[str]) -> None:
    """Writes the verdicts as JSON: a list of gates for a HAR, else one object."""
    if kind == "har":
        document: Any = [_verdict_json(v) for v in verdicts if v.payment is not None]
    else:
        document = _verdict_json(verdicts[0])
    json.dump(document, out, indent=2)
    out.write("\n")


def _verdict_json(verdict: _Verdict) -> dict[str, Any]:
    exchange, payment = verdict.exchange, verdict.payment
    redact = _redactor(exchange)
    document: dict[str, Any] = {}
    if exchange.entry is not None:
        document["entry"] = exchange.entry
    document |= {
        "method": exchange.method,
        "url": _display_url(exchange, redact),
        "payment_gate": payment is not None,
    }
    if payment is None:
        document["status_code"] = exchange.status_code
    else:
        document["kind"] = _kind(payment)
        document |= _fields_json(payment, redact)
        document["to_resolve"] = _WHAT_RESOLVES_IT[payment.reason]
    if verdict.receipt is not None:
        document["receipt"] = {
            field.name: _jsonable(getattr(verdict.receipt, field.name), redact)
            for field in attrs.fields(_Receipt)
        }
    return document


def _fields_json(value: PaymentRequired | PaymentOption, redact: Redactor) -> dict[str, Any]:
    """The attrs fields of `value` as JSON values; `raw` (the payload as sent) is left out."""
    return {
        field.name: _jsonable(getattr(value, field.name), redact)
        for field in attrs.fields(type(value))
        if field.name != "raw"
    }


def _jsonable(value: object, redact: Redactor) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, PaymentOption):
        return _fields_json(value, redact)
    if isinstance(value, (tuple, list)):
        return [_jsonable(item, redact) for item in value]
    return value


# --- Commands ----------------------------------------------------------------------------


def explain(
    source: str,
    options: BodyOptions,
    *,
    as_json: bool = False,
    out: IO[str] | None = None,
    registry: AdapterRegistry | None = None,
) -> int:
    """Reads `source`, classifies what it holds and writes the verdict; returns the exit code.

    Raises:
        InputError: The input cannot be read or parsed (exit code `EXIT_USAGE`).
    """
    out = out if out is not None else sys.stdout
    name = "standard input" if source == _STDIN else source
    data = read_input(source)
    try:
        kind, exchanges = parse_input(data, options)
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    verdicts = classify_all(exchanges, registry)
    if as_json:
        render_json(kind, verdicts, out)
    else:
        render_text(kind, name, verdicts, out)
    return EXIT_GATE if any(v.payment is not None for v in verdicts) else EXIT_NO_GATE


def list_adapters(
    registry: AdapterRegistry, *, as_json: bool = False, out: IO[str] | None = None
) -> int:
    """Writes the registry's adapters in the order they are tried; returns 0."""
    out = out if out is not None else sys.stdout
    rows = [_adapter_json(registration) for registration in registry.adapters.values()]
    if as_json:
        json.dump(rows, out, indent=2)
        out.write("\n")
        return 0
    out.write(f"{len(rows)} adapters, in the order they are tried:\n")
    width = max((len(row["name"]) for row in rows), default=0)
    for number, row in enumerate(rows, start=1):
        out.write(
            f"\n{number:>2}. {row['name']:<{width}}  priority {row['priority']}  {row['module']}\n"
        )
        out.write(f"    hosts     {', '.join(row['hosts']) or 'any host'}\n")
        out.write(f"    statuses  {', '.join(str(s) for s in row['statuses'])}\n")
        if row["triggers"]:
            out.write(f"    triggers  {'; '.join(_trigger(t) for t in row['triggers'])}\n")
    return 0


def _adapter_json(registration: Registration) -> dict[str, Any]:
    adapter = registration.adapter
    return {
        "name": registration.name,
        "priority": registration.priority,
        "hosts": sorted(registration.hosts),
        "statuses": sorted(registration.statuses),
        "triggers": [{"header": h, "contains": n} for h, n in registration.triggers],
        "module": _module_of(adapter),
    }


def _module_of(adapter: object) -> str:
    if isinstance(adapter, types.ModuleType):
        return adapter.__name__
    module = getattr(adapter, "__module__", None)
    return module if isinstance(module, str) else type(adapter).__module__


def _trigger(trigger: dict[str, Any]) -> str:
    if trigger["contains"] is None:
        return f"a {trigger['header']} header"
    return f"{trigger['header']} containing {trigger['contains']!r}"
