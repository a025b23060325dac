"""One hook call per billing scope, however many requests hit the gate, and one scout.

An *episode* is one run of the upgrade hook for one billing scope, and the propagation
window that follows when it answers `Retry`. `EpisodeBook` is the in-process state of every
episode; it decides, under one lock and without I/O:

* **join**: a gated request *leads* a new episode (its hook is started), or joins the one
  that covers it: the one running now, one that finished after the request was sent (a late
  402 of the same burst), or one whose window is still open (a lagging replica's stale 402).
* **turn**: inside an open window, one request replays on the schedule (the *scout*); the
  others wait, and go as soon as a replay gets through (the episode is *lifted*). If the
  scout gives up or is cancelled, the next waiter takes over.

Who changes what: only `finish` (called by whatever runs the hook) ends a running episode;
the window then closes by time alone, so no success, failure or cancellation of a caller can
close it early. A `CancelledError` is never stored as an answer.

An episode whose hook raised or declined answers the gates of its scope for a short while
after (`failure_hold`, 10 s): an SDK that retries what the transport raised (anthropic wraps
it as a connection error and sends again) joins that answer instead of buying again. An SDK
says which attempts are its retries (`_replay.call_of`): what a call's purchase came to
(`CallAnswer`) answers its retries for as long as they come, whatever its `max_retries`,
not only for the failure hold (`answered`, `recall`).

A fork copies the book but not the threads: in the child, an episode whose hook was running
would never finish. Every book (and every coordinator's process state) is reset in the child
(`os.register_at_fork`): running hooks and probes, scouts and waiters are forgotten, the locks
are new; what guards money that was already spent (finished episodes, open windows, holds)
stays.

Memory is bounded by time: a scope whose hook runs, whose window is open, or whose gate is
known is never forgotten; any other scope is forgotten once the table reaches `max_scopes`
and its last episode closed more than `keep_closed` seconds ago.

The waiting itself belongs to the transports (threads or async tasks), which subscribe a
*waker* to an episode: `subscribe` refuses when the episode already changed, so no wake-up is
ever lost between a check and a wait.
"""

from __future__ import annotations

import contextlib
import contextvars
import enum
import functools
import os
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import attrs

from ._holds import HoldBook, is_top_up_key
from ._models import PaymentRequired, Reason, Retry
from ._preflight import Stated, kept_payload
from ._readings import supersedes

if TYPE_CHECKING:
    from ._balance import Balance

__all__ = [
    "AsyncLocalCoordinator",
    "BalanceCache",
    "CallAnswer",
    "Episode",
    "EpisodeBook",
    "LocalCoordinator",
    "Mark",
    "ProcessState",
    "Turn",
    "inside_hook",
    "running_hook",
]

_MAX_SCOPES = 10_000
#: The most requests (by what they ask for) noted per episode as needing its top-up.
_MAX_NEEDS = 64
_wall = time.time
#: Seconds a closed episode is still remembered, to answer the late 402s of its burst.
_KEEP_CLOSED = 600.0
#: Seconds an episode whose hook raised or declined still answers its scope's gates: longer
#: than the openai and anthropic SDKs' own retries take with their defaults (two retries,
#: 0.5 s then 1 s of backoff) and with up to four.
FAILURE_HOLD = 10.0


#: The books whose hook runs in this context: set around every hook call (`running_hook`),
#: in the thread or task that calls it, and so in whatever the hook starts with its context
#: copied (a thread given `contextvars.copy_context()`, an asyncio or trio task).
_HOOKS_HERE: contextvars.ContextVar[tuple[EpisodeBook, ...]] = contextvars.ContextVar(
    "http402_hooks_here", default=()
)


@contextlib.contextmanager
def running_hook(book: EpisodeBook) -> Iterator[None]:
    """Marks the current context as running a hook of `book`, for the hook's call."""
    token = _HOOKS_HERE.set((*_HOOKS_HERE.get(), book))
    try:
        yield
    finally:
        _HOOKS_HERE.reset(token)


def inside_hook(book: EpisodeBook) -> bool:
    """Whether the current context runs a hook of `book`: a request it sends passes through
    recovery (case 112: a hook that looks the account up through the client it tops up
    joined its own episode and waited on itself for ever)."""
    return any(each is book for each in _HOOKS_HERE.get())


@attrs.frozen
class CallAnswer:
    """What one SDK call's purchase came to, so that its own retries get the same answer
    instead of buying again: one of the three is set."""

    #: A top-up episode whose hook raised or declined: a retry joins it.
    episode: Episode | None = None
    #: The hold keys of a payment whose outcome is unknown (a retry is held while they
    #: are), or that is still being made or whose proof never left (a retry adopts it).
    held: tuple[str, ...] = ()
    #: Why the paid replay was refused (the server's words): a retry is not paid again.
    refused: str | None = None


class Turn(enum.Enum):
    """What a request of an open episode does next."""

    #: Replay on the schedule: this request is the episode's scout.
    SCOUT = "scout"
    #: A replay got through: send now.
    GO = "go"
    #: Another request is scouting: wait for it.
    WAIT = "wait"
    #: The window closed: give up.
    CLOSED = "closed"


