"""Fleet coordination on Redis (or Valkey, or a Redis Cluster): one hook call per billing
scope across many processes, a fleet-wide cap on top-ups, and fleet-wide spend windows.

Two tiers. In each process, the local coordinator elects one thread (or task) per burst;
only that local leader talks to Redis, where the processes elect one fleet leader. What to do
is decided in pure code (`_fleet.Election`); this module only reads and writes, through four
Lua scripts, each atomic:

* **elect** reads the scope's outcome, open window, lift time and lease; asked to, it takes
  the lease (`SET PX`, a fencing token from `INCR`) only if no lease is held, the outcome is
  still the one the caller judged, and the cap on episodes per period allows one more;
* **renew** extends the holder's lease while its hook runs and while its outcome is being
  published; it re-takes an expired lease only when nobody was elected since;
* **publish** stores the outcome and announces it, only for the current holder (its lease,
  or its lease expired and nobody was elected since); a `Retry` outcome also opens the
  episode for its propagation window;
* **spend** keeps a spend window's reservations (`RedisSpendStore`, in `_spend_store`).

A hook's outcome is published at once, and when Redis does not answer, again and again in
the background (waits growing to a second) until it does or the outcome's window ends, while
the holder keeps renewing its lease: waiters see a live lease, and wait. Waiters also wait
through store errors while a lease they saw could still be alive, instead of running their
own hook: a Redis paused for a few seconds costs time, never a second top-up.

Keys are `<namespace>:{<scope digest>}:<name>`: the braces are a Redis Cluster hash tag, so
every key of one scope lives in one slot and each script runs on one node. The outcome is
announced with `PUBLISH`, which a cluster forwards to every node; a client without pub/sub
(redis-py's async cluster client) polls instead. Keys hold a digest of the scope, never the
scope or a credential; headers a hook returns stay in the leader's process.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import attrs

from ._episodes import Mark, ProcessState
from ._fleet import (
    Breaker,
    Election,
    Outcome,
    Step,
    Verdict,
    View,
    Witness,
    fence_of,
    parse_cap,
    publish_waits,
    renew_beat,
)
from ._models import PaymentRequired, Reason, Retry
from ._recovery import episode_key
from ._spend_store import RedisSpendStore

__all__ = ["AsyncRedisCoordinator", "RedisCoordinator", "RedisSpendStore"]

_logger = logging.getLogger("http402")

_ELECT = """
local lease = redis.call('get', KEYS[1])
local outcome = redis.call('get', KEYS[4]) or ''
-- A scope with no fencing counter on a server (re)started within ARGV[8] seconds: its keys
-- may have been lost with the server's data (LASTSAVE is the start time without a save).
-- The answer names the start, so that a process gives each restart its grace once.
local fresh = ''
if redis.call('exists', KEYS[2]) == 0 then
  local started = tonumber(redis.call('lastsave'))
  if tonumber(redis.call('time')[1]) - started < tonumber(ARGV[8]) then
    fresh = tostring(started)
  end
end
local view = {lease or '', redis.call('pttl', KEYS[1]), outcome,
              redis.call('exists', KEYS[5]), redis.call('get', KEYS[6]) or '',
              redis.call('get', KEYS[3]) or '', fresh}
if ARGV[1] ~= '1' or lease or outcome ~= ARGV[2] then
  return {'view', unpack(view)}
end
local now = tonumber(ARGV[7])
local period = tonumber(ARGV[6])
local fence = tonumber(redis.call('get', KEYS[2]) or '0')
for i = 9, #ARGV - 1, 2 do
  local seen = tonumber(string.match(ARGV[i], '^(%d+):') or '0')
  if seen > fence then fence = seen end
  if period > 0 then redis.call('zadd', KEYS[7], 'NX', ARGV[i + 1], ARGV[i]) end
