"""The fleet's decisions, in pure code: who runs the hook, who waits, who is answered.

`RedisCoordinator` and `AsyncRedisCoordinator` are thin I/O shells over this module, as the
transports are over `_recovery`. Each part of an episode is a *flow*, a generator that yields
what it needs done (`Call` a store script, `Listen` for the scope's message, `Pause` between
renewals) and takes the answers back; a store failure is thrown into the flow as
`StoreFailure`. The sync shell drives the flows in threads, the async one in tasks, and the
deterministic simulation (`tests/simulation/`) on a fake clock against a fake store that runs
the same Lua scripts. Everything here takes its clocks as arguments.

One election, for the local leader of one burst in one process (`election_flow`):

1. **look**: read the scope's state (outcome, open window, lift time, lease, last holder);
2. **covered**: an outcome that finished after the request was sent, or whose window is open
   (or lifted after the request was sent), answers it: no hook here;
3. **wait**: another process holds the lease (its hook runs, or its outcome is still being
   published): sleep until the outcome's message, at most until the lease could expire;
4. **grace**: nobody holds the lease, but the newest holder known (the store's, or one this
   process saw, should the store have lost it) published no outcome: wait one lease more,
   once per holder. A store that lost its data (a flush, a restart without persistence, an
   eviction of its marker) elects nobody for a renewal beat after it noticed, so a holder
   re-takes its lease before anyone else could be elected;
5. **lead**: take the lease, *if the outcome is still the one just seen*, and if the fleet's
   cap on episodes for this scope allows one more;
6. **declined**: the cap refuses: raise the gate, saying the cap and when the next is allowed;
7. **errors**: while a lease this election saw could still be alive, or while the store
   stalls (it keeps its state, which may hold a lease nobody here saw) for less than a lease
   since the outage began, a store error is waited out; a store that refuses connections,
   with no lease seen, or an outage longer than a lease, and the process coordinates alone
   (`LOCAL`). Patience is per outage, not per request: once an outage outlasted a lease,
   gated requests no longer wait for the store.
"""

from __future__ import annotations

import contextlib
import datetime
import enum
import hashlib
import json
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterator
from typing import Any

import attrs

from ._logs import logger as _logger
from ._models import Retry

__all__ = [
    "LOW_BEAT",
    "LOW_LEASE",
    "Action",
    "Call",
    "Declined",
    "Election",
    "End",
    "Episode",
    "HoldMirror",
    "Keeper",
    "Keys",
    "Listen",
    "Outcome",
    "Pause",
    "RunHook",
    "Spawn",
    "Step",
    "StoreFailure",
    "StoreHealth",
    "Verdict",
    "View",
    "Witness",
    "bought_flow",
    "election_flow",
    "episode_flow",
    "held_flow",
    "hold_flow",
    "keeper_flow",
    "low_run_flow",
    "publication_flow",
    "renewal_flow",
    "scope_key_flow",
    "split_episode_key",
]


#: Seconds side calls (known gates, lifts) skip the store after it failed.
RETRY_STORE_AFTER = 1.0
#: Seconds beyond a renewal beat given to a holder to re-take its lease after a data loss.
_LOSS_SLACK = 0.5
#: Most scopes whose recent episodes one process remembers for the cap.
_MAX_WITNESSED_SCOPES = 10_000
#: Scopes spread over this many hash tags: one marker per tag tells a lost store.
BUCKETS = 64
_RENEW_AFTER_ERROR = 0.2
#: Seconds between the keeper's rounds.
_KEEP_EVERY = 1.0
#: Milliseconds an outcome is kept for late 402s (at least; the cap's period if longer).
_OUTCOME_KEEP_MS = 10 * 60 * 1000
#: The record of a hold an election saw among more than it sends whole (a key only).
_UNREAD_HOLD = json.dumps(
    {"note": "a hold of the fleet's store, seen among more holds than an election reads whole"}
)


