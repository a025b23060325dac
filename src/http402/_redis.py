"""Fleet coordination on Redis (or Valkey, or a Redis Cluster): one hook call per billing
scope across many processes, a fleet-wide cap on top-ups, fleet-wide spend windows, and
holds on payments whose outcome is unknown.

Two tiers. In each process, the local coordinator elects one thread (or task) per burst;
only that local leader talks to Redis, where the processes elect one fleet leader. What to do
is decided in pure code (`_fleet`: the election, renewal and publication flows); this module
only performs what the flows ask, through Lua scripts, each atomic:

* **elect** reads the scope's state and, asked to, takes the lease (a fencing token from the
  scope's counter) only if no lease is alive, the outcome is still the one the caller judged,
  the cap on episodes per period allows one more, and the store did not lose its data moments
  ago; its answer carries the scope's holds, for the process's copy (`HoldMirror`), which
  answers hold checks while the store cannot;
* **renew** extends the holder's lease while its hook runs and while its outcome is being
  published; it re-takes a lease the store lost (a flush, a restart) only if nobody was
  elected since;
* **publish** stores the outcome and announces it, only for the current holder;
* **hold**, **held**, **release** keep the holds on payments whose outcome is unknown.

What guards against a second payment (the lease, the fencing counter, the outcome, the cap's
record, the holds, the spend windows) lives in keys without a TTL, which Redis's `volatile-*`
eviction never picks; the lease's expiry is a field compared with the server's clock. Each
bucket of scopes has a *marker* key, also without a TTL: a store that lost its data (a
`FLUSHDB`, a restart without persistence, an `allkeys-*` eviction) lost its marker too, and
the script that finds it missing elects nobody for a renewal beat, while holders re-take
their leases. Every store call is bounded by `store_timeout`, whatever the client's own
timeouts and retries.

Keys are `<namespace>:{b<n>}:<digest>:<name>`: the braces are a Redis Cluster hash tag, the
scope's bucket, so every key of one scope (its episodes' for each reason too) lives in one
slot, with its bucket's marker, and each script runs on one node. Keys hold a digest of the
scope, never the scope or a credential; headers a hook returns stay in the leader's process.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ._actions import BOUGHT
from ._episodes import Mark, ProcessState
from ._fleet import (
    LOW_BEAT,
    LOW_LEASE,
    Call,
    Declined,
    End,
    HoldMirror,
    Keeper,
    Keys,
    Listen,
    Pause,
    RunHook,
    Spawn,
    StoreFailure,
    StoreHealth,
    Witness,
    bought_flow,
    describe_scope,
    episode_flow,
    held_flow,
    hold_flow,
    low_run_flow,
    parse_cap,
    scope_key_flow,
    split_episode_key,
)
from ._fleet import Episode as FleetEpisode
from ._holds import EPISODE_REASONS
from ._logs import logger as _logger
from ._models import PaymentRequired, Reason, Retry
from ._spend_store import AsyncRedisSpendStore, RedisSpendStore
from ._store import PROBE_AFTER, failure_of, listener_for, refused_error, store_errors
from ._store import Runner as _Runner

__all__ = ["AsyncRedisCoordinator", "RedisCoordinator", "RedisSpendStore"]


#: Most holds of a scope an election's answer carries whole (beyond, their keys only).
_MAX_HOLDS_READ = 64
# Shared by the scripts: the server's clock in ms, and the bucket's marker, made if missing.
_PRELUDE = """
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function marker(key, id)
  local value = redis.call('get', key)
  if not value then
    value = id .. ':' .. string.format('%d', now)
    redis.call('set', key, value)
  end
  return value
end
local function fence(token)
  return tonumber(string.match(token or '', '^(%d+):') or '0')
end
"""
_ELECT = (
    _PRELUDE
    + """
local mark = marker(KEYS[3], ARGV[9])
local created = tonumber(string.match(mark, ':(%d+)$') or '0')
local fresh = 0
if now - created < tonumber(ARGV[8]) then fresh = tonumber(ARGV[8]) - (now - created) end
local s = redis.call('hmget', KEYS[1], 'holder', 'until', 'outcome', 'open_until', 'fence')
local holder, expires, outcome = s[1], tonumber(s[2] or '0'), s[3] or ''
local lease, pttl = '', -2
if holder and expires > now then lease, pttl = holder, expires - now end
local open = 0
if tonumber(s[4] or '0') > now then open = 1 end
local lifted = redis.call('hget', KEYS[5], 'lifted') or ''
-- The scope's holds, so that every process that takes part in its elections knows them
-- when the store stops answering: whole up to a bound, else their keys only.
local holds = {}
if redis.call('hlen', KEYS[4]) <= MAX_HOLDS then
  local all = redis.call('hgetall', KEYS[4])
  for i = 1, #all, 2 do
    holds[i], holds[i + 1] = all[i], string.match(all[i + 1], '^%d+|(.*)$') or all[i + 1]
  end
