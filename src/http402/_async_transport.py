"""The async transport: `_transport.py` line for line, with `await`; keep them alike.

It runs under asyncio and trio. Sync hooks run in a worker thread, so that a hook that
blocks never blocks the event loop.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx

from . import _metrics as metrics
from ._adapters import AdapterRegistry
from ._core import annotate, classify_read, gate_response_extensions, gate_response_headers
from ._exceptions import PaymentRequiredError, error_for
from ._models import DEFAULT_BALANCE_HEADERS, Retry
from ._replay import credential_view
from ._telemetry import hook_failed
from ._transport import handed_back, is_of
from ._untrusted import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_BODY_SECONDS, BodyReader
from .typing import AsyncCoordinator, AsyncLowBalanceHook, AsyncPaymentRequiredHooks, ScopeFunction

if TYPE_CHECKING:
    import asyncio

    from . import _actions as actions
    from ._balance import Balance
    from ._burn import LowBalance
    from ._policies import RetryPolicy, SpendPolicy
    from ._preflight import Preflight

# anyio, sniffio and asyncio are imported where they are used: a request that meets no gate
# never needs them, and they cost about a third of `import httpx` (benchmarks/import_time.py).

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
        preflight: Checks made before sending (`http402.Preflight`): fail fast, without
            sending, while the scope is known to be gated or its probed balance is below a
            minimum (default: off).
        preflight_ttl: Shorthand for `preflight=Preflight(gate_ttl=...)`.
        on_low_balance: Called with an `http402.LowBalance` once per crossing of
            `low_balance_below` (a balance, from response headers or balance probes) or of
            `low_balance_within` (seconds left at the estimated spend rate).
        low_balance_below: A balance threshold for `on_low_balance`.
        low_balance_within: A time-to-empty threshold for `on_low_balance`, in seconds.
        balance_headers: Header names the balance is read from.
        hook_timeout: Seconds a request waits for a hook's answer before it raises
            `TimeoutError` (default: no limit). The hook keeps running, in a thread or task
            of its own; no second hook starts for its scope meanwhile, and its answer, when
            it comes, serves the requests that follow.
        mode: `"raise"` (the default) raises the typed error for a gate; `"annotate"` returns
            the gate response instead, with its `PaymentRequired` in
            `response.extensions["http402.payment"]` and `x-should-retry: false`, for SDKs
            that raise their own status errors and retry 429s (openai, anthropic). Hooks and
            preflight work the same in both modes: annotate mode returns the final gate
            response where raise mode would raise the final typed error.
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
        preflight: Preflight | None = None,
        preflight_ttl: float | None = None,
        on_low_balance: AsyncLowBalanceHook | None = None,
        low_balance_below: Decimal | int | str | None = None,
        balance_headers: tuple[str, ...] = DEFAULT_BALANCE_HEADERS,
        low_balance_within: float | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        mode: Literal["raise", "annotate"] = "raise",
        hook_timeout: float | None = None,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        if mode not in ("raise", "annotate"):
            raise ValueError(f"mode must be 'raise' or 'annotate', got {mode!r}")
        if preflight_ttl is not None:
            from ._preflight import Preflight

            if preflight is not None:
                raise ValueError(
                    "give preflight=Preflight(gate_ttl=...) or preflight_ttl, not both"
                )
            preflight = Preflight(gate_ttl=preflight_ttl)
        self._annotate = mode == "annotate"
        self._transport = transport if transport is not None else self._http.AsyncHTTPTransport()
        from ._registry import resolve_registry  # the built-in adapters load with a transport

        self._registry = resolve_registry(registry)
        self._max_body_bytes = max_body_bytes
        self._max_body_seconds = max_body_seconds
        # The recovery flow and its coordinators load with the first transport, not with
        # `import http402`.
        from ._episodes import AsyncLocalCoordinator
        from ._policies import fleet_policy
        from ._recovery import Recovery, check_coordinator

        self._recovery = Recovery(
            on_payment_required=on_payment_required,
            allow_async=True,
            retry=retry,
            spend_policy=fleet_policy(spend_policy, coordinator),  # the fleet's window
            max_payments=max_payments,
            scope=scope,
            preflight=preflight,
            on_low_balance=on_low_balance,
            low_balance_below=low_balance_below,
            balance_headers=balance_headers,
            hook_timeout=hook_timeout,
            low_balance_within=low_balance_within,
            response_class=self._http.Response,
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
        check_coordinator(self._coordinator, is_async=True)
        self._sleep = sleep if sleep is not None else _sleep
        self._watch_balance = self._recovery.watches_balance
        # Without hooks or preflight, a request takes the shortest path: send and inspect.
        self._recovering = self._recovery.recovers

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The wrapped transport."""
        return self._transport

    async def forget_gate(self, request: httpx.Request | str) -> None:
        """Forgets the known gate of `request`'s billing scope, after a top-up made by hand:
        with `preflight_ttl`, its requests are sent again at once instead of failing fast.

        Pass the request (or one built the same way, such as
        `client.build_request("GET", "/")`), so that the credentials that make its scope
        count; a URL alone names the scope of requests sent without credentials.
        """
        if isinstance(request, str):
            request = self._http.Request("GET", request)
        await self._coordinator.forget_gate(self._recovery.scope(request))  # type: ignore[arg-type]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._recovering:
            return await self._send(request)
        from . import _actions as actions

        steps = actions.Steps(self._recovery.flow(request, self._coordinator))
        while steps.running:
            try:
                steps.send(await self._perform(steps.action))
            except BaseException as exc:
                steps.throw(exc)
        try:
            return steps.result()
        except PaymentRequiredError as error:
            if not self._annotate or not is_of(error, request):
                raise
            return handed_back(error)

    async def _perform(self, action: actions.Action) -> Any:
        """Performs one action of the recovery flow, and returns what the flow expects."""
        from . import _actions as actions

        if isinstance(action, actions.Send):
            try:
                return actions.Sent(await self._send(action.request))
            except PaymentRequiredError as error:
                return actions.Gated(error)
            except self._not_sent as exc:
                return actions.NotSent(exc)
        if isinstance(action, actions.Sleep):
            return await self._sleep(action.seconds)
        if isinstance(action, actions.Wait):
            import anyio

            book, waker = self._coordinator.book, _Waker()
            if book.subscribe(action.episode, action.seen, waker):
                try:
                    with anyio.move_on_after(action.timeout):
                        await waker.event.wait()
                finally:
                    book.unsubscribe(action.episode, waker)
            return None
        if isinstance(action, actions.StartHook):
            return self._start(action)
        if isinstance(action, actions.KnownGate):
            return await self._coordinator.gated(action.scope)
        if isinstance(action, actions.MarkGated):
            return await self._coordinator.mark_gated(action.scope, action.payment, action.ttl)
        if isinstance(action, actions.Lifted):
            return await self._coordinator.lifted(action.scope)
        if isinstance(action, actions.Probe):
            return await self._probe(action)
        if isinstance(action, actions.Reserve):
            return await action.policy.areserve(action.payment)
        return await self._notify(action.alerts)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        status = response.status_code
        if status != 402 and status not in self._registry.interest:
            if self._watch_balance:
                await self._observe_balance(request, response)
            return response
        return await self._inspect(request, response)

    def _start(self, action: actions.StartHook) -> None:
        """Runs the hook in a task of its own, which no caller owns: cancelling whoever
        waits for it (the request that led included) never cancels the hook, and the hook
        still ends its episode. A sync hook runs in a worker thread.
        """
        import anyio

        from ._recovery import is_async_callable

        call = action.call
        ran = False

        async def hook_once() -> Retry | None:
            nonlocal ran
            ran = True
            if is_async_callable(call.hook):
                answer = await call.hook(call.error)
            else:
                answer = await _to_completion(call.hook, call.error)
            reservation = call.reservation
            if reservation is not None and reservation.shared is not None:
                import anyio  # a shared spend window's commit is a round trip: off the loop

                return await anyio.to_thread.run_sync(call.done, answer)
            return call.done(answer)

        async def run() -> None:
            try:
                if action.fleet:
                    answer = await self._coordinator.run_episode(
                        action.scope, action.sent, hook_once, call.window
                    )
                else:
                    answer = await hook_once()
            except anyio.get_cancelled_exc_class():
                # Only the event loop's shutdown cancels this task, cutting an async hook off:
                # never stored as an answer, and whether it paid is unknown.
                call.finish(None, RuntimeError(_CANCELLED), unknown=True)
                raise
            except BaseException as exc:
                call.finish(None, exc)
            else:
                call.finish(answer, None, ran=ran)

        spawn_unowned(run)

    async def _observe_balance(self, request: httpx.Request, response: httpx.Response) -> None:
        provider = None  # a header balance names no provider
        now = self._coordinator.book.clock()
        await self._notify(self._recovery.low_balance(request, response, now, provider))

    async def _notify(self, alerts: tuple[LowBalance, ...]) -> None:
        from ._recovery import is_async_callable

        hook = self._recovery.on_low_balance
        for alert in alerts:
            try:
                if is_async_callable(hook):
                    await hook(alert)
                else:
                    import anyio

                    await anyio.to_thread.run_sync(hook, alert)
            except Exception as exc:
                hook_failed(exc)

    async def _probe(self, action: actions.Probe) -> Balance:
        """Sends a balance probe through the inner transport (never through recovery)."""
        from ._balance import find_probe, network_error, probe_answer

        probe = find_probe(action.request.url.host, action.probe)
        assert probe is not None  # the flow built the request from this probe
        try:
            response = await self._transport.handle_async_request(action.request)
        except self._http.TransportError as exc:
            raise network_error(probe, exc, ()) from None
        response.request = action.request  # a transport's response has none yet
        reader = BodyReader(response.headers.get("content-encoding"), self._max_body_bytes)
        try:
            async for chunk in response.stream:  # type: ignore[union-attr]
                if reader.feed(chunk):
                    break
        finally:
            await response.aclose()
        return probe_answer(probe, action.request, response, reader, time.time())

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
                request_headers=credential_view(request),
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
        metrics.record_gate(payment)
        if self._annotate and not self._recovering:
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