class StoreFailure(Exception):
    """The store did not answer a call: `refused` (nothing listens: the server is down),
    or `stalled` (a timeout, a dropped connection: the server may have acted)."""

    def __init__(self, kind: str, cause: BaseException | None = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.cause = cause


@attrs.frozen
class Call:
    """Run the store script `name` on `keys` with `args`: the answer is its reply; a store
    failure is thrown in as `StoreFailure`."""

    name: str
    keys: list[str]
    args: list[Any]


@attrs.frozen
class Listen:
    """Wait for the scope's outcome message, at most `timeout` seconds; the answer is `None`."""

    timeout: float


@attrs.frozen
class Pause:
    """Wait `timeout` seconds, or less if this flow's lease ended (`End`): the answer is
    `True` when it did."""

    timeout: float


@attrs.frozen
class RunHook:
    """Run the hook here: the answer is `(failed, answer or its exception)`."""


@attrs.frozen
class Spawn:
    """Drive `flow` on its own (a thread, a task), bound to a new lease handle: the answer
    is the handle, which `End` ends (its `Pause`s then answer `True`)."""

    flow: Any
    #: Keep the process alive until it ends (a publication: an exiting process publishes
    #: first, bounded by the outcome's window); a renewal and the keeper are daemons.
    lasting: bool = False
    #: What it does, to name its thread: `"renew"`, `"publish"` or `"keep"`.
    role: str = "renew"


@attrs.frozen
class End:
    """End the lease handle `handle` (a renewal stops)."""

    handle: Any


@attrs.frozen
class Declined:
    """The fleet's cap refused this episode: tell the waiting requests `note`."""

    note: str


Action = Call | Listen | Pause | RunHook | Spawn | End | Declined
Flow = Generator[Action, Any, Any]


@attrs.frozen
class Keys:
    """A billing scope's keys, or one of its episodes' (per reason). Every key of a scope
    carries the scope's hash tag, one of `BUCKETS`, so that each script reads an episode's
    state, its scope's holds and lift time, and its bucket's `marker` on one Redis Cluster
    node: a store that lost its data is told by the marker's absence, in the same atomic
    script."""

    state: str
    episodes: str
    gate: str
    holds: str
    marker: str
    channel: str
    #: The scope's own state (for an episode: its scope's, where a lift is kept).
    scope_state: str
    #: The low-balance crossings claimed by a process (a hash: crossing -> the balance).
    crossings: str
    #: The low-balance hook's runs under way for the scope, in any process (a hash: run
    #: token -> when it started), so that a gate elsewhere waits for them.
    low_runs: str

    @classmethod
    def of(cls, namespace: str, scope: str, reason: str | None = None) -> Keys:
        """The keys of `scope`, or of its episodes for `reason` (a `Reason` value)."""
        digest = hashlib.sha256(scope.encode()).hexdigest()
        tag = f"{namespace}:{{b{int(digest[:8], 16) % BUCKETS}}}"
        home = f"{tag}:{digest[:32]}"
        base = home
        if reason is not None:
            base = f"{tag}:{hashlib.sha256(f'{scope}|{reason}'.encode()).hexdigest()[:32]}"
        return cls(
            state=f"{base}:state",
            episodes=f"{base}:episodes",
            gate=f"{home}:gate",
            holds=f"{home}:holds",
            marker=f"{tag}:marker",
            channel=f"{base}:done",
            scope_state=f"{home}:state",
            crossings=f"{home}:low",
            low_runs=f"{home}:low-runs",
        )

    @classmethod
    def episode(cls, namespace: str, key: str) -> Keys:
        """The keys of the episodes of an episode key (`<scope>|<reason>`)."""
        scope, reason = split_episode_key(key)
        return cls.of(namespace, scope, reason)

    @property
    def elect(self) -> list[str]:
        return [self.state, self.episodes, self.marker, self.holds, self.scope_state]


def split_episode_key(key: str) -> tuple[str, str]:
    """`(scope, reason)` of an episode key, `<scope>|<reason>` (a scope may hold `|`; a
    reason's value never does)."""
    scope, _, reason = key.rpartition("|")
    return scope, reason


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
                "http402: the upgrade hook failed in another process (%s); raising the gate here",
                scope_hint,
            )
        return None


def fence_of(token: str | None) -> int:
    """The fencing number at the front of a lease token (`"<fence>:<nonce>"`), or 0."""
    if not token:
        return 0
    head = token.partition(":")[0]
    return int(head) if head.isdigit() else 0


def nonce_of(token: str | None) -> str:
    return (token or "").partition(":")[2]


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
    #: Milliseconds during which the store elects nobody: it lost its data moments ago.
    fresh_ms: int = 0
    #: The bucket's marker as the script found (or made) it.
    marker: str = ""
    #: The scope's holds, `(key, record)`: a record is "" where the store had too many to
    #: send them all (the keys still are).
    holds: tuple[tuple[str, str], ...] = ()

    @property
    def outcome(self) -> Outcome | None:
        return Outcome.decode(self.outcome_raw)

    @classmethod
    def parse(cls, reply: list[Any]) -> View:
        """From the script's reply `[lease, pttl, outcome, open, lifted, current, fresh,
        marker, [hold key, record, ...]]`."""
        lease, pttl, outcome, is_open, lifted, current, fresh, marker = (
            _text(item) for item in reply[:8]
        )
        pairs = [_text(item) for item in (reply[8] if len(reply) > 8 and reply[8] else [])]
        return cls(
            outcome_raw=outcome,
            lease=lease or None,
            lease_ms=max(0, int(pttl or 0)),
            is_open=is_open not in ("", "0"),
            lifted=_float(lifted) if lifted else None,
            current=current,
            fresh_ms=max(0, int(fresh or 0)),
            marker=marker,
            holds=tuple(zip(pairs[::2], pairs[1::2], strict=False)),
        )


class Verdict(enum.Enum):
    """What the coordinator does next in an election."""

    #: Read the scope's state, or take the lease if the outcome is still `Step.seen`.
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
    #: The store cannot coordinate this burst: coordinate in this process.
    LOCAL = "local"


@attrs.frozen
class Step:
    verdict: Verdict
    seen: str | None = None
    timeout: float = 0.0
    answer: Retry | None = None
    token: str = ""
    note: str = ""