class Mark(tuple[int, float]):
    """When a request was sent: `(sequence, wall)`, the book's sequence (episodes finished
    so far) and the wall clock (which fleet coordinators compare across processes).

    A tuple: every request that may meet a gate takes one before it is sent, so the shells
    read the two numbers as a plain tuple and make it a `Mark` only once a gate is met.
    """

    __slots__ = ()

    @property
    def sequence(self) -> int:
        return self[0]

    @property
    def wall(self) -> float:
        return self[1]


@attrs.define(eq=False)
class Episode:
    """One run of the hook (for one scope, or for one challenge), and what followed it."""

    number: int
    scope: str | None
    started_at: float
    finished: bool = False
    retry: Retry | None = None
    error: BaseException | None = None
    finished_sequence: int = 0
    finished_at: float = 0.0
    open_until: float = 0.0
    lifted_at: float | None = None
    scout: object | None = None
    #: Why the episode declined, when the hook did not say it (the fleet's cap).
    note: str | None = None
    #: The record of the hold that refused to run the hook (`http402.PaymentHold`, as JSON).
    held: str | None = None
    #: Digests of what the requests that met its gate asked for (`_holds.need_of`: method,
    #: URL and body), at most `_MAX_NEEDS`: a request asking for one of them that gets
    #: through shows that its top-up took, even if no replay of the episode did. Another
    #: request to the same endpoint shows nothing: it may need no credits at all.
    needs: set[str] = attrs.field(factory=set, repr=False)
    #: What the episode's gate stated of the credits (`_preflight.Stated`: the balance it
    #: had, what the request needed), the first of its gates that stated any: a balance read
    #: later shows the top-up only above it (`_preflight.credits_show`).
    stated: Stated | None = attrs.field(default=None, repr=False)
    #: No replay of the episode goes before this (the latest `Retry-After` any request saw).
    not_before: float = 0.0
    #: Bumped on every change that a waiter may be waiting for.
    version: int = 0
    _wakers: set[Callable[[], None]] = attrs.field(factory=set, repr=False)
    _context: tuple[BaseException | None, Any] = attrs.field(default=(None, None), repr=False)

    def hold_off(self, until: float) -> None:
        """No replay of this episode before `until` (on the book's clock)."""
        if until > self.not_before:
            self.not_before = until

    def result(self) -> Retry | None:
        """The hook's answer; re-raises the hook's own exception unchanged.

        Raising one exception object in many callers would rewrite its `__context__` to
        whatever each caller was handling, and grow its traceback; both are put back as
        the hook left them, so every caller sees the same exception.
        """
        error = self.error
        if error is None:
            return self.retry
        context, traceback = self._context
        try:
            raise error
        finally:
            error.__context__, error.__traceback__ = context, traceback


@attrs.define(eq=False)
class _ScopeState:
    running: Episode | None = None
    last: Episode | None = None
    gated: PaymentRequired | None = None
    gated_until: float = 0.0


