"""One hook call per billing scope, however many requests hit the gate at once.

An *episode* is one run of the upgrade hook for one scope, and the propagation window that
follows it. `EpisodeBook` decides, without I/O, what each gated request does: **lead** (run
the hook), **wait** (for the running episode's answer), or **reuse** the last answer: when
the request was sent before that episode finished (a late 402 is not a new burst), or while
the episode is still open (its `Retry` asked for time to propagate, and no replay has got
through yet), or when the request was sent before a replay got through (its 402 is stale).
A replay that gets through, or gives up, settles the episode. The coordinators
add the waiting: threads for the sync transport, anyio events (asyncio or trio) for the async
one.

A hook that raises ends its episode for all its waiters with that same exception; the next
burst elects a new leader. The book also keeps which scopes are known to be gated, for the
preflight check.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import attrs

from ._models import PaymentRequired, Retry

__all__ = ["AsyncLocalCoordinator", "Episode", "EpisodeBook", "LocalCoordinator", "Role"]

_MAX_SCOPES = 10_000


class Role(enum.Enum):
    LEAD = "lead"
    WAIT = "wait"
    REUSE = "reuse"


@attrs.define(eq=False)
class Episode:
    """One run of the hook for one scope, and its answer once finished."""

    number: int
    signal: Any
    finished: bool = False
    retry: Retry | None = None
    error: BaseException | None = None

    def result(self) -> Retry | None:
        """The hook's answer; re-raises the hook's own exception unchanged."""
        if self.error is not None:
            raise self.error
        return self.retry


@attrs.define(eq=False)
class _ScopeState:
    running: Episode | None = None
    last: Episode | None = None
    finished_at: int = 0
    open_until: float = 0.0
    lifted_at: int = 0
    gated: PaymentRequired | None = None
    gated_until: float = 0.0


class EpisodeBook:
    """The bookkeeping of episodes and known gates, per scope; thread-safe, no I/O."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._scopes: dict[str, _ScopeState] = {}
        self._episodes = 0
        self._clock = clock
        #: Counts finished and settled episodes of every scope; a request notes it when it is
        #: sent, to tell which episode (or lift) came after it.
        self.sequence = 0

    def join(self, scope: str, sent_at: Any, new_signal: Callable[[], Any]) -> tuple[Role, Episode]:
        """What a request sent at `sent_at` does about a gate of `scope`."""
        with self._lock:
            state = self._state(scope)
            if state.running is not None:
                return Role.WAIT, state.running
            last = state.last
            # Covered: sent before the episode finished, or before its gate lifted (a stale
            # 402), or while the episode is still open.
            covered = last is not None and (
                state.finished_at > sent_at
                or state.lifted_at > sent_at
                or self._clock() < state.open_until
            )
            if covered and last is not None and last.retry is not None:
                return Role.REUSE, last
            self._episodes += 1
            episode = Episode(self._episodes, new_signal())
            state.running = episode
            return Role.LEAD, episode

    def finish(
        self,
        scope: str,
        episode: Episode,
        retry: Retry | None,
        error: BaseException | None,
        window: float,
    ) -> None:
        """Records the answer of `episode` and wakes its waiters. A `Retry` keeps the episode
        open for its propagation window."""
        with self._lock:
            state = self._state(scope)
            episode.retry, episode.error, episode.finished = retry, error, True
            state.running = None
            state.last = episode
            self.sequence += 1
            state.finished_at = self.sequence
            if retry is not None:
                state.open_until = self._clock() + (retry.within or window)
        # threading.Event and anyio.Event both wake their waiters with a plain set().
        episode.signal.set()

    def settle(self, scope: str, *, lifted: bool) -> None:
        """Closes the open episode of `scope`: a replay got through (`lifted`, which also
        forgets the known gate) or gave up."""
        with self._lock:
            state = self._scopes.get(scope)
            if state is not None:
                state.open_until = 0.0
                self.sequence += 1
                if lifted:
                    state.gated = None
                    state.lifted_at = self.sequence

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        """Remembers that `scope` is behind this gate for `ttl` seconds."""
        with self._lock:
            state = self._state(scope)
            state.gated, state.gated_until = payment, self._clock() + ttl

    def gated(self, scope: str) -> PaymentRequired | None:
        """The last gate of `scope`, while it is still believed to hold."""
        with self._lock:
            state = self._scopes.get(scope)
            if state is None or state.gated is None or self._clock() >= state.gated_until:
                return None
            return state.gated

    def _state(self, scope: str) -> _ScopeState:
        state = self._scopes.get(scope)
        if state is None:
            if len(self._scopes) >= _MAX_SCOPES:
                # Forget idle scopes rather than grow without bound.
                for key in [k for k, v in self._scopes.items() if v.running is None]:
                    del self._scopes[key]
            state = self._scopes[scope] = _ScopeState()
        return state


class LocalCoordinator:
    """Coalesces hook calls among the threads of one process (the sync default).

    The interface every sync coordinator offers: `mark`, `resolve`, `settle`, `mark_gated`
    and `gated`.
    """

    def __init__(self) -> None:
        self.book = EpisodeBook()

    def mark(self) -> Any:
        """A marker taken as a request is sent, to tell a late gate from a new burst."""
        return self.book.sequence

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)

    def gated(self, scope: str) -> PaymentRequired | None:
        return self.book.gated(scope)

    def settle(self, scope: str, *, lifted: bool) -> None:
        self.book.settle(scope, lifted=lifted)

    def resolve(
        self,
        scope: str,
        sent_at: Any,
        run_hook: Callable[[], Retry | None],
        window: float,
    ) -> Retry | None:
        """Runs the hook once for the burst of `scope`, or waits for the run under way;
        `window` is how long a `Retry` without `within` keeps the episode open."""
        role, episode = self.book.join(scope, sent_at, threading.Event)
        if role is Role.LEAD:
            try:
                retry = run_hook()
            except BaseException as exc:
                self.book.finish(scope, episode, None, exc, window)
                raise
            self.book.finish(scope, episode, retry, None, window)
            return retry
        if role is Role.WAIT:
            episode.signal.wait()
        return episode.result()


class AsyncLocalCoordinator:
    """Coalesces hook calls among the tasks of one process, under asyncio or trio.

    The interface every async coordinator offers: `mark`, and the coroutines `resolve`,
    `settle`, `mark_gated` and `gated`.
    """

    def __init__(self) -> None:
        self.book = EpisodeBook()

    def mark(self) -> Any:
        """A marker taken as a request is sent, to tell a late gate from a new burst."""
        return self.book.sequence

    async def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)

    async def gated(self, scope: str) -> PaymentRequired | None:
        return self.book.gated(scope)

    async def settle(self, scope: str, *, lifted: bool) -> None:
        self.book.settle(scope, lifted=lifted)

    async def resolve(
        self,
        scope: str,
        sent_at: Any,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """Runs the hook once for the burst of `scope`, or waits for the run under way.

        The hook runs shielded from cancellation: cancelling the request that happened to
        lead does not cancel the top-up that every other waiter depends on.
        """
        role, episode = self.book.join(scope, sent_at, anyio.Event)
        if role is Role.LEAD:
            try:
                with anyio.CancelScope(shield=True):
                    retry = await run_hook()
            except BaseException as exc:
                self.book.finish(scope, episode, None, exc, window)
                raise
            self.book.finish(scope, episode, retry, None, window)
            return retry
        if role is Role.WAIT:
            await episode.signal.wait()
        return episode.result()