class StoreHealth:
    """What one coordinator knows of its store: when it last answered, and since when it
    has not. Side calls skip the store for a second after a failure (an outage costs one
    timeout per second, not one per request); elections measure their patience from the
    outage's start, so that only the first lease of an outage is spent waiting.

    Args:
        clock: Monotonic seconds (injectable: tests step a fake clock).
    """

    def __init__(self, clock: Callable[[], float], retry_after: float = RETRY_STORE_AFTER):
        self._clock = clock
        self._retry_after = retry_after
        self._down_until = 0.0
        self.outage_since: float | None = None
        self.kind = ""
        self._lock = threading.Lock()

    def now(self) -> float:
        """The coordinator's monotonic clock."""
        return self._clock()

    def open(self) -> bool:
        """`True` while side calls skip the store (it failed less than a second ago)."""
        return self._clock() < self._down_until

    def alone(self, lease_ttl: float) -> bool:
        """`True` when elections need not try the store: it failed less than a second ago,
        and the outage began more than a lease ago (no lease from before it is alive)."""
        since = self.outage_since
        return self.open() and since is not None and self._clock() >= since + lease_ttl

    def failed(self, failure: StoreFailure) -> None:
        with self._lock:
            now = self._clock()
            self._down_until = now + self._retry_after
            first = self.outage_since is None
            if first:
                self.outage_since = now
            self.kind = failure.kind
        if first:
            cause = failure.cause
            _logger.warning(
                "http402: Redis did not answer (%s: %s); waiting out any lease that may be alive, "
                "then coordinating in this process only until it returns",
                type(cause).__name__ if cause is not None else failure.kind,
                cause if cause is not None else failure.kind,
            )

    def succeeded(self) -> None:
        if self.outage_since is not None:
            with self._lock:
                was_down, self.outage_since = self.outage_since is not None, None
                self._down_until = 0.0
            if was_down:
                _logger.warning("http402: Redis is back; coordinating across the fleet again")


class Election:
    """The decisions of one process's local leader for one burst of one scope.

    Args:
        sent_wall: When the request that met the gate was sent (wall clock, as published
            outcomes are stamped).
        lease_ttl: Seconds a lease lives without renewal.
        clock: Monotonic seconds, for the patience with store errors.
        scope_hint: How the scope is named in logs (as users know it; never a credential).
        health: The coordinator's `StoreHealth` (when the current outage began).
    """

    def __init__(
        self,
        sent_wall: float,
        lease_ttl: float,
        clock: Callable[[], float],
        scope_hint: str,
        health: StoreHealth | None = None,
    ) -> None:
        self._sent_wall = sent_wall
        self._lease_ttl = lease_ttl
        self._clock = clock
        self._hint = scope_hint
        self._health = health if health is not None else StoreHealth(clock)
        #: Until when a lease this election saw (or a holder it gave grace) could be alive.
        self._lease_until: float | None = None
        self._graced: set[str] = set()
        self._nonces: set[str] = set()

    def first(self) -> Step:
        return Step(Verdict.LOOK)

    def nonce(self) -> str:
        """A fresh nonce for an acquire: a lease bearing it is this election's own, even when
        the reply that granted it was lost."""
        nonce = uuid.uuid4().hex
        self._nonces.add(nonce)
        return nonce

    def viewed(
        self,
        view: View,
        *,
        acquired: str | None = None,
        capped: str | None = None,
        witnessed: str | None = None,
        next_allowed: float | None = None,
        cap: tuple[int, float] = (0, 0.0),
    ) -> Step:
        """The next step after the store answered with `view`.

        Args:
            view: The scope's state.
            acquired: This process's new lease token, when it took the lease.
            capped: The newest counted episode's token, when the cap refused.
            witnessed: The newest holder's token this process has seen for the scope.
            next_allowed: When the cap allows another episode (wall clock), when it refused.
            cap: The cap `(count, seconds)`, to say it.
        """
        self._health.succeeded()
        if acquired:
            return Step(Verdict.LEAD, token=acquired)
        if view.lease is not None and nonce_of(view.lease) in self._nonces:
            # An acquire whose reply was lost took the lease: it is ours.
            return Step(Verdict.LEAD, token=view.lease)
        outcome = view.outcome
        if outcome is not None and outcome.covers(self._sent_wall, view.is_open, view.lifted):
            return Step(Verdict.COVERED, answer=outcome.answer(self._hint))
        if view.lease is not None:
            wait = max(view.lease_ms / 1000, 0.05)
            self._lease_until = self._clock() + max(wait, self._lease_ttl)
            return Step(Verdict.WAIT, timeout=wait)
        if view.fresh_ms:
            # The store lost its data moments ago: a holder re-takes its lease at its next
            # renewal; nobody is elected before then.
            self._lease_until = self._clock() + view.fresh_ms / 1000 + self._lease_ttl
            return Step(Verdict.WAIT, timeout=view.fresh_ms / 1000)
        published = outcome.fence if outcome is not None else 0
        for holder in (view.current, witnessed, capped):
            if holder and fence_of(holder) > published and holder not in self._graced:
                # That holder published nothing yet and may still do so: its lease
                # expired while it was cut off, or the store lost it. Give it one lease.
                self._graced.add(holder)
                self._lease_until = self._clock() + 2 * self._lease_ttl
                return Step(Verdict.WAIT, timeout=self._lease_ttl)
        self._lease_until = None
        if capped is not None:
            return Step(Verdict.DECLINED, note=cap_note(cap, next_allowed))
        return Step(Verdict.ACQUIRE, seen=view.outcome_raw)

    def failed(self, failure: StoreFailure) -> Step:
        """The store did not answer: wait while a lease could be alive, else go `LOCAL`."""
        self._health.failed(failure)
        now = self._clock()
        if self._lease_until is not None and now < self._lease_until:
            return Step(Verdict.WAIT, timeout=min(0.25, self._lease_until - now))
        if failure.kind == "refused":
            # Nothing listens: no lease in that store can be renewed, and none was seen.
            return Step(Verdict.LOCAL)
        since = self._health.outage_since
        until = (now if since is None else since) + self._lease_ttl
        if now < until:
            return Step(Verdict.WAIT, timeout=min(0.25, until - now))
        return Step(Verdict.LOCAL)


