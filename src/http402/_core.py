"""The pure decisions: is this response a payment gate, and what does it say.

No I/O happens here. The transports read the body (bounded) and hand a `ResponseSnapshot` to
`classify_snapshot`; `classify` does the same for a response that is already read, from
httpx, from httpx2, or carried by an SDK's exception. Both libraries' objects are read by
their shape (status, headers, content, request method and URL), never by their classes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ._adapters import AdapterRegistry, ResponseSnapshot, first_header_text
from ._logs import logger as _logger
from ._models import PaymentOption, PaymentRequired, Reason
from ._redaction import (
    Redactor,
    RequestBody,
    body_secrets,
    collect_secrets,
    redactor_for,
    request_body,
    scrubbed_traceback,
)
from ._untrusted import (
    DEFAULT_MAX_BODY_BYTES,
    MAX_RETRY_AFTER,
    MAX_TEXT_FIELD,
    BodyReader,
    parse_retry_after,
    safe_action_url,
    shown_text,
)

__all__ = [
    "PAYMENT_EXTENSION",
    "TRUNCATED_EXTENSION",
    "annotate",
    "classify",
    "classify_payload",
    "classify_read",
    "classify_snapshot",
    "gate_response_extensions",
    "gate_response_headers",
    "provider_for_host",
    "snapshot_from_parts",
]


_REQUEST_ID_HEADERS = (
    "request-id",
    "x-request-id",
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-correlation-id",
    "x-github-request-id",
)
_UNKNOWN_PROVIDER = "unknown"
_NOT_SET: Any = object()
#: How many `__cause__` / `__context__` links `classify` follows to find a response.
_MAX_CAUSES = 8


def classify(
    response: Any,
    *,
    registry: AdapterRegistry | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> PaymentRequired | None:
    """The normalized answer if `response` is a payment gate, else `None`; never raises.

    Works on any read `httpx.Response` or `httpx2.Response`, and on any exception that
    carries one as `.response` (such as `openai.APIStatusError`), or that was raised from
    one (its `__cause__` or `__context__`, a few links deep), with no transport involved.
    A response whose body was not read is classified from its status and headers alone.
    An SDK's error raised from an error event inside a 200 stream (openai's `APIError`,
    anthropic's status error) is classified from the event it carries, strictly.

    Args:
        response: A response, or an exception with a `.response` or raised from one.
        registry: The adapters to use (default: `http402.default_registry`).
        max_body_bytes: How much of the body to look at.

    Example:
        ```python
        response = httpx.get("https://openrouter.ai/api/v1/credits")
        payment = http402.classify(response)
        if payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS:
            print("top up at", payment.action_url)
        ```
    """
    if registry is None:
        registry = _default_registry()
    registry.discover()
    inner = _response_of(response)
    known = _annotation_of(inner)
    if known is not None:
        return known
    if isinstance(response, BaseException):
        raised = _raised_event(response, inner, registry)
        if raised is not None:
            return raised
    try:
        snapshot = _snapshot_of(inner, max_body_bytes)
    except Exception:
        _logger.debug("http402: could not read %r as a response", type(response), exc_info=True)
        return None
    if snapshot is None:
        return None
    # A response that no adapter looks at (a 401 from a host with no adapter, a 5xx) has no
    # candidates and ends there: the snapshot's header table answers faster than the
    # response's own headers, so it is built first.
    return classify_snapshot(snapshot, registry)


def snapshot_from_parts(
    *,
    status_code: int,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    truncated: bool,
    method: str,
    url: str,
    host: str | None,
    request_headers: Iterable[tuple[str, str]],
    request_body: RequestBody | None = None,
) -> ResponseSnapshot:
    """A snapshot from the parts that both transports and `classify` have in hand."""
    pairs = request_headers if isinstance(request_headers, (list, tuple)) else list(request_headers)
    return ResponseSnapshot(
        status_code=status_code,
        headers=headers,
        body=body,
        truncated=truncated,
        method=method,
        url=url,
        host=host,
        # Collected only for a gate, whose fields are scrubbed: most responses are not one.
        secrets=lambda: collect_secrets(url, pairs, request_body),
    )


def classify_snapshot(
    snapshot: ResponseSnapshot, registry: AdapterRegistry, *, now: float | None = None
) -> PaymentRequired | None:
    """Tries the registry's adapters on `snapshot` in order; an unclaimed 402 is `UNKNOWN`.

    An adapter that raises or returns something other than a `PaymentRequired` is skipped and
    logged; the next one is tried.
    """
    for registration in registry._to_try(snapshot.status_code, snapshot.host, snapshot.header):
        adapter = registration.adapter
        try:
            result = adapter.classify(snapshot)
        except Exception as exc:
            # Its traceback goes through the redactor: the exception may quote the body.
            _logger.warning(
                "http402: adapter %r failed on a %d response from %s; trying the next one\n%s",
                registration.name,
                snapshot.status_code,
                snapshot.host,
                scrubbed_traceback(exc, redactor_for(snapshot.secrets)),
            )
            continue
        if result is None:
            continue
        if not isinstance(result, PaymentRequired):
            _logger.warning(
                "http402: adapter %r returned %s instead of PaymentRequired or None; ignored",
                registration.name,
                type(result).__name__,
            )
            continue
        return _complete(result, snapshot, now)
    if snapshot.status_code == 402 and not _lifts_by_itself_only(snapshot):
        return _complete(
            PaymentRequired(reason=Reason.UNKNOWN, provider=_UNKNOWN_PROVIDER), snapshot, now
        )
    return None


def _lifts_by_itself_only(snapshot: ResponseSnapshot) -> bool:
    """A 402 whose words state only a limit that lifts by itself (a rate limit, a resource
    in use) is no gate (`_classify.readers.lifts_by_itself_only`)."""
    from ._classify.readers import lifts_by_itself_only  # loads the rule table: on first use

    try:
        return lifts_by_itself_only(snapshot)
    except Exception:  # never raises: a 402 stays a gate
        _logger.debug("http402: could not read a 402's words", exc_info=True)
        return False


def _raised_event(
    error: BaseException, response: Any, registry: AdapterRegistry
) -> PaymentRequired | None:
    """The gate stated by the error event that an SDK raised from a 200 stream: openai's
    `APIError` (no response; the event's error as `.body`), anthropic's status error on the
    stream's response. Read strictly, like the stream's own event. `None` when `error` came
    with a response that is not a 2xx (that response decides) or carries no event."""
    status = getattr(response, "status_code", None)
    if response is not error and not (isinstance(status, int) and 200 <= status < 300):
        return None
    body = getattr(error, "body", None)
    request: Any = getattr(error, "request", None)
    try:
        if isinstance(body, dict):
            framed = "error" in body or body.get("type") == "error"
            payload = json.dumps(body if framed else {"error": body}, default=str).encode()
        elif isinstance(body, str):
            payload = body.encode("utf-8")
        else:
            return None
        if len(payload) > DEFAULT_MAX_BODY_BYTES:
            return None
        host = request.url.host
        snapshot = ResponseSnapshot(
            status_code=200,
            headers=(("content-type", "application/json"),),
            body=payload,
            host=host,
            secrets=functools.partial(_secrets_of, _RequestURL(request), request.headers, request),
        )
        return classify_payload(snapshot, provider_for_host(host, registry), strict=True)
    except Exception:
        _logger.debug("http402: could not read %r as a stream's event", type(error), exc_info=True)
        return None


def provider_for_host(host: str, registry: AdapterRegistry | None = None) -> str:
    """The name of the adapter scoped to `host` (`"openai"` for `api.openai.com`), else
    `"generic"`: who a payload read on its own, with no response, is from."""
    if registry is None:
        registry = _default_registry()
    lowered = host.lower()
    for registration in registry.adapters.values():
        if registration.hosts and registration.applies(200, lowered, _no_header):
            return registration.name
    return "generic"


def _no_header(name: str) -> str | None:
    return None


def classify_payload(
    snapshot: ResponseSnapshot, provider: str, *, strict: bool
) -> PaymentRequired | None:
    """The gate that a JSON payload states by its fields alone, named for `provider`.

    For a payload that is no response of its own (a stream's `error` event): no adapter is
    asked, the pipeline's reading of fields and `decide` answer. `strict` takes only strong
    evidence, as for a status other than 402.
    """
    from ._classify.decide import says_payment_required  # loads the rule table: on first use
    from ._classify.readers import gate, read_json

    if not isinstance(snapshot.json, dict):
        return None  # an event whose data is a bare string is output, not an error
    read = read_json(snapshot, strict=strict)
    if read is None:
        return None
    fields, verdict = read
    if verdict is None and not (strict and says_payment_required(fields)):
        return None  # "Payment Required" alone is a gate on any reading, as on a 4xx
    return _complete(gate(fields, verdict, provider), snapshot, None)


def _complete(
    payment: PaymentRequired, snapshot: ResponseSnapshot, now: float | None
) -> PaymentRequired:
    """Fills what headers say, and makes every field safe to show."""
    retry_after = payment.retry_after
    if retry_after is None or not 0 <= retry_after <= MAX_RETRY_AFTER:
        retry_after = parse_retry_after(snapshot.header("retry-after"), now=now)
    request_id = payment.request_id
    if request_id is None:
        request_id = first_header_text(snapshot, _REQUEST_ID_HEADERS)
    raw = payment.raw
    if raw is None:
        raw = snapshot.json
        if raw is None and snapshot.body:
            raw = snapshot.text
    redact = redactor_for(snapshot.secrets)
    action_url = None if payment.action_url is None else safe_action_url(payment.action_url)
    if action_url is not None and redact.finds(action_url):
        action_url = None
    code = payment.code
    if code is not None and code == str(snapshot.status_code):
        code = None  # a gateway's `"code": 402` restates the status: no code of its own
    # (Most answers name no currency or plan: `None` is kept without a call.)
    code = None if code is None else shown_text(code, redact, 300)
    message = payment.message
    if message is not None:
        message = shown_text(message, redact, MAX_TEXT_FIELD, spacing=True)
    currency = payment.currency
    if currency is not None:
        currency = shown_text(currency, redact, 64)
    current_plan = payment.current_plan
    if current_plan is not None:
        current_plan = shown_text(current_plan, redact, 200)
    required_plan = payment.required_plan
    if required_plan is not None:
        required_plan = shown_text(required_plan, redact, 200)
    if request_id is not None:
        request_id = shown_text(request_id, redact, 200)
    options = payment.payment_options
    if options:
        options = tuple(_scrub_option(o, redact) for o in options)
    if (
        type(payment) is PaymentRequired
        and raw is payment.raw
        and payment.status_code == snapshot.status_code
        and code == payment.code
        and message == payment.message
        and action_url == payment.action_url
        and request_id == payment.request_id
        and retry_after == payment.retry_after
        and currency == payment.currency
        and current_plan == payment.current_plan
        and required_plan == payment.required_plan
        and options == payment.payment_options
    ):
        # Already complete (the pipeline makes the answer of a body read for this response
        # alone with its status and payload, `readers.gate`): every field as it would be.
        return payment
    # Built field by field rather than with `attrs.evolve`, which looks the fields up anew
    # on every call: this runs once per gate.
    return PaymentRequired(
        reason=payment.reason,
        provider=payment.provider,
        status_code=snapshot.status_code,
        code=code,
        message=message,
        credits_required=payment.credits_required,
        credits_available=payment.credits_available,
        currency=currency,
        current_plan=current_plan,
        required_plan=required_plan,
        action_url=action_url,
        retry_after=retry_after,
        request_id=request_id,
        payment_options=options,
        raw=raw,
    )


_OPTION_TEXTS = ("scheme", "network", "unit", "asset", "pay_to", "resource", "description")


def _scrub_option(option: PaymentOption, redact: Redactor) -> PaymentOption:
    """The offer with credentials scrubbed from its texts, and no piece left at a cut."""
    fields: dict[str, Any] = {}
    for name in _OPTION_TEXTS:
        value = getattr(option, name)
        if isinstance(value, str):
            shown = _scrubbed(redact, value)
            if shown != value:
                fields[name] = shown
    return attrs.evolve(option, **fields) if fields else option


@functools.lru_cache(maxsize=256)
def _scrubbed(redact: Redactor, value: str) -> str:
    # Room for every `[redacted]`: only an adapter's own cut is kept. Cached: a server
    # prices the same few offers (an asset, a payee, a resource) over and over.
    return redact.bounded(value, 2 * len(value) + 16)


@functools.cache
def _default_registry() -> AdapterRegistry:
    # Imported on first use: it loads every built-in adapter. Cached, since an import
    # statement costs a lookup in `sys.modules` on every call.
    from ._registry import default_registry

    return default_registry


def _annotation_of(response: Any) -> PaymentRequired | None:
    """The classification an annotate-mode transport already attached, if any."""
    extensions = getattr(response, "extensions", None)
    known = extensions.get(PAYMENT_EXTENSION) if isinstance(extensions, dict) else None
    return known if isinstance(known, PaymentRequired) else None


def _response_of(obj: Any) -> Any:
    """The response itself, or the one an exception carries (an SDK's `APIStatusError` has a
    `status_code` of its own, so its `.response` is looked at first).

    An exception without a response of its own is followed through its `__cause__` (or
    else its `__context__`) a few links deep: an application that wraps the SDK's error
    (`raise ServiceError(...) from error`) still has the gate behind it.
    """
    if not isinstance(obj, BaseException) and isinstance(getattr(obj, "status_code", None), int):
        return obj  # a response itself (the usual case)
    current = obj
    for _ in range(_MAX_CAUSES):
        inner = getattr(current, "response", None)
        if inner is not None and hasattr(inner, "status_code"):
            return inner
        if not isinstance(current, BaseException):
            return current
        following = current.__cause__ or current.__context__
        if following is None:
            break
        current = following
    return obj


def _snapshot_of(response: Any, max_body_bytes: int) -> ResponseSnapshot | None:
    status_code = getattr(response, "status_code", None)
    if not isinstance(status_code, int):
        return None
    try:
        body = response.content
    except Exception:
        # A streamed response that was never read: judge it by its status and headers.
        body = b""
    if not isinstance(body, (bytes, bytearray)):
        body = b""
    truncated = len(body) > max_body_bytes
    if truncated or type(body) is not bytes:
        body = bytes(body[:max_body_bytes])
    try:
        request = response.request
        method = str(request.method)
        host = request.url.host
        request_headers = request.headers
    except Exception:
        method, host, request = "GET", None, None
    # The URL and the credentials are looked at only for a gate: most responses are not one.
    if request is None:
        url: str | Callable[[], str] = ""
        secrets: Callable[[], tuple[str, ...]] = tuple
    else:
        # One text of the URL for both: a gate's path is read (`moves_money`) before its
        # credentials are collected.
        url = _RequestURL(request)
        secrets = functools.partial(_secrets_of, url, request_headers, request)
    return ResponseSnapshot(
        status_code=status_code,
        headers=response.headers.multi_items(),
        body=body,
        truncated=truncated,
        method=method,
        url=url,
        host=host if isinstance(host, str) else None,
        secrets=secrets,
    )


def _url_of(request: Any) -> str:
    try:
        return str(request.url)
    except Exception:
        return ""


class _RequestURL:
    """A request's URL as text, made when first asked and kept: the snapshot's URL and the
    request's credentials read the same text."""

    __slots__ = ("_request", "_text")

    def __init__(self, request: Any) -> None:
        self._request = request
        self._text: str | None = None

    def __call__(self) -> str:
        text = self._text
        if text is None:
            text = self._text = _url_of(self._request)
        return text


def _secrets_of(
    url_of: Callable[[], str], request_headers: Any, request: Any = None
) -> tuple[str, ...]:
    """The credentials of a request, from its URL, headers (httpx's or httpx2's) and body."""
    found = _header_secrets_of(url_of, request_headers)
    body = request_body(request) if request is not None else None
    return found if body is None else tuple(sorted({*found, *body_secrets(body)}))


def _header_secrets_of(url_of: Callable[[], str], request_headers: Any) -> tuple[str, ...]:
    url = url_of()
    if "?" not in url and "@" not in url:
        # Only userinfo and the query can hold one: most URLs have neither, and then the
        # URL is left out of the cache key.
        url = ""
    try:
        # The raw bytes are the cache key: they cost no decoding, which only a miss needs.
        raw = tuple(request_headers.raw)
        # httpx (and httpx2) work the encoding out of the raw bytes on first use, unless one
        # was set: while it is unset (`None`), the bytes alone are the key and only a miss
        # works it out (most requests are new objects with the same headers as the last).
        encoding = getattr(request_headers, "_encoding", _NOT_SET)
        if encoding is _NOT_SET:
            encoding = request_headers.encoding
    except Exception:
        try:
            pairs = tuple((str(n), str(v)) for n, v in request_headers.multi_items())
        except Exception:
            pairs = ()
        return _collected_secrets(url, pairs)
    return _collected_raw_secrets(url, raw, encoding)


@functools.lru_cache(maxsize=64)
def _collected_raw_secrets(
    url: str, raw: tuple[tuple[bytes, bytes], ...], encoding: str | None
) -> tuple[str, ...]:
    if encoding is None:
        encoding = _header_encoding(raw)
    pairs = [
        (name.decode(encoding, "replace"), value.decode(encoding, "replace")) for name, value in raw
    ]
    return collect_secrets(url, pairs)


def _header_encoding(raw: tuple[tuple[bytes, bytes], ...]) -> str:
    """The encoding httpx works out for header bytes it was given no encoding for: ASCII,
    else UTF-8, else ISO-8859-1 (which decodes any byte)."""
    for encoding in ("ascii", "utf-8"):
        try:
            for name, value in raw:
                name.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


@functools.lru_cache(maxsize=64)
def _collected_secrets(url: str, request_headers: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    # Cached like `redactor_for`, which keeps the same values: a client sends the same URL
    # and credentials over and over.
    return collect_secrets(url, request_headers)


def classify_read(
    *,
    method: str,
    url: str,
    host: str,
    request_headers: Iterable[tuple[str, str]],
    status_code: int,
    response_headers: Iterable[tuple[str, str]],
    reader: BodyReader,
    registry: AdapterRegistry,
    request_body: RequestBody | None = None,
) -> PaymentRequired | None:
    """Classifies a response whose body the transport just read into `reader`."""
    snapshot = snapshot_from_parts(
        status_code=status_code,
        headers=response_headers,
        body=reader.body,
        truncated=reader.truncated,
        method=method,
        url=url,
        host=host,
        request_headers=request_headers,
        request_body=request_body,
    )
    return classify_snapshot(snapshot, registry)


_HOP_BY_BODY = frozenset({b"content-encoding", b"content-length", b"transfer-encoding"})


def gate_response_headers(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Headers for the readable copy of a gate response, whose body is already decoded.

    They are the raw header bytes (`response.headers.raw`): a header that is not ASCII (a
    localized message, a latin-1 `Server`) is copied as sent, never re-encoded.
    """
    return [(name, value) for name, value in headers if name.lower() not in _HOP_BY_BODY]


def gate_response_extensions(extensions: dict[str, Any], reader: BodyReader) -> dict[str, Any]:
    """Extensions for the readable copy: the original's, minus the closed network stream."""
    kept = {k: v for k, v in extensions.items() if k != "network_stream"}
    kept[TRUNCATED_EXTENSION] = reader.truncated
    return kept


#: `response.extensions` key on a gate response: `True` when its body was cut at the bound.
TRUNCATED_EXTENSION = "http402.truncated"


#: `response.extensions` key holding the `PaymentRequired` of a gate in annotate mode.
PAYMENT_EXTENSION = "http402.payment"


def annotate(response: Any, payment: PaymentRequired) -> None:
    """Attaches `payment` to a gate response handed back whole (annotate mode).

    `x-should-retry: false` tells the openai and anthropic SDKs, which retry 429s and honour
    that header, that retrying a payment gate only repeats the refusal.
    """
    response.extensions[PAYMENT_EXTENSION] = payment
    response.headers["x-should-retry"] = "false"
