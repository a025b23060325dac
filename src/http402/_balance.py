"""Read an account's balance through the provider's documented balance endpoint.

`check_balance(client)` and `await acheck_balance(client)` send one probe through the caller's
own client (its base URL, its auth headers and query parameters), and return a `Balance`, or
`None` when no probe is known for the client's host. Deciding which probe, building its URL and
reading its answer are pure functions here; the two shells only send and read the bytes.

The probes and the sources of their response shapes are in `_balance_probes.py`.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import urlencode

import attrs
import httpx

from ._balance_probes import PROBES, BalanceProbe, ShapeError
from ._models import _optional_decimal
from ._redaction import REDACTED, Redactor, collect_secrets, is_sensitive_header, redactor_for
from ._replay import as_sent
from ._untrusted import DEFAULT_MAX_BODY_BYTES, BodyReader, decode_text, loads_json, shown_text

__all__ = [
    "PROBE_EXTENSION",
    "Balance",
    "BalanceProbeError",
    "acheck_balance",
    "balance_request_for",
    "check_balance",
    "find_probe",
    "probe_request",
    "read_balance",
]

#: `request.extensions` key marking a balance probe, so a wrapping transport can let it pass.
PROBE_EXTENSION: Final = "http402.balance_probe"
_MESSAGE_LIMIT = 200
# Headers of the original request that say nothing about the account, or belong to its body
# or to that one request (a payment proof is never reused).
_NOT_COPIED = frozenset(
    {
        "content-length",
        "content-type",
        "content-encoding",
        "transfer-encoding",
        "idempotency-key",
        "payment-signature",
        "x-payment",
        "payment-authorization",
    }
)
_CREDENTIAL_PARAM = re.compile(r"key|token|secret|password|auth", re.IGNORECASE)
_RAW_ITEMS_LIMIT = 256


@attrs.frozen(kw_only=True)
class Balance:
    """An account's balance as the provider's balance endpoint states it.

    Amounts are `Decimal`s in the provider's own unit (`currency`), never floats; a figure the
    provider does not state is `None`, never a guess.
    """

    #: The adapter name of the provider (`"openrouter"`, `"deepseek"`, ...).
    provider: str
    #: What is left to spend, in `currency`.
    available: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: The unit of the amounts: an ISO code (`"USD"`, `"CNY"`) or what is counted
    #: (`"credits"`, `"characters"`, `"searches"`).
    currency: str | None = None
    #: What was spent in the current period (or ever, where the provider has no period).
    used: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: The cap for the period or the key, where the provider states one.
    limit: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: The provider's own "this account can call the API now" flag, where it has one.
    usable: bool | None = None
    #: When the balance was read: seconds since the epoch (`time.time()`) at the response.
    as_of: float = 0.0
    #: The decoded response (at most 64 KiB of body), with credentials scrubbed out.
    raw: Any = attrs.field(default=None, repr=False, eq=False, hash=False)


class BalanceProbeError(Exception):
    """Raised when a balance probe fails: a network error, a non-2xx answer, or another shape.

    The message names the provider, the endpoint and the HTTP status; it never holds a
    credential, even when the server echoes one back.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        probe: str,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        #: The provider whose endpoint was probed.
        self.provider = provider
        #: The probe's name (`"openrouter-credits"`).
        self.probe = probe
        #: The HTTP status of the answer, or `None` when none came.
        self.status_code = status_code
        #: The provider's id for the probe request, to quote to its support.
        self.request_id = request_id


def find_probe(host: str, probe: str | None = None) -> BalanceProbe | None:
    """The probe named `probe`, else the default probe for `host`, else `None`.

    Raises:
        ValueError: `probe` names no known probe.
    """
    if probe is not None:
        for candidate in PROBES:
            if candidate.name == probe:
                return candidate
        names = ", ".join(candidate.name for candidate in PROBES)
        raise ValueError(f"no balance probe is named {probe!r}; known probes: {names}")
    for candidate in PROBES:
        if candidate.matches(host):
            return candidate
    return None


def probe_request(probe: BalanceProbe, base_url: httpx.URL) -> tuple[str, str]:
    """The method and absolute URL of `probe` on the origin of `base_url`."""
    return probe.method, str(base_url.copy_with(raw_path=probe.path.encode("ascii")))