def cap_note(cap: tuple[int, float], next_allowed: float | None) -> str:
    """How a refused request is told about the cap."""
    count, period = cap
    text = (
        f"the fleet's cap of {count} top-up{'s' if count != 1 else ''} per {period:g} s was reached"
    )
    if next_allowed is not None:
        at = datetime.datetime.fromtimestamp(next_allowed, tz=datetime.timezone.utc)
        text += f"; next allowed at {at:%Y-%m-%d %H:%M:%S} UTC"
    return (
        text + " (after a top-up made by hand, forget_gate() lifts it; RedisCoordinator("
        "max_episodes=...) sizes it)"
    )


def election_flow(
    election: Election,
    keys: Keys,
    args_for: Callable[[Step, str], list[Any]],
    witness: Witness,
    cap: tuple[int, float],
    wall: Callable[[], float],
    health: StoreHealth,
    mirror: HoldMirror | None = None,
    scope: str = "",
) -> Generator[Action, Any, Step]:
    """Elects this burst's fate: `COVERED`, `LEAD`, `DECLINED` or `LOCAL`. Each answer also
    brings the holds of `scope` into `mirror`, so that a process that took part in a
    scope's elections knows its holds when the store stops answering."""
    step = election.first()
    while step.verdict in (Verdict.LOOK, Verdict.ACQUIRE, Verdict.WAIT):
        if step.verdict is Verdict.WAIT:
            yield Listen(step.timeout)
            step = Step(Verdict.LOOK)
            continue
        nonce = election.nonce() if step.verdict is Verdict.ACQUIRE else ""
        ticket = mirror.ticket() if mirror is not None else 0
        try:
            reply = yield from stored(health, Call("elect", keys.elect, args_for(step, nonce)))
        except StoreFailure as failure:
            step = election.failed(failure)
            continue
        view, acquired, capped, oldest = parse_elect(reply)
        if mirror is not None:
            mirror.read(scope, view.holds, view.marker, ticket)
        # Only tokens seen while held: the outcome outlives them.
        witness.saw(keys.state, acquired or view.lease or capped)
        newest = witness.newest(keys.state)
        next_allowed = None if oldest is None else oldest + cap[1]
        step = election.viewed(
            view,
            acquired=acquired,
            capped=capped,
            witnessed=newest,
            next_allowed=next_allowed,
            cap=cap,
        )
    return step


@attrs.frozen
class Episode:
    """What one process's local leader needs to run one fleet episode of one scope."""

    keys: Keys
    hint: str
    sent_wall: float
    window: float
    lease_ttl: float
    cap: tuple[int, float]
    marker_id: str
    health: StoreHealth
    witness: Witness
    clock: Callable[[], float]
    wall: Callable[[], float]
    #: The billing scope (whose holds the election reads into `mirror`).
    scope: str = ""
    mirror: HoldMirror | None = None
    #: The coordinator's keeper of published outcomes (`None`: outcomes are not kept).
    keeper: Keeper | None = None