end
if period > 0 then
  redis.call('zremrangebyscore', KEYS[7], '-inf', now - period)
  if redis.call('zcard', KEYS[7]) >= tonumber(ARGV[5]) then
    redis.call('pexpire', KEYS[7], period)
    return {'capped', redis.call('zrevrange', KEYS[7], 0, 0)[1], unpack(view)}
  end
end
fence = fence + 1
local token = fence .. ':' .. ARGV[3]
redis.call('set', KEYS[2], fence, 'PX', 86400000)
redis.call('set', KEYS[3], token, 'PX', math.max(600000, period))
redis.call('set', KEYS[1], token, 'PX', ARGV[4])
if period > 0 then
  redis.call('zadd', KEYS[7], now, token)
  redis.call('pexpire', KEYS[7], period)
end
return {'lead', token, unpack(view)}
"""
_RENEW = """
local lease = redis.call('get', KEYS[1])
if lease == ARGV[1] then
  redis.call('pexpire', KEYS[2], math.max(600000, tonumber(ARGV[4])))
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
if lease then
  return 0
end
local current = redis.call('get', KEYS[2])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('set', KEYS[2], ARGV[1], 'PX', math.max(600000, tonumber(ARGV[4])))
if tonumber(ARGV[4]) > 0 then
  redis.call('zadd', KEYS[3], 'NX', ARGV[3], ARGV[1])
  redis.call('pexpire', KEYS[3], ARGV[4])
end
return 2
"""
_PUBLISH = """
local lease = redis.call('get', KEYS[1])
if lease ~= ARGV[1] then
  if lease then
    return 0
  end
  local current = redis.call('get', KEYS[2])
  if current and current ~= ARGV[1] then
    return 0
  end