else
  for _, key in ipairs(redis.call('hkeys', KEYS[4])) do
    holds[#holds + 1], holds[#holds + 2] = key, ''
  end
end
local view = {lease, pttl, outcome, open, lifted, holder or '', fresh, mark, holds}
if ARGV[1] ~= '1' or lease ~= '' or outcome ~= ARGV[2] or fresh > 0 then
  return {'view', unpack(view)}
end
local wall = tonumber(ARGV[7])
local period = tonumber(ARGV[6])
local number = math.max(tonumber(s[5] or '0'), fence(holder))
for i = 10, #ARGV - 1, 2 do
  number = math.max(number, fence(ARGV[i]))
  if period > 0 then redis.call('zadd', KEYS[2], 'NX', ARGV[i + 1], ARGV[i]) end
end
if period > 0 then
  redis.call('zremrangebyscore', KEYS[2], '-inf', wall - period)
  if redis.call('zcard', KEYS[2]) >= tonumber(ARGV[5]) then
    local oldest = redis.call('zrange', KEYS[2], 0, 0, 'WITHSCORES')[2]
    return {'capped', redis.call('zrevrange', KEYS[2], 0, 0)[1], oldest, unpack(view)}
  end
end
number = number + 1
local token = string.format('%d', number) .. ':' .. ARGV[3]
redis.call('hset', KEYS[1], 'fence', number, 'holder', token, 'until', now + tonumber(ARGV[4]))
if period > 0 then redis.call('zadd', KEYS[2], wall, token) end
return {'lead', token, unpack(view)}
""".replace("MAX_HOLDS", str(_MAX_HOLDS_READ))
)
_RENEW = (
    _PRELUDE
    + """
marker(KEYS[3], ARGV[5])
local s = redis.call('hmget', KEYS[1], 'holder', 'until', 'fence')
if s[1] == ARGV[1] then
  if s[2] == '-1' then return 0 end
  redis.call('hset', KEYS[1], 'until', now + tonumber(ARGV[2]))
  return 1
end
if s[1] then return 0 end
-- The store lost the scope's state (a flush, a restart, an eviction): nobody was elected
-- since, so the holder takes its lease back, and the cap counts it again.
local number = math.max(tonumber(s[3] or '0'), fence(ARGV[1]))
redis.call('hset', KEYS[1], 'fence', number, 'holder', ARGV[1], 'until', now + tonumber(ARGV[2]))
if tonumber(ARGV[4]) > 0 then redis.call('zadd', KEYS[2], 'NX', ARGV[3], ARGV[1]) end
return 2
"""
)
_PUBLISH = (
    _PRELUDE
    + """
marker(KEYS[2], ARGV[5])
local s = redis.call('hmget', KEYS[1], 'holder', 'fence')
if s[1] and s[1] ~= ARGV[1] then return 0 end
local number = math.max(tonumber(s[2] or '0'), fence(ARGV[1]))
redis.call('hset', KEYS[1], 'fence', number, 'holder', ARGV[1], 'until', -1, 'outcome', ARGV[2],
           'open_until', now + tonumber(ARGV[4]))
redis.call('publish', KEYS[3], ARGV[2])
return 1
"""
)
# The holder keeps its published outcome until the window closes: a store that lost it gets
# it back; another holder elected since stops the keeper.
_KEEP = (
    _PRELUDE
    + """
marker(KEYS[2], ARGV[5])
local s = redis.call('hmget', KEYS[1], 'holder', 'fence')
if s[1] == ARGV[1] then return 1 end
if s[1] then return 0 end
local number = math.max(tonumber(s[2] or '0'), fence(ARGV[1]))
redis.call('hset', KEYS[1], 'fence', number, 'holder', ARGV[1], 'until', -1, 'outcome', ARGV[2],
           'open_until', now + tonumber(ARGV[4]))
return 2
"""
)
# A known gate is ignored while a hook of the fleet is at work on it: its lease alive, or
# its window open.
_AT_WORK = (
    _PRELUDE
    + """
for _, key in ipairs(KEYS) do
  local s = redis.call('hmget', key, 'until', 'open_until')
  if tonumber(s[1] or '0') > now or tonumber(s[2] or '0') > now then return 1 end
end
return 0
"""
)
_HOLD = (
    _PRELUDE
    + """
-- Each hold is '<placed ms>|<record>': a release applies only to holds placed before it was
-- asked for, so a late release (its reply lost) never lifts a newer hold.
local mark = marker(KEYS[2], ARGV[3])
redis.call('hset', KEYS[1], ARGV[1], ARGV[4] .. '|' .. ARGV[2])
return mark
"""
)
_HELD = (
    _PRELUDE
    + """
local mark = marker(KEYS[2], ARGV[2])
local hold = redis.call('hget', KEYS[1], ARGV[1]) or ''
return {string.match(hold, '^%d+|(.*)$') or hold, mark}
"""
)
_RELEASE = """
local fields = {ARGV[1]}
if ARGV[1] == '' then fields = redis.call('hkeys', KEYS[1]) end
local released = 0
for _, field in ipairs(fields) do
  local placed = tonumber(string.match(redis.call('hget', KEYS[1], field) or '', '^(%d+)|'))
  if placed and placed <= tonumber(ARGV[2]) then
    released = released + redis.call('hdel', KEYS[1], field)
  end
end
return released
"""
# The fleet's key for billing scopes: made once by whichever process asks first, never
# expiring (so no `volatile-*` policy evicts it), read by every other.
_SCOPE_KEY = """
redis.call('set', KEYS[1], ARGV[1], 'NX')
return redis.call('get', KEYS[1])
"""
# A low-balance run's mark, a lease (`_fleet.low_run_flow`): '<kind> <alive ms> <ends ms>'
# on the store's clock. KEYS: the scope's low-runs hash, its bucket's marker. ARGV: the
# run's token, its kind ('run': the hook runs; 'bought': it bought, and its top-up's
# window is open), the lease (ms), the window (ms, for 'bought': counted from the first
# 'bought' write, kept in the mark), a marker id. Answers 0 once a bought window ended (the
# mark goes), else 1. The hash lives as long as its longest lease, never cut short.
_LOW_MARK = (
    _PRELUDE
    + """
marker(KEYS[2], ARGV[5])
local alive = now + tonumber(ARGV[3])
local ends = 0
if ARGV[2] == 'bought' then
  local held = redis.call('hget', KEYS[1], ARGV[1]) or ''
  ends = tonumber(string.match(held, '^bought %d+ (%d+)$') or '0')
  if ends == 0 then ends = now + tonumber(ARGV[4]) end
  if ends <= now then
    redis.call('hdel', KEYS[1], ARGV[1])
    return 0
  end
  alive = math.min(alive, ends)
end
redis.call('hset', KEYS[1], ARGV[1],
  ARGV[2] .. ' ' .. string.format('%d', alive) .. ' ' .. string.format('%d', ends))
-- A bought mark outlives its window by a lease, so the next write reads that the window
-- ended (an expired hash would restart it).
local keep = alive - now
if ends > 0 then keep = ends - now + tonumber(ARGV[3]) end
if redis.call('pttl', KEYS[1]) < keep then redis.call('pexpire', KEYS[1], keep) end
return 1
"""
)
# The low-balance runs of a scope that count, on the store's clock: how many run, and how
# many bought and have their window open (each mark alive: written within its lease). A
# store that lost its data (its bucket's marker missing, or made within ARGV[1] ms: a
# flush, a restart, an eviction) may have lost a mark its process writes again within a
# beat: it counts as a run under way until then.
_LOW_RUNNING = (
    _PRELUDE
    + """
local held = redis.call('get', KEYS[2])
local lost = false
if not held then
  marker(KEYS[2], ARGV[2])
  lost = true
else
  local born = tonumber(string.match(held, ':(%d+)$') or '0')
  lost = now - born < tonumber(ARGV[1])
end
local running, bought = 0, 0
if lost then running = 1 end
for _, value in ipairs(redis.call('hvals', KEYS[1])) do
  local kind, alive = string.match(value, '^(%a+) (%d+)')
  if alive and tonumber(alive) > now then
    if kind == 'bought' then bought = bought + 1 else running = running + 1 end
  end
end
return {running, bought}
"""
)
_SCRIPTS = {
    "low_mark": _LOW_MARK,
    "low_running": _LOW_RUNNING,
    "scope_key": _SCOPE_KEY,
    "elect": _ELECT,
    "renew": _RENEW,
    "publish": _PUBLISH,
    "keep": _KEEP,
    "at_work": _AT_WORK,
    "hold": _HOLD,
    "held": _HELD,
    "release": _RELEASE,
}
_POLL = 0.1


def _top_up_states(namespace: str, scope: str) -> list[str]:
    """The state keys of `scope`'s top-up episodes: one per reason a top-up is bought for,
    and a wordless gate's (all on the scope's hash tag: one script reads them)."""
    return [Keys.of(namespace, scope, reason.value).state for reason in EPISODE_REASONS]


def _low_runs(counts: Any) -> bool | str:
    """`low_balance_running`'s answer from the script's counts (runs under way, runs that
    bought with their window open); `False` for a store that did not answer."""
    if counts is _FAILED or not counts:
        return False
    running, bought = (int(each) for each in counts)
    return True if running else (BOUGHT if bought else False)


# Seconds between two checks of the fleet's scope key in the store (at gates only).
_KEY_CHECK = 1.0
_DEFAULT_CAP = (2, 600.0)
_SOCKET_TIMEOUT = 2.0
_STORE_TIMEOUT = 1.0
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


def _text(item: Any) -> str:
    if item is None:
        return ""
    return item.decode() if isinstance(item, bytes) else str(item)


class _Fleet(ProcessState):
    """What the sync and async coordinators share: options, keys, the cap, the witness, the
    store's health, the holds this process placed or saw; no I/O."""

    def __init__(
        self,
        client: Any,
        *,
        namespace: str,
        lease_ttl: float,
        max_episodes: tuple[int, float] | None,
        store_timeout: float | None,
        clock: Callable[[], float],
        wall: Callable[[], float],
        scope_key: bytes | str | None = None,
    ) -> None:
        if not lease_ttl > 0:
            raise ValueError(f"lease_ttl must be positive seconds, got {lease_ttl!r}")
        if store_timeout is not None and not store_timeout > 0:
            raise ValueError(
                f"store_timeout must be positive seconds or None, got {store_timeout!r}"
            )
        self._redis = client
        #: The lease handles of this process's low-balance runs under way, by token: the
        #: run's end stops its renewal (`low_run_flow`).
        self._low_leases: dict[str, Any] = {}
        self._errors: tuple[type[BaseException], ...] = (
            *store_errors(client),
            asyncio.TimeoutError,
        )
        self._namespace = namespace
        self._lease_ttl = lease_ttl
        self._lease_ms = int(lease_ttl * 1000)
        self._cap = parse_cap(max_episodes)
        self._store_timeout = store_timeout
        if isinstance(scope_key, str):
            scope_key = scope_key.encode("utf-8")
        if scope_key is not None and len(scope_key) < 16:
            raise ValueError("scope_key must be at least 16 bytes (32 random bytes are best)")
        # The fleet's key for billing scopes: the application's, or the store's, read at the
        # first gate and checked again at most every `_KEY_CHECK` seconds (`scope_key`).
        self._given_key = scope_key is not None
        self._scope_key: bytes | None = scope_key
        self._key_checked = float("-inf")
        self._clock = clock
        self._wall = wall
        self._scripts = {name: client.register_script(text) for name, text in _SCRIPTS.items()}
        # This process's episodes: one local leader per burst talks to Redis.
        super().__init__(clock)
        self._health = StoreHealth(clock)
        self._witness = Witness(self._cap[1], wall)
        # Holds this process placed or read: what a hold check answers from when the store
        # cannot, and what tells a store that lost a hold from another process's release.
        self._mirror = HoldMirror()
        # The outcomes this process published whose windows are open: one flow keeps them all.
        self._keeper = Keeper()
        self._spend_stores: dict[str, Any] = {}
        self._marker_id = uuid.uuid4().hex

    @property
    def max_episodes(self) -> tuple[int, float] | None:
        """The fleet's cap on hook runs per scope, `(count, seconds)`, or `None`."""
        return None if self._cap == (0, 0.0) else (self._cap[0], self._cap[1])

    def forked(self) -> None:
        super().forked()
        self._mirror.forked()
        self._keeper.forked()

    def _episode(self, key: str, sent: Mark, window: float) -> FleetEpisode:
        """The fleet episode of the episode key `key` (`<scope>|<reason>`)."""
        return FleetEpisode(
            keys=Keys.episode(self._namespace, key),
            hint=describe_scope(key),
            sent_wall=sent.wall,
            window=window,
            lease_ttl=self._lease_ttl,
            cap=self._cap,
            marker_id=self._marker_id,
            health=self._health,
            witness=self._witness,
            clock=self._clock,
            wall=self._wall,
            scope=split_episode_key(key)[0],
            mirror=self._mirror,
            keeper=self._keeper,
        )

    def _declined(self, scope: str, note: str) -> None:
        _logger.warning("http402: no top-up for %s: %s", describe_scope(scope), note)
        episode = self.book.running(scope)
        if episode is not None:
            episode.note = note

    def _episode_keys(self, scope: str) -> list[Keys]:
        return [Keys.of(self._namespace, scope, reason.value) for reason in Reason]

    def _hold_flow(self, scope: str, key: str, record: str) -> Any:
        keys = Keys.of(self._namespace, scope)
        mirror, marker = self._mirror, self._marker_id
        return hold_flow(keys, scope, key, record, mirror, marker, self._wall, self._health)

    def _held_flow(self, scope: str, key: str) -> Any:
        keys = Keys.of(self._namespace, scope)
        mirror, marker = self._mirror, self._marker_id
        return held_flow(keys, scope, key, mirror, marker, self._wall, self._health)

    def _release_args(self, scope: str, key: str | None) -> tuple[list[str], list[Any]]:
        return [Keys.of(self._namespace, scope).holds], [key or "", int(self._wall() * 1000)]

    def _key_due(self) -> bool:
        """Whether the store is to be asked for the fleet's scope key now."""
        return not self._given_key and (
            self._scope_key is None or self._clock() >= self._key_checked + _KEY_CHECK
        )

    def _scope_key_call(self) -> Call:
        """The call that writes the key this process knows (a new one if none) unless the
        store has one, and reads the store's: a store that lost it (a flush, a restart) gets
        back the key every process that read it has."""
        known = self._scope_key.decode() if self._scope_key else secrets.token_hex(32)
        return Call("scope_key", [f"{self._namespace}:scope-key"], [known])

    def _scope_key_of(self, answer: Any) -> bytes | None:
        if answer is not _FAILED and answer:
            self._scope_key = answer if isinstance(answer, bytes) else str(answer).encode()
            self._key_checked = self._clock()
        return self._scope_key