def episode_flow(episode: Episode) -> Generator[Action, Any, tuple[bool, Any]]:
    """One fleet episode: elect, then run the hook here (`LEAD`, or `LOCAL` when the store
    cannot coordinate), or answer from another process's outcome (`COVERED`), or decline
    (`DECLINED`). The leader renews its lease while its hook runs and until its outcome is
    published; the outcome is published at once, and if the store does not answer, again
    in the background. Returns `(failed, answer or the hook's exception)`."""
    ran: tuple[bool, Any]
    if episode.health.alone(episode.lease_ttl):
        ran = yield RunHook()
        return ran
    election = Election(
        episode.sent_wall, episode.lease_ttl, episode.clock, episode.hint, episode.health
    )
    step = yield from election_flow(
        election,
        episode.keys,
        _elect_args(episode),
        episode.witness,
        episode.cap,
        episode.wall,
        episode.health,
        episode.mirror,
        episode.scope,
    )
    if step.verdict is Verdict.LOCAL:
        ran = yield RunHook()
        return ran
    if step.verdict is Verdict.COVERED:
        return False, step.answer
    if step.verdict is Verdict.DECLINED:
        yield Declined(step.note)
        return False, None
    token = step.token
    started_ms = int(episode.wall() * 1000)
    period_ms = int(episode.cap[1] * 1000)
    lease = yield Spawn(
        renewal_flow(episode.keys, token, started_ms, episode.lease_ttl, period_ms, episode.health)
    )
    failed, answer = yield RunHook()
    outcome = Outcome.of(
        fence_of(token), None if failed else answer, answer if failed else None, episode.wall()
    )
    outcome_ms = max(_OUTCOME_KEEP_MS, period_ms)
    health = episode.health
    publication = publication_flow(
        episode.keys, token, outcome, episode.window, outcome_ms, episode.wall, health
    )
    first = next(publication)
    try:
        reply = yield first
    except StoreFailure as failure:
        # Keep trying in the background, the lease renewed all along, so that waiters
        # wait for this outcome instead of running their own hook.
        settle = _settle(publication, failure, lease, episode, token, outcome)
        yield Spawn(settle, lasting=True, role="publish")
        return failed, answer
    published = False
    with contextlib.suppress(StopIteration):
        publication.send(reply)
    published = bool(reply)
    yield End(lease)
    if published:
        yield from _kept(episode, token, outcome)
    return failed, answer


def _kept(episode: Episode, token: str, outcome: Outcome) -> Flow:
    """Hands a published `Retry` to the coordinator's keeper until its window closes, and
    starts the keeper's flow (a daemon) when none runs."""
    if outcome.kind != "retry" or episode.keeper is None:
        return
    generation = episode.keeper.keep(episode.keys, token, outcome, episode.window)
    if generation is not None:
        flow = keeper_flow(episode.keeper, generation, episode.wall, episode.health)
        yield Spawn(flow, role="keep")


def _settle(
    flow: Flow,
    failure: StoreFailure,
    lease: Any,
    episode: Episode,
    token: str,
    outcome: Outcome,
) -> Flow:
    """A publication resumed by throwing `failure` in; then the lease ends, and a published
    `Retry` is kept until its window closes."""
    published = False
    try:
        action = flow.throw(failure)
        while True:
            try:
                reply = yield action
            except StoreFailure as again:
                action = flow.throw(again)
            else:
                action = flow.send(reply)
    except StopIteration as done:
        published = bool(done.value)
    yield End(lease)
    if published:
        yield from _kept(episode, token, outcome)


def _elect_args(episode: Episode) -> Callable[[Step, str], list[Any]]:
    def args_for(step: Step, nonce: str) -> list[Any]:
        acquire = step.verdict is Verdict.ACQUIRE
        count, period = episode.cap
        args: list[Any] = [
            "1" if acquire else "0",
            step.seen or "",
            nonce,
            int(episode.lease_ttl * 1000),
            count,
            int(period * 1000),
            int(episode.wall() * 1000),
            loss_grace_ms(episode.lease_ttl),
            episode.marker_id,
        ]
        return args + episode.witness.recent(episode.keys.state) if acquire else args

    return args_for


#: Seconds between two writes of a low-balance run's mark by its process, and how long one
#: write keeps it alive: a run is marked as a lease (`low_run_flow`), so a hook slower than
#: any bound stays marked, a dead process's mark goes within a lease, and a mark a store lost
#: (a flush, a restart, an eviction) is written again within a beat.
LOW_BEAT = 1.0
LOW_LEASE = 3.0


def low_run_flow(keys: Keys, token: str, health: StoreHealth) -> Generator[Action, Any, None]:
    """Keeps marking the low-balance run `token` of a scope (`keys.low_runs`) under way, a
    beat after the mark its process wrote as the run started, until the run ends (`Pause`
    answers `True`). Through store errors it tries again soon."""
    args = [token, "run", int(LOW_LEASE * 1000), 0, uuid.uuid4().hex]
    beat = LOW_BEAT
    while not (yield Pause(beat)):
        try:
            yield from stored(health, Call("low_mark", [keys.low_runs, keys.marker], args))
            beat = LOW_BEAT
        except StoreFailure:
            beat = _RENEW_AFTER_ERROR


def bought_flow(
    keys: Keys, token: str, within_ms: int, health: StoreHealth
) -> Generator[Action, Any, None]:
    """Keeps marking the low-balance run `token`, whose hook bought, until its top-up's
    window ends (the store's script says so, on its own clock): a gate of the scope in any
    process waits for that top-up to show meanwhile. Written again each beat, so that a
    store that lost the mark has it back within a beat."""
    args = [token, "bought", int(LOW_LEASE * 1000), within_ms, uuid.uuid4().hex]
    beat, waited = LOW_BEAT, 0.0
    # Its own count of the window, too: a store that lost the mark (a flush) would start the
    # window again at the next write; the flow never outlives it by more than a lease.
    while waited < within_ms / 1000 + LOW_LEASE:
        yield Pause(beat)
        waited += beat
        try:
            open_ = yield from stored(health, Call("low_mark", [keys.low_runs, keys.marker], args))
        except StoreFailure:
            beat = _RENEW_AFTER_ERROR
            continue
        if not open_:
            return
        beat = LOW_BEAT