end
redis.call('set', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('pexpire', KEYS[2], ARGV[3])
if ARGV[4] ~= '0' then
  redis.call('set', KEYS[4], ARGV[2], 'PX', ARGV[4])
end
redis.call('del', KEYS[1])
redis.call('publish', ARGV[5], ARGV[2])
return 1
"""
_OUTCOME_TTL_MS = 10 * 60 * 1000
_POLL = 0.1
_RENEW_AFTER_ERROR = 0.2
_DEFAULT_CAP = (2, 600.0)
_SOCKET_TIMEOUT = 2.0
_PAYMENT_FIELDS = (
    "status_code",
    "code",
    "message",
    "currency",
    "current_plan",
    "required_plan",
    "action_url",
    "retry_after",
    "request_id",
)


@attrs.frozen
class _Keys:
    lease: str
    fence: str
    current: str
    outcome: str
    open: str
    lifted: str
    episodes: str
    gate: str
    channel: str

    @classmethod
    def of(cls, namespace: str, scope: str) -> _Keys:
        base = f"{namespace}:{{{hashlib.sha256(scope.encode()).hexdigest()[:32]}}}"
        names = ("lease", "fence", "current", "outcome", "open", "lifted", "episodes", "gate")
        return cls(*(f"{base}:{name}" for name in (*names, "done")))

    @property
    def elect(self) -> list[str]:
        return [
            self.lease,
            self.fence,
            self.current,
            self.outcome,
            self.open,
            self.lifted,
            self.episodes,
        ]


#: Kept for readers of the earlier layout (tests, tools): the outcome model moved.
_Outcome = Outcome


def store_errors(client: Any) -> tuple[type[BaseException], ...]:
    """The exceptions `client`'s own library raises for a store failure: `redis.RedisError`
    for redis-py, `valkey.ValkeyError` for valkey-py; connection errors for anything else."""
    package = type(client).__module__.partition(".")[0]
    with contextlib.suppress(ImportError):
        module = importlib.import_module(f"{package}.exceptions")
        for name in ("RedisError", "ValkeyError"):
            base = getattr(module, name, None)
            if isinstance(base, type) and issubclass(base, BaseException):
                return (base,)
    return (ConnectionError, TimeoutError)


def _client_class(url: str, *, asynchronous: bool, cluster: bool) -> Any:
    """The client class for `url`: redis-py's, else valkey-py's (also for `valkey://`)."""
    order = (
        ("valkey", "redis") if url.startswith(("valkey://", "valkeys://")) else ("redis", "valkey")
    )
    for package in order:
        try:
            if cluster:
                module = importlib.import_module(
                    f"{package}.asyncio.cluster" if asynchronous else f"{package}.cluster"
                )
                return module.RedisCluster if package == "redis" else module.ValkeyCluster
            module = importlib.import_module(f"{package}.asyncio" if asynchronous else package)
            return module.Redis if package == "redis" else module.Valkey
        except ImportError:
            continue
    raise ImportError(
        "http402's fleet coordination needs redis-py or valkey-py: pip install 'http402[redis]'"
    )


def _client_from_url(url: str, *, asynchronous: bool, cluster: bool, options: Any) -> Any:
    options.setdefault("socket_timeout", _SOCKET_TIMEOUT)
    options.setdefault("socket_connect_timeout", _SOCKET_TIMEOUT)
    return _client_class(url, asynchronous=asynchronous, cluster=cluster).from_url(url, **options)


def _lifted(pipeline: Any, keys: _Keys, now: float) -> Any:
    """A replay got through: forget the known gate, and record when, so that a stale 402 of
    a request sent before then replays instead of leading. The window stays open: a lagging
    replica's 402 inside it replays too."""
    pipeline.delete(keys.gate)
    pipeline.set(keys.lifted, repr(now), px=_OUTCOME_TTL_MS)
    return pipeline


def _elect_args(
    step: Step, lease_ms: int, cap: tuple[int, float], now: float, witnessed: list[str]
) -> list[Any]:
    acquire = step.verdict is Verdict.ACQUIRE
    count, period = cap
    args: list[Any] = [
        "1" if acquire else "0",
        step.seen or "",
        uuid.uuid4().hex,
        lease_ms,
        count,
        int(period * 1000),
        int(now * 1000),
        math.ceil(2 * lease_ms / 1000),
    ]
    return args + witnessed if acquire else args


def _parse_elect(reply: list[Any]) -> tuple[View, str | None, str | None]:
    """`(view, acquired token, newest counted token when capped)` from elect's reply."""
    status = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if status == "view":
        return View.parse(reply[1:]), None, None
    token = reply[1].decode() if isinstance(reply[1], bytes) else str(reply[1])
    if status == "lead":
        return View.parse(reply[2:]), token, None
    return View.parse(reply[2:]), None, token


def _attempt(run_hook: Callable[[], Any]) -> tuple[bool, Any]:
    """Runs the hook: `(False, answer)`, or `(True, its exception)` for an `Exception`."""
    try:
        return False, run_hook()
    except Exception as exc:
        return True, exc


async def _async_attempt(run_hook: Callable[[], Awaitable[Any]]) -> tuple[bool, Any]:
    try:
        return False, await run_hook()
    except Exception as exc:
        return True, exc


def _encode_payment(payment: PaymentRequired) -> str:
    data = {name: getattr(payment, name) for name in _PAYMENT_FIELDS}
    data["reason"] = payment.reason.value
    data["provider"] = payment.provider
    for name in ("credits_required", "credits_available"):
        value = getattr(payment, name)
        data[name] = None if value is None else str(value)
    return json.dumps(data)


def _decode_payment(raw: bytes | str | None) -> PaymentRequired | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
        fields: dict[str, Any] = {name: data.get(name) for name in _PAYMENT_FIELDS}
        for name in ("credits_required", "credits_available"):
            fields[name] = None if data.get(name) is None else Decimal(data[name])
        return PaymentRequired(
            reason=Reason(data["reason"]), provider=str(data["provider"]), **fields
        )
    except (ValueError, KeyError, TypeError, ArithmeticError):
        return None


def _declined(keys: _Keys, note: str) -> None:
    _logger.warning(
        "http402: no top-up for scope %s: %s was reached; raising the gate (raise the cap with "
        "max_episodes=, or top up by hand and call forget_gate)",
        keys.channel,
        note,
    )


def _fenced_out(outcome: Outcome) -> None:
    _logger.warning(
        "http402: this process's lease (fence %d) passed to another holder before its outcome "
        "was published; its outcome was not published",
        outcome.fence,
    )


def _gave_up(outcome: Outcome) -> None:
    _logger.warning(
        "http402: Redis did not answer before the outcome's window ended (fence %d); its "
        "outcome was not published",
        outcome.fence,
    )


class RedisCoordinator(ProcessState):
    """Shares episodes and known gates across processes through Redis (sync clients).

    Pass it to the sync transport as `coordinator=`; every process of the fleet gives it a
    client to the same Redis (or Valkey, or Redis Cluster).

    Args:
        client: A `redis.Redis`, `redis.cluster.RedisCluster`, `valkey.Valkey` (or any
            client with their API, such as one from `redis.sentinel.Sentinel.master_for`).
            Give it a `socket_timeout` of a second or two, so a dead Redis is noticed quickly.
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal; the holder renews it
            every third of that while its hook runs and until its outcome is published.
        max_episodes: At most this many hook runs per scope across the fleet in this many
            seconds, `(count, seconds)`, or `None` for no cap. When the cap refuses, the
            requests raise their gate and a warning is logged. The default `(2, 600)`
            allows one top-up, and one more (a takeover, or the credits running out again).
        clock: Monotonic seconds (injectable: the breaker and the patience with errors).
        wall: Wall-clock seconds, compared across processes (keep the fleet's clocks in sync).

    Example:
        ```python
        coordinator = http402.RedisCoordinator.from_url(os.environ["REDIS_URL"])
        transport = http402.PaymentRequiredTransport(
            on_payment_required=top_up, coordinator=coordinator
        )
        ```
    """

    def __init__(
        self,
        client: Any,
        *,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._errors = store_errors(client)
        self._namespace = namespace
        self._lease_ttl = lease_ttl
        self._lease_ms = int(lease_ttl * 1000)
        self._cap = parse_cap(max_episodes)
        self._clock = clock
        self._wall = wall
        self._elect = client.register_script(_ELECT)
        self._renew = client.register_script(_RENEW)
        self._publish = client.register_script(_PUBLISH)
        # This process's episodes: one local leader per burst talks to Redis.
        super().__init__(clock)
        self._breaker = Breaker(clock)
        self._witness = Witness(self._cap[1], wall)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        **client_options: Any,
    ) -> RedisCoordinator:
        """A coordinator on a client built from `url`, as `redis.Redis.from_url` builds it.

        `redis://`, `rediss://` (TLS) and `unix://` URLs work, with redis-py or, when it is
        not installed (or for `valkey://`), valkey-py. `cluster=True` builds a
        `RedisCluster` from any node's URL. Other keywords go to the client; `socket_timeout`
        and `socket_connect_timeout` default to 2 seconds.

        Example:
            ```python
            coordinator = http402.RedisCoordinator.from_url("rediss://:secret@cache:6380/0")
            ```
        """
        client = _client_from_url(url, asynchronous=False, cluster=cluster, options=client_options)
        return cls(client, namespace=namespace, lease_ttl=lease_ttl, max_episodes=max_episodes)

    def spend_store(self, name: str = "default") -> RedisSpendStore:
        """A fleet-wide spend window on this coordinator's client, for `SpendPolicy(store=)`."""
        return RedisSpendStore(self._redis, name=name, namespace=self._namespace)

    def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Retry | None],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; `None` without calling the
        hook when the fleet's cap declines. See the module's notes."""
        failed, answer = self._fleet(scope, sent.wall, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    def lifted(self, scope: str) -> None:
        pipeline = _lifted(self._redis.pipeline(), _Keys.of(self._namespace, scope), self._wall())
        self._call(pipeline.execute)

    def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope` fleet-wide, after a top-up made by hand."""
        self.book.forget_gate(scope)
        self._call(lambda: self._redis.delete(_Keys.of(self._namespace, scope).gate))

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)
        self._call(
            lambda: self._redis.set(
                _Keys.of(self._namespace, scope).gate, _encode_payment(payment), px=int(ttl * 1000)
            )
        )

    def gated(self, scope: str) -> PaymentRequired | None:
        """The known gate of `scope`, unless a hook of the fleet is at work on it (running,
        or its window open): requests then go, and join that episode."""
        raw = self._call(lambda: self._redis.get(_Keys.of(self._namespace, scope).gate))
        if raw is _FAILED:
            return self.book.gated(scope)
        payment = _decode_payment(raw)
        if payment is None:
            return None
        keys = _Keys.of(self._namespace, episode_key(scope, payment.reason))
        at_work = self._call(lambda: self._redis.exists(keys.lease, keys.open))
        return None if at_work not in (0, _FAILED) else payment

    def _call(self, operation: Callable[[], Any]) -> Any:
        if self._breaker.open():
            return _FAILED
        try:
            result = operation()
        except self._errors as exc:
            self._breaker.failed(exc)
            return _FAILED
        self._breaker.succeeded()
        return result

    def _fleet(
        self, scope: str, sent_wall: float, run_hook: Callable[[], Retry | None], window: float
    ) -> tuple[bool, Any]:
        """`(failed, answer)`: the hook's own exception comes back as a value, so that a
        store error the hook raised is never taken for this coordinator's own failure."""
        if self._breaker.open():
            return _attempt(run_hook)
        keys = _Keys.of(self._namespace, scope)
        election = Election(sent_wall, self._lease_ttl, self._clock, keys.channel)
        waiter = _Subscription(self._redis, keys.channel, self._errors)
        step = election.first()
        error: BaseException | None = None
        try:
            while step.verdict in (Verdict.LOOK, Verdict.ACQUIRE, Verdict.WAIT):
                try:
                    if step.verdict is Verdict.WAIT:
                        waiter.wait(step.timeout)
                        step = Step(Verdict.LOOK)
                        continue
                    waiter.ensure()
                    seen = self._witness.recent(keys.lease)
                    args = _elect_args(step, self._lease_ms, self._cap, self._wall(), seen)
                    reply = self._elect(keys=keys.elect, args=args)
                except self._errors as exc:
                    error = exc
                    waiter.drop()
                    step = election.failed()
                    continue
                view, acquired, capped = _parse_elect(reply)
                # Only tokens seen while held: the outcome outlives them.
                self._witness.saw(keys.lease, acquired or view.lease or capped)
                newest = self._witness.newest(keys.lease)
                step = election.viewed(view, acquired=acquired, capped=capped, witnessed=newest)
        finally:
            waiter.close()
        if step.verdict is Verdict.LOCAL:
            self._breaker.failed(error or ConnectionError("no answer"))
            return _attempt(run_hook)
        self._breaker.succeeded()
        if step.verdict is Verdict.COVERED:
            return False, step.answer
        if step.verdict is Verdict.DECLINED:
            _declined(keys, step.note)
            return False, None
        return self._lead(keys, step.token, run_hook, window)

    def _lead(
        self, keys: _Keys, token: str, run_hook: Callable[[], Any], window: float
    ) -> tuple[bool, Any]:
        held = threading.Event()
        started_ms = int(self._wall() * 1000)
        renewer = threading.Thread(
            target=self._renew_until, args=(keys, token, started_ms, held), daemon=True
        )
        renewer.start()
        try:
            failed, answer = _attempt(run_hook)
        except BaseException:
            held.set()
            raise
        outcome = Outcome.of(
            fence_of(token), None if failed else answer, answer if failed else None, self._wall()
        )
        if self._publish_once(keys, token, outcome, window):
            held.set()
        else:
            # Redis did not answer: keep trying in the background, the lease renewed all
            # along, so that waiters wait for this outcome instead of running their own hook.
            # Not a daemon: an exiting process publishes first (bounded by the window).
            threading.Thread(
                target=self._publish_until,
                args=(keys, token, outcome, window, held),
                name="http402-publish",
            ).start()
        return failed, answer

    def _renew_until(self, keys: _Keys, token: str, started_ms: int, held: threading.Event) -> None:
        args = [token, self._lease_ms, started_ms, int(self._cap[1] * 1000)]
        beat = renew_beat(self._lease_ttl)
        while not held.wait(beat):
            try:
                if not self._renew(keys=[keys.lease, keys.current, keys.episodes], args=args):
                    return  # another process was elected: this lease is gone for good
                beat = renew_beat(self._lease_ttl)
            except self._errors:
                # Redis paused, failing over or restarted empty: try again soon, to re-take
                # the lease before a process that never saw it could be elected.
                beat = min(beat, _RENEW_AFTER_ERROR)

    def _publish_once(self, keys: _Keys, token: str, outcome: Outcome, window: float) -> bool:
        """`True` once the outcome is settled (published, or fenced out), `False` when
        Redis did not answer."""
        try:
            published = self._publish(
                keys=[keys.lease, keys.current, keys.outcome, keys.open],
                args=[
                    token,
                    outcome.encode(),
                    max(_OUTCOME_TTL_MS, int(self._cap[1] * 1000)),
                    outcome.open_ms(window),
                    keys.channel,
                ],
            )
        except self._errors:
            return False
        if not published:
            _fenced_out(outcome)
        return True

    def _publish_until(
        self, keys: _Keys, token: str, outcome: Outcome, window: float, held: threading.Event
    ) -> None:
        try:
            for wait in publish_waits():
                if self._wall() + wait >= outcome.publish_until(window):
                    _gave_up(outcome)
                    return
                time.sleep(wait)
                if self._publish_once(keys, token, outcome, window):
                    return
        finally:
            held.set()


