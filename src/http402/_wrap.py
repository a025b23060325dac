"""`wrap()`: put the payment-gate transport under an existing client, mounts included."""

from __future__ import annotations

import sys
from typing import Any, TypeVar

import httpx

from ._async_transport import AsyncPaymentRequiredTransport
from ._episodes import AsyncLocalCoordinator, LocalCoordinator
from ._transport import PaymentRequiredTransport

__all__ = ["wrap"]

_Client = TypeVar("_Client", httpx.Client, httpx.AsyncClient)


def wrap(client: _Client, **options: Any) -> _Client:
    """Wraps `client`'s transport and every mounted transport in place, and returns `client`.

    Takes the options of `PaymentRequiredTransport` (or of the async one, for an
    `httpx.AsyncClient`). All the client's transports share one coordinator, so a billing
    scope reached through two mounts still gets one hook call per episode. Wrapping a client
    twice re-wraps the original transports with the new options; it never stacks two layers.

    Example:
        ```python
        client = http402.wrap(httpx.Client(base_url="https://openrouter.ai/api/v1"))
        ```
    """
    # httpx has no public way to replace a client's transports; these two attributes have
    # been stable since httpx 0.18 and are what the client itself reads on every request.
    if isinstance(client, httpx.AsyncClient):
        options.setdefault("coordinator", AsyncLocalCoordinator())

        def wrap_async(transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
            if isinstance(transport, AsyncPaymentRequiredTransport):
                transport = transport.transport
            return AsyncPaymentRequiredTransport(transport, **options)

        client._transport = wrap_async(client._transport)
        client._mounts = {
            pattern: None if mounted is None else wrap_async(mounted)
            for pattern, mounted in client._mounts.items()
        }
        return client
    if isinstance(client, httpx.Client):
        options.setdefault("coordinator", LocalCoordinator())

        def wrap_sync(transport: httpx.BaseTransport) -> httpx.BaseTransport:
            if isinstance(transport, PaymentRequiredTransport):
                transport = transport.transport
            return PaymentRequiredTransport(transport, **options)

        client._transport = wrap_sync(client._transport)
        client._mounts = {
            pattern: None if mounted is None else wrap_sync(mounted)
            for pattern, mounted in client._mounts.items()
        }
        return client
    httpx2 = sys.modules.get("httpx2")
    if httpx2 is not None and isinstance(client, (httpx2.Client, httpx2.AsyncClient)):
        from .httpx2 import wrap as wrap_httpx2

        return wrap_httpx2(client, **options)
    raise TypeError(
        "wrap() takes an httpx.Client or httpx.AsyncClient (or their httpx2 twins), "
        f"got {type(client)!r}"
    )