def stored(health: StoreHealth, call: Call) -> Generator[Action, Any, Any]:
    """`call`'s reply, telling `health` whether the store answered: every flow's calls count,
    so that intermittent failures (lost replies) never add up to an outage."""
    try:
        reply = yield call
    except StoreFailure as failure:
        health.failed(failure)
        raise
    health.succeeded()
    return reply


def scope_key_flow(call: Call, health: StoreHealth, lease_ttl: float) -> Flow:
    """The fleet's scope key, the first time a process needs it: the store's answer; `None`
    once it is known that none will come in time. A store that stalls is waited for as an
    election waits for it (until the outage lasted a lease, asking again every quarter
    second): a process keyed on its own key cannot see a lease another process holds, so
    giving up sooner would run a second hook beside a live holder's. A store that refuses
    the connection is down: no lease there can be renewed, and none is waited for."""
    while True:
        try:
            reply = yield call
        except StoreFailure as failure:
            health.failed(failure)
            if failure.kind == "refused":
                return None
            since = health.outage_since
            now = health.now()
            until = (now if since is None else since) + lease_ttl
            if now >= until:
                return None
            yield Pause(min(0.25, until - now))
            continue
        health.succeeded()
        return reply


def renewal_flow(
    keys: Keys,
    token: str,
    started_ms: int,
    lease_ttl: float,
    period_ms: int,
    health: StoreHealth,
) -> Generator[Action, Any, None]:
    """Renews the holder's lease every beat until the lead ends (`Pause` answers `True`), or
    another holder was elected. Through store errors it tries again soon, to re-take the
    lease (a restarted or flushed store) before anyone else could be elected."""
    beat = renew_beat(lease_ttl)
    args = [token, int(lease_ttl * 1000), started_ms, period_ms, uuid.uuid4().hex]
    while True:
        ended = yield Pause(beat)
        if ended:
            return
        try:
            renewed = yield from stored(health, Call("renew", keys.elect, args))
        except StoreFailure:
            beat = min(beat, _RENEW_AFTER_ERROR)
            continue
        if not renewed:
            return  # another process was elected: this lease is gone for good
        beat = renew_beat(lease_ttl)


def publication_flow(
    keys: Keys,
    token: str,
    outcome: Outcome,
    window: float,
    outcome_ms: int,
    wall: Callable[[], float],
    health: StoreHealth,
) -> Generator[Action, Any, bool]:
    """Publishes the outcome, again and again (waits growing to a second) until the store
    takes it or the outcome's window ends: `True` once published, `False` if fenced out (a
    new holder was elected) or given up."""
    args = [token, outcome.encode(), outcome_ms, outcome.open_ms(window), uuid.uuid4().hex]
    waits = publish_waits()
    while True:
        try:
            published = yield from stored(
                health, Call("publish", [keys.state, keys.marker, keys.channel], args)
            )
        except StoreFailure:
            wait = next(waits)
            if wall() + wait >= outcome.publish_until(window):
                _logger.warning(
                    "http402: Redis did not answer before the outcome's window ended (fence %d); "
                    "its outcome was not published",
                    outcome.fence,
                )
                return False
            yield Pause(wait)
            continue
        if not published:
            _logger.warning(
                "http402: this process's lease (fence %d) passed to another holder before its "
                "outcome was published; its outcome was not published",
                outcome.fence,
            )
        return bool(published)


@attrs.frozen(eq=False)
class _Kept:
    keys: Keys
    token: str
    outcome: str
    #: Wall-clock end of the outcome's window.
    until: float
    #: The id a keep writes into a marker it finds missing.
    marker_id: str


