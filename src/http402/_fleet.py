"""The fleet's decisions, in pure code: who runs the hook, who waits, who is answered.

`RedisCoordinator` and `AsyncRedisCoordinator` are thin I/O shells over this module, as the
transports are over `_recovery`: they read the scope's state from the store, hand it to an
`Election`, and do what it says. Everything here takes its clocks as arguments, so tests
order events with a fake clock, never with sleeps.

One election, for the local leader of one burst in one process:

1. **look**: read the scope's outcome, open window, lift time and lease in one script call;
2. **covered**: an outcome that finished after the request was sent, or whose window is open
   (or lifted after the request was sent), answers it: no hook here;
3. **wait**: another process holds the lease (its hook runs, or its outcome is still being
   published): sleep until the outcome's message, at most until the lease could expire;
4. **grace**: nobody holds the lease, but the newest holder known (the store's `current`
   token, or one this process saw, should the store have lost it) published no outcome:
   wait one lease more, once per holder. A holder cut off from Redis keeps its outcome and
   re-takes its lease on its return if nobody was elected meanwhile, so a pause (or a restart
   that lost the keys) longer than the lease still costs no second top-up; a crashed
   holder is taken over after two leases instead of one. A scope the store knows nothing of,
   on a server (re)started within two leases, gets a shorter grace once: a renewal beat (a
   holder this process never saw may be about to re-take its lease);
5. **lead**: try to take the lease, *if the outcome is still the one just seen* (an outcome
   published in between answers instead), and if the fleet's cap on episodes for this scope
   allows one more;
6. **declined**: the cap refuses: raise the gate, with a warning;
7. **errors**: while a lease seen at the last contact could still be alive, a store error is
   waited out (a paused Redis, a failover); once it could not, the process coordinates
   alone (`LOCAL`) and the breaker keeps it so for a second.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

import attrs

from ._models import Retry

__all__ = ["Breaker", "Election", "Outcome", "Step", "Verdict", "View", "Witness"]

_logger = logging.getLogger("http402")

#: Seconds the breaker keeps a process coordinating alone after a store failure.
RETRY_STORE_AFTER = 1.0
#: Seconds beyond a renewal beat given to a holder to reconnect after a restart.
_RESTART_SLACK = 0.5
#: Most scopes whose recent episodes one process remembers for the cap.
_MAX_WITNESSED_SCOPES = 10_000


@attrs.frozen
class Outcome:
    """A finished episode as every process can read it: no headers, no exception object."""

    fence: int
    kind: str  # "retry", "none" or "error"
    within: float | None
    finished_at: float

    def encode(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str | None) -> Outcome | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(
                int(data["fence"]), str(data["kind"]), data["within"], float(data["finished_at"])
            )
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def of(
        cls, fence: int, retry: Retry | None, error: BaseException | None, now: float
    ) -> Outcome:
        kind = "error" if error is not None else "none" if retry is None else "retry"
        within = retry.within if retry is not None else None
        return cls(fence, kind, within, now)

    def covers(self, sent_wall: float, is_open: bool, lifted: float | None) -> bool:
        """`True` when this episode answers a gate met by a request sent at `sent_wall`: sent
        before it finished, or (for a replay) while it is open or before its gate lifted."""
        if self.finished_at > sent_wall:
            return True
        if self.kind != "retry":
            return False
        return is_open or (lifted is not None and lifted > sent_wall)

    def open_ms(self, window: float) -> int:
        return int((self.within or window) * 1000) if self.kind == "retry" else 0

    def publish_until(self, window: float) -> float:
        """Until when (wall clock) publishing this outcome is still worth trying: the end
        of its window, and for a `None` or a failure, the default window."""
        return self.finished_at + (self.within or window)

    def answer(self, scope_hint: str) -> Retry | None:
        """What this process's waiters do: replay within the window, or raise their gate."""
        if self.kind == "retry":
            return Retry(within=self.within)
        if self.kind == "error":
            _logger.warning(
                "http402: the upgrade hook failed in another process (scope %s); raising the "
                "gate here",
                scope_hint,
            )
        return None


def fence_of(token: str | None) -> int:
    """The fencing number at the front of a lease token (`"<fence>:<nonce>"`), or 0."""
    if not token:
        return 0
    head = token.partition(":")[0]
    return int(head) if head.isdigit() else 0


