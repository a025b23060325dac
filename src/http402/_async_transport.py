"""The async transport: `_transport.py` line for line, with `await`; keep them alike.

It runs under asyncio and trio. Sync hooks run in a worker thread, so that a hook that
blocks never blocks the event loop.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import nullcontext
from decimal import Decimal
from types import TracebackType
from typing import Any, ClassVar, Literal

import anyio
import httpx
import tenacity

from ._adapters import AdapterRegistry
from ._core import annotate, classify_read, gate_response_extensions, gate_response_headers
from ._episodes import AsyncLocalCoordinator
from ._exceptions import PaymentRequiredError, error_for
from ._models import Reason, Retry
from ._policies import RetryPolicy, SpendPolicy, StillGated
from ._recovery import DEFAULT_BALANCE_HEADERS, Recovery, is_async_callable
from ._registry import resolve_registry
from ._replay import replay_of
from ._untrusted import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_SECONDS, BodyReader
from .typing import AsyncCoordinator, AsyncLowBalanceHook, AsyncPaymentRequiredHooks, ScopeFunction

__all__ = ["AsyncPaymentRequiredTransport"]


class _ResumedStream(httpx.AsyncByteStream):
    """The bytes already read, then the rest of the original stream; closes the original."""

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], original: Any) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._original.aclose()


class AsyncPaymentRequiredTransport(httpx.AsyncBaseTransport):
    """An async httpx transport that turns payment-gate responses into typed errors, and
    can recover from them; the twin of `PaymentRequiredTransport`.

    A response that is not a payment gate is returned untouched: its body is not read and a
    streamed response stays streamed. A 402 (or a status that a provider's adapter claims
    for its own hosts) is read up to `max_body_bytes`, classified, closed, and raised as the
    `PaymentRequiredError` subclass of its reason, with `.response` still readable.

    With `on_payment_required`, the hook is called with that error first. When it returns
    `http402.Retry(...)`, the request is replayed with backoff until the gate lifts or the
    propagation window closes. Requests that hit an account-level gate of one billing scope
    at the same time share one hook call; a payment challenge is paid per request.

    Args:
        transport: The transport to wrap (default: `httpx.AsyncHTTPTransport()`).
        registry: The adapters to classify with (default: `http402.default_registry`).
        max_body_bytes: How much of a gate's body to read, counted after decoding.
        max_body_seconds: How long to read a gate's body (default 5 s; `None`: no limit);
            a body that takes longer is classified from what arrived, marked truncated.
        on_payment_required: A hook, or a mapping from `Reason` to hook, called with the
            typed error; it returns `Retry(...)` to replay the request or `None` to raise.
            Coroutine functions are awaited; plain functions run in a worker thread.
        retry: How replays wait and when they stop (default: `RetryPolicy()`).
        spend_policy: Limits that a challenge's price must meet before any hook runs.
        max_payments: Most paid replays of one request (default 1).
        scope: Maps a request to its billing scope (default: origin and a digest of the
            credential headers).
        coordinator: Shares episodes across processes (default: this process only).
        preflight_ttl: While a scope is known to be gated, fail new requests for this many
            seconds without sending them (default: off).
        on_low_balance: Called with the balance and the response when a balance header
            drops below `low_balance_below`.
        low_balance_below: The balance threshold for `on_low_balance`.
        balance_headers: Header names the balance is read from.
        hook_timeout: Seconds a hook may run before its episode fails with `TimeoutError`
            (default: no limit). A sync hook cannot be interrupted: it runs in a worker
            thread, and its late answer is ignored.
        mode: `"raise"` (the default) raises the typed error for a gate; `"annotate"` returns
            the gate response whole instead, with its `PaymentRequired` in
            `response.extensions["http402.payment"]` and `x-should-retry: false`, for SDKs
            that raise their own status errors and retry 429s (openai, anthropic).
        sleep: How to wait between replays (default: `anyio.sleep`); tests pass a fake.

    Example:
        ```python
        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
            await billing.buy_credits(100)
            return http402.Retry(within=60)

        client = httpx.AsyncClient(
            transport=http402.AsyncPaymentRequiredTransport(
                on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up}
            )
        )
        ```
    """

    #: The HTTP library whose responses and streams this transport builds; `http402.httpx2`
    #: subclasses set it to httpx2, so both libraries share this one implementation.
    _http: ClassVar[Any] = httpx
    _resumed_stream: ClassVar[type[Any]] = _ResumedStream

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        registry: AdapterRegistry | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_body_seconds: float | None = DEFAULT_MAX_BODY_SECONDS,
        on_payment_required: AsyncPaymentRequiredHooks | None = None,
        retry: RetryPolicy | None = None,
        spend_policy: SpendPolicy | None = None,
        max_payments: int = 1,
        scope: ScopeFunction | None = None,
        coordinator: AsyncCoordinator | None = None,
        preflight_ttl: float | None = None,
        on_low_balance: AsyncLowBalanceHook | None = None,
        low_balance_below: Decimal | int | str | None = None,
        balance_headers: tuple[str, ...] = DEFAULT_BALANCE_HEADERS,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        mode: Literal["raise", "annotate"] = "raise",
        hook_timeout: float | None = None,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        if mode not in ("raise", "annotate"):
            raise ValueError(f"mode must be 'raise' or 'annotate', got {mode!r}")
        if mode == "annotate" and (on_payment_required is not None or preflight_ttl is not None):
            raise ValueError(
                "mode='annotate' hands gates back to the caller (an SDK); hooks and preflight "
                "need mode='raise'"
            )
        self._annotate = mode == "annotate"
        self._transport = transport if transport is not None else self._http.AsyncHTTPTransport()
        self._registry = resolve_registry(registry)
        self._max_body_bytes = max_body_bytes
        self._max_body_seconds = max_body_seconds
        self._recovery = Recovery(
            on_payment_required=on_payment_required,
            allow_async=True,
            retry=retry,
            spend_policy=spend_policy,
            max_payments=max_payments,
            scope=scope,
            preflight_ttl=preflight_ttl,
            on_low_balance=on_low_balance,
            low_balance_below=low_balance_below,
            balance_headers=balance_headers,
            hook_timeout=hook_timeout,
        )
        # Failures that happen before a request is sent: a replay may try again.
        self._not_sent = (
            self._http.ConnectError,
            self._http.ConnectTimeout,
            self._http.PoolTimeout,
        )
        self._coordinator: AsyncCoordinator = (
            coordinator if coordinator is not None else AsyncLocalCoordinator()
        )
        self._sleep = sleep if sleep is not None else anyio.sleep
        self._watch_balance = self._recovery.watches_balance
        # Without hooks or preflight, a request takes the shortest path: send and inspect.
        self._recovering = self._recovery.recovers

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The wrapped transport."""
        return self._transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._recovering:
            return await self._send(request)
        preflight = self._recovery.preflight_scope(request)
        if preflight is not None:
            self._recovery.refuse_early(request, await self._coordinator.gated(preflight))
        sent_at = self._coordinator.mark()
        # Judged before sending: once sent, a generator body is gone (or buffered by a mock).
        not_replayable = self._recovery.why_not_replayable(request)
        try:
            return await self._send(request)
        except PaymentRequiredError as error:
            return await self._recover(request, error, sent_at, not_replayable)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        status = response.status_code
        if status != 402 and status not in self._registry.interest:
            if self._watch_balance:
                await self._observe_balance(request, response)
            return response
        return await self._inspect(request, response)

    async def _recover(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        sent_at: Any,
        not_replayable: str | None,
    ) -> httpx.Response:
        gated = self._recovery.gate_scope(request, error)
        if gated is not None:
            await self._coordinator.mark_gated(gated[0], error.payment, gated[1])
        hook = self._recovery.hook_for(error, not_replayable)
        if hook is None:
            raise error
        if error.reason is Reason.PAYMENT_CHALLENGE:
            return await self._pay(request, error, hook)
        retry = await self._coordinator.resolve(
            self._recovery.scope(request),
            sent_at,
            lambda: self._call_hook(hook, error),
            self._recovery.retry.within,
        )
        if retry is None:
            raise error
        return await self._replay(request, error, retry)

    async def _replay(
        self, request: httpx.Request, error: PaymentRequiredError, retry: Retry
    ) -> httpx.Response:
        retrying = tenacity.AsyncRetrying(
            sleep=self._sleep, **self._recovery.retry.tenacity_arguments(retry.within)
        )
        try:
            async for attempt in retrying:
                with attempt:
                    state = attempt.retry_state
                    try:
                        response = await self._send(replay_of(request, retry, state.attempt_number))
                    except PaymentRequiredError as again:
                        raise self._recovery.still_gated(error, again, state) from None
                    except self._not_sent as exc:
                        raise self._recovery.not_sent(error, exc, state) from None
                    self._recovery.recovered(error, state.attempt_number + 1, state.idle_for)
                    await self._coordinator.settle(self._recovery.scope(request), lifted=True)
                    return response
        except StillGated as gated:
            await self._coordinator.settle(self._recovery.scope(request), lifted=False)
            raise self._recovery.gave_up(gated, retrying) from gated.not_sent
        raise AssertionError("unreachable: tenacity returns or raises")  # pragma: no cover

    async def _pay(
        self, request: httpx.Request, error: PaymentRequiredError, hook: Any
    ) -> httpx.Response:
        for payments in range(1, self._recovery.max_payments + 1):
            error = self._recovery.screen(error)
            retry = await self._call_hook(hook, error)
            if retry is None:
                raise error
            self._recovery.paid(error, retry)
            try:
                return await self._send(replay_of(request, retry, payments))
            except PaymentRequiredError as again:
                error = self._recovery.after_payment(again, payments)
        raise error

    async def _call_hook(self, hook: Any, error: PaymentRequiredError) -> Retry | None:
        timeout = self._recovery.hook_timeout
        with anyio.fail_after(timeout) if timeout is not None else nullcontext():
            if is_async_callable(hook):
                return self._recovery.checked(await hook(error))
            answer = await anyio.to_thread.run_sync(hook, error, abandon_on_cancel=True)
            return self._recovery.checked(answer)

    async def _observe_balance(self, request: httpx.Request, response: httpx.Response) -> None:
        balance = self._recovery.low_balance(request, response)
        if balance is not None:
            hook = self._recovery.on_low_balance
            if is_async_callable(hook):
                await hook(balance, response)
            else:
                await anyio.to_thread.run_sync(hook, balance, response)

    async def _inspect(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        host = request.url.host
        if not self._registry.claims(response.status_code, host, response.headers.get):
            return response
        reader = BodyReader(
            response.headers.get("content-encoding"), self._max_body_bytes, self._max_body_seconds
        )
        chunks: AsyncIterator[bytes] = aiter(response.stream)  # type: ignore[arg-type]
        try:
            chunks = await reader.aread(chunks, self._http.TransportError)
            payment = classify_read(
                method=request.method,
                url=str(request.url),
                host=host,
                request_headers=request.headers.multi_items(),
                status_code=response.status_code,
                response_headers=response.headers.multi_items(),
                reader=reader,
                registry=self._registry,
            )
        except BaseException:
            await response.aclose()
            raise
        if payment is None:
            return await self._resumed(request, response, reader, chunks)
        if self._annotate:
            annotated = await self._resumed(request, response, reader, chunks)
            annotate(annotated, payment)
            return annotated
        await response.aclose()
        gate = self._http.Response(
            response.status_code,
            headers=gate_response_headers(response.headers.raw),
            content=reader.body,
            request=request,
            extensions=gate_response_extensions(response.extensions, reader),
        )
        raise error_for(payment, request=request, response=gate)

    async def _resumed(
        self,
        request: httpx.Request,
        response: httpx.Response,
        reader: BodyReader,
        rest: AsyncIterator[bytes],
    ) -> httpx.Response:
        """The response again, with the bytes already read put back in front of the rest."""
        if reader.complete:
            await response.aclose()
            stream = self._http.ByteStream(b"".join(reader.raw_chunks))
        else:
            stream = self._resumed_stream(reader.raw_chunks, rest, response)
        return self._http.Response(  # type: ignore[no-any-return]
            response.status_code,
            headers=response.headers,
            stream=stream,
            request=request,
            extensions=dict(response.extensions),
        )

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncPaymentRequiredTransport:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc_value, traceback)
