"""http402 for `httpx2` clients: the maintained successor of httpx, which the `openai` and
`anthropic` SDKs use.

The transports here are the httpx ones bound to httpx2's classes (one implementation, no copy):
gates from an `httpx2.Client` raise the typed errors of this module, each both the http402
class of its reason and an `httpx2.HTTPStatusError`, with httpx2's request and response on
them. Inside an SDK client, use `mode="annotate"`: hooks still top up and replay inside the
transport, and a gate that remains comes back as the SDK's own status error, which the SDK
does not retry (`x-should-retry: false`).

Example:
    ```python
    import httpx2
    import openai
    import http402.httpx2

    client = openai.OpenAI(
        http_client=http402.httpx2.wrap(
            httpx2.Client(), mode="annotate", on_payment_required=top_up
        ),
    )
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    except openai.APIStatusError as error:
        payment = http402.classify(error)  # the normalized answer, or None
    ```
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, overload

import httpx2

from . import _async_transport, _exceptions, _transport
from ._models import Reason
from ._shell import wrap_client

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .typing import AsyncTransportOptions, TransportOptions

__all__ = [
    "AsyncPaymentRequiredTransport",
    "InsufficientCreditsError",
    "PaymentChallengeError",
    "PaymentFailedError",
    "PaymentOutcomeUnknownError",
    "PaymentRequiredError",
    "PaymentRequiredTransport",
    "PlanLimitExceededError",
    "SubscriptionExpiredError",
    "wrap",
]

_Client = TypeVar("_Client", bound=httpx2.Client)
_AsyncClient = TypeVar("_AsyncClient", bound=httpx2.AsyncClient)


# The typed errors of httpx2 clients: each is the http402 class of its reason and an
# `httpx2.HTTPStatusError`, so `except http402.InsufficientCreditsError` and
# `except httpx2.HTTPError` both catch it. Defined once, here, so that they pickle by name.


class PaymentRequiredError(  # type: ignore[misc]  # .request/.response: httpx2's, same shape
    _exceptions.PaymentRequiredError, httpx2.HTTPStatusError
):
    """`http402.PaymentRequiredError` from an httpx2 client; also an `httpx2.HTTPStatusError`.

    Its `.request` and `.response` are httpx2's (`httpx2.Request`, `httpx2.Response`).
    """

    request: httpx2.Request  # type: ignore[assignment]  # httpx2's twin of httpx.Request
    response: httpx2.Response  # type: ignore[assignment]  # httpx2's twin of httpx.Response


class InsufficientCreditsError(_exceptions.InsufficientCreditsError, PaymentRequiredError):  # type: ignore[misc]
    """`http402.InsufficientCreditsError` from an httpx2 client."""


class SubscriptionExpiredError(_exceptions.SubscriptionExpiredError, PaymentRequiredError):  # type: ignore[misc]
    """`http402.SubscriptionExpiredError` from an httpx2 client."""


class PlanLimitExceededError(_exceptions.PlanLimitExceededError, PaymentRequiredError):  # type: ignore[misc]
    """`http402.PlanLimitExceededError` from an httpx2 client."""


class PaymentFailedError(_exceptions.PaymentFailedError, PaymentRequiredError):  # type: ignore[misc]
    """`http402.PaymentFailedError` from an httpx2 client."""


class PaymentChallengeError(_exceptions.PaymentChallengeError, PaymentRequiredError):  # type: ignore[misc]
    """`http402.PaymentChallengeError` from an httpx2 client."""


class PaymentOutcomeUnknownError(  # type: ignore[misc]  # .request: httpx2's, same shape
    _exceptions.PaymentOutcomeUnknownError, httpx2.TransportError
):
    """`http402.PaymentOutcomeUnknownError` from an httpx2 client; also an
    `httpx2.TransportError`."""


#: The exception class raised for each reason by the transports of this module.
FAMILY: Mapping[Reason, type[_exceptions.PaymentRequiredError]] = MappingProxyType(
    {
        Reason.INSUFFICIENT_CREDITS: InsufficientCreditsError,
        Reason.SUBSCRIPTION_EXPIRED: SubscriptionExpiredError,
        Reason.PLAN_LIMIT_EXCEEDED: PlanLimitExceededError,
        Reason.PAYMENT_FAILED: PaymentFailedError,
        Reason.PAYMENT_CHALLENGE: PaymentChallengeError,
        Reason.UNKNOWN: PaymentRequiredError,
    }
)


class _ResumedStream(_transport._ResumedStream, httpx2.SyncByteStream):
    pass


class _AsyncResumedStream(_async_transport._ResumedStream, httpx2.AsyncByteStream):
    pass


class _PaidStream(_transport._PaidStream, httpx2.SyncByteStream):
    pass


class _AsyncPaidStream(_async_transport._PaidStream, httpx2.AsyncByteStream):
    pass


class PaymentRequiredTransport(  # type: ignore[misc]  # httpx2.Request has httpx's shape
    _transport.PaymentRequiredTransport, httpx2.BaseTransport
):
    """`http402.PaymentRequiredTransport` for `httpx2.Client`; it takes the same options.

    Args:
        transport: The httpx2 transport to wrap (default: `httpx2.HTTPTransport()`).
        **options: As for `http402.PaymentRequiredTransport`.
    """

    _http: ClassVar[Any] = httpx2
    _family = FAMILY
    _resumed_stream = _ResumedStream
    _paid_stream = _PaidStream
    _outcome_error = PaymentOutcomeUnknownError

    def __init__(
        self, transport: httpx2.BaseTransport | None = None, **options: Unpack[TransportOptions]
    ) -> None:
        super().__init__(transport, **options)  # type: ignore[arg-type]


class AsyncPaymentRequiredTransport(  # type: ignore[misc]  # httpx2.Request has httpx's shape
    _async_transport.AsyncPaymentRequiredTransport, httpx2.AsyncBaseTransport
):
    """`http402.AsyncPaymentRequiredTransport` for `httpx2.AsyncClient`.

    Args:
        transport: The httpx2 transport to wrap (default: `httpx2.AsyncHTTPTransport()`).
        **options: As for `http402.AsyncPaymentRequiredTransport`.
    """

    _http: ClassVar[Any] = httpx2
    _family = FAMILY
    _resumed_stream = _AsyncResumedStream
    _paid_stream = _AsyncPaidStream
    _outcome_error = PaymentOutcomeUnknownError

    def __init__(
        self,
        transport: httpx2.AsyncBaseTransport | None = None,
        **options: Unpack[AsyncTransportOptions],
    ) -> None:
        super().__init__(transport, **options)  # type: ignore[arg-type]


@overload
def wrap(client: _Client, **options: Unpack[TransportOptions]) -> _Client: ...
@overload
def wrap(client: _AsyncClient, **options: Unpack[AsyncTransportOptions]) -> _AsyncClient: ...


def wrap(client: Any, **options: Any) -> Any:
    """`http402.wrap` for an `httpx2.Client` or `httpx2.AsyncClient`: wraps its transport and
    every mount in place, sharing one coordinator, and returns the client.

    Inside the openai and anthropic SDKs, pass `mode="annotate"`: a hook still tops up and
    the request is replayed, and a gate that does not lift comes back as the SDK's own status
    error, which the SDK does not retry and `http402.classify` reads.

    Example:
        ```python
        client = anthropic.Anthropic(
            http_client=http402.httpx2.wrap(
                httpx2.Client(), mode="annotate", on_payment_required=top_up
            ),
        )
        ```
    """
    if isinstance(client, httpx2.AsyncClient):
        return wrap_client(client, AsyncPaymentRequiredTransport, options)
    if isinstance(client, httpx2.Client):
        return wrap_client(client, PaymentRequiredTransport, options)
    raise TypeError(f"takes an httpx2.Client or httpx2.AsyncClient, got {type(client)!r}")
