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

Money under ambiguity (`_holds.py` has the model): before a hook may pay, the scope's hold
is asked for (`Held`); a paid or topped-up attempt whose answer leaves the outcome open (a
timeout, a 5xx, a reset, a pending settlement, a cancellation) puts one (`Hold`) and raises
`PaymentOutcomeUnknownError`; a window that closes with the gate never lifting puts one too,
so a top-up that never shows is not bought again; a replay, or a request asking for what
met the gate (`need_of`), that gets through ends a top-up's hold (`Release`). Every response to a
paid attempt, and a topped-up attempt's success, says `x-should-retry: false`, so an SDK
never sends it again. A pay hook that raises may have paid: an unknown outcome too. An
SDK's retries of one call (`_replay.call_of`) get what the call's purchase came to
(`CallAnswer`), however long they take.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Generator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from . import _metrics as metrics
from ._actions import (
    BOUGHT,
    Action,
    Flow,
    Gated,
    Held,
    Hold,
    HookCall,
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
    Wait,
)
from ._amounts import why_unpayable
from ._balance import Balance, BalanceProbeError, balance_request_for
from ._episodes import CallAnswer, Episode, EpisodeBook, Mark, Turn, inside_hook
from ._exceptions import (
    FAMILY,
    PaymentOutcomeUnknownError,
    PaymentRequiredError,
    error_for,
    rebuilt,
)
from ._holds import (
    PAID_EXTENSION,
    TOP_UP_REASONS,
    PaidAttempt,
    PaymentHold,
    holding_reasons,
    need_of,
    offer_keys,
    proof_digest,
    settlement_unknown,
    top_up_holds,
    top_up_key,
    unanswered_hold,
    with_payment_identifier,
)
from ._models import PaymentOption, PaymentRequired, Reason, Retry
from ._policies import Reservation
from ._preflight import credits_show, kept_gate, known_scope_wide, stand_in_body, stated_by
from ._redaction import redactor_of
from ._replay import (
    PROCESS_KEY,
    REPLAY_EXTENSION,
    Call,
    call_of,
    replay_of,
    why_not_replayable,
)
from ._telemetry import report

__all__ = ["PREFLIGHT_EXTENSION", "Recovery", "Stance", "episode_key"]

if TYPE_CHECKING:
    from ._balance import Balance
    from ._burn import LowBalanceAlarm
    from ._episodes import BalanceCache
    from ._options import Options
    from ._preflight import Preflight

#: `response.extensions` key on the stand-in response of a request refused by preflight.
PREFLIGHT_EXTENSION = "http402.preflight"


class Stance(enum.Enum):
    """What one request does next in an episode's propagation window."""

    #: Another request is the scout: wait until a replay gets through or the window closes.
    WAITING = "waiting"
    #: This request is the scout: replay on the schedule.
    SCOUTING = "scouting"
    #: A replay of the episode got through (the episode is lifted): replay now.
    FOLLOWING = "following"
    #: It followed, and was gated again: billing took, yet this request is still gated. It
    #: backs off on the schedule; once the window closes it may lead a new episode.
    LIFTED_BUT_GATED = "lifted but still gated"
    #: Its last replay of the window: the window closed before it replayed (it waited for a
    #: scout all along), or the next wait would pass the window's end. After it, a wait that
    #: passes the end gives up.
    LAST_CHANCE = "last chance"


#: The stances that wait on the replay schedule (the others go as soon as `Retry-After` allows).
_ON_SCHEDULE = (Stance.SCOUTING, Stance.LIFTED_BUT_GATED)
#: The stances of a replay sent after the episode was lifted.
_AFTER_LIFT = (Stance.FOLLOWING, Stance.LIFTED_BUT_GATED)


