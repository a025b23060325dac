"""The recovery flow: what happens after a gate, decided in pure code.

`Recovery.flow(request, coordinator)` is a generator, like httpx's `Auth.auth_flow`: it
yields the actions of `_actions.py` (send this request, sleep this long, start the hook, wait
for an episode, tell the fleet, probe the balance) and takes their results back. The sync,
async and httpx2 transports only perform them; the order of the questions, which *is* the
recovery algorithm, lives here once. Tests drive it with a fake clock, no threads, no sleeps.

The flow of one request:

1. preflight: a scope known to be gated, or whose probed balance is below the minimum, fails
   fast (`attempts == 0`), unless a hook of its scope is running or its window is open;
2. send; a response that is not a gate is the answer;
3. account-level gate: join the episode of its scope and reason (`EpisodeBook.join`). The
   leader starts the hook where no caller owns it; everyone, the leader included, waits for
   its answer, each for at most `hook_timeout`;
4. `Retry`: replay inside the window, one scout on the schedule (polling the balance probe
   instead where `Preflight(poll=True)` has one), the others once it gets through. No replay
   goes before a `Retry-After` any request of the episode saw; one beyond the window ends it
   at once. The scout's last replay goes just before the window closes, and a request that
   waited the whole window sends one of its own before it gives up;
5. a window that closes after billing took, with the request still gated, is a new
   exhaustion: the request is sent once more, and only a 402 to that send may lead a new
   episode;
6. a payment challenge is per request: reserve in the spend window, pay, replay once per
   payment;
7. the final error is built once, with every field, when the flow ends.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from . import _metrics as metrics
from ._actions import (
    Action,
    Flow,
    HookCall,
    KnownGate,
    Lifted,
    MarkGated,
    Notify,
    NotSent,
    Probe,
    Reserve,
    Send,
    Sent,
    Sleep,
    StartHook,
    Wait,
)
from ._episodes import Episode, EpisodeBook, Mark, Turn
from ._exceptions import PaymentRequiredError, error_class_for, error_for, rebuilt
from ._models import DEFAULT_BALANCE_HEADERS, PaymentRequired, Reason, Retry
from ._policies import Reservation, RetryPolicy, SpendPolicy
from ._replay import REPLAY_EXTENSION, default_scope, replay_of, why_not_replayable
from ._telemetry import report
from ._untrusted import as_amount

__all__ = ["DEFAULT_BALANCE_HEADERS", "PREFLIGHT_EXTENSION", "Recovery", "episode_key"]

if TYPE_CHECKING:
    from ._balance import Balance
    from ._burn import BurnRateEstimator, LowBalance, LowBalanceDetector
    from ._preflight import BalanceCache, Preflight

#: `response.extensions` key on the stand-in response of a request refused by preflight.
PREFLIGHT_EXTENSION = "http402.preflight"


class Recovery:
    """The recovery options of one transport, and the flow they make.

    Args:
        on_payment_required: A hook for every reason, or a mapping from reason to hook.
        allow_async: Whether coroutine functions are accepted (the async transport).
        retry: The replay policy.
        spend_policy: Limits on paying challenges; without one, challenges are not screened.
        max_payments: Most paid replays of one request.
        scope: Maps a request to its billing scope.
        preflight: What to check before sending (`http402.Preflight`), or `None`.
        on_low_balance: Called with an `http402.LowBalance` when a scope's balance (from
            response headers or balance probes) crosses `low_balance_below`, or its estimated
            time to empty crosses `low_balance_within` seconds.
        low_balance_below: A balance threshold for `on_low_balance`, in the provider's unit.
        low_balance_within: A time-to-empty threshold for `on_low_balance`, in seconds.
        balance_headers: Header names to read the balance from.
        hook_timeout: Seconds a caller waits for a hook's answer before `TimeoutError`.
        response_class: The transport's response class (`httpx.Response` or httpx2's), for
            the stand-in response of a request refused by preflight.
    """

    def __init__(
        self,
        *,
        on_payment_required: Any,
        allow_async: bool,
        retry: RetryPolicy | None,
        spend_policy: SpendPolicy | None,
        max_payments: int,
        scope: Callable[[httpx.Request], str] | None,
        preflight: Preflight | None,
        on_low_balance: Any,
        low_balance_below: Decimal | int | str | None,
        balance_headers: tuple[str, ...],
        hook_timeout: float | None = None,
        low_balance_within: float | None = None,
        response_class: Callable[..., Any] = httpx.Response,
    ) -> None:
        self._response_class = response_class
        self._hooks = _hook_table(on_payment_required, allow_async, "on_payment_required")
        self.retry = retry if retry is not None else RetryPolicy()
        self.spend_policy = spend_policy
        if hook_timeout is not None and not hook_timeout > 0:
            raise ValueError(f"hook_timeout must be positive seconds, got {hook_timeout!r}")
        self.hook_timeout = hook_timeout
        if max_payments < 1:
            raise ValueError(f"max_payments must be at least 1, got {max_payments}")
        self.max_payments = max_payments
        self.scope = scope if scope is not None else default_scope
        self.preflight = preflight
        thresholds = low_balance_below is not None or low_balance_within is not None
        if (on_low_balance is None) == thresholds:
            raise ValueError(
                "on_low_balance goes with low_balance_below or low_balance_within (or both)"
            )
        if on_low_balance is not None:
            _check_callable(on_low_balance, allow_async, "on_low_balance")
        self.on_low_balance = on_low_balance
        self._balance_headers = balance_headers
        # Both bounded per scope, the least recently seen forgotten first; loaded only for
        # the transports that watch balances.
        self._burn: BurnRateEstimator | None = None
        self._alarm: LowBalanceDetector | None = None
        if on_low_balance is not None:
            from ._burn import BurnRateEstimator, LowBalanceDetector

            self._burn = BurnRateEstimator()
            self._alarm = LowBalanceDetector(
                time_left_below=low_balance_within, balance_below=low_balance_below
            )

    @property
    def recovers(self) -> bool:
        """`True` when gates may lead to a hook call, or preflight checks are on."""
        return bool(self._hooks) or self.preflight is not None

    @property
    def watches_balance(self) -> bool:
        return self.on_low_balance is not None

    def flow(self, request: httpx.Request, coordinator: Any) -> Flow:
        """The recovery of one request, as actions for a transport to perform."""
        book: EpisodeBook = coordinator.book
        scope = ""
        preflight = self.preflight
        if preflight is not None:
            scope = self.scope(request)
            at_work = bool(self._hooks) and book.busy(scope)
            if preflight.gate_ttl is not None:
                known = yield KnownGate(scope)
                if known is not None and not at_work and not self._may_recover(known, scope, book):
                    raise self._refused_early(request, known, scope)
            if preflight.probes and not at_work:
                balance = yield from self._probed(request, scope, coordinator, preflight)
                minimum = preflight.min_balance
                if balance is not None and minimum is not None:
                    available = balance.available
                    if (available is not None and available < minimum) or balance.usable is False:
                        early = self._refused_early(request, _below(balance, minimum), scope)
                        if (
                            not self._hooks
                            or early.reason not in self._hooks
                            or why_not_replayable(request) is not None
                        ):
                            raise early
                        # A top-up hook: it tops up now, before the request meets the
                        # gate; the request is sent once the balance shows (below).
                        return (yield from self._recover(request, early, scope, coordinator))
        # Judged before sending: once sent, a generator body is gone (or buffered by a mock).
        not_replayable = why_not_replayable(request) if self._hooks else None
        sent: Mark = coordinator.mark()
        result = yield Send(request)
        if isinstance(result, Sent):
            return result.response
        if isinstance(result, NotSent):
            raise result.error
        error: PaymentRequiredError = result.error
        scope = scope or self.scope(request)
        gate_ttl = None if preflight is None else preflight.gate_ttl
        if not error.reason.is_account_level:
            gate_ttl = None
        hook = self._hooks.get(error.reason) if self._hooks else None
        if hook is None:
            if gate_ttl is not None:
                yield MarkGated(scope, error.payment, gate_ttl)
            raise error
        if not_replayable is not None:
            self._report("not_replayed", not_replayable, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=not_replayable)
        if error.reason is Reason.PAYMENT_CHALLENGE:
            return (yield from self._pay(request, error, hook, book, scope, sent))
        return (yield from self._recover(request, error, scope, coordinator, sent))

    def _recover(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        scope: str,
        coordinator: Any,
        sent: Mark | None = None,
    ) -> Flow:
        """An account-level gate: the scope's episode, its hook, and replays in its window.
        `sent` is `None` when preflight found the gate before anything was sent."""
        book: EpisodeBook = coordinator.book
        hook = self._hooks[error.reason] if self._hooks else None
        gate_ttl = None if self.preflight is None else self.preflight.gate_ttl
        if sent is None:
            sent = coordinator.mark()
        tally = _Tally(sends=error.attempts)
        key = episode_key(scope, error.reason)
        for _ in range(_MAX_EPISODES_PER_REQUEST):
            lead, episode = book.join(key, sent)
            if lead:
                if gate_ttl is not None:
                    yield MarkGated(scope, error.payment, gate_ttl)
                self._report("hook_called", "calling the payment-required hook", error, scope)
                call = HookCall(hook, error, episode, book, self.retry.within)
                yield from self._start(StartHook(call, fleet=True, scope=key, sent=sent))
            retry = yield from self._answer(episode, book)
            if retry is None:
                raise rebuilt(error, attempts=tally.sends, waited=tally.slept, note=episode.note)
            outcome = yield from self._replay(
                request, error, retry, episode, coordinator, scope, tally
            )
            if not isinstance(outcome, _Again):
                return outcome
            # Billing took (a replay got through), the window closed, and this request was
            # still gated: send it once more, and only a 402 to a request sent after the
            # window closed may start a new episode (a new exhaustion, a new burst).
            remaining = episode.open_until - book.clock()
            if remaining > 0:  # a sleep may end a hair early: the window must be closed
                yield Sleep(remaining)
                tally.slept += remaining
            sent = coordinator.mark()
            result = yield Send(replay_of(request, retry, tally.sends))
            tally.sends += 1
            if isinstance(result, Sent):
                return result.response
            if isinstance(result, NotSent):
                raise result.error
            error = result.error
            if episode_key(scope, error.reason) != key:
                raise rebuilt(error, attempts=tally.sends, waited=tally.slept)
        raise rebuilt(error, attempts=tally.sends, waited=tally.slept, note="too many episodes")

    def _start(self, action: StartHook) -> Generator[Action, Any, None]:
        """Starts a hook; if even starting it fails, its episode ends with that error, so
        that no scope stays "hook running" for ever."""
        try:
            yield action
        except BaseException as exc:
            action.call.finish(None, exc)
            raise

    def _may_recover(self, known: PaymentRequired, scope: str, book: EpisodeBook) -> bool:
        """Whether a request of a scope known to be gated goes anyway, to meet the gate and
        join (or lead) an episode: when a hook handles the gate and has not just declined it
        here. Another process's hook may be at work on it: the fleet elects one."""
        if not self._hooks or known.reason not in self._hooks:
            return False
        last = book.last(episode_key(scope, known.reason))
        return last is None or last.retry is not None

    def _answer(self, episode: Episode, book: EpisodeBook) -> Generator[Action, Any, Retry | None]:
        """Waits for the episode's hook (at most `hook_timeout`): its answer, or its own
        exception re-raised."""
        deadline = None if self.hook_timeout is None else book.clock() + self.hook_timeout
        while True:
            seen = episode.version
            if episode.finished:
                return episode.result()
            timeout = None if deadline is None else deadline - book.clock()
            if timeout is not None and timeout <= 0:
                raise TimeoutError(
                    f"the payment-required hook did not answer within {self.hook_timeout:g} s "
                    "(it still runs: no second hook starts for this scope until it ends)"
                )
            yield Wait(episode, seen, timeout)

    def _replay(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        retry: Retry,
        episode: Episode,
        coordinator: Any,
        scope: str,
        tally: _Tally,
    ) -> Generator[Action, Any, httpx.Response | _Again]:
        """Replays inside the episode's window: as its scout, or once a replay got through.

        Returns the response, or `_Again` when the window closed after billing took and the
        request is still gated: a new exhaustion, for a new episode."""
        from ._balance import BalanceProbeError
        from ._preflight import credits_show

        book: EpisodeBook = coordinator.book
        me = object()
        waits = self.retry.waits(retry.expected)
        poll = self._poll_request(request, error)
        polls = 0
        started, slept_before = book.clock(), tally.slept

        # Time counts as the larger of the clock and the sleeps asked for, so that an
        # injected sleep (in tests) closes the window after the same waits.
        def now() -> float:
            return max(book.clock(), started + tally.slept - slept_before)

        last = error
        episode.hold_off(now() + (last.payment.retry_after or 0.0))
        not_sent: BaseException | None = None
        replayed = followed = last_chance = False
        try:
            while True:
                turn = book.turn(episode, me)
                if turn is Turn.CLOSED or now() >= episode.open_until:
                    if episode.lifted_at is not None and not_sent is None:
                        return _Again(last)
                    if replayed or last_chance:
                        raise self._gave_up(last, not_sent, tally, scope, "window closed")
                    # A request that waited the whole window for a scout gets one replay of
                    # its own before it gives up (the scout's 200 may just be slow).
                    turn = Turn.GO
                    last_chance = True
                if turn is Turn.WAIT:
                    seen = episode.version
                    if book.turn(episode, me) is Turn.WAIT:
                        yield Wait(episode, seen, max(0.0, episode.open_until - book.clock()))
                    continue
                if self.retry.max_replays is not None and tally.sends > self.retry.max_replays:
                    raise self._gave_up(last, not_sent, tally, scope, "replays ran out")
                # Nobody replays before a Retry-After that any request of the episode saw.
                wait = max(0.0, episode.not_before - now())
                if turn is Turn.SCOUT or followed:
                    wait = max(wait, next(waits))
                if wait > 0:
                    if now() + wait >= episode.open_until:
                        if episode.not_before >= episode.open_until:
                            hint = last.payment.retry_after or 0.0
                            why = f"retry after {hint:g} s, beyond the propagation window"
                            raise self._gave_up(last, not_sent, tally, scope, why)
                        if episode.lifted_at is not None:
                            # Billing took, yet this request is gated again: wait for the
                            # window to close; then it may lead a new episode.
                            wait = max(0.0, episode.open_until - now())
                        elif last_chance:
                            raise self._gave_up(last, not_sent, tally, scope, "window closed")
                        else:
                            # The last replay goes just before the window closes, not never.
                            wait = max(0.0, episode.open_until - now()) * 0.95
                            last_chance = True
                    yield Sleep(wait)
                    tally.slept += wait
                followed = turn is Turn.GO
                if poll is not None and turn is Turn.SCOUT and not last_chance and polls < 3:
                    # Ask the balance probe, not the paid endpoint, whether credits show; a
                    # real replay still goes every fourth step, and whenever the probe
                    # cannot tell.
                    try:
                        balance = yield Probe(
                            poll, self.preflight.probe if self.preflight else None
                        )
                    except BalanceProbeError as exc:
                        self._report("probe_failed", str(exc), last, scope, logging.WARNING)
                        poll = None
                    else:
                        yield from self._observed(scope, balance, coordinator)
                        minimum = self.preflight.min_balance if self.preflight else None
                        if credits_show(balance, last.payment, minimum) is False:
                            polls += 1
                            continue
                polls = 0
                result = yield Send(replay_of(request, retry, tally.sends))
                tally.sends += 1
                replayed = True
                if isinstance(result, Sent):
                    metrics.record_replay(last.payment, outcome="passed")
                    yield from self._lifted(episode, book, scope, last, tally)
                    result.response.extensions[REPLAY_EXTENSION] = {"attempt": tally.sends - 1}
                    self._report(
                        "recovered",
                        "the replay went through",
                        last,
                        scope,
                        attempt=tally.sends,
                        waited=tally.slept,
                    )
                    return result.response
                if isinstance(result, NotSent):
                    not_sent = result.error
                    continue
                again = result.error
                metrics.record_replay(again.payment, outcome="gated")
                not_sent = None
                if again.reason is not error.reason:
                    self._report(
                        "reason_changed",
                        "the gate changed on replay",
                        again,
                        scope,
                        logging.WARNING,
                    )
                    raise rebuilt(again, attempts=tally.sends, waited=tally.slept)
                self._report(
                    "still_gated",
                    "waiting for the billing change to propagate",
                    again,
                    scope,
                    attempt=tally.sends,
                    waited=tally.slept,
                )
                last = again
                episode.hold_off(now() + (again.payment.retry_after or 0.0))
        finally:
            book.release(episode, me)

    def _lifted(
        self,
        episode: Episode,
        book: EpisodeBook,
        scope: str,
        last: PaymentRequiredError,
        tally: _Tally,
    ) -> Generator[Action, Any, None]:
        """A replay got through: the first one lifts the episode and tells the fleet; with
        preflight's known gates, every one does (a stale 402 may have marked it again)."""
        first = book.lift(episode, scope)
        if first:
            propagation = book.clock() - episode.finished_at
            metrics.record_propagation(propagation, last.payment, outcome="passed")
            self._report(
                "lifted",
                f"billing took {propagation:.2f} s to show",
                last,
                scope,
                attempt=tally.sends,
                waited=tally.slept,
                propagation=propagation,
            )
        if first or (self.preflight is not None and self.preflight.gate_ttl is not None):
            yield Lifted(scope)

    def _pay(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        hook: Any,
        book: EpisodeBook,
        scope: str,
        sent: Mark,
    ) -> Flow:
        """Pays a challenge per request: reserve, run the hook, replay with its proof."""
        for payments in range(1, self.max_payments + 1):
            error, reservation = yield from self._reserve(error, scope)
            episode = book.private()
            self._report("hook_called", "calling the payment hook", error, scope)
            call = HookCall(hook, error, episode, book, self.retry.within, reservation)
            yield from self._start(StartHook(call, fleet=False, scope=scope, sent=sent))
            retry = yield from self._answer(episode, book)
            if retry is None:
                raise error
            self._report("paid", "the hook paid; replaying with the proof", error, scope)
            result = yield Send(replay_of(request, retry, payments))
            if isinstance(result, Sent):
                result.response.extensions[REPLAY_EXTENSION] = {"attempt": payments}
                return result.response
            if isinstance(result, NotSent):
                raise result.error
            again = result.error
            if again.reason is Reason.PAYMENT_CHALLENGE and payments < self.max_payments:
                error = again
                continue
            server_reason = again.payment.message or again.payment.code or "no reason given"
            self._report("payment_rejected", server_reason, again, scope, logging.WARNING)
            raise rebuilt(
                again,
                cls=error_class_for(Reason.PAYMENT_CHALLENGE, again.response),
                attempts=payments + 1,
                note=f"after a paid replay; the server said: {server_reason}",
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _reserve(
        self, error: PaymentRequiredError, scope: str
    ) -> Generator[Action, Any, tuple[PaymentRequiredError, Reservation | None]]:
        """The challenge with only the offers the spend policy allows, reserved; raises
        the challenge if none is allowed."""
        if self.spend_policy is None:
            return error, None
        allowed, refusals, reservation = yield Reserve(self.spend_policy, error.payment)
        if reservation is None:
            why = f"the spend policy refused every offer: {refusals}"
            self._report("payment_refused", why, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=why, note=f"not paid: {why}")
        if len(allowed) == len(error.payment.payment_options):
            return error, reservation
        payment = attrs.evolve(error.payment, payment_options=allowed)
        return error_for(payment, request=error.request, response=error.response), reservation

    def _gave_up(
        self,
        last: PaymentRequiredError,
        not_sent: BaseException | None,
        tally: _Tally,
        scope: str,
        why: str,
    ) -> BaseException:
        """What to raise once replays stop: the last typed error, or the connection error
        when the last replay could not even be sent."""
        metrics.record_propagation(tally.slept, last.payment, outcome="expired")
        self._report(
            "gave_up",
            f"the gate did not lift ({why})",
            last,
            scope,
            logging.WARNING,
            attempt=tally.sends,
            waited=tally.slept,
        )
        if not_sent is not None:
            return not_sent
        return rebuilt(last, attempts=tally.sends, waited=tally.slept, note=f"gave up: {why}")

    def _refused_early(
        self, request: httpx.Request, known: PaymentRequired, scope: str
    ) -> PaymentRequiredError:
        response = self._response_class(
            known.status_code, request=request, extensions={PREFLIGHT_EXTENSION: True}
        )
        error = error_for(
            known,
            request=request,
            response=response,
            attempts=0,
            note="known before sending: not sent",
        )
        self._report("preflight", "failing fast while the scope is gated", error, scope)
        return error

    def _report(
        self,
        event: str,
        text: str,
        error: PaymentRequiredError,
        scope: str,
        level: int = logging.INFO,
        *,
        attempt: int | None = None,
        waited: float | None = None,
        propagation: float | None = None,
    ) -> None:
        report(
            event,
            text,
            error.payment,
            scope=scope,
            attempt=error.attempts if attempt is None else attempt,
            waited=error.waited if waited is None else waited,
            propagation=propagation,
            level=level,
        )

    def low_balance(
        self, request: httpx.Request, response: httpx.Response, now: float, provider: str | None
    ) -> tuple[LowBalance, ...]:
        """The alerts a successful response's balance header raises: once per crossing of
        the balance threshold or of the time-to-empty threshold, per scope."""
        amount = None
        for name in self._balance_headers:
            amount = as_amount(response.headers.get(name))
            if amount is not None:
                break
        if amount is None:
            return ()
        return self._alerts(self.scope(request), amount, now, provider, None)

    def _alerts(
        self,
        scope: str,
        amount: Decimal,
        now: float,
        provider: str | None,
        currency: str | None,
    ) -> tuple[LowBalance, ...]:
        metrics.record_balance(
            amount, provider=provider or "unknown", currency=currency, scope=scope
        )
        if self._burn is None or self._alarm is None:
            return ()
        estimate = self._burn.observe(scope, amount, now=now, provider=provider, currency=currency)
        return self._alarm.check(estimate)

    def _observed(
        self, scope: str, balance: Balance | None, coordinator: Any
    ) -> Generator[Action, Any, None]:
        """Feeds a probed balance to the burn-rate estimate, and raises its alerts."""
        if balance is None or balance.available is None:
            return
        alerts = self._alerts(
            scope, balance.available, coordinator.book.clock(), balance.provider, balance.currency
        )
        if alerts:
            yield Notify(alerts)

    def _probed(
        self, request: httpx.Request, scope: str, coordinator: Any, preflight: Preflight
    ) -> Generator[Action, Any, Balance | None]:
        """The scope's balance, probed at most once per `preflight.every` and coalesced: one
        request probes, the others wait for its reading. A failed probe lets requests go."""
        from ._balance import BalanceProbeError, balance_request_for

        probe_request = balance_request_for(request, preflight.probe)
        if probe_request is None:
            return None
        cache: BalanceCache = coordinator.balances
        role, value = cache.join(scope, preflight.every)
        if role == "fresh":
            return value  # type: ignore[return-value]
        episode: Episode = value  # type: ignore[assignment]
        if role == "wait":
            while not episode.finished:
                yield Wait(episode, episode.version, preflight.every)
            return cache.last(scope)
        balance: Balance | None = None
        try:
            balance = yield Probe(probe_request, preflight.probe)
        except BalanceProbeError as exc:
            report("probe_failed", str(exc), None, scope=scope, level=logging.WARNING)
        finally:
            cache.store(scope, episode, balance)
        yield from self._observed(scope, balance, coordinator)
        return balance

    def _poll_request(
        self, request: httpx.Request, error: PaymentRequiredError
    ) -> httpx.Request | None:
        """The balance probe the scout may poll while credits propagate, if any."""
        preflight = self.preflight
        if (
            preflight is None
            or not preflight.polls
            or error.reason is not Reason.INSUFFICIENT_CREDITS
        ):
            return None
        from ._balance import balance_request_for

        return balance_request_for(request, preflight.probe)


def _below(balance: Balance, minimum: Decimal) -> PaymentRequired:
    """The gate a balance below the preflight minimum stands for."""
    unit = f" {balance.currency}" if balance.currency else ""
    return PaymentRequired(
        reason=Reason.INSUFFICIENT_CREDITS,
        provider=balance.provider,
        status_code=402,
        code="preflight_min_balance",
        message=(
            f"the balance is {balance.available}{unit}, below the preflight minimum {minimum}{unit}"
        ),
        credits_available=balance.available,
        currency=balance.currency,
    )


@attrs.frozen
class _Again:
    """The window of a lifted episode closed with the request still gated."""

    error: PaymentRequiredError


@attrs.define
class _Tally:
    """What one request did across every episode it followed: sends, and seconds slept."""

    sends: int = 1
    slept: float = 0.0


def episode_key(scope: str, reason: Reason) -> str:
    """The key of a scope's episodes for a reason: a lapsed subscription and used-up credits
    of one account are two problems, with two hooks, and two episodes."""
    return f"{scope}|{reason.value}"


#: Most episodes one request follows. Each one it follows past the first was lifted (its
#: top-up worked and other requests spent it), so this bounds waiting, not wasted money.
_MAX_EPISODES_PER_REQUEST = 10


def _hook_table(hooks: Any, allow_async: bool, name: str) -> dict[Reason, Any] | None:
    if hooks is None:
        return None
    if isinstance(hooks, Mapping):
        table = {Reason(key): hook for key, hook in hooks.items() if hook is not None}
    else:
        table = dict.fromkeys(Reason, hooks)
    for hook in table.values():
        _check_callable(hook, allow_async, name)
    return table


def _check_callable(hook: Any, allow_async: bool, name: str) -> None:
    if not callable(hook):
        raise TypeError(f"{name} must be callable, got {type(hook).__name__}")
    if not allow_async and is_async_callable(hook):
        raise TypeError(
            f"{name} is a coroutine function, which the sync transport cannot await; use "
            "AsyncPaymentRequiredTransport, or pass a plain function"
        )


def check_coordinator(coordinator: Any, *, is_async: bool) -> None:
    """Refuses at once a coordinator of the other kind (a sync one in an async transport),
    which would otherwise fail only after a hook had paid."""
    run_episode = getattr(coordinator, "run_episode", None)
    if run_episode is None or not hasattr(coordinator, "book"):
        raise TypeError(f"not a coordinator: {type(coordinator).__name__}")
    if is_async_callable(run_episode) != is_async:
        wanted = "AsyncLocalCoordinator" if is_async else "LocalCoordinator"
        raise TypeError(
            f"{type(coordinator).__name__} is for the {'sync' if is_async else 'async'} "
            f"transport; this one needs an {wanted} or its fleet twin"
        )


def is_async_callable(hook: Any) -> bool:
    """`True` for a coroutine function, or an object whose `__call__` is one."""
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        getattr(hook, "__call__", None)  # noqa: B004 - an object's async __call__ counts
    )
