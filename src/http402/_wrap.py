"""`wrap()`: put the payment-gate transport under an existing client, mounts included."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, overload

import httpx

from ._async_transport import AsyncPaymentRequiredTransport
from ._logs import logger as _logger
from ._replay import as_sent as _as_sent
from ._replay import as_sent_async as _as_sent_async
from ._shell import wrap_client
from ._transport import PaymentRequiredTransport

if TYPE_CHECKING:
    import httpx2
    from typing_extensions import Unpack

    from .typing import AsyncTransportOptions, TransportOptions

__all__ = ["aforget_gate", "areconcile", "forget_gate", "reconcile", "wrap"]


_Client = TypeVar("_Client", bound=httpx.Client)
_AsyncClient = TypeVar("_AsyncClient", bound=httpx.AsyncClient)
_Client2 = TypeVar("_Client2", bound="httpx2.Client")
_AsyncClient2 = TypeVar("_AsyncClient2", bound="httpx2.AsyncClient")
_AnyClient = TypeVar("_AnyClient")


@overload
def wrap(client: _Client, **options: Unpack[TransportOptions]) -> _Client: ...
@overload
def wrap(client: _AsyncClient, **options: Unpack[AsyncTransportOptions]) -> _AsyncClient: ...
@overload
def wrap(client: _Client2, **options: Unpack[TransportOptions]) -> _Client2: ...
@overload
def wrap(client: _AsyncClient2, **options: Unpack[AsyncTransportOptions]) -> _AsyncClient2: ...


def wrap(client: Any, **options: Any) -> Any:
    """Wraps `client`'s transport and every mounted transport in place, and returns `client`.

    Takes the options of `PaymentRequiredTransport` (or of the async one, for an
    `httpx.AsyncClient`), typed as `http402.typing.TransportOptions` (and
    `AsyncTransportOptions`), so a type checker catches a misspelt option. All the client's
    transports share one coordinator, so a billing scope reached through two mounts still
    gets one hook call per episode. Wrapping a client twice re-wraps the original transports
    with the new options; it never stacks two layers. An `httpx2` client is handed to
    `http402.httpx2.wrap`.

    Example:
        ```python
        client = http402.wrap(httpx.Client(base_url="https://openrouter.ai/api/v1"))
        ```
    """
    if isinstance(client, httpx.AsyncClient):
        return wrap_client(client, AsyncPaymentRequiredTransport, options)
    if isinstance(client, httpx.Client):
        return wrap_client(client, PaymentRequiredTransport, options)
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is not None and isinstance(client, (httpx2.Client, httpx2.AsyncClient)):
        from .httpx2 import wrap as wrap_httpx2  # its transports import httpx2

        return wrap_httpx2(client, **options)
    raise TypeError(
        "wrap() takes an httpx.Client or httpx.AsyncClient (or their httpx2 twins), "
        f"got {type(client)!r}"
    )


def forget_gate(
    client: httpx.Client | httpx2.Client, url: str = "", *, headers: Mapping[str, str] | None = None
) -> bool:
    """Forgets the known gate of the billing scope that `client`'s requests to `url` belong
    to (default: its base URL), after a top-up made outside http402.

    With `Preflight(gate_ttl=...)`, those requests are then sent again at once instead of
    failing fast until the TTL runs out; with a Redis coordinator, the whole fleet forgets
    the gate. The scope is computed as for a real request, from a request the client builds
    and its `auth=` flow completes as `send` would (so its credentials count, a
    `Client(auth=(user, key))` included); `client` is one that `http402.wrap` wrapped. An SDK
    adds its API key to each request, not to the client: pass it as `headers` (for example
    `{"Authorization": f"Bearer {key}"}`), or the scope is another one.

    Returns `True` when something of that scope was known to forget (a known gate, here or
    in the store, or a top-up's hold); `False`, with a warning on the `http402` logger,
    when nothing was: the scope is then likely not the one real requests have.

    Example:
        ```python
        billing.buy_credits(100)  # a top-up made by hand, not by a hook
        http402.forget_gate(client)
        ```
    """
    _of_its_kind(client, "forget_gate")
    request = _as_sent(client, client.build_request("GET", url, headers=headers))
    return _said(_wrapped_transport(client, request).forget_gate(request), "forget_gate", request)


async def aforget_gate(
    client: httpx.AsyncClient | httpx2.AsyncClient,
    url: str = "",
    *,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """`forget_gate` for an async client wrapped by `http402.wrap`."""
    _of_its_kind(client, "aforget_gate")
    request = await _as_sent_async(client, client.build_request("GET", url, headers=headers))
    known = await _wrapped_transport(client, request).forget_gate(request)
    return _said(known, "aforget_gate", request)


def reconcile(
    client: httpx.Client | httpx2.Client,
    target: Any = "",
    *,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """Ends a hold after the application checked what happened to a payment (its wallet,
    its billing page): the hook may pay for that scope and offer again.

    A payment whose outcome was unknown (`PaymentOutcomeUnknownError`), and a top-up that
    did not show within its window, hold their scope (fleet-wide with a fleet coordinator)
    until this is called; see "Paying at most once" in the hooks guide.

    Args:
        client: A client that `http402.wrap` wrapped.
        target: The `PaymentOutcomeUnknownError` to reconcile (the holds it reported end),
            the typed gate of a top-up that did not show (that hold ends), or a URL (every
            hold of the billing scope its requests belong to ends; default: the base URL).
        headers: The credentials an SDK adds per request, for a URL `target` (as for
            `forget_gate`).

    Returns:
        `True` when this process knew a hold (or a top-up not shown) of that scope to end;
        `False`, with a warning on the `http402` logger, when it knew none: for a URL, the
        scope is then likely not the one real requests have (a hold only the fleet's store
        knows is ended all the same).

    Example:
        ```python
        try:
            client.get("/premium-data")
        except http402.PaymentOutcomeUnknownError as error:
            if my_wallet.settled(error.receipt or error.proof_digest) is not None:
                http402.reconcile(client, error)  # known now: the next gate may pay again
        ```
    """
    _of_its_kind(client, "reconcile")
    if isinstance(target, str):
        built = _as_sent(client, client.build_request("GET", target, headers=headers))
        request, holds = built, built
    else:
        request, holds = _target(target)
    return _said(_wrapped_transport(client, request).reconcile(holds), "reconcile", request)


async def areconcile(
    client: httpx.AsyncClient | httpx2.AsyncClient,
    target: Any = "",
    *,
    headers: Mapping[str, str] | None = None,
) -> bool:
    """`reconcile` for an async client wrapped by `http402.wrap`."""
    _of_its_kind(client, "areconcile")
    if isinstance(target, str):
        built = client.build_request("GET", target, headers=headers)
        request = holds = await _as_sent_async(client, built)
    else:
        request, holds = _target(target)
    known = await _wrapped_transport(client, request).reconcile(holds)
    return _said(known, "areconcile", request)


def _said(known: bool, call: str, request: Any) -> bool:
    """Warns when a `forget_gate` or `reconcile` found nothing of its scope to end: saying
    nothing would leave the caller believing it was done."""
    if not known:
        _logger.warning(
            "http402: %s found nothing known for the billing scope of %s (no known gate, "
            "hold or top-up waiting to show): if real requests carry credentials this one "
            "does not (an SDK's per-request key), pass them as headers=",
            call,
            request.url.host,
        )
    return known


def _target(target: Any) -> tuple[Any, Any]:
    """The request that routes `target` (an error) to a transport, and what it ends."""
    if not hasattr(target, "request"):
        raise TypeError(
            "reconcile() takes a PaymentOutcomeUnknownError, a PaymentRequiredError, a request "
            f"or a URL, not {type(target).__name__}"
        )
    return target.request, target


def _of_its_kind(client: Any, call: str) -> None:
    """`TypeError` when `call` is the sync function given an async client, or the async one
    given a sync client: the sync one would hand back an unawaited coroutine, ending nothing."""
    httpx2 = sys.modules.get("httpx2")
    asynchronous = isinstance(client, httpx.AsyncClient) or (
        httpx2 is not None and isinstance(client, httpx2.AsyncClient)
    )
    if asynchronous != call.startswith("a"):
        twin = call[1:] if call.startswith("a") else "a" + call
        kind, form = ("an async", "await ") if asynchronous else ("a sync", "")
        raise TypeError(
            f"http402.{call}() was given {kind} client: call {form}http402.{twin}(client, ...)"
        )


def _wrapped_transport(client: Any, request: Any) -> Any:
    # `_transport_for_url` is what the client itself calls to route a request (httpx and
    # httpx2 alike), mounts included.
    transport = client._transport_for_url(request.url)
    if not hasattr(transport, "forget_gate"):
        raise TypeError(
            f"the client's transport for {request.url.host!r} is not http402's: wrap the "
            "client with http402.wrap first"
        )
    if not request.url.host:
        # A scope is a host's (and its credentials'): with no host, nothing is found to
        # forget or end, and saying nothing would leave the caller believing it was done.
        raise ValueError(
            f"no host in {str(request.url)!r}: the client has no base URL, so pass the URL "
            "whose requests met the gate (for example 'https://api.example.com/v1')"
        )
    return transport