class Keeper:
    """The published outcomes of one coordinator whose windows are still open, kept in the
    store by one flow for them all (`keeper_flow`: one thread, or one task), not one per
    episode.

    It keeps what a holder promises (docs/fleet.md): the holder keeps its published outcome
    until the window closes. Every second the flow checks that the store still has each one,
    and writes back an outcome the store lost (a flush, a restart), so a stale 402 of the
    burst is still covered and no second top-up is elected while the first propagates; an
    outcome whose window closed, or whose scope elected another holder, is let go. A store
    that fails ends the round (one `store_timeout` a second, not one per outcome): every
    outcome is tried again at the next.

    Who changes what: `keep` is called by the flow that published, from any thread or task;
    the keeper flow reads and lets go; both under one lock. A flow runs while an outcome is
    kept, and only one (its *generation*): `keep` tells its caller to start one when none
    runs. In a forked child, nothing is kept (the parent keeps its own).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: dict[str, _Kept] = {}
        self._generation = 0
        self._running = False

    def keep(self, keys: Keys, token: str, outcome: Outcome, window: float) -> int | None:
        """Keeps `outcome` (published by `token`) until its window closes; a scope's newer
        outcome replaces its older. Returns the generation of the flow to start when none
        runs, else `None`."""
        kept = _Kept(keys, token, outcome.encode(), outcome.publish_until(window), uuid.uuid4().hex)
        with self._lock:
            self._kept[keys.state] = kept
            if self._running:
                return None
            self._running = True
            self._generation += 1
            return self._generation

    def round(self, generation: int, now: float) -> list[_Kept] | None:
        """The outcomes to check this round, their windows still open; `None` when nothing
        is left (the flow of `generation` then ends: a later `keep` starts another)."""
        with self._lock:
            if generation != self._generation or not self._running:
                return None  # a flow of an earlier generation: another one keeps now
            for key in [key for key, kept in self._kept.items() if kept.until <= now]:
                del self._kept[key]
            if self._kept:
                return list(self._kept.values())
            self._running = False
            return None

    def let_go(self, kept: _Kept) -> None:
        """Another holder was elected for `kept`'s scope: its outcome is no longer ours."""
        with self._lock:
            if self._kept.get(kept.keys.state) is kept:
                del self._kept[kept.keys.state]

    def stopped(self, generation: int) -> None:
        """The flow of `generation` ended (it finished, or was cancelled with its task)."""
        with self._lock:
            if generation == self._generation:
                self._running = False

    def __len__(self) -> int:
        with self._lock:
            return len(self._kept)

    def forked(self) -> None:
        """In a child process: nothing is kept, and no flow runs."""
        self._lock = threading.Lock()
        self._kept = {}
        self._running = False


def keeper_flow(
    keeper: Keeper, generation: int, wall: Callable[[], float], health: StoreHealth
) -> Generator[Action, Any, None]:
    """Keeps every outcome of `keeper` until its window closes: one round a second, one
    `keep` call per outcome; a store failure ends the round."""
    try:
        while True:
            if keeper.round(generation, wall()) is None:
                return
            yield Pause(_KEEP_EVERY)
            for kept in keeper.round(generation, wall()) or ():
                left = int(max(0.0, kept.until - wall()) * 1000)
                args = [kept.token, kept.outcome, 0, left, kept.marker_id]
                keys = [kept.keys.state, kept.keys.marker, kept.keys.channel]
                try:
                    still = yield from stored(health, Call("keep", keys, args))
                except StoreFailure:
                    break
                if not still:
                    keeper.let_go(kept)
    finally:
        keeper.stopped(generation)


def parse_elect(reply: list[Any]) -> tuple[View, str | None, str | None, float | None]:
    """`(view, acquired token, newest counted token when capped, oldest counted episode's
    start when capped)` from the elect script's reply."""
    status = _text(reply[0])
    if status == "view":
        return View.parse(reply[1:]), None, None, None
    token = _text(reply[1])
    if status == "lead":
        return View.parse(reply[2:]), token, None, None
    oldest = _float(_text(reply[2])) / 1000
    return View.parse(reply[3:]), None, token, oldest


def renew_beat(lease_ttl: float) -> float:
    """Seconds between a holder's renewals: a third of the lease, at most a second, so that
    a holder re-takes a lease a flushed or restarted Redis lost within about a second."""
    return min(lease_ttl / 3, 1.0)


def loss_grace_ms(lease_ttl: float) -> int:
    """How long a store that lost its data elects nobody: a renewal beat and some slack."""
    return int((renew_beat(lease_ttl) + _LOSS_SLACK) * 1000)


def publish_waits(initial: float = 0.05, cap: float = 1.0) -> Iterator[float]:
    """The waits between attempts to publish an outcome: geometric, capped at a second."""
    wait = initial
    while True:
        yield wait
        wait = min(cap, wait * 2)