class EpisodeBook:
    """The episodes and known gates of every scope in this process: thread-safe, no I/O.

    Args:
        clock: Monotonic seconds (injectable: tests and benchmarks pass a virtual clock).
        max_scopes: How many scopes may be remembered before idle ones are forgotten.
        keep_closed: Seconds a closed episode still answers the late 402s of its burst.
        failure_hold: Seconds an episode whose hook raised or declined still answers the
            gates of its scope (an SDK's own retries join it instead of buying again).
    """

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        *,
        max_scopes: int = _MAX_SCOPES,
        keep_closed: float = _KEEP_CLOSED,
        failure_hold: float = FAILURE_HOLD,
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._scopes: dict[str, _ScopeState] = {}
        self._episodes = 0
        #: The book's logical clock: advanced as an episode finishes or a balance reading is
        #: taken (`tick`); read without the lock when a request is sent.
        self.sequence = 0
        #: `settling`, kept as a plain value beside `sequence`: whether a top-up of this
        #: process has not shown yet to have taken, or a hold is known here. A shell reads it
        #: after every response that got through, from the cache line it read the sequence
        #: from, with no call (`_settling_changed` keeps it).
        self.settling_now = False
        self._signs_lock = threading.Lock()
        # How many scopes have a known gate, and the latest time one of them holds until:
        # "is any gate known at all?" is one look at them, before any scope is computed.
        self.gated_scopes = 0
        self._gated_until = 0.0
        self._max_scopes = max_scopes
        self._prune_at = max_scopes
        self._keep_closed = keep_closed
        self._failure_hold = failure_hold
        #: Payment episodes whose requests stopped waiting (`hook_timeout`, a cancellation)
        #: before their proof came, by billing scope and offer key: the next request of
        #: that scope for the offer uses it.
        self._orphans: dict[tuple[str, str], Episode] = {}
        #: The holds this process put or met (`LocalCoordinator` keeps its holds here).
        self.holds = HoldBook(on_change=self._settling_changed)
        #: By key, the last episode whose hook answered `Retry` and that nothing showed
        #: yet to have taken (no replay, and no request asking for what met its gate, got through).
        self._unlifted: dict[str, Episode] = {}
        #: By SDK call (`_replay.Call.key`), what its purchase came to, and when an attempt
        #: of it last met that answer; forgotten `keep_closed` seconds after.
        self._calls: OrderedDict[str, tuple[float, CallAnswer]] = OrderedDict()
        self._calls_prune_at = max_scopes
        #: By billing scope, the low-balance hook's run (running, or the last that ran): a
        #: top-up before the 402 is that scope's episode while it runs, so a gate met then,
        #: or by a request sent before it ended, waits for it and is sent again instead of
        #: buying beside it (`low_balance_run`; case 139).
        self._low_balance: dict[str, Episode] = {}
        _FORK_SAFE.add(self)

    def mark(self) -> Mark:
        """Taken as a request is sent, to tell a late gate of a burst from a new burst, and
        a balance reading computed later from one that may be older (`_readings`)."""
        return Mark((self.sequence, _wall()))

    def tick(self) -> int:
        """Advances the sequence as a balance reading is taken, and returns it: a request
        whose mark is taken after this comes after the reading (`_readings.supersedes`)."""
        with self._lock:
            self.sequence += 1
            return self.sequence

    def join(self, scope: str, sent: Mark, retry_of: str | None = None) -> tuple[bool, Episode]:
        """`(True, new episode)` when the request leads (its caller starts the hook), else
        `(False, episode)` for the episode that covers it: the one running, one that
        finished after the request was sent, one whose window is open, one whose hook
        raised or declined less than `failure_hold` seconds ago, or, for an SDK's retry of
        the call `retry_of`, the one whose failure that call met (however long ago its
        retries began)."""
        with self._lock:
            state = self._state(scope)
            if state.running is not None:
                return False, state.running
            last = state.last
            if last is not None and self._covers(last, sent):
                return False, last
            earlier = None if retry_of is None else self._recall(retry_of)
            if earlier is not None and earlier.episode is not None:
                failed = earlier.episode
                if failed.scope == scope and failed.retry is None and failed.held is None:
                    return False, failed
            episode = self._new(scope)
            state.running = episode
            return True, episode

    def _covers(self, last: Episode, sent: Mark) -> bool:
        """Whether finished episode `last` answers a gate met by a request sent at `sent`:
        it finished after the request was sent (a late 402 of its burst), its window is
        open, or its hook raised or declined less than `failure_hold` seconds ago."""
        return (
            last.finished_sequence > sent.sequence
            or (last.retry is not None and self.clock() < last.open_until)
            or (
                last.retry is None
                and last.held is None  # a hold is asked again: it may have ended
                and self.clock() < last.finished_at + self._failure_hold
            )
        )

    def covering(self, scope: str, sent: Mark, reasons: Iterable[Reason]) -> Reason | None:
        """Of `reasons`, the one whose episode of billing scope `scope` would answer a gate
        met by a request sent at `sent` (its hook runs, or `_covers`), the latest started
        first; `None` when none would. A 402 with nothing usable in it follows that one."""
        found: list[tuple[int, Reason]] = []
        with self._lock:
            for reason in reasons:
                state = self._scopes.get(f"{scope}|{reason.value}")
                if state is None:
                    continue
                if state.running is not None:
                    found.append((state.running.number, reason))
                elif state.last is not None and self._covers(state.last, sent):
                    found.append((state.last.number, reason))
        return max(found, key=lambda each: each[0])[1] if found else None

    def needed(self, episode: Episode, need: str) -> None:
        """Notes that a request asking for `need` met `episode`'s gate (see `Episode.needs`);
        past `_MAX_NEEDS`, more are not noted: fewer signs, never a false one."""
        with self._lock:
            if len(episode.needs) < _MAX_NEEDS:
                episode.needs.add(need)

    def answered(self, call: str, answer: CallAnswer) -> None:
        """Remembers what SDK call `call`'s purchase came to, for its retries."""
        with self._lock:
            self._calls.pop(call, None)
            self._calls[call] = (self.clock(), answer)
            if len(self._calls) > self._calls_prune_at:
                self._prune_calls()

    def recall(self, call: str) -> CallAnswer | None:
        """What SDK call `call`'s purchase came to, if an attempt of it met that answer less
        than `keep_closed` seconds ago (the attempt that asks counts as one)."""
        with self._lock:
            return self._recall(call)

    def _recall(self, call: str) -> CallAnswer | None:
        found = self._calls.pop(call, None)
        now = self.clock()
        if found is None or now >= found[0] + self._keep_closed:
            return None
        self._calls[call] = (now, found[1])
        return found[1]

    def _prune_calls(self) -> None:
        """Forgets the calls whose last attempt is older than `keep_closed` (the oldest come
        first); if every call is recent, the table grows, and waits until it has doubled."""
        horizon = self.clock() - self._keep_closed
        while self._calls and next(iter(self._calls.values()))[0] <= horizon:
            self._calls.popitem(last=False)
        self._calls_prune_at = max(self._max_scopes, 2 * len(self._calls))

    def low_balance_started(self, scope: str, busy: Iterable[str] = ()) -> Episode | None:
        """A run of the low-balance hook for `scope` starts (in the hook's worker or task);
        `low_balance_ended` must follow, whatever the hook does. `None`, and no run, while
        a top-up of the scope is under way (`topping_up` of the episodes `busy`), asked and
        started under one lock: two crossings a moment apart never both start a run."""
        with self._lock:
            if self._topping_up(scope, busy):
                return None
            episode = self._new(None)
            self._low_balance.pop(scope, None)
            self._low_balance[scope] = episode
            if len(self._low_balance) > self._max_scopes:  # the oldest finished runs go
                ended = [key for key, run in self._low_balance.items() if run.finished]
                for key in ended[: len(ended) // 2 + 1]:
                    del self._low_balance[key]
            return episode

    def low_balance_ended(
        self,
        episode: Episode,
        retry: Retry | None = None,
        key: str | None = None,
        balance: Decimal | None = None,
    ) -> None:
        """The low-balance hook's run `episode` ended (answered, raised or was cut short):
        its waiters wake, and the book's sequence moves past it.

        A hook that answered `Retry` bought, and says when it shows (`within`): the run
        becomes the last top-up of `key` (the scope's credits episode), its window the
        top-up's propagation window, so a gate met in it follows it (replays, and no
        second purchase) as it would a gate's own top-up, and, should nothing show it took
        before the window closes, the next gate is held (`unlifted`). `balance` is the
        balance the alert read: only a higher one shows the top-up took."""
        if retry is not None and key is not None:
            with self._lock:
                episode.scope = key
                episode.stated = Stated(balance, None)
        self.finish(episode, retry, None, 0.0)

    def topping_up(self, scope: str, keys: Iterable[str]) -> bool:
        """Whether a top-up of `scope` is under way in this process: its low-balance hook
        runs, or a hook of one of its episodes `keys` (one per reason) runs, or answered
        `Retry` and nothing has shown yet that it took (`unlifted`). A low-balance crossing
        met then calls no hook: that top-up is the answer to the balance running low, and a
        second purchase beside it would pay twice for one fall (the low-balance hook is
        called again once the balance rises and falls again)."""
        with self._lock:
            return self._topping_up(scope, keys)

    def _topping_up(self, scope: str, keys: Iterable[str]) -> bool:
        run = self._low_balance.get(scope)
        if run is not None and not run.finished:
            return True
        for key in keys:
            state = self._scopes.get(key)
            if (state is not None and state.running is not None) or key in self._unlifted:
                return True
        return False

    def low_balance_run(self, scope: str, sent: Mark) -> Episode | None:
        """The low-balance hook's run of `scope` that a gate met by a request sent at
        `sent` follows: one that runs, or one that ended after the request was sent (its
        top-up may be what the server had not seen yet); `None` otherwise."""
        with self._lock:
            run = self._low_balance.get(scope)
        if run is None or (run.finished and run.finished_sequence <= sent.sequence):
            return None
        return run

    def private(self) -> Episode:
        """An episode of one request (a payment challenge), in no scope's table."""
        with self._lock:
            return self._new(None)

    def finish(
        self,
        episode: Episode,
        retry: Retry | None,
        error: BaseException | None,
        window: float,
    ) -> None:
        """Records the hook's answer and wakes every waiter; a `Retry` opens the window for
        `retry.within`, else `window`, seconds."""
        with self._lock:
            now = self.clock()
            episode.retry, episode.error, episode.finished = retry, error, True
            if error is not None:
                episode._context = (error.__context__, error.__traceback__)
            self.sequence += 1
            episode.finished_sequence, episode.finished_at = self.sequence, now
            if retry is not None:
                episode.open_until = now + (retry.within or window)
                if episode.scope is not None:
                    self._unlifted[episode.scope] = episode
                    self._settling_changed()
            if episode.scope is not None:
                state = self._state(episode.scope)
                if state.running is episode:
                    state.running = None
                state.last = episode
            wakers = self._changed(episode)
        _wake(wakers)

    def stretch(self, episode: Episode, until: float) -> None:
        """Keeps `episode`'s window open until `until` at least (never closes it early)."""
        with self._lock:
            if episode.retry is not None and until > episode.open_until:
                episode.open_until = until
                wakers = self._changed(episode)
            else:
                wakers = set()
        _wake(wakers)

    def turn(self, episode: Episode, me: object) -> Turn:
        """Whether `me` scouts, goes, waits or gives up in `episode`'s window."""
        with self._lock:
            if episode.lifted_at is not None and self.clock() < episode.open_until:
                return Turn.GO
            if self.clock() >= episode.open_until:
                return Turn.CLOSED
            if episode.scout is None:
                episode.scout = me
            return Turn.SCOUT if episode.scout is me else Turn.WAIT

    def lift(self, episode: Episode, scope: str) -> bool:
        """Records that a replay got through, and forgets the known gate of `scope` (every
        time: a stale 402 may have marked it again); `True` for the first."""
        with self._lock:
            self._forget_gate(self._scopes.get(scope))
            if episode.scope is not None and self._unlifted.get(episode.scope) is episode:
                del self._unlifted[episode.scope]
                self._settling_changed()
            if episode.lifted_at is not None:
                return False
            episode.lifted_at = self.clock()
            wakers = self._changed(episode)
        _wake(wakers)
        return True

    @property
    def settling(self) -> bool:
        """`True` while some top-up of this process has not shown yet to have taken, or
        some hold is known here: a response that gets through may settle it."""
        return bool(self._unlifted) or bool(self.holds)

    def _settling_changed(self) -> None:
        """Recomputes `settling_now` after the unseen top-ups or the holds changed, under the
        lock of the one that changed. Its own lock is taken last and holds no other, so the
        recomputations follow one another and the last reads both as they are."""
        with self._signs_lock:
            self.settling_now = bool(self._unlifted) or bool(self.holds.live())

    def settled(self, scope: str) -> None:
        """The last top-ups of `scope` count as taken (the application reconciled them, or
        topped up by hand): the next gate may top up again."""
        prefix = f"{scope}|"
        with self._lock:
            for key in [k for k in self._unlifted if k.startswith(prefix)]:
                del self._unlifted[key]
            self._settling_changed()

    def unlifted(self, key: str) -> Episode | None:
        """The last episode of `key` whose hook answered `Retry`, if nothing showed yet that
        its top-up took."""
        with self._lock:
            return self._unlifted.get(key)

    def release(self, episode: Episode, me: object) -> None:
        """`me` stops scouting (it got through, gave up or was cancelled): the next waiter
        takes over."""
        with self._lock:
            if episode.scout is not me:
                return
            episode.scout = None
            wakers = self._changed(episode)
        _wake(wakers)

    def unsubscribe(self, episode: Episode, waker: Callable[[], None]) -> None:
        """Forgets a waker whose request stopped waiting (timed out, or was cancelled)."""
        with self._lock:
            episode._wakers.discard(waker)

    def subscribe(self, episode: Episode, seen: int, waker: Callable[[], None]) -> bool:
        """Calls `waker` once at the episode's next change; `False` (and no call) when it
        changed since `seen` already."""
        with self._lock:
            if episode.version != seen:
                return False
            episode._wakers.add(waker)
            return True

    def running(self, key: str) -> Episode | None:
        """The episode of `key` whose hook runs now, if any (a fleet coordinator notes on it
        why the fleet declined)."""
        with self._lock:
            state = self._scopes.get(key)
            return None if state is None else state.running

    def last(self, key: str) -> Episode | None:
        """The last finished episode of `key`, if it is remembered."""
        with self._lock:
            state = self._scopes.get(key)
            return None if state is None else state.last

    def busy(self, scope: str) -> bool:
        """`True` while a hook of `scope` (for any reason) runs or its window is open."""
        now = self.clock()
        with self._lock:
            for key in (scope, *(f"{scope}|{reason.value}" for reason in Reason)):
                state = self._scopes.get(key)
                if state is None:
                    continue
                last = state.last
                if state.running is not None or (
                    last is not None and last.retry is not None and now < last.open_until
                ):
                    return True
            return False

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        """Remembers that `scope` is behind this gate for `ttl` seconds; its payload only when
        small (`kept_payload`), for the stand-in of a request refused meanwhile."""
        kept = attrs.evolve(payment, raw=kept_payload(payment.raw))
        with self._lock:
            state = self._state(scope)
            if state.gated is None:
                self.gated_scopes += 1
            state.gated = kept
            state.gated_until = self.clock() + ttl
            self._gated_until = max(self._gated_until, state.gated_until)

    def gated(self, scope: str) -> PaymentRequired | None:
        """The last gate of `scope`, while it is still believed to hold."""
        with self._lock:
            state = self._scopes.get(scope)
            if state is None or state.gated is None:
                return None
            if self.clock() >= state.gated_until:
                self._forget_gate(state)
                return None
            return state.gated

    def knows_gates(self) -> bool:
        """`False` when no scope is known to be gated: a request then skips the known-gate
        check, and computing its scope for it. One look, no lock (a gate marked at the same
        moment is met as if it came a moment later)."""
        return self.gated_scopes > 0 and self.clock() < self._gated_until

    def quiet(self) -> bool:
        """`True` when nothing here would be lost if every scope were named anew: no hook
        runs and no window is open, no hook raised or declined within `failure_hold` (its
        episode still answers the gates after it), no top-up waits to show, nothing is
        held, no late proof waits, no SDK call's answer is kept (a shell whose fleet key came
        late asks)."""
        now = self.clock()
        with self._lock:
            if self._unlifted or self._orphans or self.holds.live():
                return False
            if any(not run.finished for run in self._low_balance.values()):
                return False
            if any(now < at + self._keep_closed for at, _ in self._calls.values()):
                return False
            for state in self._scopes.values():
                last = state.last
                if state.running is not None or (
                    last is not None
                    and (
                        (last.retry is not None and now < last.open_until)
                        or (last.retry is None and now < last.finished_at + self._failure_hold)
                    )
                ):
                    return False
        return True

    def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope` (after a top-up made by hand)."""
        with self._lock:
            self._forget_gate(self._scopes.get(scope))

    def knows(self, scope: str, *, gates: bool = True) -> bool:
        """`True` when this process knows something of `scope` that `forget_gate` or
        `reconcile` ends: a known gate (unless `gates` is false: `reconcile` ends none), a
        hold, or a top-up that did not show yet. A call that finds nothing says so: its
        scope is likely not the one real requests have."""
        prefix = f"{scope}|"
        with self._lock:
            state = self._scopes.get(scope)
            if (
                gates
                and state is not None
                and state.gated is not None
                and self.clock() < state.gated_until
            ):
                return True
            if any(key.startswith(prefix) for key in self._unlifted):
                return True
        return bool(self.holds.live().get(scope))

    def __len__(self) -> int:
        return len(self._scopes)

    def orphan(self, scope: str, keys: tuple[str, ...], episode: Episode) -> None:
        """Keeps a payment episode whose request stopped waiting for it, under each of the
        offer keys it may pay in its billing scope: its proof, when it comes, serves the
        next request of that scope for the offer (one request, once) instead of being thrown
        away. Never another scope's: the hook paid from that scope's wallet."""
        with self._lock:
            now = self.clock()
            for stale in [k for k, e in self._orphans.items() if not self._adoptable(e, now)]:
                del self._orphans[stale]
            for key in keys:
                self._orphans.setdefault((scope, key), episode)

    def adopt(self, scope: str, keys: tuple[str, ...]) -> Episode | None:
        """The orphaned payment episode of `scope` for any of `keys` (running, or answered
        with a proof not yet used), taken out for one request; `None` when there is none."""
        with self._lock:
            now = self.clock()
            for key in keys:
                episode = self._orphans.pop((scope, key), None)
                if episode is not None and self._adoptable(episode, now):
                    for other in [k for k, e in self._orphans.items() if e is episode]:
                        del self._orphans[other]
                    return episode
            return None

    def _adoptable(self, episode: Episode, now: float) -> bool:
        """Running, or answered with a proof not long ago. A pay hook that raised holds its
        offers itself (`HookCall.finish`): its episode is not adopted, so that once the
        application reconciles that hold, the next request pays instead of meeting the old
        unknown outcome again."""
        if not episode.finished:
            return True
        return episode.retry is not None and now < episode.finished_at + self._keep_closed

    def forked(self) -> None:
        """In a child process, forgets what only the parent's threads could finish: the
        hooks that were running (the child has not their threads; its next gate leads a new
        episode), the scouts and waiters; the lock is new. Finished episodes, open windows
        and holds stay: the money they stand for was spent for the account either way."""
        self._lock = threading.Lock()
        self._signs_lock = threading.Lock()
        self.holds.forked()
        self._orphans = {k: e for k, e in self._orphans.items() if e.finished}
        self._low_balance = {k: e for k, e in self._low_balance.items() if e.finished}
        for state in self._scopes.values():
            running, state.running = state.running, None
            if running is not None:
                running._wakers = set()
            last = state.last
            if last is not None:
                last.scout = None
                last._wakers = set()

    def _new(self, scope: str | None) -> Episode:
        self._episodes += 1
        return Episode(self._episodes, scope, self.clock())

    def _forget_gate(self, state: _ScopeState | None) -> None:
        if state is not None and state.gated is not None:
            state.gated = None
            self.gated_scopes -= 1
            if not self.gated_scopes:
                self._gated_until = 0.0

    def _changed(self, episode: Episode) -> set[Callable[[], None]]:
        episode.version += 1
        wakers, episode._wakers = episode._wakers, set()
        return wakers

    def _state(self, scope: str) -> _ScopeState:
        state = self._scopes.get(scope)
        if state is None:
            if len(self._scopes) >= self._prune_at:
                self._prune()
            state = self._scopes[scope] = _ScopeState()
        return state

    def _prune(self) -> None:
        """Forgets the scopes that guard against nothing any more; if every scope still
        guards something, the table grows, and the next prune waits until it has doubled
        (so pruning stays linear overall)."""
        now = self.clock()
        for key in [k for k, v in self._scopes.items() if self._forgettable(v, now)]:
            self._forget_gate(self._scopes.pop(key))
            self._unlifted.pop(key, None)
        self._settling_changed()
        self._prune_at = max(self._max_scopes, 2 * len(self._scopes))

    def _forgettable(self, state: _ScopeState, now: float) -> bool:
        if state.running is not None:
            return False
        if state.gated is not None and now < state.gated_until:
            return False
        last = state.last
        return last is None or now >= max(last.open_until, last.finished_at) + self._keep_closed


def _wake(wakers: set[Callable[[], None]]) -> None:
    for waker in wakers:
        waker()


@attrs.define(eq=False)
class _Reading:
    balance: Balance | None = None
    read_at: float = float("-inf")
    #: The book's marks of the held reading: when its request was sent, and when it arrived
    #: (`None`: nothing is held, any reading is taken).
    sent: int = -1
    arrived: int | None = None
    #: The wall clock as its request was sent (where the flow took it, else as it arrived),
    #: which a fleet compares across processes (`sent`).
    wall: float = float("-inf")
    #: The latest send mark of a reading that arrived and could not be ordered (`-1`: none).
    unordered: int = -1
    probing: Episode | None = None


class BalanceCache:
    """The last balance read per scope, and the probe under way: thread-safe, no I/O.

    Every balance read (a response's balance header, a probe's answer, a gate's
    `credits_available`) goes through `seen` or `store`, which keep it only if it is
    certainly newer than the one held (`_readings.supersedes`): readings are ordered by when
    the server could have computed them, never by when they arrived.

    Args:
        book: The episode book whose clock, marks and waiters it shares (a probe under way is
            a private episode that its waiters wait on).
        max_scopes: Scopes remembered (the least recently used go first; never one with a
            probe under way).
    """

    def __init__(self, book: EpisodeBook, *, max_scopes: int = _MAX_SCOPES) -> None:
        self._book = book
        self._scopes: OrderedDict[str, _Reading] = OrderedDict()
        self._lock = threading.Lock()
        self._max_scopes = max_scopes

    @property
    def clock(self) -> Callable[[], float]:
        return self._book.clock

    def join(self, scope: str, every: float) -> tuple[str, Balance | Episode | None]:
        """`("fresh", balance or None)`, `("lead", episode)` (probe now, then `store`), or
        `("wait", episode)` (another request probes)."""
        with self._lock:
            reading = self._scopes.pop(scope, None) or _Reading()
            self._scopes[scope] = reading
            self._trim()
            if reading.probing is not None:
                return "wait", reading.probing
            if self._book.clock() - reading.read_at < every:
                return "fresh", reading.balance
            reading.probing = self._book.private()
            return "lead", reading.probing

    def seen(self, scope: str, balance: Balance, sent: int, wall: float | None = None) -> bool:
        """Records a balance read from a response to a request sent at mark `sent` (a
        balance header, a probe, a gate's `credits_available`) and wall clock `wall` (where
        known): `True` when it is kept as the scope's newest reading (fresh for `every`
        seconds), `False` when it overlaps the one held and is left out (it moves no
        money)."""
        with self._lock:
            reading = self._scopes.pop(scope, None) or _Reading()
            self._scopes[scope] = reading
            self._trim()
            return self._taken(reading, balance, sent, wall)

    def _taken(
        self, reading: _Reading, balance: Balance | None, sent: int, wall: float | None
    ) -> bool:
        if not supersedes(reading.arrived, sent):
            reading.unordered = max(reading.unordered, sent)
            return False
        reading.balance, reading.read_at = balance, self._book.clock()
        reading.sent, reading.arrived = sent, self._book.tick()
        reading.wall = _wall() if wall is None else wall
        return True

    def forget(self, scope: str) -> None:
        """Forgets the scope's last balance (billing took since): the next request probes,
        or is sent where there is no probe; a reading of a request sent before now is not
        taken after it. A probe under way is kept."""
        with self._lock:
            reading = self._scopes.get(scope)
            if reading is not None:
                reading.balance, reading.read_at = None, float("-inf")
                reading.sent, reading.arrived = -1, self._book.tick()

    def since(self, scope: str, mark: int) -> tuple[Balance | None, bool]:
        """What shows of a top-up whose hook answered at mark `mark`: the scope's newest
        balance if its request was sent at or after `mark` (else `None`), and whether a
        reading of a request sent at or after `mark` arrived that could not be ordered (then
        `None` means "cannot tell yet", not "nothing read")."""
        with self._lock:
            reading = self._scopes.get(scope)
            if reading is None:
                return None, False
            if reading.arrived is not None and reading.sent >= mark:
                return reading.balance, False
            return None, reading.unordered >= mark

    def fresh(self, scope: str, every: float) -> Balance | None:
        """The scope's last balance if it was seen less than `every` seconds ago."""
        with self._lock:
            reading = self._scopes.get(scope)
            if reading is None or self._book.clock() - reading.read_at >= every:
                return None
            return reading.balance

    def store(
        self,
        scope: str,
        episode: Episode,
        balance: Balance | None,
        sent: int,
        wall: float | None = None,
    ) -> bool:
        """Records the answer of the probe sent at mark `sent` (and wall clock `wall`;
        `None`: it failed, and requests go until `every` has passed) and wakes its waiters;
        `True` when its balance is kept as the newest (`seen`)."""
        taken = False
        with self._lock:
            reading = self._scopes.get(scope)
            if reading is not None and reading.probing is episode:
                reading.probing = None
                if balance is None:
                    reading.balance, reading.read_at = None, self._book.clock()
                else:
                    taken = self._taken(reading, balance, sent, wall)
        self._book.finish(episode, None, None, 0.0)
        return taken

    def sent(self, scope: str, balance: Balance) -> Mark | None:
        """The mark of the request that read `balance` (its send mark and wall clock), while
        it is the scope's reading: a refusal made on it is a gate as of that request, not as
        of now (an episode that finished since answers it, as it answers a late gate of its
        burst, here and in a fleet's election)."""
        with self._lock:
            reading = self._scopes.get(scope)
            if reading is None or reading.arrived is None or reading.balance is not balance:
                return None
            return Mark((reading.sent, reading.wall))

    def last(self, scope: str) -> Balance | None:
        with self._lock:
            reading = self._scopes.get(scope)
            return None if reading is None else reading.balance

    def forked(self) -> None:
        """In a child process: the probes under way run in the parent's threads only."""
        self._lock = threading.Lock()
        for reading in self._scopes.values():
            reading.probing = None

    def _trim(self) -> None:
        for key in list(self._scopes):
            if len(self._scopes) <= self._max_scopes:
                return
            if self._scopes[key].probing is None:
                del self._scopes[key]


class ProcessState:
    """What every coordinator keeps in its own process, whatever it shares beyond: the
    episode book, the holds, the balances probed, and the marker taken as a request is sent.

    A sync and an async coordinator may share one process state (`twin()`), so that a sync
    and an async client of one account run one hook per episode between them.

    Args:
        clock: Monotonic seconds; tests and benchmarks pass a virtual clock (with the
            transport's `sleep`).
    """

    #: `True` when every gate this coordinator knows is in its book (one process): a request
    #: then skips the known-gate check while the book knows none. A fleet coordinator may
    #: know other processes' gates, and is asked.
    keeps_gates_here: ClassVar[bool] = False

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, *, shares: ProcessState | None = None
    ) -> None:
        self._state: _State = shares._state if shares is not None else _State(EpisodeBook(clock))
        self.book = self._state.book
        _FORK_SAFE.add(self)

    @property
    def balances(self) -> BalanceCache:
        """The balances probed per scope, for `Preflight` (made on first use)."""
        return self._state.balances

    @property
    def holds(self) -> HoldBook:
        """The holds this process put or met (a fleet coordinator's store has the fleet's)."""
        return self.book.holds

    def mark(self) -> Mark:
        """A marker taken as a request is sent, to tell a late gate from a new burst."""
        return self.book.mark()

    def forked(self) -> None:
        """Called in a child process after a fork (the book resets itself): a subclass
        resets what else only the parent's threads could finish."""
        self._state.forked()


class _State:
    """The process state that a coordinator and its twin share."""

    def __init__(self, book: EpisodeBook) -> None:
        self.book = book
        self.twins: dict[type[Any], Any] = {}

    @functools.cached_property
    def balances(self) -> BalanceCache:
        return BalanceCache(self.book)

    def forked(self) -> None:
        balances = self.__dict__.get("balances")
        if balances is not None:
            balances.forked()


class LocalCoordinator(ProcessState):
    """Shares episodes among the threads of one process: the sync transports' default.

    Share one between the transports (and clients) that use the same account. `wrap()`
    shares one among a client's own transports. An async transport given one uses its
    `twin()`, so a sync and an async client of one account share their episodes too.

    Args:
        clock: Monotonic seconds; tests and benchmarks pass a virtual clock (with the
            transport's `sleep`).
    """

    keeps_gates_here = True

    def twin(self) -> AsyncLocalCoordinator:
        """The `AsyncLocalCoordinator` that shares this one's episodes, holds and balances
        (always the same one)."""
        return _twin(self, AsyncLocalCoordinator)

    def hold(self, scope: str, key: str, record: str) -> None:
        """Holds `scope` and `key`: no hook pays for them until `release`; the first record
        stays. Never expires, never evicted."""
        self.holds.hold(scope, key, record)

    def held(self, scope: str, key: str) -> str | None:
        """The record of the hold on `scope` and `key`, or `None`."""
        return self.holds.held(scope, key)

    def release(self, scope: str, key: str | None = None) -> None:
        """Ends the hold on `scope` and `key` (every hold of `scope` for `None`): the
        application's reconcile."""
        self.holds.release(scope, key)
        if key is None or is_top_up_key(key):
            self.book.settled(scope)

    def run_episode(
        self, scope: str, sent: Mark, run_hook: Callable[[], Retry | None], window: float
    ) -> Retry | None:
        """Runs the episode's hook; a fleet coordinator elects one process to run it."""
        return run_hook()

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)

    def gated(self, scope: str) -> PaymentRequired | None:
        return self.book.gated(scope)

    def lifted(self, scope: str) -> None:
        """A replay of `scope` got through (the book already knows; a fleet is told)."""

    def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope`, after a top-up made outside a hook."""
        self.book.forget_gate(scope)


class AsyncLocalCoordinator(ProcessState):
    """Shares episodes among the tasks of one process, under asyncio or trio (and among
    event loops in several threads): the async transports' default. A sync transport given
    one uses its `twin()`.

    Args:
        clock: Monotonic seconds; tests and benchmarks pass a virtual clock.
    """

    keeps_gates_here = True

    def twin(self) -> LocalCoordinator:
        """The `LocalCoordinator` that shares this one's episodes, holds and balances."""
        return _twin(self, LocalCoordinator)

    async def hold(self, scope: str, key: str, record: str) -> None:
        """Holds `scope` and `key` (see `LocalCoordinator.hold`)."""
        self.holds.hold(scope, key, record)

    async def held(self, scope: str, key: str) -> str | None:
        """The record of the hold on `scope` and `key`, or `None`."""
        return self.holds.held(scope, key)

    async def release(self, scope: str, key: str | None = None) -> None:
        """Ends the hold on `scope` and `key` (every hold of `scope` for `None`)."""
        self.holds.release(scope, key)
        if key is None or is_top_up_key(key):
            self.book.settled(scope)

    async def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """Runs the episode's hook; a fleet coordinator elects one process to run it."""
        return await run_hook()

    async def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)

    async def gated(self, scope: str) -> PaymentRequired | None:
        return self.book.gated(scope)

    async def lifted(self, scope: str) -> None:
        """A replay of `scope` got through (the book already knows; a fleet is told)."""

    async def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope`, after a top-up made outside a hook."""
        self.book.forget_gate(scope)


_Twin = TypeVar("_Twin", bound=ProcessState)


def _twin(coordinator: ProcessState, kind: type[_Twin]) -> _Twin:
    """The coordinator of `kind` sharing `coordinator`'s process state, made once."""
    twins = coordinator._state.twins
    with coordinator.book._lock:
        twin: _Twin | None = twins.get(kind)
        if twin is None:
            twins[type(coordinator)] = coordinator
            twin = twins[kind] = kind(shares=coordinator)
    return twin


#: Every book and process state alive, reset in a forked child.
_FORK_SAFE: weakref.WeakSet[Any] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for item in list(_FORK_SAFE):
        item.forked()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_after_fork_in_child)