def balance_request_for(request: Any, probe: str | None = None) -> Any | None:
    """A probe request for the account that `request` was sent as; `None` for an unknown host.

    Pure: it builds a request of the same class (`httpx.Request` or `httpx2.Request`) to the
    probe's path on `request`'s origin, with `request`'s headers (less its body's, its
    `Idempotency-Key` and any payment proof) and, of its query, only credential parameters
    (SerpApi's `api_key`). A transport can send it through its inner transport, to poll the
    balance while a top-up propagates instead of replaying an expensive request.

    Args:
        request: The application's request (a gated one, typically).
        probe: A probe's name, to override the choice by host.
    """
    url = request.url
    chosen = find_probe(url.host, probe)
    if chosen is None:
        return None
    params = [(k, v) for k, v in url.params.multi_items() if _CREDENTIAL_PARAM.search(k)]
    target = chosen.path + (f"?{urlencode(params)}" if params else "")
    headers = [
        (name, value)
        for name, value in request.headers.multi_items()
        if name.lower() not in _NOT_COPIED
    ]
    extensions: dict[str, Any] = {PROBE_EXTENSION: chosen.name}
    if "timeout" in request.extensions:
        extensions["timeout"] = request.extensions["timeout"]
    return type(request)(
        chosen.method,
        url.copy_with(raw_path=target.encode("ascii")),
        headers=headers,
        extensions=extensions,
    )


def read_balance(
    probe: BalanceProbe,
    *,
    status_code: int,
    headers: Mapping[str, str],
    body: bytes,
    truncated: bool = False,
    host: str = "",
    secrets: Iterable[str] = (),
    as_of: float,
) -> Balance:
    """The `Balance` in a probe's response; raises `BalanceProbeError` for any other answer.

    Args:
        probe: The probe that was sent.
        status_code: The response status.
        headers: The response headers (a case-insensitive mapping, as httpx has them).
        body: The decoded response body (bounded by the caller).
        truncated: The body was longer than the caller's bound.
        host: The host the probe was sent to (picks the currency where a provider bills each
            region in its own).
        secrets: The request's credentials, scrubbed from the message and from `raw`.
        as_of: When the response came, in seconds since the epoch.
    """
    redact = redactor_for(tuple(sorted(set(secrets))))
    request_id = shown_text(headers.get("x-request-id") or headers.get("request-id"), redact, 128)

    def fail(text: str) -> BalanceProbeError:
        message = redact(f"{probe.name} balance probe ({probe.method} {probe.path}): {text}")
        return BalanceProbeError(
            message,
            provider=probe.provider,
            probe=probe.name,
            status_code=status_code,
            request_id=request_id,
        )

    text = decode_text(body, headers.get("content-type"))
    if not 200 <= status_code < 300:
        snippet = shown_text(text, redact, _MESSAGE_LIMIT)
        raise fail(f"HTTP {status_code}" + (f": {snippet}" if snippet else ""))
    if truncated:
        raise fail(f"HTTP {status_code}, but the body is larger than a balance can be")
    try:
        document = loads_json(text)
    except ValueError:
        raise fail(f"HTTP {status_code}, but the body is not JSON") from None
    try:
        reading = probe.parse(document)
    except ShapeError as exc:
        raise fail(f"HTTP {status_code}, but not the documented shape ({exc})") from None
    # The probe's currency is the server's text: it reaches `repr(balance)` and a metric.
    currency = shown_text(reading.currency, redact, 64) or dict(probe.currency_by_host).get(
        host.lower()
    )
    return Balance(
        provider=probe.provider,
        available=reading.available,
        currency=currency,
        used=reading.used,
        limit=reading.limit,
        usable=reading.usable,
        as_of=as_of,
        raw=_scrub(document, redact),
    )