class Recovery:
    """The recovery algorithm of one transport, over its options.

    Args:
        options: The transport's options (`hooks`, `retry`, `preflight`, ...).
        alarm: The low-balance alarm that probed balances feed, if the transport has one.
        response_class: The transport's response class (`httpx.Response` or httpx2's), for
            the stand-in response of a request refused by preflight.
        family: The exception classes of the transport's library, by reason.
        outcome_error: The library's `PaymentOutcomeUnknownError` (httpx's, or httpx2's twin).
    """

    def __init__(
        self,
        options: Options,
        alarm: LowBalanceAlarm | None = None,
        *,
        response_class: Callable[..., Any] = httpx.Response,
        family: Mapping[Reason, type[PaymentRequiredError]] = FAMILY,
        outcome_error: type[PaymentOutcomeUnknownError] = PaymentOutcomeUnknownError,
    ) -> None:
        self.options = options
        self._hooks: Mapping[Reason, Any] = options.hooks or {}
        self.retry = options.retry
        self.preflight = options.preflight
        self.scope = options.scope
        self._alarm = alarm
        self._response_class = response_class
        self._family = family
        self._outcome_error = outcome_error

    def flow(self, request: httpx.Request, coordinator: Any) -> Flow:
        """The recovery of one request, as actions for a transport to perform."""
        scope = ""
        if self.preflight is not None and not inside_hook(coordinator.book):
            scope = self.scope(request)
            early = yield from self._checked(request, scope, coordinator, self.preflight)
            if early is not None:
                # A top-up hook: it tops up now, before the request meets the gate; the
                # request is sent once the balance shows, or at once when that top-up is
                # held (it did not show, or its outcome is unknown): the server decides.
                # The gate is as of the reading refused on: a top-up finished since (here,
                # or elsewhere in the fleet) answers it as a late gate of its burst.
                gate, as_of = early
                topped_up = yield from self._recover(
                    request, gate, scope, coordinator, as_of, before_sending=True
                )
                if topped_up is not None:
                    return topped_up
        # Judged after a gate, on the stream it was sent with: once sent, a generator body is
        # gone, and a mock transport buffers it into a new stream.
        stream = request.stream
        sent: Mark = coordinator.mark()
        result = yield Send(request, sent)
        if isinstance(result, Sent):
            if coordinator.book.settling:
                yield from self._shown(request, scope, coordinator)
            return result.response
        if isinstance(result, NotSent):
            raise result.error
        return (yield from self.gated(request, result.error, coordinator, sent, stream, scope))

    def succeeded(self, request: httpx.Request, response: httpx.Response, coordinator: Any) -> Flow:
        """A request that got through, while a top-up of this process has not shown yet to
        have taken or a hold is known here: it may be the sign (see `_shown`)."""
        yield from self._shown(request, "", coordinator)
        return response

    def gated(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        coordinator: Any,
        sent: Mark,
        stream: object,
        scope: str = "",
    ) -> Flow:
        """The recovery of a request that met a gate: `sent` was taken as it was sent, and
        `stream` is the body stream it was sent with.

        A request sent from inside a running hook of this coordinator (the hook looks the
        account up, or buys, through the client it tops up) passes through recovery: its
        gate raises at once, with no hook, no wait and no hold asked, since the episode,
        hold or lease it would wait on may be the very hook that sent it (case 112)."""
        if inside_hook(coordinator.book):
            self._report("not_replayed", _FROM_A_HOOK, error, scope or "", logging.DEBUG)
            raise error
        scope = scope or self.scope(request)
        self._gate_seen(scope, error.payment, coordinator, sent)
        need = self._need(error.reason, scope, coordinator.book, sent, request)
        hook = self._hooks.get(need)
        if hook is None:
            gate_ttl = None if self.preflight is None else self.preflight.gate_ttl
            if gate_ttl is not None and known_scope_wide(error.reason):
                yield MarkGated(
                    scope, kept_gate(error.payment, redactor_of(error.request)), gate_ttl
                )
            if error.reason is Reason.PAYMENT_CHALLENGE and self._hooks:
                raise rebuilt(error, not_replayed=_NO_PAY_HOOK)
            raise error
        not_replayable = why_not_replayable(stream)
        if not_replayable is not None:
            self._report("not_replayed", not_replayable, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=not_replayable)
        later = error.payment.retry_after
        if later is not None and later >= self.retry.within:
            # No replay could go inside the window: paying now would buy nothing.
            why = (
                f"retry after {later:g} s, beyond the propagation window "
                f"({self.retry.within:g} s): the hook was not called"
            )
            self._report("not_replayed", why, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=why)
        if error.reason is Reason.PAYMENT_CHALLENGE:
            return (yield from self._pay(request, error, hook, coordinator.book, scope, sent))
        response = yield from self._recover(request, error, scope, coordinator, sent, need=need)
        assert response is not None  # only a gate found before sending is sent instead
        return response

    def _checked(
        self, request: httpx.Request, scope: str, coordinator: Any, preflight: Preflight
    ) -> Generator[Action, Any, tuple[PaymentRequiredError, Mark] | None]:
        """Preflight: raises the typed error of a request refused before sending; returns the
        gate to top up from before sending (a balance below the minimum, with a hook for it)
        and the mark it is dated by (the reading's request's, as it was sent), or `None` to
        send."""
        book: EpisodeBook = coordinator.book
        at_work = bool(self._hooks) and book.busy(scope)
        if preflight.gate_ttl is not None:
            known = yield KnownGate(scope)
            if known is not None and not at_work and not self._may_recover(known, scope, book):
                raise self._refused_early(request, known, scope)
        if not preflight.probes or at_work:
            return None
        balance = yield from self._probed(request, scope, coordinator, preflight)
        minimum = preflight.min_balance
        if balance is None or minimum is None:
            return None
        available = balance.available
        if not ((available is not None and available < minimum) or balance.usable is False):
            return None
        early = self._refused_early(request, _below(balance, minimum), scope)
        if early.reason not in self._hooks or why_not_replayable(request.stream) is not None:
            raise early
        cache: BalanceCache = coordinator.balances
        return early, cache.sent(scope, balance) or coordinator.mark()

    def _recover(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        scope: str,
        coordinator: Any,
        sent: Mark,
        *,
        before_sending: bool = False,
        need: Reason | None = None,
    ) -> Generator[Action, Any, httpx.Response | None]:
        """An account-level gate met by a request sent at `sent`: the scope's episode, its
        hook, and replays in its window.

        `before_sending` when preflight found the gate before anything was sent (a balance
        below its minimum, read by a request sent at `sent`). Then, while the top-up it asks
        for is held, the answer is `None`: the request is to be sent, not refused on a
        balance that no top-up may raise; a gate it meets raises the hold.

        `need` is the reason whose episode the gate joins (`_need`: a wordless 402 follows
        an open episode of its scope); by default the gate's own."""
        book: EpisodeBook = coordinator.book
        need = need or error.reason
        hook = self._hooks[need]
        gate_ttl = None if self.preflight is None else self.preflight.gate_ttl
        tally = _Tally(sends=error.attempts)
        key = episode_key(scope, need)
        # Put under the reason it buys for; asked under every reason whose hold stops it
        # (`top_up_holds`: a wordless 402 is the same 402 unexplained).
        holds, held_by = (top_up_key(need),), top_up_holds(need)
        sdk_call = call_of(request, scope)
        retry_of = sdk_call.key if sdk_call is not None and sdk_call.retry else None
        for _ in range(_MAX_EPISODES_PER_REQUEST):
            run = book.low_balance_run(scope, sent) if need in _LOW_BALANCE_NEEDS else None
            elsewhere = (
                run is None
                and need in _LOW_BALANCE_NEEDS
                and callable(getattr(coordinator, "low_balance_running", None))
                and (yield LowBalanceRunning(scope))
            )
            if run is not None or elsewhere:  # a top-up before the 402 is under way
                after = yield from self._after_low_balance(
                    request, error, run, coordinator, scope, tally
                )
                if not isinstance(after, tuple):
                    return after
                error, sent = after
                if not _same_need(error.reason, need):
                    raise rebuilt(error, attempts=tally.sends, waited=tally.slept)
            lead, episode = book.join(key, sent, retry_of)
            book.needed(episode, self._need_of(request))  # its 200 would show the top-up took
            if episode.stated is None:  # a balance shows the top-up only above what it said
                episode.stated = stated_by(error.payment)
            # An episode whose hook had already declined (answered None) when this request
            # came: the hook is not asked again yet, and the error says so.
            declined = (
                not lead and episode.finished and episode.retry is None and episode.error is None
            )
            declined_ago = book.clock() - episode.finished_at
            if lead:
                episode.held = yield from self._held(scope, held_by)
                unshown = self._unshown(scope, need, book, episode)
                if episode.held is None and unshown is not None:
                    # The last top-up's window closed and nothing showed it took (no replay,
                    # no request asking for what met it got through): buying again each window
                    # would pay for one need over and over. Until something changes, the
                    # scope fails closed.
                    bought_for, previous = unshown
                    hold = self._not_shown_hold(request, error, previous, bought_for)
                    yield from self._put(scope, (top_up_key(bought_for),), hold, book)
                    episode.held = hold.encode()
                if episode.held is not None:
                    # A top-up of this scope has an unknown outcome, or did not show: no
                    # hook. The episode ends declined, so its joiners (and, for the failure
                    # hold, the gates just after) raise the hold too.
                    book.finish(episode, None, None, self.retry.within)
                else:
                    if gate_ttl is not None and known_scope_wide(error.reason):
                        yield MarkGated(
                            scope, kept_gate(error.payment, redactor_of(error.request)), gate_ttl
                        )
                    self._report("hook_called", "calling the payment-required hook", error, scope)
                    cut = self._hold_of(
                        "unknown_outcome",
                        request,
                        error,
                        "the top-up hook was cut short before it answered (its event loop shut "
                        "down, or its task was cancelled): whether it bought is unknown",
                        Retry(),
                        reason=need,
                    )
                    call = HookCall(
                        hook,
                        error,
                        episode,
                        book,
                        self.retry.within,
                        held_if_cut=(scope, holds, cut.encode()),
                        held_by=held_by,
                    )
                    yield from self._start(StartHook(call, fleet=True, scope=key, sent=sent))
            try:
                retry = yield from self._answer(episode, book)
            except Exception as exc:
                if exc is episode.error and episode.held is not None:
                    # The hook was cut short (`HookCall.cut_short`): its top-up is held.
                    raise self._held_error(request, error, scope, held_by, episode.held) from exc
                if exc is episode.error and sdk_call is not None:
                    book.answered(sdk_call.key, CallAnswer(episode=episode))
                raise
            if retry is None:
                if episode.held is not None and before_sending:
                    self._report("held", "the top-up is held: sending", error, scope)
                    return None
                if episode.held is not None:
                    raise self._held_error(request, error, scope, held_by, episode.held)
                if sdk_call is not None:
                    book.answered(sdk_call.key, CallAnswer(episode=episode))
                why = None
                if declined and episode.note is None:
                    why = (
                        f"the hook declined this scope's gate {max(0.0, declined_ago):.1f} s ago "
                        "and is not asked again so soon"
                    )
                raise rebuilt(
                    error,
                    attempts=tally.sends,
                    waited=tally.slept,
                    not_replayed=why,
                    note=episode.note,
                )
            outcome = yield from self._replay(
                request, error, retry, episode, coordinator, scope, tally, need
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
            hold = self._hold_of("unknown_outcome", request, error, "", retry)
            replay = replay_of(request, retry, tally.sends + 1)
            result = yield from self._attempt(replay, scope, holds, hold, book)
            tally.sends += 1
            if isinstance(result, Sent):
                return result.response
            if isinstance(result, NotSent):
                raise result.error
            error = result.error
            if error.reason is not need:  # a new exhaustion leads only by its own reason
                raise rebuilt(error, attempts=tally.sends, waited=tally.slept)
        raise rebuilt(error, attempts=tally.sends, waited=tally.slept, note="too many episodes")

    def _after_low_balance(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        run: Episode | None,
        coordinator: Any,
        scope: str,
        tally: _Tally,
    ) -> Generator[Action, Any, httpx.Response | tuple[PaymentRequiredError, Mark]]:
        """A gate of a scope whose low-balance hook runs (`run`, in this process, or ended
        after the request was sent; `None`: in another process of the fleet, whose store
        marks it): the top-up before the 402 is the scope's episode. The request waits for
        it (at most `hook_timeout`; asking the store every `_LOW_BALANCE_POLL` seconds for
        another process's), then is sent once more: the response if it gets through,
        else the gate it meets and the mark it was sent at, for an episode of its own
        (the low-balance hook says nothing of what it bought: a hook that only warns must
        not keep the gate's own top-up waiting a window). Case 139: the gate's hook bought
        while the low-balance hook's purchase was under way."""
        book: EpisodeBook = coordinator.book
        if run is None:
            self._report(
                "low_balance_wait", "waiting for the fleet's low-balance top-up", error, scope
            )
            hook_timeout, waited, bought = self.options.hook_timeout, 0.0, False
            while running := (yield LowBalanceRunning(scope)):
                # A run that ended and bought (its hook answered `Retry`), its window open.
                bought = bought or running == BOUGHT
                if hook_timeout is not None and waited >= hook_timeout:
                    raise TimeoutError(
                        f"the low-balance hook's run for this scope in another process did "
                        f"not end within {hook_timeout:g} s (the gate's hook is not called "
                        "beside it)"
                    )
                yield Sleep(_LOW_BALANCE_POLL)
                waited += _LOW_BALANCE_POLL
                tally.slept += _LOW_BALANCE_POLL
        elif not run.finished:
            self._report("low_balance_wait", "waiting for the low-balance top-up", error, scope)
            hook_timeout = self.options.hook_timeout
            deadline = None if hook_timeout is None else book.clock() + hook_timeout
            while not run.finished:
                timeout = None if deadline is None else deadline - book.clock()
                if timeout is not None and timeout <= 0:
                    raise TimeoutError(
                        f"the low-balance hook's run for this scope did not end within "
                        f"{hook_timeout:g} s (it still runs: the gate's hook is not called "
                        "beside it)"
                    )
                yield Wait(run, run.version, timeout)
        sent = coordinator.mark()
        result = yield Send(replay_of(request, Retry(), tally.sends + 1), sent)
        tally.sends += 1
        if isinstance(result, Sent):
            result.response.extensions[REPLAY_EXTENSION] = {"attempt": tally.sends}
            self._report(
                "recovered",
                "sent again after the low-balance top-up",
                error,
                scope,
                attempt=tally.sends,
            )
            return result.response
        if isinstance(result, NotSent):
            raise result.error
        if run is None and bought and _same_need(result.error.reason, error.reason):
            # Another process's low-balance top-up bought, and its window closed with the
            # gate still here: nothing showed it took. Held through the coordinator, as a
            # request that gives up at its window's end holds a gate's top-up (`_not_shown`):
            # no process of the fleet buys again for the same need.
            hold = self._hold_of(
                "not_shown",
                request,
                result.error,
                "the fleet's low-balance top-up did not show within its window",
                Retry(),
                reason=Reason.INSUFFICIENT_CREDITS,
            )
            keys = (top_up_key(Reason.INSUFFICIENT_CREDITS),)
            yield from self._put(scope, keys, hold, book)
            raise self._held_error(request, result.error, scope, keys, hold.encode())
        return result.error, sent

    def _unshown(
        self, scope: str, need: Reason, book: EpisodeBook, episode: Episode
    ) -> tuple[Reason, Episode] | None:
        """The reason and episode of the last top-up of `scope` that a gate of `need` must
        not buy again because nothing showed it took (its window closed with no replay and
        no request asking for what met it getting through): its own reason's, else, as
        `top_up_holds` says, a wordless gate's or (for a wordless gate) any reason's."""
        for reason in holding_reasons(need):
            previous = book.unlifted(episode_key(scope, reason))
            if previous is not None and previous is not episode:
                return reason, previous
        return None

    def _need(
        self,
        reason: Reason,
        scope: str,
        book: EpisodeBook,
        sent: Mark,
        request: httpx.Request | None = None,
    ) -> Reason:
        """The reason whose episode a gate of `reason` joins: its own, but for a 402 with
        nothing usable in it (`UNKNOWN`), which is the same 402 unexplained, not another
        problem of the account: while an episode of its scope for a reason this transport
        has a hook for covers it (its hook runs, its window is open, it finished after the
        request was sent, or it failed within the failure hold), it follows that episode
        (its replays, its answer) and never leads an `unknown` one beside it. The other way
        round too: a gate that names its reason, met while a wordless gate's episode covers
        it (its hook may be buying what this gate needs), follows that episode, the latest
        started of the two, and never leads its own beside it (the recovery simulation's
        wordless worlds: two top-ups of one scope at once)."""
        if reason.is_account_level or reason is Reason.UNKNOWN:
            failed = self._call_failed(request, scope, book)
            if failed is not None and failed in holding_reasons(reason) and failed in self._hooks:
                return failed  # an SDK's retry of a call: the call's failed episode
        if reason is Reason.UNKNOWN:
            others = [r for r in TOP_UP_REASONS if r in self._hooks]
        elif reason.is_account_level and Reason.UNKNOWN in self._hooks:
            others = [reason, Reason.UNKNOWN]
        else:
            return reason
        followed = book.covering(scope, sent, others)
        return reason if followed is None else followed

    def _call_failed(
        self, request: httpx.Request | None, scope: str, book: EpisodeBook
    ) -> Reason | None:
        """For an SDK's retry of a call whose top-up failed (its hook raised or declined),
        the reason of that episode: the retry joins it (`EpisodeBook.join`) whatever reason
        its own gate states, when one 402 may be the other unexplained (`holding_reasons`:
        a call whose first attempt met the credits gate and whose retry met the edge's
        wordless 402 bought twice)."""
        call = None if request is None else call_of(request, scope)
        if call is None or not call.retry:
            return None
        earlier = book.recall(call.key)
        failed = None if earlier is None else earlier.episode
        if failed is None or failed.scope is None:
            return None
        of, _, reason = failed.scope.rpartition("|")
        return Reason(reason) if of == scope else None

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
        if known.reason not in self._hooks:
            return False
        last = book.last(episode_key(scope, known.reason))
        return last is None or last.retry is not None

    def _answer(self, episode: Episode, book: EpisodeBook) -> Generator[Action, Any, Retry | None]:
        """Waits for the episode's hook (at most `hook_timeout`): its answer, or its own
        exception re-raised."""
        hook_timeout = self.options.hook_timeout
        deadline = None if hook_timeout is None else book.clock() + hook_timeout
        while True:
            seen = episode.version
            if episode.finished:
                return episode.result()
            timeout = None if deadline is None else deadline - book.clock()
            if timeout is not None and timeout <= 0:
                raise TimeoutError(
                    f"the payment-required hook did not answer within {hook_timeout:g} s "
                    "(it still runs: no second hook starts for this scope until it ends; an "
                    "async hook ends with its event loop, and is then held as unknown)"
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
        need: Reason,
    ) -> Generator[Action, Any, httpx.Response | _Again]:
        """Replays inside the episode's window, in the `Stance` its turn gives it.

        Returns the response, or `_Again` when the window closed after billing took and the
        request is still gated: a new exhaustion, for a new episode."""
        book: EpisodeBook = coordinator.book
        window = _Window(episode, book, tally)
        me = object()
        waits = self.retry.waits(retry.expected)
        poll = self._poll_request(request, error)
        polls = 0
        last = error
        self._hold_off(episode, book, window.now(), last.payment.retry_after)
        not_sent: BaseException | None = None
        # The stance of this request's last replay in this window (`None`: not replayed yet).
        previous: Stance | None = None
        try:
            while True:
                turn = book.turn(episode, me)
                if turn is Turn.CLOSED or window.closed():
                    if episode.lifted_at is not None and not_sent is None:
                        return _Again(last)
                    if previous is not None:
                        yield from self._not_shown(request, error, episode, book, scope, need)
                        raise self._gave_up(last, not_sent, tally, scope, _WINDOW_CLOSED)
                    # A request that waited the whole window for a scout gets one replay of
                    # its own before it gives up (the scout's 200 may just be slow).
                    stance = Stance.LAST_CHANCE
                elif turn is Turn.WAIT:
                    seen = episode.version
                    if book.turn(episode, me) is Turn.WAIT:
                        yield Wait(episode, seen, max(0.0, episode.open_until - book.clock()))
                    continue
                elif turn is Turn.GO:
                    stance = (
                        Stance.LIFTED_BUT_GATED if previous in _AFTER_LIFT else Stance.FOLLOWING
                    )
                else:
                    stance = Stance.SCOUTING
                max_replays = self.retry.max_replays
                if max_replays is not None and tally.sends > max_replays:
                    raise self._gave_up(last, not_sent, tally, scope, "replays ran out")
                # Nobody replays before a Retry-After that any request of the episode saw.
                wait = max(0.0, episode.not_before - window.now())
                if stance in _ON_SCHEDULE:
                    wait = max(wait, next(waits))
                if wait > 0:
                    if window.now() + wait >= episode.open_until:
                        final = Stance.LAST_CHANCE in (stance, previous)
                        if final and episode.lifted_at is None:  # it gives up (`_at_the_end`)
                            yield from self._not_shown(request, error, episode, book, scope, need)
                        wait, last_chance = self._at_the_end(
                            last, not_sent, tally, scope, window, final
                        )
                        if last_chance:
                            stance = Stance.LAST_CHANCE
                    yield Sleep(wait)
                    tally.slept += wait
                if (
                    poll is not None
                    and stance is Stance.SCOUTING
                    and previous is not Stance.LAST_CHANCE
                    and polls < 3
                ):
                    # Ask the balance probe, not the paid endpoint, whether credits show; a
                    # real replay still goes every fourth step, and whenever the probe
                    # cannot tell.
                    shown = yield from self._credits_shown(poll, last, scope, coordinator)
                    if shown is None:
                        poll = None
                    elif not shown:
                        polls += 1
                        continue
                polls = 0
                hold = self._hold_of("unknown_outcome", request, last, "", retry)
                replay = replay_of(request, retry, tally.sends + 1)
                result = yield from self._attempt(replay, scope, (top_up_key(need),), hold, book)
                tally.sends += 1
                if previous is not Stance.LAST_CHANCE or stance is not Stance.SCOUTING:
                    previous = stance
                if isinstance(result, Sent):
                    metrics.record_replay(last.payment, outcome="passed")
                    if not self._below_minimum(scope, coordinator, episode.finished_sequence):
                        yield from self._lifted(episode, coordinator, scope, last, tally, need)
                    result.response.extensions[REPLAY_EXTENSION] = {"attempt": tally.sends}
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
                if not _same_need(again.reason, need):
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
                self._hold_off(episode, book, window.now(), again.payment.retry_after)
        finally:
            book.release(episode, me)

    def _hold_off(
        self, episode: Episode, book: EpisodeBook, now: float, retry_after: float | None
    ) -> None:
        """No replay of the episode before the gate's `Retry-After`. A window still open
        that would close before then is stretched so that one replay still goes after it, up
        to the retry policy's `within` from the hook's answer: what the hook bought is never
        left without a replay because its `Retry(within=...)`, unknown until it answered,
        was shorter than the server's wait. Only a `Retry-After` stretches: a replay past the
        window's end (the last chance, a stale 402) leaves a closed window closed, so that a
        new exhaustion after a lift buys again at once."""
        if not retry_after:
            return
        episode.hold_off(now + retry_after)
        if now >= episode.open_until:
            return
        limit = episode.finished_at + self.retry.within
        if episode.open_until <= episode.not_before < limit:
            book.stretch(episode, min(episode.not_before + self.retry.max_wait, limit))

    def _not_shown(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        episode: Episode,
        book: EpisodeBook,
        scope: str,
        need: Reason,
    ) -> Generator[Action, Any, None]:
        """A request gives up at the end of `episode`'s window and nothing showed that its
        top-up took: the scope's top-ups are held now, through the coordinator, so that no
        process of the fleet buys again for the same need (the leader's own next gate would
        find it out, but another process would not)."""
        if book.unlifted(episode_key(scope, need)) is not episode:
            return
        hold = self._not_shown_hold(request, error, episode, need)
        yield from self._put(scope, (top_up_key(need),), hold, book)

    def _not_shown_hold(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        episode: Episode,
        need: Reason,
    ) -> PaymentHold:
        """The hold of a top-up whose window closed with nothing showing it took."""
        within = episode.open_until - episode.finished_at
        return self._hold_of(
            "not_shown",
            request,
            error,
            f"the top-up did not show within its {within:g} s window",
            episode.retry or Retry(),
            reason=need,
        )

    def _at_the_end(
        self,
        last: PaymentRequiredError,
        not_sent: BaseException | None,
        tally: _Tally,
        scope: str,
        window: _Window,
        final: bool,
    ) -> tuple[float, bool]:
        """The wait before a replay whose wait would pass the window's end, and whether that
        replay is the last chance: until the end, when billing took and this request is still
        gated (then a new episode); just before it, for the last chance; none at all (raises)
        after the last chance, or when a `Retry-After` asks for a time beyond the window."""
        episode = window.episode
        if episode.not_before >= episode.open_until:
            hint = last.payment.retry_after or 0.0
            why = f"retry after {hint:g} s, beyond the propagation window"
            raise self._gave_up(last, not_sent, tally, scope, why)
        remaining = max(0.0, episode.open_until - window.now())
        if episode.lifted_at is not None:
            return remaining, False
        if final:
            raise self._gave_up(last, not_sent, tally, scope, _WINDOW_CLOSED)
        # The last replay goes just before the window closes, not never.
        return remaining * 0.95, True

    def _credits_shown(
        self, poll: httpx.Request, last: PaymentRequiredError, scope: str, coordinator: Any
    ) -> Generator[Action, Any, bool | None]:
        """Whether the balance probe says the credits show (`True` also when it cannot
        tell); `None` when the probe failed and polling stops."""
        sent = coordinator.book.sequence
        try:
            balance = yield Probe(poll, self.preflight.probe if self.preflight else None)
        except BalanceProbeError as exc:
            self._report("probe_failed", str(exc), last, scope, logging.WARNING)
            return None
        if balance is not None and coordinator.balances.seen(scope, balance, sent):
            yield from self._observed(scope, balance, coordinator)
        # Sent after the hook answered, its answer says whether the top-up shows, whatever
        # other readings it overlaps.
        minimum = self.preflight.min_balance if self.preflight else None
        return credits_show(balance, last.payment, minimum) is not False

    def _lifted(
        self,
        episode: Episode,
        coordinator: Any,
        scope: str,
        last: PaymentRequiredError,
        tally: _Tally,
        need: Reason,
    ) -> Generator[Action, Any, None]:
        """A replay got through: the first one lifts the episode and tells the fleet; with
        preflight's known gates, every one does (a stale 402 may have marked it again). The
        holds that stopped a top-up for `need` end: the credits show."""
        book: EpisodeBook = coordinator.book
        first = book.lift(episode, scope)
        if self.preflight is not None and self.preflight.probes:
            coordinator.balances.forget(scope)  # the gate's balance is stale: billing took
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
        holds = top_up_holds(need)
        if first or any(book.holds.held(scope, key) is not None for key in holds):
            # The credits show: whatever a top-up's hold was waiting to learn, it is known.
            yield from self._release(scope, holds, book)

    def _pay(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        hook: Any,
        book: EpisodeBook,
        scope: str,
        sent: Mark,
    ) -> Flow:
        """Pays a challenge per request: reserve, run the hook, replay with its proof.

        Never while a payment of one of its offers is held, nor for an SDK's retry of a call
        whose payment may have been made or was refused; a proof whose request stopped
        waiting for it (an orphan) is used before a new one is bought."""
        sdk_call = call_of(request, scope)
        # The offers an earlier attempt of this SDK call paid or is paying for: its proof
        # serves this attempt even when the server now asks another price.
        paid_before: tuple[str, ...] = ()
        if sdk_call is not None and sdk_call.retry:
            earlier = book.recall(sdk_call.key)
            if earlier is not None:
                yield from self._paid_before(request, error, scope, sdk_call, earlier)
                paid_before = earlier.held
        for payments in range(1, self.options.max_payments + 1):
            keys = offer_keys(error.payment.payment_options, request.method, str(request.url))
            held = yield from self._held(scope, keys)
            if held is not None:
                raise self._held_error(request, error, scope, keys, held)
            episode = book.adopt(scope, keys) or book.adopt(scope, paid_before)
            paid_before = ()
            if episode is None:
                error, reservation = yield from self._reserve(error, scope)
                episode = book.private()
                self._report("hook_called", "calling the payment hook", error, scope)
                raised = self._hook_raised_hold(request, error, "").encode()
                call = HookCall(
                    hook,
                    error,
                    episode,
                    book,
                    self.retry.within,
                    reservation,
                    pays=True,
                    held_if_raised=(scope, keys, raised),
                )
                yield from self._start(StartHook(call, fleet=False, scope=scope, sent=sent))
            else:
                self._report(
                    "adopted", "using a proof paid for a request that stopped waiting", error, scope
                )
            try:
                retry = yield from self._answer(episode, book)
            except BaseException as exc:
                if exc is episode.error and isinstance(exc, Exception):
                    # The pay hook raised: it may have paid first (a wallet that paid the
                    # invoice, then failed to fetch the preimage). Only `None` says it paid
                    # nothing; the offers it was shown stay held until reconciled.
                    if sdk_call is not None:
                        book.answered(sdk_call.key, CallAnswer(held=keys))
                    raise (yield from self._hook_raised(request, error, exc, scope, keys)) from exc
                if not episode.finished:
                    # The hook still runs and may pay: its proof goes to the next request
                    # for the offer, not to waste, and first to this call's own retries,
                    # whatever price they meet (were they to pay it, the call paid twice).
                    book.orphan(scope, keys, episode)
                    if sdk_call is not None:
                        book.answered(sdk_call.key, CallAnswer(held=keys))
                raise
            if retry is None:
                raise error
            retry, payment_id = with_payment_identifier(retry, error.payment)
            paid = (retry.paid,) if retry.paid is not None else error.payment.payment_options
            paid_keys = offer_keys(paid, request.method, str(request.url))
            hold = attrs.evolve(
                self._hold_of("unknown_outcome", request, error, "", retry),
                offer=retry.paid or (paid[0] if len(paid) == 1 else None),
                proof_digest=proof_digest(retry.headers),
                payment_id=payment_id,
            )
            self._report("paid", "the hook paid; replaying with the proof", error, scope)
            replay = replay_of(request, retry, payments + 1)
            try:
                result = yield from self._attempt(replay, scope, paid_keys, hold, book)
            except PaymentOutcomeUnknownError:
                if sdk_call is not None:
                    book.answered(sdk_call.key, CallAnswer(held=paid_keys))
                raise
            if isinstance(result, Sent):
                result.response.extensions[REPLAY_EXTENSION] = {"attempt": payments + 1}
                return result.response
            if isinstance(result, NotSent):
                # The proof never left: it serves the next request for the offer (this
                # call's retries first, at any price).
                book.orphan(scope, paid_keys, episode)
                if sdk_call is not None:
                    book.answered(sdk_call.key, CallAnswer(held=paid_keys))
                raise result.error
            again = result.error
            if again.reason is Reason.PAYMENT_CHALLENGE and payments < self.options.max_payments:
                error = again
                continue
            server_reason = again.payment.message or again.payment.code or "no reason given"
            self._report("payment_rejected", server_reason, again, scope, logging.WARNING)
            if sdk_call is not None:
                book.answered(sdk_call.key, CallAnswer(refused=server_reason))
            raise rebuilt(
                again,
                cls=self._family[Reason.PAYMENT_CHALLENGE],
                attempts=payments + 1,
                note=f"after a paid replay; the server said: {server_reason}",
            )
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _paid_before(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        scope: str,
        call: Call,
        earlier: CallAnswer,
    ) -> Generator[Action, Any, None]:
        """Raises for an SDK's retry of a call that paid already: while the payment's outcome
        is unknown (its hold stands), or when its paid replay was refused. Returns when the
        hold was reconciled since (the retry may pay), or when no hold stands for a payment
        still being made or whose proof was never sent (the retry adopts it)."""
        if earlier.held:
            record = yield from self._held(scope, earlier.held)
            if record is not None:
                raise self._held_error(request, error, scope, earlier.held, record)
            return
        if earlier.refused is not None:
            why = (
                f"retry {call.retry} of an SDK call whose paid replay was refused "
                f"({earlier.refused}): not paid again"
            )
            self._report("not_replayed", why, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=why)

    def _hook_raised(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        exc: Exception,
        scope: str,
        keys: tuple[str, ...],
    ) -> Generator[Action, Any, PaymentOutcomeUnknownError]:
        """Holds the offers a pay hook that raised was shown, and returns the error that
        says whether it paid is unknown (the hook's exception is its cause)."""
        why = f"the pay hook raised {type(exc).__name__}: it may have paid before it failed"
        hold = self._hook_raised_hold(request, error, why)
        return (yield from self._unknown(request, scope, keys, hold, why))

    def _hook_raised_hold(
        self, request: httpx.Request, error: PaymentRequiredError, why: str
    ) -> PaymentHold:
        options = error.payment.payment_options
        return PaymentHold(
            kind="unknown_outcome",
            reason=Reason.PAYMENT_CHALLENGE,
            why=why or "the pay hook raised: it may have paid before it failed",
            offer=options[0] if len(options) == 1 else None,
            request_id=error.payment.request_id,
            endpoint=self._need_of(request),
        )

    def _attempt(
        self,
        request: httpx.Request,
        scope: str,
        keys: tuple[str, ...],
        hold: PaymentHold,
        book: EpisodeBook,
    ) -> Generator[Action, Any, Sent | Gated | NotSent]:
        """Sends a paid or topped-up attempt. An answer that leaves the payment's outcome
        open (an error after sending, a 5xx, a pending settlement) holds `scope` and `keys`
        and raises `PaymentOutcomeUnknownError`; a cancellation holds them and propagates
        unchanged. A response carries what the shell needs should its body break, and is
        marked `x-should-retry: false` (an SDK never sends it again) when sending it again
        could pay again: any answer to a paid challenge (the SDK's retry would meet a new
        price), and a topped-up attempt's success (its body may still break). A topped-up
        attempt's other answers (a plain 429 rate limit) keep the SDK's own retry rules: its
        retry buys nothing, since this episode's window or hold answers it."""
        try:
            result: Sent | Gated | NotSent = yield Send(request, book.mark())
        except Exception as exc:
            why = f"the attempt failed after it was sent ({type(exc).__name__})"
            raise (yield from self._unknown(request, scope, keys, hold, why)) from exc
        except BaseException as exc:
            record = attrs.evolve(hold, why="the attempt was cancelled before its answer").encode()
            for key in keys:  # here at once: a flow being dropped may not ask for more
                book.holds.hold(scope, key, record)
            if not isinstance(exc, GeneratorExit):
                yield Hold(scope, keys, record)
            raise
        if isinstance(result, Sent):
            response = result.response
            if response.status_code >= 500:
                # The shell closes it, as any response the flow raised past.
                why = f"the server answered {response.status_code} to it"
                raise (yield from self._unknown(request, scope, keys, hold, why, response))
            if hold.reason is Reason.PAYMENT_CHALLENGE or response.is_success:
                response.headers["x-should-retry"] = "false"
            response.extensions[PAID_EXTENSION] = PaidAttempt(request, scope, keys, hold)
        elif isinstance(result, Gated):
            response = result.error.response
            paid = hold.reason is Reason.PAYMENT_CHALLENGE
            said = result.error.payment.message if paid else None
            settled = settlement_unknown(response.headers.get, redactor_of(request), said)
            if settled is not None:
                why, receipt = settled
                hold = attrs.evolve(hold, receipt=receipt or hold.receipt)
                raise (yield from self._unknown(request, scope, keys, hold, why, response))
        return result

    def _unknown(
        self,
        request: httpx.Request,
        scope: str,
        keys: tuple[str, ...],
        hold: PaymentHold,
        why: str,
        response: httpx.Response | None = None,
    ) -> Generator[Action, Any, PaymentOutcomeUnknownError]:
        """Holds `scope` and `keys`, and returns the error that says so."""
        hold = attrs.evolve(hold, why=why)
        yield Hold(scope, keys, hold.encode())
        report("outcome_unknown", why, None, scope=scope, level=logging.WARNING)
        return self._outcome_error(
            request=request, hold=hold, scope=scope, keys=keys, response=response
        )

    def _hold_of(
        self,
        kind: str,
        request: httpx.Request,
        error: PaymentRequiredError,
        why: str,
        retry: Retry,
        *,
        reason: Reason | None = None,
    ) -> PaymentHold:
        return PaymentHold(
            kind=kind,
            reason=reason or error.reason,
            why=why,
            receipt=retry.receipt,
            request_id=error.payment.request_id,
            endpoint=self._need_of(request),
        )

    def _need_of(self, request: httpx.Request) -> str:
        """`need_of` under the billing scope's key (the fleet's, so that every process
        names one need alike), or this process's where the scope has none (a `scope=` of
        the application's: a need met in another process then ends no hold here; the hold
        ends by a balance that shows the top-up, or by reconciling it)."""
        key = getattr(self.scope, "key", None)
        return need_of(request, key if isinstance(key, bytes) else PROCESS_KEY)

    def _held(self, scope: str, keys: tuple[str, ...]) -> Generator[Action, Any, str | None]:
        """The record of a hold on `scope` and any of `keys`, or `None`. A coordinator that
        cannot answer counts as a hold (fail closed)."""
        try:
            record: str | None = yield Held(scope, keys)
        except Exception as exc:
            return unanswered_hold(exc)
        return record

    def _held_error(
        self,
        request: httpx.Request,
        error: PaymentRequiredError,
        scope: str,
        keys: tuple[str, ...],
        record: str,
    ) -> BaseException:
        """What a gate raises while its scope is held: `PaymentOutcomeUnknownError` for a
        payment whose outcome is unknown; the gate, saying why, for a top-up that did not
        show."""
        hold = PaymentHold.decode(record)
        assert hold is not None
        if hold.outcome_unknown:
            self._report("held", hold.why, error, scope, logging.WARNING)
            return self._outcome_error(
                request=request,
                hold=hold,
                scope=scope,
                keys=keys,
                response=error.response,
                held=True,
            )
        why = (
            f"{hold.why}; not topped up again until a request to this endpoint gets "
            "through, or the application calls http402.forget_gate (after a top-up by hand) "
            "or http402.reconcile"
        )
        self._report("held", why, error, scope, logging.WARNING)
        return rebuilt(error, not_replayed=why)

    def _put(
        self, scope: str, keys: tuple[str, ...], hold: PaymentHold, book: EpisodeBook
    ) -> Generator[Action, Any, None]:
        """Holds `scope` and `keys`, unless this process already holds them all."""
        if any(book.holds.held(scope, key) is None for key in keys):
            report("held", hold.why, None, scope=scope, level=logging.WARNING)
            yield Hold(scope, keys, hold.encode())

    def _release(
        self, scope: str, keys: tuple[str, ...], book: EpisodeBook
    ) -> Generator[Action, Any, None]:
        """Ends top-up holds that a success showed were settled; a coordinator that cannot
        do it now is logged (a warning once until a release takes, then at debug level: an
        outage is not said again on every response), and never costs the response that got
        through. The hold stays, and the next response that gets through asks again."""
        try:
            yield Release(scope, keys)
        except Exception as exc:
            report(
                "release_failed",
                "a success showed a top-up took, but the coordinator did not answer when "
                f"asked to end its hold ({type(exc).__name__}); asked again at the next "
                "response that gets through",
                None,
                scope=scope,
                level=logging.WARNING if book.holds.release_failed(scope) else logging.DEBUG,
            )

    def _shown(
        self, request: httpx.Request, scope: str, coordinator: Any
    ) -> Generator[Action, Any, None]:
        """A request that got through, asking for what met the gate of a top-up (one of its
        episode's `needs`, or its hold's `endpoint`: method, URL and body, `need_of`): the
        credits show. Its episode is lifted (a later gate may top up again) and those holds
        end. Another request to the same endpoint is no sign: it may need no credits (a free
        model's call beside a paid one). Only this process's episodes and holds are looked
        at: no store round trip per response."""
        book: EpisodeBook = coordinator.book
        scope = scope or self.scope(request)
        need = self._need_of(request)
        # The top-ups a balance read since their hook answered shows: their holds end too
        # (a top-up that showed after its window closed, or whose replay's answer was lost).
        by_balance: set[str] = set()
        for reason in TOP_UP_REASONS:
            episode = book.unlifted(episode_key(scope, reason))
            if episode is None:
                continue
            since = episode.finished_sequence
            if need in episode.needs:
                shown_here = not self._below_minimum(scope, coordinator, since)
            else:
                shown_here = self._balance_shows(scope, coordinator, since, episode)
                if shown_here:
                    by_balance.add(top_up_key(reason))
            if shown_here:
                book.lift(episode, scope)
                yield Lifted(scope)
        asked = tuple(
            key
            for key, record in book.holds.top_ups(scope).items()
            if (hold := PaymentHold.decode(record)) is not None and hold.endpoint == need
        )
        if asked and not self._below_minimum(scope, coordinator, 0):
            by_balance.update(asked)
        held = book.holds.top_ups(scope)
        shown = tuple(key for key in sorted(by_balance) if key in held)
        if shown:
            yield from self._release(scope, shown, book)

    def _balance_shows(self, scope: str, coordinator: Any, since: int, episode: Episode) -> bool:
        """Whether the newest balance of a request sent at mark `since` or later (after the
        top-up's hook answered) shows the top-up took (`credits_show`: above what the
        episode's gate stated the account had, at least what it stated was needed and
        preflight's `min_balance`, else above zero): a request that asked for something
        else shows the top-up took only so, by a balance read on it (a balance header of a
        200, where balances are read, or a probe's), never by its 200 alone (a free model's
        call needs no credits), nor by the balance the gate itself stated (case 111)."""
        minimum = None if self.preflight is None else self.preflight.min_balance
        balance, _ = coordinator.balances.since(scope, since)
        return credits_show(balance, episode.stated, minimum) is True

    def _below_minimum(self, scope: str, coordinator: Any, since: int) -> bool:
        """Whether the newest balance of a request sent at mark `since` or later (after the
        top-up's hook answered) is below preflight's `min_balance`: then a request that got
        through does not show that a top-up took. A 200 says the request was served; the
        balance that preflight refuses on says whether what the top-up bought shows (a
        header that lags, is cached, or counts in another unit than the credits bought
        would have it bought again every window). A reading of a request sent before is no
        sign either way; one sent since that could not be ordered leaves it untold (`True`:
        not shown yet)."""
        minimum = None if self.preflight is None else self.preflight.min_balance
        if minimum is None:
            return False
        cache: BalanceCache = coordinator.balances
        balance, untold = cache.since(scope, since)
        if balance is None:
            return untold
        return credits_show(balance, None, minimum) is False

    def _reserve(
        self, error: PaymentRequiredError, scope: str
    ) -> Generator[Action, Any, tuple[PaymentRequiredError, Reservation | None]]:
        """The challenge with only the offers that may be paid (and that the spend policy
        allows, reserved in its window); raises the challenge, saying why, if none may.

        Without a spend policy, an offer that must never be paid (priced at or below zero,
        at a fraction of an indivisible unit, or at an amount that cannot be counted exactly) is
        still dropped before the hook sees it; a policy screens the same, and more."""
        policy = self.options.spend_policy
        if policy is None:
            offers = error.payment.payment_options
            refusals = [why for offer in offers if (why := why_unpayable(offer)) is not None]
            if not refusals:
                return error, None
            payable = tuple(offer for offer in offers if why_unpayable(offer) is None)
            if not payable:
                why = f"no offer may be paid: {'; '.join(refusals)}"
                self._report("payment_refused", why, error, scope, logging.WARNING)
                raise rebuilt(error, not_replayed=why, note=f"not paid: {why}")
            return self._narrowed(error, payable), None
        allowed, refusals, reservation = yield Reserve(policy, error.payment)
        if reservation is None:
            why = f"the spend policy refused every offer: {refusals}"
            self._report("payment_refused", why, error, scope, logging.WARNING)
            raise rebuilt(error, not_replayed=why, note=f"not paid: {why}")
        if len(allowed) == len(error.payment.payment_options):
            return error, reservation
        return self._narrowed(error, allowed), reservation

    def _narrowed(
        self, error: PaymentRequiredError, offers: tuple[PaymentOption, ...]
    ) -> PaymentRequiredError:
        """The challenge's error with only `offers`: what the hook is shown, and may pay."""
        payment = attrs.evolve(error.payment, payment_options=offers)
        return error_for(
            payment, request=error.request, response=error.response, family=self._family
        )

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
        # The gate's own words, so that an SDK above says what the provider said.
        body, content_type = stand_in_body(known, redactor_of(request), self.options.max_body_bytes)
        response = self._response_class(
            known.status_code,
            headers={"content-type": content_type},
            content=body,
            request=request,
            extensions={PREFLIGHT_EXTENSION: True},
        )
        error = error_for(
            known,
            request=request,
            response=response,
            attempts=0,
            note="known before sending",
            family=self._family,
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

    def _gate_seen(
        self, scope: str, payment: PaymentRequired, coordinator: Any, sent: Mark
    ) -> None:
        """A gate that states the balance (`credits_available`) is a balance seen too, of
        its request sent at mark `sent`."""
        if payment.credits_available is not None:
            balance = Balance(
                provider=payment.provider,
                available=payment.credits_available,
                currency=payment.currency,
            )
            coordinator.balances.seen(scope, balance, sent.sequence, sent.wall)

    def _observed(
        self, scope: str, balance: Balance, coordinator: Any
    ) -> Generator[Action, Any, None]:
        """A probed balance that was kept as the scope's newest: recorded, and the
        low-balance alerts it crosses into raised."""
        if balance.available is None:
            return
        amount, provider, currency = balance.available, balance.provider, balance.currency
        metrics.record_balance(
            amount, provider=provider or "unknown", currency=currency, scope=scope
        )
        if self._alarm is None:
            return
        crossings = self._alarm.crossings(
            scope, amount, coordinator.book.clock(), provider, currency
        )
        if crossings.fired or crossings.rearmed:
            yield Notify(crossings)

    def _probed(
        self, request: httpx.Request, scope: str, coordinator: Any, preflight: Preflight
    ) -> Generator[Action, Any, Balance | None]:
        """The scope's balance, probed at most once per `preflight.every` and coalesced: one
        request probes, the others wait for its reading. A failed probe lets requests go."""
        cache: BalanceCache = coordinator.balances
        probe_request = balance_request_for(request, preflight.probe)
        if probe_request is None:  # no probe for this host: what a response or gate said
            return cache.fresh(scope, preflight.every)
        role, value = cache.join(scope, preflight.every)
        if role == "fresh":
            return value  # type: ignore[return-value]
        episode: Episode = value  # type: ignore[assignment]
        if role == "wait":
            while not episode.finished:
                yield Wait(episode, episode.version, preflight.every)
            return cache.last(scope)
        balance: Balance | None = None
        taken = False
        sent: Mark = coordinator.book.mark()
        try:
            balance = yield Probe(probe_request, preflight.probe)
        except BalanceProbeError as exc:
            report("probe_failed", str(exc), None, scope=scope, level=logging.WARNING)
        finally:
            taken = cache.store(scope, episode, balance, sent.sequence, sent.wall)
        if taken and balance is not None:
            yield from self._observed(scope, balance, coordinator)
        # The newest balance: the probe's, unless another reading arrived while it was
        # under way (then the two cannot be ordered, and the one held stands).
        return cache.last(scope)

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


class _Window:
    """An episode's window as one request counts time in it: the larger of the clock and
    the sleeps it asked for, so that an injected sleep (in tests) closes the window after the
    same waits as a real one."""

    def __init__(self, episode: Episode, book: EpisodeBook, tally: _Tally) -> None:
        self.episode = episode
        self._clock = book.clock
        self._tally = tally
        self._started, self._slept_before = book.clock(), tally.slept

    def now(self) -> float:
        return max(self._clock(), self._started + self._tally.slept - self._slept_before)

    def closed(self) -> bool:
        return self.now() >= self.episode.open_until


def _same_need(reason: Reason, need: Reason) -> bool:
    """Whether a gate of `reason`, met in the replays of an episode of `need`, is the same
    gate: its own reason, or a 402 with nothing usable in it (`UNKNOWN`); in a wordless
    gate's episode, an account-level gate is that 402 explained."""
    return (
        reason is need
        or reason is Reason.UNKNOWN
        or (need is Reason.UNKNOWN and reason.is_account_level)
    )


def episode_key(scope: str, reason: Reason) -> str:
    """The key of a scope's episodes for a reason: a lapsed subscription and used-up credits
    of one account are two problems, with two hooks, and two episodes."""
    return f"{scope}|{reason.value}"


_WINDOW_CLOSED = "window closed"
#: The needs a low-balance top-up may answer: credits, and a 402 that says nothing.
_LOW_BALANCE_NEEDS = (Reason.INSUFFICIENT_CREDITS, Reason.UNKNOWN)
#: Seconds between two questions to a fleet's store whether another process's low-balance
#: run still goes.
_LOW_BALANCE_POLL = 0.25
#: The reasons a hook tops up (or renews, upgrades, fixes) for: account-level gates.
#: Why a gate met by a request a hook sent raises at once.
_FROM_A_HOOK = "sent from inside a running hook of this coordinator: no recovery"
#: Why a challenge is not paid by a hook given for every reason.
_NO_PAY_HOOK = (
    "a hook given for every reason tops up account-level gates, and pays no per-request "
    "price: give on_payment_required={Reason.PAYMENT_CHALLENGE: pay}, or a spend_policy, "
    "to pay challenges"
)


#: Most episodes one request follows. Each one it follows past the first was lifted (its
#: top-up worked and other requests spent it), so this bounds waiting, not wasted money.
_MAX_EPISODES_PER_REQUEST = 10
