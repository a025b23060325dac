"""The sync transport: a thin I/O shell over `_core` (classification) and `_recovery`.

`_async_transport.py` is this file line for line, with `await`; keep them alike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

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
from ._episodes import LocalCoordinator, Mark, running_hook
from ._exceptions import PaymentOutcomeUnknownError, PaymentRequiredError
from ._holds import PAID_EXTENSION, HoldBook, PaidAttempt, is_top_up_key, unanswered_hold
from ._logs import for_request
from ._models import PaymentRequired, Retry
from ._options import Options
from ._redaction import request_body
from ._replay import credential_view
from ._shell import TOP_UP_HOLDS, Shell, handed_back, is_of, low_balance_answer
from ._streams import Followed
from ._telemetry import hook_failed, top_up_under_way
from ._untrusted import BodyReader

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from .typing import TransportOptions

__all__ = ["PaymentRequiredTransport"]

#: The wall clock, read into the mark of a request that may meet a gate.
_wall = time.time


class _ResumedStream(httpx.SyncByteStream):
    """The bytes already read, then the rest of the original stream; closes the original."""

    def __init__(self, head: list[bytes], rest: Iterator[bytes], original: Any) -> None:
        self._head = head
        self._rest = rest
        self._original = original

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        self._original.close()


class _PaidStream(httpx.SyncByteStream):
    """The body of a response to a paid or topped-up attempt: if it breaks after the
    headers, whether the payment took is unknown, and `failed` says so (holding the scope)."""

    def __init__(self, stream: Any, failed: Callable[[Exception], Exception]) -> None:
        self._stream = stream
        self._failed = failed

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._stream
        except Exception as exc:
            raise self._failed(exc) from exc

    def close(self) -> None:
        self._stream.close()


class PaymentRequiredTransport(Shell, httpx.BaseTransport):
    """An httpx transport that turns payment-gate responses into typed errors, and can
    recover from them.

    A response that is not a payment gate is returned untouched: its body is not read and a
    streamed response stays streamed. A 402 (or a status that a provider's adapter claims
    for its own hosts) is read up to `max_body_bytes`, classified, closed, and raised as the
    `PaymentRequiredError` subclass of its reason, with `.response` still readable.

    With `on_payment_required`, the hook is called with that error first. When it returns
    `http402.Retry(...)`, the request is replayed with backoff until the gate lifts or the
    propagation window closes. Requests that hit an account-level gate of one billing scope
    at the same time share one hook call; a payment challenge is paid per request.

    Args:
        transport: The transport to wrap (default: `httpx.HTTPTransport()`).
        **options: The options below, typed as `http402.typing.TransportOptions`, built
            and checked once; a misspelt one is a `TypeError`.

    Keyword Args:
        registry (AdapterRegistry | None): The adapters to classify with (default:
            `http402.default_registry`).
        max_body_bytes (int): How much of a gate's body to read, counted after decoding.
        max_body_seconds (float | None): How long to read a gate's body (default 5 s;
            `None`: no limit); a body that takes longer is classified from what arrived,
            marked truncated.
        on_payment_required (PaymentRequiredHooks | None): A hook, or a mapping from
            `Reason` to hook, called with the typed error; it returns `Retry(...)` to replay
            the request or `None` to raise.
        retry (RetryPolicy | None): How replays wait and when they stop (default:
            `RetryPolicy()`).
        spend_policy (SpendPolicy | None): Limits that a challenge's price must meet before
            any hook runs.
        max_payments (int): Most paid replays of one request (default 1).
        scope (ScopeFunction | None): Maps a request to its billing scope (default: origin
            and a digest of the credential headers).
        coordinator (Coordinator | None): Shares episodes across processes (default: this
            process only).
        preflight (Preflight | None): Checks made before sending (`http402.Preflight`): fail
            fast, without sending, while the scope is known to be gated (`gate_ttl`) or its
            probed balance is below a minimum (default: off).
        low_balance (LowBalanceWatch | None): Warns when a balance runs low
            (`http402.LowBalanceWatch`): its hook is called once per crossing of a balance or
            time-to-empty threshold, from balance headers and balance probes (default: off).
        hook_timeout (float | None): Seconds a request waits for a hook's answer before it
            raises `TimeoutError` (default: no limit). The hook keeps running, in a thread or
            task of its own; no second hook starts for its scope meanwhile, and its answer,
            when it comes, serves the requests that follow.
        mode (Literal["raise", "annotate"]): `"raise"` (the default) raises the typed error
            for a gate; `"annotate"` returns the gate response instead, with its
            `PaymentRequired` in `response.extensions["http402.payment"]` and
            `x-should-retry: false`, for SDKs that raise their own status errors and retry
            429s (openai, anthropic). Hooks and preflight work the same in both modes:
            annotate mode returns the final gate response where raise mode would raise the
            final typed error.
        peek_streams (bool): Read a 200 `text/event-stream` ahead, until its output begins,
            for a billing error event (default: on).
        sleep (Callable[[float], None] | None): How to wait between replays (default:
            `time.sleep`); tests pass a fake.
        preflight_ttl (float | None): Deprecated: `preflight=http402.Preflight(gate_ttl=...)`.
        on_low_balance (LowBalanceHook | None): Deprecated:
            `low_balance=http402.LowBalanceWatch(hook, ...)`, as are `low_balance_below`
            (`below=`), `low_balance_within` (`within=`) and `balance_headers` (`headers=`).

    Example:
        ```python
        def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
            billing.buy_credits(100)
            return http402.Retry(within=60)

        client = httpx.Client(
            transport=http402.PaymentRequiredTransport(
                on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up}
            )
        )
        ```
    """

    _resumed_stream = _ResumedStream
    _paid_stream = _PaidStream
    _transport: httpx.BaseTransport
    _default_coordinator = LocalCoordinator
    _is_async = False

    def __init__(
        self, transport: httpx.BaseTransport | None = None, **options: Unpack[TransportOptions]
    ) -> None:
        self._set_up(transport, Options.build(options, is_async=False))

    def _default_transport(self) -> Any:
        return self._http.HTTPTransport()

    def _default_sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    @property
    def transport(self) -> httpx.BaseTransport:
        """The wrapped transport."""
        return self._transport

    def forget_gate(self, request: httpx.Request | str) -> bool:
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
            self._keyed()
        scope = self._scope_of(request)
        known = self._knows(scope)
        self._coordinator.forget_gate(scope)
        self._release(scope, TOP_UP_HOLDS)
        self._coordinator.book.settled(scope)
        return known

    def reconcile(self, target: PaymentOutcomeUnknownError | PaymentRequiredError | Any) -> bool:
        """Ends a hold once the application has checked what happened to the payment (its
        wallet, its billing page): the hook may pay for the scope and offer again.

        Args:
            target: The `PaymentOutcomeUnknownError` to reconcile (its holds end), the gate
                of a top-up that did not show (that hold ends), or a request or URL (every
                hold of its billing scope ends).
        """
        if self._fleet_keyed:
            self._keyed()
        scope, keys = self._holds_of(target)
        known: bool = self._coordinator.book.knows(scope, gates=False)
        if keys is None:
            if self._stores_holds:
                self._coordinator.release(scope, None)
            self._coordinator.book.holds.release(scope, None)
        else:
            self._release(scope, keys)
        if keys is None or any(is_top_up_key(key) for key in keys):
            self._coordinator.book.settled(scope)
        return known

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._recovery is None:
            # Nothing to recover: the response is passed on, or looked at where `_passes`
            # would stop it (inlined for a 200: `_ok` is 200 where a 200 is judged by its
            # header list; a 200 needs no look at the registry, as adapters claim only 4xx
            # and 5xx). Every response that meets no gate runs this, so it reads as little
            # as it can: no local it does not use, and a return as soon as it knows.
            sequence = self._book.sequence  # orders a balance header (`_readings`)
            response = self._transport.handle_request(request)
            if response.status_code == self._ok:
                watched = self._watched_on_200
                for _, name, value in response.headers._list:
                    if name in watched and value != self._plain:
                        if value not in self._not_streams:
                            return self._looked_at(request, response, sequence)
                        self._plain = value  # a content type judged before, maybe elsewhere
                return response
            if self._passes(response):
                return response
            return self._looked_at(request, response, sequence)
        # Taken before sending: a generator body is gone once sent, and the mark tells a
        # late gate of a burst from a new one (two numbers, made a `Mark` at a gate).
        book = self._quiet_book
        if book is None or book.gated_scopes > 0:  # one look at an in-process book
            gates = self._checks  # preflight may refuse while a gate is known
            if gates is not None and gates.gated_scopes > 0 and gates.knows_gates():
                return self._recovered(self._recovery.flow(request, self._coordinator), request)
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
            response = self._transport.handle_request(request)
            if response.status_code == self._ok:  # as above
                watched = self._watched_on_200
                for _, name, value in response.headers._list:
                    if name in watched and value != self._plain:
                        if value not in self._not_streams:
                            response = self._looked_at(request, response, sequence)
                            break
                        self._plain = value
            elif not self._passes(response):
                response = self._looked_at(request, response, sequence)
        except PaymentRequiredError as error:
            mark = Mark((sequence, _wall() if wall is None else wall))
            flow = self._recovery.gated(request, error, self._coordinator, mark, stream)
        else:
            if not book.settling_now:
                return response
            # A top-up not yet seen to take, or a hold, in this process: a response that got
            # through may be the sign (`Recovery.succeeded`).
            flow = self._recovery.succeeded(request, response, self._coordinator)
        return self._recovered(flow, request)

    def _recovered(self, flow: Flow, request: httpx.Request) -> httpx.Response:
        """Performs the recovery flow's actions; its answer, or in annotate mode the final
        gate response handed back."""
        if self._fleet_keyed:
            self._keyed()
        steps = Steps(for_request(request, flow))  # its records: scrubbed of its credentials
        received: httpx.Response | None = None
        while steps.running:
            try:
                answer = self._perform(steps.action)
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
            # A response the flow received and then lost to an error (telling the fleet the
            # gate lifted failed, or was interrupted): closed, its connection given back.
            if received is not None:
                received.close()
            raise
        paid: PaidAttempt | None = response.extensions.get(PAID_EXTENSION)
        if paid is not None:
            # Should its body break, whether the payment took is unknown: hold, and say so.
            response.stream = self._paid_stream(
                response.stream, lambda exc: self._paid_failed(paid, exc)
            )
        return response

    def _paid_failed(self, paid: PaidAttempt, exc: Exception) -> Exception:
        error = self._paid_failure(paid, exc)
        self._hold(paid.scope, paid.keys, error.hold.encode())
        return error

    def _held(self, scope: str, keys: tuple[str, ...]) -> str | None:
        """The first hold on `scope` and `keys`. A coordinator that keeps holds (a fleet's
        store) answers first, and this process's copy follows it (`HoldBook.settle`): a hold
        another process reconciled ends here too."""
        local: HoldBook = self._coordinator.book.holds
        if not self._stores_holds:
            return next((r for key in keys if (r := local.held(scope, key)) is not None), None)
        for key in keys:
            answer: str | None = self._coordinator.held(scope, key)
            record, hand = local.settle(scope, key, answer)
            if hand and record is not None:
                self._coordinator.hold(scope, key, record)
            if record is not None:
                return record
        return None

    def _hold(self, scope: str, keys: tuple[str, ...], record: str) -> None:
        """Holds `scope` and `keys`: here first (so nothing can lose it), then through the
        coordinator."""
        for key in keys:
            self._coordinator.book.holds.hold(scope, key, record)
        for key in keys if self._stores_holds else ():
            self._coordinator.hold(scope, key, record)
            self._coordinator.book.holds.hold(scope, key, record, shared=True)

    def _knows(self, scope: str) -> bool:
        """Whether this process, or the store, knows something of `scope` to forget."""
        if self._coordinator.book.knows(scope):
            return True
        try:
            return self._coordinator.gated(scope) is not None
        except Exception:  # a store that cannot answer: nothing known here
            return False

    def _release(self, scope: str, keys: tuple[str, ...]) -> None:
        for key in keys:
            if self._stores_holds:
                self._coordinator.release(scope, key)
            self._coordinator.book.holds.release(scope, key)

    def _perform(self, action: Action) -> Any:
        """Performs one action of the recovery flow, and returns what the flow expects."""
        match action:
            case Send(request=request, sent=sent):
                try:
                    return Sent(self._send(request, sent))
                except PaymentRequiredError as error:
                    return Gated(error)
                except self._not_sent as exc:
                    return NotSent(exc)
            case Sleep(seconds=seconds):
                return self._sleep(seconds)
            case Wait(episode=episode, seen=seen, timeout=timeout):
                book, event = self._coordinator.book, threading.Event()
                if book.subscribe(episode, seen, event.set):
                    try:
                        event.wait(timeout)
                    finally:
                        book.unsubscribe(episode, event.set)
                return None
            case StartHook():
                return self._start(action)
            case KnownGate(scope=scope):
                return self._coordinator.gated(scope)
            case MarkGated(scope=scope, payment=payment, ttl=ttl):
                return self._coordinator.mark_gated(scope, payment, ttl)
            case Lifted(scope=scope):
                return self._coordinator.lifted(scope)
            case Probe():
                return self._probe(action)
            case Reserve(policy=policy, payment=payment):
                return policy.reserve(payment)
            case Notify(crossings=crossings):
                return self._notify(crossings)
            case LowBalanceRunning(scope=scope):
                return self._low_balance_elsewhere(scope)
            case Held(scope=scope, keys=keys):
                return self._held(scope, keys)
            case Hold(scope=scope, keys=keys, record=record):
                return self._hold(scope, keys, record)
            case Release(scope=scope, keys=keys):
                return self._release(scope, keys)
            case _:
                return assert_never(action)

    def _send(self, request: httpx.Request, mark: Mark | None = None) -> httpx.Response:
        """Sends `request`; its response is read only where `_passes` says http402 may act.
        `mark` is the flow's, taken as it is sent (a balance it states is as of then)."""
        sent, wall = (self._book.sequence, None) if mark is None else mark
        response = self._transport.handle_request(request)
        if self._passes(response):
            return response
        return self._looked_at(request, response, sent, wall)

    def _keyed(self) -> None:
        """Keys the billing scope with the fleet's key before it is first computed (see
        `Shell._keyed_with`)."""
        self._keyed_with(self._coordinator.scope_key())

    def _looked_at(
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
            return self._inspect(request, response)
        if self._reads_balances:
            if self._fleet_keyed:
                self._keyed()
            self._observe_balance(request, response, sent, wall)
        if status == 200 and self._options.peek_streams and self._says_event_stream(response):
            return self._peek(request, response)
        return response

    def _start(self, action: StartHook) -> None:
        """Runs the hook in a thread of its own, which no caller owns: whoever waits for it
        (the request that led included) may give up, and the hook still ends its episode.

        The thread is a worker of the process's pool (`_workers.py`), not a daemon: a hook
        that moves money finishes before the interpreter exits.
        """
        call = action.call
        ran = False

        def hook_once() -> Retry | None:
            nonlocal ran
            held = self._held_since_elected(action)
            if held is not None:
                call.episode.held = held
                return None
            ran = True
            return call.done(call.call())

        def run() -> None:
            try:
                if action.fleet:
                    answer = self._coordinator.run_episode(
                        action.scope, action.sent, hook_once, call.window
                    )
                else:
                    answer = hook_once()
            except BaseException as exc:
                call.finish(None, exc)
            else:
                call.finish(answer, None, ran=ran)

        workers.run(run)

    def _held_since_elected(self, action: StartHook) -> str | None:
        """The hold put since this process was elected to run `action`'s top-up, if any
        (`Shell._hold_to_recheck`): the hook is then not called."""
        recheck = self._hold_to_recheck(action)
        if recheck is None:
            return None
        try:
            return self._held(*recheck)
        except Exception as exc:
            return unanswered_hold(exc)

    def _observe_balance(
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
        except BaseException:
            response.close()
            raise

    def _notify(self, crossings: Crossings | None) -> None:
        """Starts the low-balance job of a reading (`_alert`) in a worker of the hooks' pool:
        the response that carried the balance never waits for the hook (an alert, or a
        top-up of seconds). The workers are not daemons: a hook that moves money finishes
        before the interpreter exits."""
        if self._to_alert(crossings):
            assert crossings is not None
            workers.run(lambda: self._alert(crossings), credentials=crossings.secrets)

    def _alert(self, crossings: Crossings) -> None:
        """Calls the low-balance hook with each warning a reading fired; in a fleet, only for
        a crossing this process claimed in the store first, and after telling the store of
        the crossings the reading re-armed. Its failure is logged, and costs no request."""
        assert self._alarm is not None
        hook, coordinator = self._alarm.hook, self._coordinator
        try:
            if self._claims_crossings and crossings.rearmed:
                coordinator.clear_crossings(crossings.scope, crossings.rearmed)
            for alert in crossings.fired:
                if self._claims_crossings and not coordinator.claim_crossing(
                    crossings.scope, crossing_of(alert.trigger, alert.threshold)
                ):
                    continue  # another process's, or the store cannot tell: no second call
                if self._top_up_elsewhere(crossings.scope):
                    continue
                # The scope's episode while it runs: a gate waits for it (`low_balance_run`),
                # and a request the hook sends through this coordinator passes through.
                run = self._low_balance_run(crossings.scope)
                if run is None:
                    continue
                token, bought = None, None
                try:
                    if self._marks_low_balance:  # and in the fleet's store
                        token = coordinator.low_balance_started(
                            crossings.scope, self._low_balance_ttl
                        )
                    with running_hook(coordinator.book):
                        bought = low_balance_answer(hook(alert))
                except Exception as exc:
                    hook_failed(exc)
                finally:
                    window = self._low_balance_ended(run, crossings.scope, alert, bought)
                    if token is not None and window is not None and self._keeps_low_balance:
                        coordinator.low_balance_bought(crossings.scope, token, window)
                    elif token is not None:
                        coordinator.low_balance_ended(crossings.scope, token)
        except Exception as exc:  # a coordinator of the application's own that raised
            hook_failed(exc)

    def _top_up_elsewhere(self, scope: str) -> bool:
        """Whether the fleet's store says a top-up of `scope` is at work in some process
        (`top_up_at_work`); a store, or a coordinator of the application's own, that
        cannot tell says yes (fail closed: no low-balance hook beside a purchase)."""
        if not self._asks_top_ups:
            return False
        try:
            at_work = bool(self._coordinator.top_up_at_work(scope))
        except Exception:
            at_work = True
        if at_work:
            top_up_under_way("in another process of the fleet (or the store cannot tell)")
        return at_work

    def _low_balance_elsewhere(self, scope: str) -> bool | str:
        """Whether the fleet's store marks a low-balance run of `scope` (in any process):
        `True`, `BOUGHT` (a run that bought, its window open), or `False` where the
        coordinator cannot tell."""
        try:
            running = self._coordinator.low_balance_running(scope)
        except Exception:  # a coordinator of the application's own that raised
            return False
        return BOUGHT if running == BOUGHT else bool(running)

    def _probe(self, action: Probe) -> Balance:
        """Sends a balance probe through the inner transport (never through recovery)."""
        probe = find_probe(action.request.url.host, action.probe)
        assert probe is not None  # the flow built the request from this probe
        try:
            response = self._transport.handle_request(action.request)
        except self._http.TransportError as exc:
            raise network_error(probe, exc, ()) from None
        response.request = action.request  # a transport's response has none yet
        reader = BodyReader(response.headers.get("content-encoding"), self._options.max_body_bytes)
        try:
            for chunk in response.stream:  # type: ignore[union-attr]
                if reader.feed(chunk):
                    break
        finally:
            response.close()
        return probe_answer(probe, action.request, response, reader, time.time())

    def _inspect(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        host = request.url.host
        if not self._registry.claims(response.status_code, host, response.headers.get):
            return response
        reader = BodyReader(
            response.headers.get("content-encoding"),
            self._options.max_body_bytes,
            self._options.max_body_seconds,
        )
        chunks: Iterator[bytes] = iter(response.stream)  # type: ignore[arg-type]
        try:
            chunks = reader.read(chunks, self._http.TransportError)
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
            response.close()
            raise
        if payment is None:
            return self._resumed(request, response, reader, chunks)
        return self._gated(request, response, reader, chunks, payment)

    def _peek(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        """Reads a 200 event stream ahead while its events carry no output: a billing error
        event is a gate like a 4xx's; anything else is handed back byte for byte, the rest
        still streaming (and followed, to count a gate after output began)."""
        ahead = self._look_ahead(response)
        chunks: Iterator[bytes] = iter(response.stream)  # type: ignore[arg-type]
        try:
            chunks = ahead.read(chunks, self._http.TransportError)
            payment = self._stream_gate(request, ahead)
        except BaseException:
            response.close()
            raise
        if payment is None:
            follows = self._follows(request, response, ahead)
            rest = chunks if follows is None else Followed(chunks, *follows)
            return self._resumed(request, response, ahead, rest)
        return self._gated(request, response, ahead, chunks, payment)

    def _gated(
        self,
        request: httpx.Request,
        response: httpx.Response,
        reader: BodyReader,
        chunks: Iterator[bytes],
        payment: PaymentRequired,
    ) -> httpx.Response:
        """A gate: counted, then handed back annotated (annotate mode without recovery), or
        raised as its typed error with a readable copy of what was read."""
        metrics.record_gate(payment)
        if self._annotate and self._recovery is None:
            annotated = self._resumed(request, response, reader, chunks)
            annotate(annotated, payment)
            return annotated
        response.close()
        raise self._gate_error(request, response, reader, payment)

    def _resumed(
        self,
        request: httpx.Request,
        response: httpx.Response,
        reader: BodyReader,
        rest: Iterator[bytes],
    ) -> httpx.Response:
        """The response again, with the bytes already read put back in front of the rest."""
        if reader.complete:
            response.close()
            stream = self._http.ByteStream(b"".join(reader.raw_chunks))
        else:
            stream = self._resumed_stream(reader.raw_chunks, rest, response)
        return self._resumed_response(request, response, stream)  # type: ignore[no-any-return]

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> PaymentRequiredTransport:
        self._transport.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._transport.__exit__(exc_type, exc_value, traceback)