_CANCELLED = "the payment-required hook was cancelled before it answered: its event loop shut down"
# Strong references to the hook tasks running under asyncio, which keeps only weak ones.
_HOOK_TASKS: set[asyncio.Task[None]] = set()


async def _sleep(seconds: float) -> None:
    import anyio

    await anyio.sleep(seconds)


def spawn_unowned(run: Callable[[], Awaitable[None]]) -> None:
    """Starts `run` in the current event loop as a task that no caller's cancel scope
    contains: an asyncio task, or a trio system task."""
    import asyncio

    import sniffio

    if sniffio.current_async_library() == "trio":
        import trio

        trio.lowlevel.spawn_system_task(run)
        return
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(run())  # type: ignore[arg-type]
    _HOOK_TASKS.add(task)
    task.add_done_callback(_HOOK_TASKS.discard)


async def _to_completion(hook: Callable[[Any], Any], error: Any) -> Any:
    """Runs a sync hook in a thread of its own and waits for its answer through any
    cancellation (an event loop shutting down cancels every task): once a hook may have
    paid, its answer is recorded, never lost."""
    import asyncio

    import anyio
    import sniffio

    outcome: list[tuple[bool, Any]] = []
    waker = _Waker()

    def work() -> None:
        try:
            outcome.append((True, hook(error)))
        except BaseException as exc:
            outcome.append((False, exc))
        finally:
            waker()

    threading.Thread(target=work, name="http402-hook").start()
    while not outcome:
        # The shield holds under trio; asyncio's own cancellation passes anyio's shields,
        # so it is caught and the wait goes on (uncancelled, on Python 3.11 and later).
        with anyio.CancelScope(shield=True):
            try:
                await waker.event.wait()
            except anyio.get_cancelled_exc_class():
                if sniffio.current_async_library() == "asyncio":
                    task = asyncio.current_task()
                    if task is not None and hasattr(task, "uncancel"):
                        task.uncancel()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


class _Waker:
    """Wakes one waiting task from any thread: its own loop's thread sets the event at
    once; another thread (another event loop sharing the coordinator) schedules the set on
    the waiter's loop."""

    __slots__ = ("_soon", "_thread", "event")

    def __init__(self) -> None:
        import asyncio

        import anyio
        import sniffio

        self.event = anyio.Event()
        self._thread = threading.get_ident()
        if sniffio.current_async_library() == "trio":
            import trio

            self._soon: Callable[[Callable[[], None]], Any] = (
                trio.lowlevel.current_trio_token().run_sync_soon
            )
        else:
            self._soon = asyncio.get_running_loop().call_soon_threadsafe

    def __call__(self) -> None:
        if threading.get_ident() == self._thread:
            self.event.set()
            return
        # RuntimeError: the waiter's event loop has closed, so nobody waits any more.
        with contextlib.suppress(RuntimeError):
            self._soon(self.event.set)
