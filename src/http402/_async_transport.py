"""The async transport: `_transport.py` line for line, with `await`; keep them alike.

It runs under asyncio and trio. Sync hooks run in a worker thread, so that a hook that
blocks never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import sniffio

from . import _metrics as metrics
from . import _workers as workers
from ._actions import (
    BOUGHT,
    Action,
    Flow,
    Gated,
    Held,
    Hold,
    KnownGate,
    Lifted,
    LowBalanceRunning,
    MarkGated,
    Notify,
    NotSent,
    Probe,
    Release,
    Reserve,
    Send,
    Sent,
    Sleep,
    StartHook,
    Steps,
    Wait,
    assert_never,
)
from ._balance import Balance, find_probe, network_error, probe_answer
from ._burn import Crossings, crossing_of
from ._core import annotate, classify_read
from ._episodes import AsyncLocalCoordinator, Mark, running_hook
from ._exceptions import PaymentOutcomeUnknownError, PaymentRequiredError
from ._holds import PAID_EXTENSION, HoldBook, PaidAttempt, is_top_up_key, unanswered_hold
from ._logs import awaited, for_request, known
from ._models import PaymentRequired, Retry
from ._options import Options, is_async_callable
from ._redaction import request_body
from ._replay import credential_view
from ._shell import TOP_UP_HOLDS, Shell, handed_back, is_of, low_balance_answer
from ._streams import AsyncFollowed
from ._telemetry import hook_failed, hook_timed_out, top_up_under_way
from ._untrusted import BodyReader

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .typing import AsyncTransportOptions

__all__ = ["AsyncPaymentRequiredTransport"]

#: The wall clock, read into the mark of a request that may meet a gate.
_wall = time.time


class _ResumedStream(httpx.AsyncByteStream):
    """The bytes already read, then the rest of the original stream; closes the original.

    Its own iterator rather than an async generator: a stream left early (a caller that
    stops at an error event) leaves no generator of ours suspended for the garbage
    collector, which trio warns about.
    """

    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], original: Any) -> None:
        self._head = iter(head)
        self._rest = rest
        self._original = original

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = next(self._head, None)
        return chunk if chunk is not None else await self._rest.__anext__()

    async def aclose(self) -> None:
        await self._original.aclose()


class _PaidStream(httpx.AsyncByteStream):
    """The body of a response to a paid or topped-up attempt: if it breaks after the
    headers, whether the payment took is unknown, and `failed` says so (holding the scope)."""

    def __init__(self, stream: Any, failed: Callable[[Exception], Awaitable[Exception]]) -> None:
        self._stream = stream
        self._failed = failed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except Exception as exc:
            raise await self._failed(exc) from exc

    async def aclose(self) -> None:
        await self._stream.aclose()


class AsyncPaymentRequiredTransport(Shell, httpx.AsyncBaseTransport):
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
        **options: As for `PaymentRequiredTransport`, typed as
            `http402.typing.AsyncTransportOptions`. Hooks (`on_payment_required`, and the
            hook of `low_balance`) may also be coroutine functions, which are awaited; plain
            functions run in a worker thread. `sleep` is a coroutine function (default:
            `anyio.sleep`).

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

    _resumed_stream = _ResumedStream
    _paid_stream = _PaidStream
    _transport: httpx.AsyncBaseTransport
    _default_coordinator = AsyncLocalCoordinator
    _is_async = True

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[AsyncTransportOptions],
    ) -> None:
        self._set_up(transport, Options.build(options, is_async=True))

    def _default_transport(self) -> Any:
        return self._http.AsyncHTTPTransport()

    async def _default_sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The wrapped transport."""
        return self._transport

    async def forget_gate(self, request: httpx.Request | str) -> bool:
        """Forgets the known gate of `request`'s billing scope, after a top-up made by hand:
        with `Preflight(gate_ttl=...)`, its requests are sent again at once instead of
        failing fast.

        Pass the request (or one built the same way, such as
        `client.build_request("GET", "/")`), so that the credentials that make its scope
        count; a URL alone names the scope of requests sent without credentials.

        Returns `True` when something of that scope was known to forget (a known gate, here
        or in the store, or a top-up's hold): `False` says the scope is likely not the one
        real requests have.
        """
        if self._fleet_keyed:
            await self._keyed()
        scope = self._scope_of(request)
        known = await self._knows(scope)
        await self._coordinator.forget_gate(scope)
        await self._release(scope, TOP_UP_HOLDS)
        self._coordinator.book.settled(scope)
        return known

    async def reconcile(
        self, target: PaymentOutcomeUnknownError | PaymentRequiredError | Any
    ) -> bool:
        """Ends a hold once the application has checked what happened to the payment: the
        async twin of `PaymentRequiredTransport.reconcile`."""
        if self._fleet_keyed:
            await self._keyed()
        scope, keys = self._holds_of(target)
        known: bool = self._coordinator.book.knows(scope, gates=False)
        if keys is None:
            if self._stores_holds:
                await self._coordinator.release(scope, None)
            self._coordinator.book.holds.release(scope, None)
        else:
            await self._release(scope, keys)
        if keys is None or any(is_top_up_key(key) for key in keys):
            self._coordinator.book.settled(scope)
        return known

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._recovery is None:
            # Nothing to recover: the response is passed on, or looked at where `_passes`
            # would stop it (inlined for a 200: `_ok` is 200 where a 200 is judged by its
            # header list; a 200 needs no look at the registry, as adapters claim only 4xx
            # and 5xx). Every response that meets no gate runs this, so it reads as little
            # as it can: no local it does not use, and a return as soon as it knows.
            sequence = self._book.sequence  # orders a balance header (`_readings`)
            response = await self._transport.handle_async_request(request)
            if response.status_code == self._ok:
                watched = self._watched_on_200
                for _, name, value in response.headers._list:
                    if name in watched and value != self._plain:
                        if value not in self._not_streams:
                            return await self._looked_at(request, response, sequence)
                        self._plain = value  # a content type judged before, maybe elsewhere
                return response
            if self._passes(response):
                return response
            return await self._looked_at(request, response, sequence)
        # Taken before sending: a generator body is gone once sent, and the mark tells a
        # late gate of a burst from a new one (two numbers, made a `Mark` at a gate).
        book = self._quiet_book
        if book is None or book.gated_scopes > 0:  # one look at an in-process book
            gates = self._checks  # preflight may refuse while a gate is known
            if gates is not None and gates.gated_scopes > 0 and gates.knows_gates():
                flow = self._recovery.flow(request, self._coordinator)
                return await self._recovered(flow, request)
            if book is not None:  # a gate known, but none that refuses this request
                sequence, wall = book.sequence, None
            elif (book := self._mark_book) is not None:
                sequence, wall = book.sequence, _wall()
            else:
                sequence, wall = self._coordinator.mark()
                book = self._book  # the book whose flag says a response may settle something
        else:  # no wall clock: a gate's mark reads it as the gate arrives (`Shell`)
            sequence = book.sequence
            wall = None
        stream = request.stream
        try:
            response = await self._transport.handle_async_request(request)
            if response.status_code == self._ok:  # as above
                watched = self._watched_on_200
                for _, name, value in response.headers._list:
                    if name in watched and value != self._plain:
                        if value not in self._not_streams:
                            response = await self._looked_at(request, response, sequence)
                            break
                        self._plain = value
            elif not self._passes(response):
                response = await self._looked_at(request, response, sequence)
        except PaymentRequiredError as error:
            mark = Mark((sequence, _wall() if wall is None else wall))
            flow = self._recovery.gated(request, error, self._coordinator, mark, stream)
        else:
            if not book.settling_now:
                return response
            # A top-up not yet seen to take, or a hold, in this process: a response that got
            # through may be the sign (`Recovery.succeeded`).
            flow = self._recovery.succeeded(request, response, self._coordinator)
        return await self._recovered(flow, request)

    async def _recovered(self, flow: Flow, request: httpx.Request) -> httpx.Response:
        """Performs the recovery flow's actions; its answer, or in annotate mode the final
        gate response handed back."""
        if self._fleet_keyed:
            await self._keyed()
        steps = Steps(for_request(request, flow))  # its records: scrubbed of its credentials
        received: httpx.Response | None = None
        while steps.running:
            try:
                answer = await self._perform(steps.action)
            except BaseException as exc:
                steps.throw(exc)
            else:
                if type(answer) is Sent:
                    received = answer.response
                steps.send(answer)
        try:
            response = steps.result()
        except PaymentRequiredError as error:
            if not self._annotate or not is_of(error, request):
                raise
            return handed_back(error)
        except BaseException:
            # A response the flow received and then lost to an error or a cancellation
            # (while telling the fleet the gate lifted): closed, its connection given back.
            if received is not None:
                await _closed(received)
            raise
        paid: PaidAttempt | None = response.extensions.get(PAID_EXTENSION)
        if paid is not None:
            # Should its body break, whether the payment took is unknown: hold, and say so.
            response.stream = self._paid_stream(
                response.stream, lambda exc: self._paid_failed(paid, exc)
            )
        return response

    async def _paid_failed(self, paid: PaidAttempt, exc: Exception) -> Exception:
        error = self._paid_failure(paid, exc)
        await self._hold(paid.scope, paid.keys, error.hold.encode())
        return error

    async def _held(self, scope: str, keys: tuple[str, ...]) -> str | None:
        """The first hold on `scope` and `keys`. A coordinator that keeps holds (a fleet's
        store) answers first, and this process's copy follows it (`HoldBook.settle`): a hold
        another process reconciled ends here too."""
        local: HoldBook = self._coordinator.book.holds
        if not self._stores_holds:
            return next((r for key in keys if (r := local.held(scope, key)) is not None), None)
        for key in keys:
            answer: str | None = await self._coordinator.held(scope, key)
            record, hand = local.settle(scope, key, answer)
            if hand and record is not None:
                await self._coordinator.hold(scope, key, record)
            if record is not None:
                return record
        return None

    async def _hold(self, scope: str, keys: tuple[str, ...], record: str) -> None:
        """Holds `scope` and `keys`: here first (no await: nothing can lose it), then through
        the coordinator, shielded from a cancellation under way."""
        for key in keys:
            self._coordinator.book.holds.hold(scope, key, record)
        with anyio.CancelScope(shield=True):
            for key in keys if self._stores_holds else ():
                await self._coordinator.hold(scope, key, record)
                self._coordinator.book.holds.hold(scope, key, record, shared=True)

    async def _knows(self, scope: str) -> bool:
        """Whether this process, or the store, knows something of `scope` to forget."""
        if self._coordinator.book.knows(scope):
            return True
        try:
            return await self._coordinator.gated(scope) is not None
        except Exception:  # a store that cannot answer: nothing known here
            return False

    async def _release(self, scope: str, keys: tuple[str, ...]) -> None:
        with anyio.CancelScope(shield=True):
            for key in keys:
                if self._stores_holds:
                    await self._coordinator.release(scope, key)
                self._coordinator.book.holds.release(scope, key)

    async def _perform(self, action: Action) -> Any:
        """Performs one action of the recovery flow, and returns what the flow expects."""
        match action:
            case Send(request=request, sent=sent):
                try:
                    return Sent(await self._send(request, sent))
                except PaymentRequiredError as error:
                    return Gated(error)
                except self._not_sent as exc:
                    return NotSent(exc)
            case Sleep(seconds=seconds):
                return await self._sleep(seconds)
            case Wait(episode=episode, seen=seen, timeout=timeout):
                book, waker = self._coordinator.book, _Waker()
                if book.subscribe(episode, seen, waker):
                    try:
                        with anyio.move_on_after(timeout):
                            await waker.event.wait()
                    finally:
                        book.unsubscribe(episode, waker)
                return None
            case StartHook():
                return self._start(action)
            case KnownGate(scope=scope):
                return await self._coordinator.gated(scope)
            case MarkGated(scope=scope, payment=payment, ttl=ttl):
                return await self._coordinator.mark_gated(scope, payment, ttl)
            case Lifted(scope=scope):
                return await self._coordinator.lifted(scope)
            case Probe():
                return await self._probe(action)
            case Reserve(policy=policy, payment=payment):
                return await policy.areserve(payment)
            case Notify(crossings=crossings):
                return self._notify(crossings)
            case LowBalanceRunning(scope=scope):
                return await self._low_balance_elsewhere(scope)
            case Held(scope=scope, keys=keys):
                return await self._held(scope, keys)
            case Hold(scope=scope, keys=keys, record=record):
                return await self._hold(scope, keys, record)
            case Release(scope=scope, keys=keys):
                return await self._release(scope, keys)
            case _:
                return assert_never(action)

    async def _send(self, request: httpx.Request, mark: Mark | None = None) -> httpx.Response:
        """Sends `request`; its response is read only where `_passes` says http402 may act.
        `mark` is the flow's, taken as it is sent (a balance it states is as of then)."""
        sent, wall = (self._book.sequence, None) if mark is None else mark
        response = await self._transport.handle_async_request(request)
        if self._passes(response):
            return response
        return await self._looked_at(request, response, sent, wall)

    async def _keyed(self) -> None:
        """Keys the billing scope with the fleet's key before it is first computed (see
        `Shell._keyed_with`)."""
        self._keyed_with(await self._coordinator.scope_key())

    async def _looked_at(
        self,
        request: httpx.Request,
        response: httpx.Response,
        sent: int,
        wall: float | None = None,
    ) -> httpx.Response:
        """A response that `_passes` stopped: a status read for a gate, a balance header, or a
        200 that may be an event stream (only such a 200 may hide a gate in its first events;
        nothing else is read). `sent` is the book's mark taken as the request was sent, and
        `wall` the wall clock then, where the flow took it."""
        status = response.status_code
        if status == 402 or status in self._registry.interest:
            return await self._inspect(request, response)
        if self._reads_balances:
            if self._fleet_keyed:
                await self._keyed()
            await self._observe_balance(request, response, sent, wall)
        if status == 200 and self._options.peek_streams and self._says_event_stream(response):
            return await self._peek(request, response)
        return response

    def _start(self, action: StartHook) -> None:
        """Runs the hook in a task of its own, which no caller owns: cancelling whoever
        waits for it (the request that led included) never cancels the hook, and the hook
        still ends its episode. A sync hook runs in a worker thread.
        """
        call = action.call
        ran = False

        async def hook_once() -> Retry | None:
            nonlocal ran
            held = await self._held_since_elected(action)
            if held is not None:
                call.episode.held = held
                return None
            ran = True
            try:
                if is_async_callable(call.hook):
                    answer = await call.acall()
                else:
                    answer = await _to_completion(lambda _: call.call(), call.error)
                reservation = call.reservation
                if reservation is not None and reservation.shared is not None:
                    # A shared spend window's commit is a round trip: off the loop.
                    return await anyio.to_thread.run_sync(call.done, answer)
                return call.done(answer)
            except anyio.get_cancelled_exc_class():
                # Cut short (its event loop shut down, or its task was cancelled) after it
                # started: whether it paid is unknown. Held here, then through the
                # coordinator before the fleet's lease ends (shielded).
                cut = call.cut_short()
                if cut is not None:
                    await self._hold(*cut)
                raise

        async def run() -> None:
            try:
                if action.fleet:
                    answer = await self._coordinator.run_episode(
                        action.scope, action.sent, hook_once, call.window
                    )
                else:
                    answer = await hook_once()
            except anyio.get_cancelled_exc_class():
                # An event loop's shutdown (or a cancel of this task) cuts the hook off: never
                # stored as an answer; whether it paid is unknown, and `hook_once` held it.
                call.finish(None, RuntimeError(_CANCELLED), unknown=True)
                raise
            except BaseException as exc:
                call.finish(None, exc)
            else:
                call.finish(answer, None, ran=ran)

        spawn_unowned(run)

    async def _held_since_elected(self, action: StartHook) -> str | None:
        """`PaymentRequiredTransport._held_since_elected`, awaited."""
        recheck = self._hold_to_recheck(action)
        if recheck is None:
            return None
        try:
            return await self._held(*recheck)
        except Exception as exc:
            return unanswered_hold(exc)

    async def _observe_balance(
        self,
        request: httpx.Request,
        response: httpx.Response,
        sent: int,
        wall: float | None = None,
    ) -> None:
        """Reads the balance a response's header states, and calls the low-balance hook for
        the thresholds it crosses."""
        try:
            self._notify(self._balance_alerts(request, response, sent, wall))
        except BaseException:  # cancelled during the alert: its caller never sees it
            await _closed(response)
            raise

    def _notify(self, crossings: Crossings | None) -> None:
        """Starts the low-balance job of a reading (`_alert`) in a task that no caller owns:
        the response that carried the balance never waits for the hook (an alert, or a
        top-up of seconds)."""
        if self._to_alert(crossings):
            assert crossings is not None
            spawn_unowned(lambda: awaited(crossings.secrets, self._alert(crossings)))

    async def _alert(self, crossings: Crossings) -> None:
        """Gives the low-balance hook each warning a reading fired (in a fleet, only for a
        crossing this process claimed in the store first, after telling the store of the
        crossings the reading re-armed), each within `hook_timeout`: a coroutine hook still
        running then is cancelled, a plain one (in a worker thread of the hooks' pool, which
        finishes before the interpreter exits) is no longer waited for. Failures are logged
        and cost no request."""
        assert self._alarm is not None
        hook, coordinator = self._alarm.hook, self._coordinator
        try:
            if self._claims_crossings and crossings.rearmed:
                await coordinator.clear_crossings(crossings.scope, crossings.rearmed)
            for alert in crossings.fired:
                if self._claims_crossings and not await coordinator.claim_crossing(
                    crossings.scope, crossing_of(alert.trigger, alert.threshold)
                ):
                    continue  # another process's, or the store cannot tell: no second call
                if await self._top_up_elsewhere(crossings.scope):
                    continue
                # The scope's episode while it runs: a gate waits for it (`low_balance_run`),
                # and a request the hook sends through this coordinator passes through. A
                # plain hook's run ends in its worker, which a timeout does not stop.
                book = coordinator.book
                run = self._low_balance_run(crossings.scope)
                if run is None:
                    continue
                token = None
                if self._marks_low_balance:  # and in the fleet's store
                    token = await coordinator.low_balance_started(
                        crossings.scope, self._low_balance_ttl
                    )
                ended = _Ended()
                try:
                    with anyio.move_on_after(self._options.hook_timeout) as bound:
                        if is_async_callable(hook):
                            bought = None
                            try:
                                with running_hook(book):
                                    bought = low_balance_answer(await hook(alert))
                            except Exception as exc:
                                hook_failed(exc)
                            finally:
                                ended.window = self._low_balance_ended(
                                    run, crossings.scope, alert, bought
                                )
                        else:
                            end = functools.partial(
                                self._low_balance_ended, run, crossings.scope, alert
                            )
                            await _in_worker(hook, alert, book, end, ended)
                finally:
                    if token is not None:  # the store is told once the wait ends
                        with anyio.CancelScope(shield=True):
                            if ended.window is not None and self._keeps_low_balance:
                                await coordinator.low_balance_bought(
                                    crossings.scope, token, ended.window
                                )
                            else:
                                await coordinator.low_balance_ended(crossings.scope, token)
                if bound.cancelled_caught:
                    hook_timed_out(self._options.hook_timeout)
        except Exception as exc:  # a coordinator of the application's own that raised
            hook_failed(exc)

    async def _top_up_elsewhere(self, scope: str) -> bool:
        """`PaymentRequiredTransport._top_up_elsewhere`, awaited."""
        if not self._asks_top_ups:
            return False
        try:
            at_work = bool(await self._coordinator.top_up_at_work(scope))
        except Exception:
            at_work = True
        if at_work:
            top_up_under_way("in another process of the fleet (or the store cannot tell)")
        return at_work

    async def _low_balance_elsewhere(self, scope: str) -> bool | str:
        """Whether the fleet's store marks a low-balance run of `scope` (in any process):
        `True`, `BOUGHT` (a run that bought, its window open), or `False` where the
        coordinator cannot tell."""
        try:
            running = await self._coordinator.low_balance_running(scope)
        except Exception:  # a coordinator of the application's own that raised
            return False
        return BOUGHT if running == BOUGHT else bool(running)

    async def _probe(self, action: Probe) -> Balance:
        """Sends a balance probe through the inner transport (never through recovery)."""
        probe = find_probe(action.request.url.host, action.probe)
        assert probe is not None  # the flow built the request from this probe
        try:
            response = await self._transport.handle_async_request(action.request)
        except self._http.TransportError as exc:
            raise network_error(probe, exc, ()) from None
        response.request = action.request  # a transport's response has none yet
        reader = BodyReader(response.headers.get("content-encoding"), self._options.max_body_bytes)
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
            response.headers.get("content-encoding"),
            self._options.max_body_bytes,
            self._options.max_body_seconds,
        )
        chunks: AsyncIterator[bytes] = aiter(response.stream)  # type: ignore[arg-type]
        try:
            chunks = await reader.aread(chunks, self._http.TransportError)
            payment = classify_read(
                method=request.method,
                url=str(request.url),
                host=host,
                request_headers=credential_view(request),
                request_body=request_body(request),
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
        return await self._gated(request, response, reader, chunks, payment)

    async def _peek(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """Reads a 200 event stream ahead while its events carry no output: a billing error
        event is a gate like a 4xx's; anything else is handed back byte for byte, the rest
        still streaming (and followed, to count a gate after output began)."""
        ahead = self._look_ahead(response)
        chunks: AsyncIterator[bytes] = aiter(response.stream)  # type: ignore[arg-type]
        try:
            chunks = await ahead.aread(chunks, self._http.TransportError)
            payment = self._stream_gate(request, ahead)
        except BaseException:
            await response.aclose()
            raise
        if payment is None:
            follows = self._follows(request, response, ahead)
            rest = chunks if follows is None else AsyncFollowed(chunks, *follows)
            return await self._resumed(request, response, ahead, rest)
        return await self._gated(request, response, ahead, chunks, payment)

    async def _gated(
        self,
        request: httpx.Request,
        response: httpx.Response,
        reader: BodyReader,
        chunks: AsyncIterator[bytes],
        payment: PaymentRequired,
    ) -> httpx.Response:
        """A gate: counted, then handed back annotated (annotate mode without recovery), or
        raised as its typed error with a readable copy of what was read."""
        metrics.record_gate(payment)
        if self._annotate and self._recovery is None:
            annotated = await self._resumed(request, response, reader, chunks)
            annotate(annotated, payment)
            return annotated
        await response.aclose()
        raise self._gate_error(request, response, reader, payment)

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
        return self._resumed_response(request, response, stream)  # type: ignore[no-any-return]

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


_CANCELLED = (
    "the payment-required hook was cancelled before it answered (its event loop shut down, "
    "or its task was cancelled): whether it paid is unknown"
)
# Strong references to the hook tasks running under asyncio, which keeps only weak ones.
_HOOK_TASKS: set[asyncio.Task[None]] = set()


def spawn_unowned(run: Callable[[], Awaitable[None]]) -> None:
    """Starts `run` in the current event loop as a task that no caller's cancel scope
    contains: an asyncio task, or a trio system task."""
    if sniffio.current_async_library() == "trio":
        _trio().lowlevel.spawn_system_task(run)
        return
    task: asyncio.Task[None] = asyncio.get_running_loop().create_task(run())  # type: ignore[arg-type]
    _HOOK_TASKS.add(task)
    task.add_done_callback(_HOOK_TASKS.discard)


async def _closed(response: httpx.Response) -> None:
    """Closes a response that will never reach its caller, even inside a cancelled scope."""
    with anyio.CancelScope(shield=True):
        await response.aclose()


def _trio() -> Any:
    """trio, which is imported already when its event loop runs (it is optional here)."""
    return sys.modules["trio"]


async def _to_completion(hook: Callable[[Any], Any], error: Any) -> Any:
    """Runs a sync hook in a thread of its own and waits for its answer through any
    cancellation (an event loop shutting down cancels every task): once a hook may have
    paid, its answer is recorded, never lost."""
    outcome: list[tuple[bool, Any]] = []
    waker = _Waker()

    def work() -> None:
        try:
            outcome.append((True, hook(error)))
        except BaseException as exc:
            outcome.append((False, exc))
        finally:
            waker()

    workers.run(work)
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


class _Ended:
    """Where a low-balance run's end is told: the seconds of its top-up's window when its
    hook bought (`Shell._low_balance_ended`), for the fleet's store."""

    __slots__ = ("window",)

    def __init__(self) -> None:
        self.window: float | None = None


async def _in_worker(
    hook: Callable[[Any], Any],
    alert: Any,
    book: Any,
    end: Callable[[Retry | None], float | None],
    ended: _Ended,
) -> None:
    """Runs a plain low-balance hook in a worker thread of the hooks' pool (not a daemon:
    it finishes before the interpreter exits), its failure logged there, and waits for it
    (a cancellation stops the wait, not the hook); its run ends with it (`end`, told what
    it bought; `ended` keeps what that said)."""
    waker = _Waker()

    def work() -> None:
        bought = None
        try:
            with running_hook(book):
                bought = low_balance_answer(hook(alert))
        except Exception as exc:
            hook_failed(exc)
        finally:
            ended.window = end(bought)
            waker()

    workers.run(work, credentials=known())  # its failure's record: scrubbed alike
    await waker.event.wait()


class _Waker:
    """Wakes one waiting task from any thread: its own loop's thread sets the event at
    once; another thread (another event loop sharing the coordinator) schedules the set on
    the waiter's loop."""

    __slots__ = ("_soon", "_thread", "event")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self._thread = threading.get_ident()
        if sniffio.current_async_library() == "trio":
            self._soon: Callable[[Callable[[], None]], Any] = (
                _trio().lowlevel.current_trio_token().run_sync_soon
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