class Witness:
    """The episodes (lease tokens and when they were seen) this process saw per scope in
    the cap's period, so that a store that lost its data is told about them again before
    it counts: the cap then still holds after a flush or a restart without persistence.

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

    def forget(self, key: str) -> None:
        with self._lock:
            self._seen.pop(key, None)


@attrs.frozen
class _Mirrored:
    record: str
    #: The bucket's marker when the store had the hold; `None` until it was written.
    marker: str | None
    #: When this process last learnt it (`HoldMirror.ticket`'s count).
    tick: int


class HoldMirror:
    """This process's copy of its fleet's holds: every hold it placed, and every hold it
    read from the store while the store answered (asked for one, or seen in the answer to
    an election of its scope).

    When the store cannot answer, a hold check answers from here: a hold this process placed
    or read is held; a hold placed by another process that this process never read is not
    seen until the store answers again. Nothing here is evicted (a hold guards money): a hold
    ends here when this process releases it, or when an answer of the store, read after this
    process last learnt of it and under the same marker, no longer has it (another process
    released it). An answer under another marker is a store that lost its data: the hold is
    written again. Thread-safe; no I/O.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[tuple[str, str], _Mirrored] = {}
        self._tick = 0

    def ticket(self) -> int:
        """Taken before a read is sent: an answer only ends holds learnt before it."""
        with self._lock:
            return self._tick

    def placed(self, scope: str, key: str, record: str) -> None:
        """This process holds `key`, not yet written to the store."""
        self._learnt(scope, key, record, None)

    def stored(self, scope: str, key: str, record: str, marker: str) -> None:
        """The store has the hold, under the bucket's `marker`."""
        self._learnt(scope, key, record, marker)

    def answered(
        self, scope: str, key: str, record: str, marker: str, ticket: int
    ) -> tuple[str | None, bool]:
        """`(record, write it again?)` from the store's answer to a hold check sent at
        `ticket`: its record; else this process's, to write again if the store lost it (or
        never took it); else `None`."""
        if record:
            self._learnt(scope, key, record, marker)
            return record, False
        with self._lock:
            known = self._holds.get((scope, key))
            if known is None:
                return None, False
            if known.marker != marker:
                return known.record, True
            if known.tick <= ticket:
                del self._holds[(scope, key)]  # released by another process
                return None, False
            return known.record, False  # learnt after the read was sent: still held

    def read(
        self, scope: str, holds: tuple[tuple[str, str], ...], marker: str, ticket: int
    ) -> None:
        """Every hold of `scope` as an election's answer (sent at `ticket`) read them."""
        if not scope:
            return
        present = dict(holds)
        with self._lock:
            for key, record in present.items():
                known = self._holds.get((scope, key))
                if record or known is None:
                    self._tick += 1
                    self._holds[(scope, key)] = _Mirrored(
                        record or _UNREAD_HOLD, marker, self._tick
                    )
            for (held_scope, key), known in list(self._holds.items()):
                if held_scope != scope or key in present:
                    continue
                if known.marker == marker and known.tick <= ticket:
                    del self._holds[(held_scope, key)]

    def unanswered(self, scope: str, key: str) -> str | None:
        """The answer to a hold check the store did not answer: this process's copy."""
        with self._lock:
            known = self._holds.get((scope, key))
        return None if known is None else known.record

    def released(self, scope: str, key: str | None) -> None:
        with self._lock:
            for each in [k for k in self._holds if k[0] == scope and key in (None, k[1])]:
                del self._holds[each]

    def copy(self) -> HoldMirror:
        """A copy (a forked process's memory)."""
        twin = HoldMirror()
        with self._lock:
            twin._holds, twin._tick = dict(self._holds), self._tick
        return twin

    def forked(self) -> None:
        """In a child process: a new lock; the holds stay (they guard money)."""
        self._lock = threading.Lock()

    def _learnt(self, scope: str, key: str, record: str, marker: str | None) -> None:
        with self._lock:
            self._tick += 1
            self._holds[(scope, key)] = _Mirrored(record, marker, self._tick)


def hold_flow(
    keys: Keys,
    scope: str,
    key: str,
    record: str,
    mirror: HoldMirror,
    marker_id: str,
    wall: Callable[[], float],
    health: StoreHealth,
) -> Generator[Action, Any, bool]:
    """Holds `key` of `scope` in the store: `True` once it took it. The process keeps it in
    `mirror` either way, and writes it at its next check when the store did not take it."""
    mirror.placed(scope, key, record)
    args = [key, record, marker_id, int(wall() * 1000)]
    try:
        marker = yield from stored(health, Call("hold", [keys.holds, keys.marker], args))
    except StoreFailure:
        return False
    mirror.stored(scope, key, record, _text(marker))
    return True


def held_flow(
    keys: Keys,
    scope: str,
    key: str,
    mirror: HoldMirror,
    marker_id: str,
    wall: Callable[[], float],
    health: StoreHealth,
) -> Generator[Action, Any, str | None]:
    """The record of the hold on `key` of `scope`, or `None`. When the store cannot answer,
    this process's copy (`HoldMirror`) answers; a hold the store lost is written again."""
    ticket = mirror.ticket()
    try:
        reply = yield from stored(health, Call("held", [keys.holds, keys.marker], [key, marker_id]))
    except StoreFailure:
        return mirror.unanswered(scope, key)
    record, again = mirror.answered(scope, key, _text(reply[0]), _text(reply[1]), ticket)
    if again and record is not None:
        yield from hold_flow(keys, scope, key, record, mirror, marker_id, wall, health)
    return record


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


def describe_scope(key: str) -> str:
    """A scope's episode key as users know it: `insufficient_credits at https://host (key
    #1a2b...)`; a scope of the user's own is shown as it is. Holds only digests."""
    scope, _, reason = key.rpartition("|")
    if not scope:
        scope, reason = key, ""
    origin, hash_mark, digest = scope.partition("#")
    if hash_mark and origin.endswith(":"):
        origin = origin[:-1]
    where = (
        origin
        if not hash_mark
        else f"{origin} (credentials #{digest})"
        if digest != "-"
        else origin
    )
    return f"{reason} at {where}" if reason else where


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