class _Subscription:
    """The scope's channel, subscribed before each look so that no message is lost between
    a look and a wait; polling where the client has no pub/sub."""

    def __init__(self, client: Any, channel: str, errors: tuple[type[BaseException], ...]):
        self._client = client
        self._channel = channel
        self._errors = errors
        self._pubsub: Any = None
        self._polling = False

    def ensure(self) -> None:
        if self._pubsub is not None or self._polling:
            return
        try:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        except (AttributeError, NotImplementedError):
            self._polling = True
            return
        try:
            pubsub.subscribe(self._channel)
        except BaseException:
            with contextlib.suppress(Exception):
                pubsub.close()
            raise
        self._pubsub = pubsub

    def wait(self, timeout: float) -> None:
        if self._pubsub is None:
            time.sleep(min(timeout, _POLL) if self._polling else timeout)
            return
        # `get_message` also returns at a subscription's confirmation: wait out the rest.
        deadline = time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                if self._pubsub.get_message(timeout=remaining) is not None:
                    return
        except self._errors:
            self.drop()
            raise

    def drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    close = drop


class AsyncRedisCoordinator(ProcessState):
    """The async twin of `RedisCoordinator`, on `redis.asyncio` or `valkey.asyncio` (so
    under asyncio).

    Args:
        client: A `redis.asyncio.Redis` (or `RedisCluster`, or `valkey.asyncio.Valkey`)
            client, with a `socket_timeout`.
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal.
        max_episodes: At most this many hook runs per scope in this many seconds, or `None`.
        clock: Monotonic seconds.
        wall: Wall-clock seconds, compared across processes.
    """

    def __init__(
        self,
        client: Any,
        *,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._errors = store_errors(client)
        self._namespace = namespace
        self._lease_ttl = lease_ttl
        self._lease_ms = int(lease_ttl * 1000)
        self._cap = parse_cap(max_episodes)
        self._clock = clock
        self._wall = wall
        self._elect = client.register_script(_ELECT)
        self._renew = client.register_script(_RENEW)
        self._publish = client.register_script(_PUBLISH)
        # This process's episodes: one local leader per burst talks to Redis.
        super().__init__(clock)
        self._breaker = Breaker(clock)
        self._witness = Witness(self._cap[1], wall)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        **client_options: Any,
    ) -> AsyncRedisCoordinator:
        """A coordinator on an async client built from `url`; see `RedisCoordinator.from_url`."""
        client = _client_from_url(url, asynchronous=True, cluster=cluster, options=client_options)
        return cls(client, namespace=namespace, lease_ttl=lease_ttl, max_episodes=max_episodes)

    async def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; `None` without calling the
        hook when the fleet's cap declines."""
        failed, answer = await self._fleet(scope, sent.wall, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    async def lifted(self, scope: str) -> None:
        pipeline = _lifted(self._redis.pipeline(), _Keys.of(self._namespace, scope), self._wall())
        await self._call(pipeline.execute)

    async def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope` fleet-wide, after a top-up made by hand."""
        self.book.forget_gate(scope)
        await self._call(lambda: self._redis.delete(_Keys.of(self._namespace, scope).gate))

    async def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)
        await self._call(
            lambda: self._redis.set(
                _Keys.of(self._namespace, scope).gate, _encode_payment(payment), px=int(ttl * 1000)
            )
        )

    async def gated(self, scope: str) -> PaymentRequired | None:
        raw = await self._call(lambda: self._redis.get(_Keys.of(self._namespace, scope).gate))
        if raw is _FAILED:
            return self.book.gated(scope)
        payment = _decode_payment(raw)
        if payment is None:
            return None
        keys = _Keys.of(self._namespace, episode_key(scope, payment.reason))
        at_work = await self._call(lambda: self._redis.exists(keys.lease, keys.open))
        return None if at_work not in (0, _FAILED) else payment

    async def _call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        if self._breaker.open():
            return _FAILED
        try:
            result = await operation()
        except self._errors as exc:
            self._breaker.failed(exc)
            return _FAILED
        self._breaker.succeeded()
        return result

    async def _fleet(
        self,
        scope: str,
        sent_wall: float,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> tuple[bool, Any]:
        """`(failed, answer)`, as in `RedisCoordinator._fleet`."""
        if self._breaker.open():
            return await _async_attempt(run_hook)
        keys = _Keys.of(self._namespace, scope)
        election = Election(sent_wall, self._lease_ttl, self._clock, keys.channel)
        waiter = _AsyncSubscription(self._redis, keys.channel, self._errors)
        step = election.first()
        error: BaseException | None = None
        try:
            while step.verdict in (Verdict.LOOK, Verdict.ACQUIRE, Verdict.WAIT):
                try:
                    if step.verdict is Verdict.WAIT:
                        await waiter.wait(step.timeout)
                        step = Step(Verdict.LOOK)
                        continue
                    await waiter.ensure()
                    seen = self._witness.recent(keys.lease)
                    args = _elect_args(step, self._lease_ms, self._cap, self._wall(), seen)
                    reply = await self._elect(keys=keys.elect, args=args)
                except self._errors as exc:
                    error = exc
                    await waiter.drop()
                    step = election.failed()
                    continue
                view, acquired, capped = _parse_elect(reply)
                # Only tokens seen while held: the outcome outlives them.
                self._witness.saw(keys.lease, acquired or view.lease or capped)
                newest = self._witness.newest(keys.lease)
                step = election.viewed(view, acquired=acquired, capped=capped, witnessed=newest)
        finally:
            await waiter.drop()
        if step.verdict is Verdict.LOCAL:
            self._breaker.failed(error or ConnectionError("no answer"))
            return await _async_attempt(run_hook)
        self._breaker.succeeded()
        if step.verdict is Verdict.COVERED:
            return False, step.answer
        if step.verdict is Verdict.DECLINED:
            _declined(keys, step.note)
            return False, None
        return await self._lead(keys, step.token, run_hook, window)

    async def _lead(
        self,
        keys: _Keys,
        token: str,
        run_hook: Callable[[], Awaitable[Any]],
        window: float,
    ) -> tuple[bool, Any]:
        import asyncio

        held = asyncio.Event()
        started_ms = int(self._wall() * 1000)
        renewer = asyncio.get_running_loop().create_task(
            self._renew_until(keys, token, started_ms, held)
        )
        _BACKGROUND.add(renewer)
        renewer.add_done_callback(_BACKGROUND.discard)
        try:
            # The hook's exception is kept as a value, never raised through a task group,
            # which would hand callers an ExceptionGroup instead of the hook's own exception.
            failed, answer = await _async_attempt(run_hook)
        except BaseException:
            held.set()
            raise
        outcome = Outcome.of(
            fence_of(token), None if failed else answer, answer if failed else None, self._wall()
        )
        if await self._publish_once(keys, token, outcome, window):
            held.set()
        else:
            publisher = asyncio.get_running_loop().create_task(
                self._publish_until(keys, token, outcome, window, held)
            )
            _BACKGROUND.add(publisher)
            publisher.add_done_callback(_BACKGROUND.discard)
        return failed, answer

    async def _renew_until(self, keys: _Keys, token: str, started_ms: int, held: Any) -> None:
        import asyncio

        args = [token, self._lease_ms, started_ms, int(self._cap[1] * 1000)]
        beat = renew_beat(self._lease_ttl)
        while True:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(held.wait(), beat)
                return
            try:
                if not await self._renew(keys=[keys.lease, keys.current, keys.episodes], args=args):
                    return
                beat = renew_beat(self._lease_ttl)
            except self._errors:
                beat = min(beat, _RENEW_AFTER_ERROR)

    async def _publish_once(self, keys: _Keys, token: str, outcome: Outcome, window: float) -> bool:
        try:
            published = await self._publish(
                keys=[keys.lease, keys.current, keys.outcome, keys.open],
                args=[
                    token,
                    outcome.encode(),
                    max(_OUTCOME_TTL_MS, int(self._cap[1] * 1000)),
                    outcome.open_ms(window),
                    keys.channel,
                ],
            )
        except self._errors:
            return False
        if not published:
            _fenced_out(outcome)
        return True

    async def _publish_until(
        self, keys: _Keys, token: str, outcome: Outcome, window: float, held: Any
    ) -> None:
        import asyncio

        try:
            for wait in publish_waits():
                if self._wall() + wait >= outcome.publish_until(window):
                    _gave_up(outcome)
                    return
                await asyncio.sleep(wait)
                if await self._publish_once(keys, token, outcome, window):
                    return
        finally:
            held.set()


class _AsyncSubscription:
    """`_Subscription` for async clients."""

    def __init__(self, client: Any, channel: str, errors: tuple[type[BaseException], ...]):
        self._client = client
        self._channel = channel
        self._errors = errors
        self._pubsub: Any = None
        self._polling = False

    async def ensure(self) -> None:
        if self._pubsub is not None or self._polling:
            return
        initialize = getattr(self._client, "initialize", None)
        if initialize is not None:  # an async cluster client learns its slots here
            await initialize()
        try:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
        except (AttributeError, NotImplementedError):
            self._polling = True
            return
        try:
            await pubsub.subscribe(self._channel)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            raise
        self._pubsub = pubsub

    async def wait(self, timeout: float) -> None:
        import asyncio

        if self._pubsub is None:
            await asyncio.sleep(min(timeout, _POLL) if self._polling else timeout)
            return
        deadline = time.monotonic() + timeout
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                if await self._pubsub.get_message(timeout=remaining) is not None:
                    return
        except self._errors:
            await self.drop()
            raise

    async def drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


#: Renewers and publishers of async holders: referenced until done, so none is collected.
_BACKGROUND: set[Any] = set()
_FAILED: Any = object()