@attrs.frozen
class View:
    """The scope's state in the store, read atomically by one script call."""

    outcome_raw: str
    lease: str | None
    lease_ms: int
    is_open: bool
    lifted: float | None
    #: The token of the last holder elected, or "".
    current: str = ""
    #: When the scope has no fencing counter and the server (re)started within two leases,
    #: the start's time (its data, a running episode's included, may have been lost); else "".
    fresh: str = ""

    @property
    def outcome(self) -> Outcome | None:
        return Outcome.decode(self.outcome_raw)

    @classmethod
    def parse(cls, reply: list[Any]) -> View:
        """From the script's reply `[lease, pttl, outcome, open, lifted, current, fresh]`."""
        lease, pttl, outcome, is_open, lifted, current, fresh = (_text(item) for item in reply)
        return cls(
            outcome_raw=outcome,
            lease=lease or None,
            lease_ms=max(0, int(pttl or 0)),
            is_open=is_open not in ("", "0"),
            lifted=_float(lifted) if lifted else None,
            current=current,
            fresh=fresh,
        )


class Verdict(enum.Enum):
    """What the coordinator does next in an election."""

    #: Read the scope's state (`Step.seen` is `None`), or take the lease if the outcome is
    #: still `Step.seen`.
    LOOK = "look"
    ACQUIRE = "acquire"
    #: Sleep until the scope's message, or `Step.timeout` seconds; then look again.
    WAIT = "wait"
    #: `Step.answer` answers this burst: no hook here.
    COVERED = "covered"
    #: This process took the lease (`Step.token`): run the hook.
    LEAD = "lead"
    #: The fleet's cap refused another episode: raise the gate (`Step.note` says why).
    DECLINED = "declined"
    #: The store is unreachable for longer than any lease seen: coordinate in this process.
    LOCAL = "local"


@attrs.frozen
class Step:
    verdict: Verdict
    seen: str | None = None
    timeout: float = 0.0
    answer: Retry | None = None
    token: str = ""
    note: str = ""


class Election:
    """The decisions of one process's local leader for one burst of one scope.

    Args:
        sent_wall: When the request that met the gate was sent (wall clock, as published
            outcomes are stamped).
        lease_ttl: Seconds a lease lives without renewal.
        clock: Monotonic seconds, for the patience with store errors.
        scope_hint: How the scope is named in logs (its key, never the scope).
    """

    def __init__(
        self,
        sent_wall: float,
        lease_ttl: float,
        clock: Callable[[], float],
        scope_hint: str,
    ) -> None:
        self._sent_wall = sent_wall
        self._lease_ttl = lease_ttl
        self._clock = clock
        self._hint = scope_hint
        self._patient_until = clock() + lease_ttl
        self._graced: set[str] = set()

    def first(self) -> Step:
        return Step(Verdict.LOOK)

    def viewed(
        self,
        view: View,
        *,
        acquired: str | None = None,
        capped: str | None = None,
        witnessed: str | None = None,
    ) -> Step:
        """The next step after the store answered with `view`.

        Args:
            view: The scope's state.
            acquired: This process's new lease token, when it took the lease.
            capped: The newest counted episode's token, when the cap refused.
            witnessed: The newest holder's token this process has seen for the scope.
        """
        # Any lease alive now may live `lease_ttl` more: keep waiting through errors so long.
        self._patient_until = self._clock() + max(view.lease_ms / 1000, self._lease_ttl)
        if acquired:
            return Step(Verdict.LEAD, token=acquired)
        outcome = view.outcome
        if outcome is not None and outcome.covers(self._sent_wall, view.is_open, view.lifted):
            return Step(Verdict.COVERED, answer=outcome.answer(self._hint))
        if view.lease is not None:
            return Step(Verdict.WAIT, timeout=max(view.lease_ms / 1000, 0.05))
        published = outcome.fence if outcome is not None else 0
        for holder in (view.current, witnessed, capped):
            if holder and fence_of(holder) > published and holder not in self._graced:
                # That holder published nothing yet and may still do so: its lease
                # expired while it was cut off, or the store lost it. Give it one lease.
                self._graced.add(holder)
                return Step(Verdict.WAIT, timeout=self._lease_ttl)
        if capped is not None:
            return Step(Verdict.DECLINED, note="the fleet's cap on top-ups for this scope")
        restart = f"restarted at {view.fresh}"
        if view.fresh and restart not in self._graced:
            # Redis restarted moments ago and knows nothing of this scope: a holder this
            # process never saw may be running its hook, and re-takes its lease at its next
            # renewal.
            self._graced.add(restart)
            return Step(Verdict.WAIT, timeout=renew_beat(self._lease_ttl) + _RESTART_SLACK)
        return Step(Verdict.ACQUIRE, seen=view.outcome_raw)

    def failed(self) -> Step:
        """The store did not answer: wait while a lease seen could still be alive."""
        remaining = self._patient_until - self._clock()
        if remaining <= 0:
            return Step(Verdict.LOCAL)
        return Step(Verdict.WAIT, timeout=min(0.25, remaining))