def _not_taken(scope: str) -> None:
    _logger.warning(
        "http402: Redis did not take a hold on %s; it is kept in this process and written at "
        "the next contact",
        describe_scope(scope),
    )


class RedisCoordinator(_Fleet):
    """Shares episodes, known gates, holds and spend windows across processes through Redis
    (sync clients).

    Pass it to the sync transport as `coordinator=`; every process of the fleet gives it a
    client to the same Redis (or Valkey, or Redis Cluster).

    Args:
        client: A `redis.Redis`, `redis.cluster.RedisCluster`, `valkey.Valkey` (or any
            client with their API, such as one from `redis.sentinel.Sentinel.master_for`).
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal; the holder renews it
            every third of that (at most every second) while its hook runs and until its
            outcome is published.
        max_episodes: At most this many hook runs per scope across the fleet in this many
            seconds, `(count, seconds)`, or `None` for no cap. The default `(2, 600)` allows
            a top-up and one more (a takeover, or the credits running out again) in 10
            minutes. A request the cap refuses raises its gate, saying the cap and when the
            next top-up is allowed; `forget_gate` lifts it after a top-up made by hand.
        store_timeout: Most seconds one store call may take, whatever the client's own
            timeouts and retries (a call past it counts as a failure), or `None` to trust
            the client.
        scope_key: The key of the fleet's billing scopes (16 bytes or more; give every
            process the same, from a secret store), or `None` to have the first process make
            one in Redis (`<namespace>:scope-key`). Scopes are written on log records, span
            events and every Redis key as keyed digests of the credentials; with a key of
            your own, nothing in Redis or the logs rebuilds one (see "The billing scope" in
            the safety docs).
        clock: Monotonic seconds (injectable: the store's health, the patience with errors).
        wall: Wall-clock seconds, compared across processes (keep the fleet's clocks in sync).

    Example:
        ```python
        coordinator = http402.RedisCoordinator.from_url(
            os.environ["REDIS_URL"], max_episodes=(2, 600)
        )
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
        store_timeout: float | None = _STORE_TIMEOUT,
        scope_key: bytes | str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client,
            namespace=namespace,
            lease_ttl=lease_ttl,
            max_episodes=max_episodes,
            store_timeout=store_timeout,
            scope_key=scope_key,
            clock=clock,
            wall=wall,
        )
        self._runner = _Runner(store_timeout, listener_for(client))

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        store_timeout: float | None = _STORE_TIMEOUT,
        scope_key: bytes | str | None = None,
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
        return cls(
            client,
            namespace=namespace,
            lease_ttl=lease_ttl,
            max_episodes=max_episodes,
            store_timeout=store_timeout,
            scope_key=scope_key,
        )

    def spend_store(self, name: str = "default") -> RedisSpendStore:
        """The fleet-wide spend window `name` on this coordinator's client (one per name),
        which a `SpendPolicy` given to a transport with this coordinator uses by default."""
        store = self._spend_stores.get(name)
        if store is None:
            store = self._spend_stores.setdefault(
                name,
                RedisSpendStore(
                    self._redis,
                    name=name,
                    namespace=self._namespace,
                    wall=self._wall,
                    store_timeout=self._store_timeout,
                ),
            )
        return store  # type: ignore[no-any-return]

    def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Retry | None],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; `None` without calling the
        hook when the fleet's cap declines. See the module's notes."""
        failed, answer = self._fleet(scope, sent, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    def lifted(self, scope: str) -> None:
        keys = Keys.of(self._namespace, scope)
        now = repr(self._wall())

        def lift() -> None:
            pipeline = self._redis.pipeline()
            pipeline.delete(keys.gate)
            pipeline.hset(keys.state, "lifted", now)
            pipeline.execute()

        self._side(lift)

    def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope` fleet-wide and lifts the fleet's cap on its
        top-ups, after a top-up made by hand."""
        self.book.forget_gate(scope)
        keys = [Keys.of(self._namespace, scope), *self._episode_keys(scope)]
        for each in keys[1:]:
            self._witness.forget(each.state)
        self._side(lambda: self._redis.delete(keys[0].gate, *(k.episodes for k in keys[1:])))

    def claim_crossing(self, scope: str, crossing: str) -> bool:
        """Claims a low-balance crossing of `scope` (`"balance:100"`) for this process:
        `True` for the first process of the fleet to claim it since it was last re-armed,
        so that one process alone calls the watch's hook for it. `False` when another
        process has, or when Redis does not answer: a hook that moves money (a top-up) must
        not run twice for one crossing, and a missed warning is followed by the gate's own
        top-up if the balance runs out."""
        key = Keys.of(self._namespace, scope).crossings
        claimed = self._side(lambda: self._redis.hsetnx(key, crossing, repr(self._wall())))
        return _claimed(claimed, scope, crossing)

    def low_balance_started(self, scope: str, ttl: float) -> str:
        """Marks, fleet-wide, that this process's low-balance hook runs for `scope`: a gate
        of the scope in any process waits for it instead of buying beside it. The mark is a
        lease (`_fleet.low_run_flow`), written now and again every beat while the run lasts,
        however long the hook takes: a dead process's mark goes within a lease, and one
        the store lost is back within a beat. Returns the run's token, for
        `low_balance_ended` or `low_balance_bought`; a store that does not answer takes no
        mark (the gates of other processes then do not wait: an outage's bound). `ttl`
        is kept for the protocol: the lease no longer needs it."""
        keys, token = Keys.of(self._namespace, scope), secrets.token_hex(8)
        self._low_mark(keys, token, "run", 0)
        handle = threading.Event()
        self._low_leases[token] = handle
        threading.Thread(
            target=self._drive,
            args=(low_run_flow(keys, token, self._health),),
            kwargs={"held": handle},
            name="http402-low-balance-run",
            daemon=True,
        ).start()
        return token

    def low_balance_ended(self, scope: str, token: str) -> None:
        """The low-balance run `token` of `scope` ended (see `low_balance_started`)."""
        handle = self._low_leases.pop(token, None)
        if handle is not None:
            handle.set()
        key = Keys.of(self._namespace, scope).low_runs
        self._side(lambda: self._redis.hdel(key, token))

    def low_balance_bought(self, scope: str, token: str, within: float) -> None:
        """The low-balance run `token` of `scope` ended, and its hook bought (answered
        `Retry`): it stays marked until its top-up's window (`within` seconds) closes, on
        the store's clock, written again every beat (`_fleet.bought_flow`), so that a gate
        of the scope in any process waits for it to show instead of buying beside it
        while it propagates."""
        handle = self._low_leases.pop(token, None)
        if handle is not None:
            handle.set()
        keys, within_ms = Keys.of(self._namespace, scope), max(1, int(within * 1000))
        self._low_mark(keys, token, "bought", within_ms)
        threading.Thread(
            target=self._drive,
            args=(bought_flow(keys, token, within_ms, self._health),),
            name="http402-low-balance-bought",
            daemon=True,
        ).start()

    def low_balance_running(self, scope: str) -> bool | str:
        """Whether a low-balance hook of `scope` runs in some process of the fleet (`True`),
        or none does but one that bought has its top-up's window open (`"bought"`,
        `low_balance_bought`); `False` when the store does not answer. A store that just
        lost its data counts as a run under way for two beats, while the processes whose
        runs it lost write them again."""
        keys = Keys.of(self._namespace, scope)
        args = [int(2 * LOW_BEAT * 1000), uuid.uuid4().hex]
        counts = self._side(
            lambda: self._scripts["low_running"](keys=[keys.low_runs, keys.marker], args=args)
        )
        return _low_runs(counts)

    def _low_mark(self, keys: Keys, token: str, kind: str, within_ms: int) -> None:
        args = [token, kind, int(LOW_LEASE * 1000), within_ms, uuid.uuid4().hex]
        self._side(lambda: self._scripts["low_mark"](keys=[keys.low_runs, keys.marker], args=args))

    def top_up_at_work(self, scope: str) -> bool:
        """Whether a top-up of `scope` is at work in some process of the fleet: the hook of
        one of its episodes (for any reason a top-up is bought for, or a wordless gate's)
        runs, or its window is open. `True` when the store does not answer (fail closed:
        the low-balance hook, asked about, is then not called)."""
        keys = _top_up_states(self._namespace, scope)
        at_work = self._side(lambda: self._scripts["at_work"](keys=keys, args=[]))
        return at_work is _FAILED or bool(at_work)

    def clear_crossings(self, scope: str, crossings: tuple[str, ...]) -> None:
        """Re-arms crossings of `scope` fleet-wide (this process saw the balance rise, or
        move back clear of a threshold): the next crossing may be claimed again."""
        key = Keys.of(self._namespace, scope).crossings
        self._side(lambda: self._redis.hdel(key, *crossings))

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)
        gate = Keys.of(self._namespace, scope).gate
        self._side(lambda: self._redis.set(gate, _encode_payment(payment), px=int(ttl * 1000)))

    def gated(self, scope: str) -> PaymentRequired | None:
        """The known gate of `scope`, unless a hook of the fleet is at work on it (running,
        or its window open): requests then go, and join that episode."""
        gate = Keys.of(self._namespace, scope).gate
        raw = self._side(lambda: self._redis.get(gate))
        if raw is _FAILED:
            return self.book.gated(scope)
        payment = _decode_payment(raw)
        if payment is None:
            return None
        keys = Keys.of(self._namespace, scope, payment.reason.value)
        at_work = self._side(lambda: self._scripts["at_work"](keys=[keys.state], args=[]))
        return None if at_work not in (0, _FAILED) else payment

    def hold(self, scope: str, key: str, record: str) -> None:
        """Holds `key` (a payment whose outcome is unknown) in `scope` fleet-wide until
        `release`: `record` is JSON text. When the store does not answer, the hold is kept in
        this process and written at the next contact (with a warning)."""
        if not self._drive(self._hold_flow(scope, key, record)):
            _not_taken(scope)

    def held(self, scope: str, key: str) -> str | None:
        """The hold's record, or `None`. When the store cannot answer, this process's copy of
        the fleet's holds answers: every hold it placed, and every hold of the scope it read
        while the store answered; a hold that another process placed and this one never read
        is not seen until the store answers again."""
        return self._drive(self._held_flow(scope, key))  # type: ignore[no-any-return]

    def scope_key(self) -> bytes | None:
        """The key of the fleet's billing scopes (`KeyedScope`), the same in every process:
        the application's `scope_key=`, else one made in the store by the first process that
        needs one (`SET NX`) and read by the others, then kept for this coordinator's life;
        `None` when the store does not answer in time: the first time, a stalled store is
        waited for as an election waits for it (until the outage lasted a lease: a process on
        its own key would not see a live holder's lease), a refused connection not at all;
        once a key is known, each check is a side call (bounded by `store_timeout`, skipped
        during an outage). The store is asked again at most every second, so that a key it
        lost is written back, and a key another process made meanwhile is seen."""
        if not self._key_due():
            return self._scope_key
        call = self._scope_key_call()
        if self._scope_key is None:  # the first time: as patient as an election
            flow = scope_key_flow(call, self._health, self._lease_ttl)
            return self._scope_key_of(self._drive(flow))
        script = self._scripts["scope_key"]
        return self._scope_key_of(self._side(lambda: script(keys=call.keys, args=call.args)))

    def release(self, scope: str, key: str | None = None) -> None:
        """Releases the hold `key` of `scope` (every hold of `scope` for `None`) fleet-wide,
        once the application reconciled the payment. Raises when the store does not answer."""
        keys, args = self._release_args(scope, key)
        self._call(lambda: self._scripts["release"](keys=keys, args=args))
        self._mirror.released(scope, key)

    def _call(self, operation: Callable[[], Any]) -> Any:
        """One store call, bounded by `store_timeout`; raises the client's error (or
        `TimeoutError`)."""
        try:
            result = self._runner.run(operation)
        except self._errors as exc:
            self._health.failed(failure_of(exc))
            raise
        self._health.succeeded()
        return result

    def _side(self, operation: Callable[[], Any], *, skip_open: bool = True) -> Any:
        """A call whose failure costs nothing but its answer: skipped for a second after a
        failure, `_FAILED` when the store does not answer."""
        if skip_open and self._health.open():
            return _FAILED
        try:
            return self._call(operation)
        except self._errors:
            return _FAILED

    def _fleet(
        self, scope: str, sent: Mark, run_hook: Callable[[], Retry | None], window: float
    ) -> tuple[bool, Any]:
        """`(failed, answer)`: the hook's own exception comes back as a value, so that a
        store error the hook raised is never taken for this coordinator's own failure."""
        episode = self._episode(scope, sent, window)
        waiter = _Subscription(self._redis, episode.keys.channel, self._errors, self._runner)
        try:
            return self._drive(  # type: ignore[no-any-return]
                episode_flow(episode), scope=scope, run_hook=run_hook, waiter=waiter
            )
        finally:
            waiter.close()

    def _drive(
        self,
        flow: Any,
        *,
        scope: str = "",
        run_hook: Callable[[], Any] | None = None,
        waiter: _Subscription | None = None,
        held: threading.Event | None = None,
    ) -> Any:
        """Performs a flow's actions (`_fleet`) until it returns."""
        answer: Any = None
        error: StoreFailure | None = None
        while True:
            try:
                action = flow.send(answer) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            answer, error = None, None
            if isinstance(action, Call):
                try:
                    if waiter is not None:
                        waiter.ensure()
                    answer = self._perform(action)
                except StoreFailure as failure:
                    error = failure
            elif isinstance(action, Listen):
                if waiter is not None:
                    waiter.wait(action.timeout)
                else:
                    time.sleep(action.timeout)
            elif isinstance(action, Pause):
                if held is None:
                    time.sleep(action.timeout)
                else:
                    answer = held.wait(action.timeout)
            elif isinstance(action, RunHook):
                assert run_hook is not None
                answer = _attempt(run_hook)
            elif isinstance(action, Spawn):
                answer = threading.Event()
                threading.Thread(
                    target=self._drive,
                    args=(action.flow,),
                    kwargs={"held": answer},
                    name=f"http402-{action.role}",
                    daemon=not action.lasting,
                ).start()
            elif isinstance(action, End):
                action.handle.set()
            else:
                assert isinstance(action, Declined)
                self._declined(scope, action.note)

    def _perform(self, call: Call) -> Any:
        script = self._scripts[call.name]
        try:
            return self._runner.run(lambda: script(keys=call.keys, args=call.args))
        except self._errors as exc:
            raise failure_of(exc) from exc


def _claimed(answer: Any, scope: str, crossing: str) -> bool:
    """Whether a crossing's claim (`HSETNX`'s answer) was this process's; a store that did
    not answer claims nothing (fail closed: the hook is not called)."""
    if answer is _FAILED:
        _logger.warning(
            "http402: the low-balance hook was not called for %s at %s: Redis did not answer, "
            "so another process may have called it for this crossing",
            crossing,
            describe_scope(scope),
        )
        return False
    return bool(answer)


class _Subscription:
    """The scope's channel, subscribed before each look so that no message is lost between
    a look and a wait; polling where the client has no pub/sub."""

    def __init__(
        self, client: Any, channel: str, errors: tuple[type[BaseException], ...], runner: _Runner
    ) -> None:
        self._client = client
        self._channel = channel
        self._errors = errors
        self._runner = runner
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
            self._runner.run(lambda: pubsub.subscribe(self._channel))
        except BaseException as exc:
            with contextlib.suppress(Exception):
                pubsub.close()
            if isinstance(exc, self._errors):
                raise failure_of(exc) from exc
            raise
        self._pubsub = pubsub

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self._pubsub is not None:
            # `get_message` also returns at a subscription's confirmation: wait out the rest.
            try:
                while (remaining := deadline - time.monotonic()) > 0:
                    if self._pubsub.get_message(timeout=remaining) is not None:
                        return
                return
            except self._errors:
                self.drop()
        remaining = deadline - time.monotonic()
        if remaining > 0:
            time.sleep(min(remaining, _POLL) if self._polling else remaining)

    def drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                pubsub.close()

    close = drop


class AsyncRedisCoordinator(_Fleet):
    """The async twin of `RedisCoordinator`, on `redis.asyncio` or `valkey.asyncio` (so
    under asyncio).

    Args:
        client: A `redis.asyncio.Redis` (or `RedisCluster`, or `valkey.asyncio.Valkey`).
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal.
        max_episodes: At most this many hook runs per scope in this many seconds, or `None`.
        store_timeout: Most seconds one store call may take, or `None` to trust the client.
        scope_key: The key of the fleet's billing scopes; see `RedisCoordinator`.
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
        store_timeout: float | None = _STORE_TIMEOUT,
        scope_key: bytes | str | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client,
            namespace=namespace,
            lease_ttl=lease_ttl,
            max_episodes=max_episodes,
            store_timeout=store_timeout,
            scope_key=scope_key,
            clock=clock,
            wall=wall,
        )
        self._listener = listener_for(client)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        cluster: bool = False,
        namespace: str = "http402",
        lease_ttl: float = 10.0,
        max_episodes: tuple[int, float] | None = _DEFAULT_CAP,
        store_timeout: float | None = _STORE_TIMEOUT,
        scope_key: bytes | str | None = None,
        **client_options: Any,
    ) -> AsyncRedisCoordinator:
        """A coordinator on an async client built from `url`; see `RedisCoordinator.from_url`."""
        client = _client_from_url(url, asynchronous=True, cluster=cluster, options=client_options)
        return cls(
            client,
            namespace=namespace,
            lease_ttl=lease_ttl,
            max_episodes=max_episodes,
            store_timeout=store_timeout,
            scope_key=scope_key,
        )

    def spend_store(self, name: str = "default") -> AsyncRedisSpendStore:
        """The fleet-wide spend window `name` on this coordinator's async client."""
        store = self._spend_stores.get(name)
        if store is None:
            store = self._spend_stores.setdefault(
                name,
                AsyncRedisSpendStore(
                    self._redis,
                    name=name,
                    namespace=self._namespace,
                    wall=self._wall,
                    store_timeout=self._store_timeout,
                ),
            )
        return store  # type: ignore[no-any-return]

    async def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; `None` without calling the
        hook when the fleet's cap declines."""
        failed, answer = await self._fleet(scope, sent, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    async def lifted(self, scope: str) -> None:
        keys = Keys.of(self._namespace, scope)
        now = repr(self._wall())

        async def lift() -> None:
            pipeline = self._redis.pipeline()
            pipeline.delete(keys.gate)
            pipeline.hset(keys.state, "lifted", now)
            await pipeline.execute()

        await self._side(lift)

    async def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope` fleet-wide and lifts the fleet's cap on its
        top-ups, after a top-up made by hand."""
        self.book.forget_gate(scope)
        keys = [Keys.of(self._namespace, scope), *self._episode_keys(scope)]
        for each in keys[1:]:
            self._witness.forget(each.state)
        await self._side(lambda: self._redis.delete(keys[0].gate, *(k.episodes for k in keys[1:])))

    async def low_balance_started(self, scope: str, ttl: float) -> str:
        """`RedisCoordinator.low_balance_started`, awaited: the lease is kept by a task."""
        keys, token = Keys.of(self._namespace, scope), secrets.token_hex(8)
        await self._low_mark(keys, token, "run", 0)
        handle = asyncio.Event()
        self._low_leases[token] = handle
        self._background(self._drive(low_run_flow(keys, token, self._health), held=handle))
        return token

    async def low_balance_ended(self, scope: str, token: str) -> None:
        """`RedisCoordinator.low_balance_ended`, awaited."""
        handle = self._low_leases.pop(token, None)
        if handle is not None:
            handle.set()
        key = Keys.of(self._namespace, scope).low_runs
        await self._side(lambda: self._redis.hdel(key, token))

    async def top_up_at_work(self, scope: str) -> bool:
        """`RedisCoordinator.top_up_at_work`, awaited."""
        keys = _top_up_states(self._namespace, scope)
        at_work = await self._side(lambda: self._scripts["at_work"](keys=keys, args=[]))
        return at_work is _FAILED or bool(at_work)

    async def low_balance_bought(self, scope: str, token: str, within: float) -> None:
        """`RedisCoordinator.low_balance_bought`, awaited: the mark is kept by a task."""
        handle = self._low_leases.pop(token, None)
        if handle is not None:
            handle.set()
        keys, within_ms = Keys.of(self._namespace, scope), max(1, int(within * 1000))
        await self._low_mark(keys, token, "bought", within_ms)
        self._background(self._drive(bought_flow(keys, token, within_ms, self._health)))

    async def low_balance_running(self, scope: str) -> bool | str:
        """`RedisCoordinator.low_balance_running`, awaited."""
        keys = Keys.of(self._namespace, scope)
        args = [int(2 * LOW_BEAT * 1000), uuid.uuid4().hex]
        counts = await self._side(
            lambda: self._scripts["low_running"](keys=[keys.low_runs, keys.marker], args=args)
        )
        return _low_runs(counts)

    async def _low_mark(self, keys: Keys, token: str, kind: str, within_ms: int) -> None:
        args = [token, kind, int(LOW_LEASE * 1000), within_ms, uuid.uuid4().hex]
        await self._side(
            lambda: self._scripts["low_mark"](keys=[keys.low_runs, keys.marker], args=args)
        )

    @staticmethod
    def _background(work: Any) -> None:
        """Runs `work` in a task of its own, referenced until done."""
        task = asyncio.get_running_loop().create_task(work)
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)

    async def claim_crossing(self, scope: str, crossing: str) -> bool:
        """`RedisCoordinator.claim_crossing`, as a coroutine."""
        key = Keys.of(self._namespace, scope).crossings
        claimed = await self._side(lambda: self._redis.hsetnx(key, crossing, repr(self._wall())))
        return _claimed(claimed, scope, crossing)

    async def clear_crossings(self, scope: str, crossings: tuple[str, ...]) -> None:
        """`RedisCoordinator.clear_crossings`, as a coroutine."""
        key = Keys.of(self._namespace, scope).crossings
        await self._side(lambda: self._redis.hdel(key, *crossings))

    async def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        self.book.mark_gated(scope, payment, ttl)
        gate = Keys.of(self._namespace, scope).gate
        await self._side(
            lambda: self._redis.set(gate, _encode_payment(payment), px=int(ttl * 1000))
        )

    async def gated(self, scope: str) -> PaymentRequired | None:
        gate = Keys.of(self._namespace, scope).gate
        raw = await self._side(lambda: self._redis.get(gate))
        if raw is _FAILED:
            return self.book.gated(scope)
        payment = _decode_payment(raw)
        if payment is None:
            return None
        keys = Keys.of(self._namespace, scope, payment.reason.value)
        at_work = await self._side(lambda: self._scripts["at_work"](keys=[keys.state], args=[]))
        return None if at_work not in (0, _FAILED) else payment

    async def hold(self, scope: str, key: str, record: str) -> None:
        """`RedisCoordinator.hold`, awaited."""
        if not await self._drive(self._hold_flow(scope, key, record)):
            _not_taken(scope)

    async def held(self, scope: str, key: str) -> str | None:
        """`RedisCoordinator.held`, awaited."""
        return await self._drive(self._held_flow(scope, key))  # type: ignore[no-any-return]

    async def scope_key(self) -> bytes | None:
        """`RedisCoordinator.scope_key`, awaited."""
        if not self._key_due():
            return self._scope_key
        call = self._scope_key_call()
        if self._scope_key is None:  # the first time: as patient as an election
            flow = scope_key_flow(call, self._health, self._lease_ttl)
            return self._scope_key_of(await self._drive(flow))
        script = self._scripts["scope_key"]
        return self._scope_key_of(await self._side(lambda: script(keys=call.keys, args=call.args)))

    async def release(self, scope: str, key: str | None = None) -> None:
        """`RedisCoordinator.release`, awaited."""
        keys, args = self._release_args(scope, key)
        await self._call(lambda: self._scripts["release"](keys=keys, args=args))
        self._mirror.released(scope, key)

    async def _call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        try:
            result = await self._bounded(operation())
        except self._errors as exc:
            self._health.failed(failure_of(exc))
            raise
        self._health.succeeded()
        return result

    async def _side(
        self, operation: Callable[[], Awaitable[Any]], *, skip_open: bool = True
    ) -> Any:
        if skip_open and self._health.open():
            return _FAILED
        try:
            return await self._call(operation)
        except self._errors:
            return _FAILED

    async def _fleet(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> tuple[bool, Any]:
        """`(failed, answer)`, as in `RedisCoordinator._fleet`."""
        episode = self._episode(scope, sent, window)
        waiter = _AsyncSubscription(self._redis, episode.keys.channel, self._errors, self._bounded)
        try:
            return await self._drive(  # type: ignore[no-any-return]
                episode_flow(episode), scope=scope, run_hook=run_hook, waiter=waiter
            )
        finally:
            await waiter.drop()

    async def _drive(
        self,
        flow: Any,
        *,
        scope: str = "",
        run_hook: Callable[[], Awaitable[Any]] | None = None,
        waiter: _AsyncSubscription | None = None,
        held: asyncio.Event | None = None,
    ) -> Any:
        """`RedisCoordinator._drive`, with tasks for threads."""
        answer: Any = None
        error: StoreFailure | None = None
        while True:
            try:
                action = flow.send(answer) if error is None else flow.throw(error)
            except StopIteration as stop:
                return stop.value
            answer, error = None, None
            if isinstance(action, Call):
                try:
                    if waiter is not None:
                        await waiter.ensure()
                    answer = await self._perform(action)
                except StoreFailure as failure:
                    error = failure
            elif isinstance(action, Listen):
                if waiter is not None:
                    await waiter.wait(action.timeout)
                else:
                    await asyncio.sleep(action.timeout)
            elif isinstance(action, Pause):
                if held is None:
                    await asyncio.sleep(action.timeout)
                else:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(held.wait(), action.timeout)
                    answer = held.is_set()
            elif isinstance(action, RunHook):
                assert run_hook is not None
                # The hook's exception is kept as a value, never raised through a task
                # group, which would hand callers an ExceptionGroup instead.
                answer = await _async_attempt(run_hook)
            elif isinstance(action, Spawn):
                answer = asyncio.Event()
                task = asyncio.get_running_loop().create_task(self._drive(action.flow, held=answer))
                _BACKGROUND.add(task)
                task.add_done_callback(_BACKGROUND.discard)
                # A task cancelled with its event loop ends its flow too: a keeper's then lets
                # the next outcome start another.
                task.add_done_callback(_closing(action.flow))
            elif isinstance(action, End):
                action.handle.set()
            else:
                assert isinstance(action, Declined)
                self._declined(scope, action.note)

    async def _perform(self, call: Call) -> Any:
        script = self._scripts[call.name]
        try:
            return await self._bounded(script(keys=call.keys, args=call.args))
        except self._errors as exc:
            raise failure_of(exc) from exc

    async def _bounded(self, call: Awaitable[Any]) -> Any:
        """`call`'s answer within `store_timeout`; a call unanswered after `PROBE_AFTER` whose
        store is found down (nothing listens) ends at once (`RedisCoordinator`'s `Runner`)."""
        timeout = self._store_timeout
        if timeout is None:
            return await call
        if self._listener is None or timeout <= PROBE_AFTER:
            return await asyncio.wait_for(call, timeout)
        deadline = time.monotonic() + timeout
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait({task}, timeout=PROBE_AFTER)
            if not done and await self._listener.arefused() and not task.done():
                raise refused_error(timeout)
            return await asyncio.wait_for(asyncio.shield(task), deadline - time.monotonic())
        finally:
            if not task.done():
                task.cancel()


class _AsyncSubscription:
    """`_Subscription` for async clients."""

    def __init__(
        self,
        client: Any,
        channel: str,
        errors: tuple[type[BaseException], ...],
        bounded: Callable[[Awaitable[Any]], Awaitable[Any]],
    ) -> None:
        self._client = client
        self._channel = channel
        self._errors = errors
        self._bounded = bounded
        self._pubsub: Any = None
        self._polling = False

    async def ensure(self) -> None:
        if self._pubsub is not None or self._polling:
            return
        try:
            initialize = getattr(self._client, "initialize", None)
            if initialize is not None:  # an async cluster client learns its slots here
                await self._bounded(initialize())
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            except (AttributeError, NotImplementedError):
                self._polling = True
                return
            try:
                await self._bounded(pubsub.subscribe(self._channel))
            except BaseException:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
                raise
        except self._errors as exc:
            raise failure_of(exc) from exc
        self._pubsub = pubsub

    async def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        if self._pubsub is not None:
            try:
                while (remaining := deadline - time.monotonic()) > 0:
                    if await self._pubsub.get_message(timeout=remaining) is not None:
                        return
                return
            except self._errors:
                await self.drop()
        remaining = deadline - time.monotonic()
        if remaining > 0:
            await asyncio.sleep(min(remaining, _POLL) if self._polling else remaining)

    async def drop(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()


def _closing(flow: Any) -> Callable[[Any], None]:
    """A task's done callback that ends `flow` (a no-op for a flow that returned)."""

    def close(task: Any) -> None:
        flow.close()

    return close


#: Renewers and publishers of async holders: referenced until done, so none is collected.
_BACKGROUND: set[Any] = set()
_FAILED: Any = object()