def check_balance(
    client: httpx.Client, *, probe: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> Balance | None:
    """Reads the account's balance through `client`, with its base URL and credentials.

    The probe is chosen by the host of `client.base_url` (or named by `probe`, for a gateway or
    a test server on another host); `None` means no probe is known for that host. An
    `httpx2.Client` works too.

    Args:
        client: The client whose account to read; its headers, auth and params are sent.
        probe: A probe's name, to override the choice by host (`"openrouter-credits"`).
        max_body_bytes: The most of the response body to read.

    Raises:
        BalanceProbeError: The probe failed (network, non-2xx, not the documented shape).

    Example:
        ```python
        client = httpx.Client(
            base_url="https://api.deepseek.com",
            headers={"Authorization": f"Bearer {key}"},
        )
        balance = http402.check_balance(client)
        if balance is not None and balance.usable is False:
            ...
        ```
    """
    prepared = _prepare(client, probe)
    if prepared is None:
        return None
    chosen, request, secrets = prepared
    try:
        response = client.send(request, stream=True)
        try:
            as_of = time.time()
            reader = BodyReader(response.headers.get("content-encoding"), max_body_bytes)
            # The raw stream, as the transports read it: `iter_raw` refuses a body read already.
            for chunk in response.stream:  # type: ignore[union-attr]
                if reader.feed(chunk):
                    break
        finally:
            response.close()
    except _transport_errors() as exc:
        raise network_error(chosen, exc, secrets) from None
    return probe_answer(chosen, request, response, reader, as_of, secrets)


async def acheck_balance(
    client: httpx.AsyncClient,
    *,
    probe: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Balance | None:
    """Reads the account's balance through an async `client`; see `check_balance`.

    Example:
        ```python
        async with httpx.AsyncClient(base_url="https://openrouter.ai/api/v1", headers=auth) as c:
            balance = await http402.acheck_balance(c)
        ```
    """
    prepared = _prepare(client, probe)
    if prepared is None:
        return None
    chosen, request, secrets = prepared
    try:
        response = await client.send(request, stream=True)
        try:
            as_of = time.time()
            reader = BodyReader(response.headers.get("content-encoding"), max_body_bytes)
            async for chunk in response.stream:  # type: ignore[union-attr]
                if reader.feed(chunk):
                    break
        finally:
            await response.aclose()
    except _transport_errors() as exc:
        raise network_error(chosen, exc, secrets) from None
    return probe_answer(chosen, request, response, reader, as_of, secrets)


def _prepare(
    client: httpx.Client | httpx.AsyncClient, probe: str | None
) -> tuple[BalanceProbe, httpx.Request, tuple[str, ...]] | None:
    base_url = client.base_url
    chosen = find_probe(base_url.host, probe)
    if chosen is None:
        return None
    if not base_url.host:
        raise ValueError("check_balance needs a client with a base_url")
    method, url = probe_request(chosen, base_url)
    request = client.build_request(method, url, extensions={PROBE_EXTENSION: chosen.name})
    # Its credentials as sent: the client's `auth=` is applied in `send`, after this.
    try:
        shown = as_sent(client, client.build_request(method, url))
    except Exception:  # an auth that only runs async, or that fails: the built request's
        shown = request
    secrets = collect_secrets(str(request.url), shown.headers.multi_items())
    return chosen, request, secrets


def probe_answer(
    probe: BalanceProbe,
    request: httpx.Request,
    response: httpx.Response,
    reader: BodyReader,
    as_of: float,
    secrets: tuple[str, ...] = (),
) -> Balance:
    """The `Balance` in a probe's response, read into `reader`; raises `BalanceProbeError`.

    The request's credentials (and an auth flow's) are scrubbed from any message."""
    secrets += collect_secrets(str(request.url), request.headers.multi_items())
    # An auth flow (`client.auth`) adds its credentials while sending: collect those too.
    sent = response.request
    secrets += collect_secrets(str(sent.url), sent.headers.multi_items())
    return read_balance(
        probe,
        status_code=response.status_code,
        headers=response.headers,
        body=reader.body,
        truncated=reader.truncated or reader.undecodable,
        host=request.url.host,
        secrets=secrets,
        as_of=as_of,
    )


def _transport_errors() -> tuple[type[BaseException], ...]:
    errors: tuple[type[BaseException], ...] = (httpx.HTTPError, httpx.StreamError, httpx.InvalidURL)
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is not None:
        errors += (httpx2.HTTPError, httpx2.StreamError, httpx2.InvalidURL)
    return errors


def network_error(
    probe: BalanceProbe, exc: BaseException, secrets: tuple[str, ...]
) -> BalanceProbeError:
    # The cause is dropped (`from None`): its request carries the credentials.
    try:
        sent = exc.request  # type: ignore[attr-defined]
        secrets += collect_secrets(str(sent.url), sent.headers.multi_items())
    except (AttributeError, RuntimeError):
        pass
    redact = redactor_for(tuple(sorted(set(secrets))))
    detail = shown_text(str(exc), redact, _MESSAGE_LIMIT)
    text = type(exc).__name__ + (f": {detail}" if detail else "")
    return BalanceProbeError(
        redact(f"{probe.name} balance probe ({probe.method} {probe.path}) failed: {text}"),
        provider=probe.provider,
        probe=probe.name,
    )


def _scrub(value: Any, redact: Redactor, budget: list[int] | None = None) -> Any:
    """`value` with credential-named string fields and secret values replaced, bounded."""
    budget = budget if budget is not None else [_RAW_ITEMS_LIMIT]
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if budget[0] <= 0:
                break
            budget[0] -= 1
            if isinstance(item, str) and is_sensitive_header(str(key)):
                out[key] = REDACTED
            else:
                out[key] = _scrub(item, redact, budget)
        return out
    if isinstance(value, list):
        items: list[Any] = []
        for item in value:
            if budget[0] <= 0:
                break
            budget[0] -= 1
            items.append(_scrub(item, redact, budget))
        return items
    return value