def renew_beat(lease_ttl: float) -> float:
    """Seconds between a holder's renewals: a third of the lease, at most a second, so that
    a holder re-takes a lease a restarted Redis lost within about a second."""
    return min(lease_ttl / 3, 1.0)


def publish_waits(initial: float = 0.05, cap: float = 1.0) -> Iterator[float]:
    """The waits between attempts to publish an outcome: geometric, capped at a second."""
    wait = initial
    while True:
        yield wait
        wait = min(cap, wait * 2)


class Breaker:
    """Remembers a store failure for a second, so an outage costs one timeout, not one per
    request; logs the outage and the recovery once each.

    Args:
        clock: Monotonic seconds (injectable: tests step a fake clock past the second).
    """

    def __init__(self, clock: Callable[[], float], retry_after: float = RETRY_STORE_AFTER):
        self._clock = clock
        self._retry_after = retry_after
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def open(self) -> bool:
        return self._clock() < self._down_until

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = self._clock() + self._retry_after
            first = not self._down
            self._down = True
        if first:
            _logger.warning(
                "http402: Redis is unreachable (%s: %s); coordinating in this process only "
                "until it returns",
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        if self._down:
            with self._lock:
                was_down, self._down = self._down, False
            if was_down:
                _logger.warning("http402: Redis is back; coordinating across the fleet again")


class Witness:
    """The episodes (lease tokens and when they were seen) this process saw per scope in
    the cap's period, so that a store that lost its data is told about them again before
    it counts: the cap then still holds after a restart without persistence.

    Args:
        period: The cap's period, in seconds.
        wall: Wall-clock seconds (the store counts episodes on the wall clock).
    """

    def __init__(self, period: float, wall: Callable[[], float]) -> None:
        self._period = period
        self._wall = wall
        self._seen: OrderedDict[str, dict[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def saw(self, key: str, token: str | None) -> None:
        if not token:
            return
        with self._lock:
            tokens = self._seen.pop(key, {})
            tokens.setdefault(token, self._wall())
            self._seen[key] = tokens
            if len(self._seen) > _MAX_WITNESSED_SCOPES:
                self._seen.popitem(last=False)

    def newest(self, key: str) -> str | None:
        """The token with the highest fence seen for `key`, if any."""
        with self._lock:
            tokens = self._seen.get(key)
            return max(tokens, key=fence_of) if tokens else None

    def recent(self, key: str) -> list[str]:
        """`[token, started_ms, ...]` for the episodes of `key` inside the period."""
        horizon = self._wall() - self._period
        with self._lock:
            tokens = self._seen.get(key, {})
            for token in [t for t, at in tokens.items() if at <= horizon]:
                del tokens[token]
            return [item for t, at in tokens.items() for item in (t, str(int(at * 1000)))]


def parse_cap(max_episodes: tuple[int, float] | None) -> tuple[int, float]:
    """`(count, period)` from the coordinator's `max_episodes`; `(0, 0)` for no cap."""
    if max_episodes is None:
        return 0, 0.0
    count, period = max_episodes
    if count < 1 or not period > 0:
        raise ValueError(
            f"max_episodes must be (count >= 1, period > 0 seconds) or None, got {max_episodes!r}"
        )
    return int(count), float(period)


def _text(item: Any) -> str:
    if item is None:
        return ""
    if isinstance(item, bytes):
        return item.decode()
    return str(item)


def _float(raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0
