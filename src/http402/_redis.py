"""Fleet coordination on Redis: one hook call per billing scope across many processes.

Two tiers. In each process, the local coordinator elects one thread (or task) per burst;
only that local leader talks to Redis, where the processes elect one fleet leader:

* the **lease** (`SET NX PX`) names the process that runs the hook; it carries a fencing
  token from `INCR`, and its holder renews it while the hook runs, so a crashed holder's
  lease expires and another process takes over;
* the **outcome** is published by a Lua script that first checks the holder still owns
  the lease: a holder whose lease expired (it was paused, or partitioned) cannot publish a
  stale answer; a `Retry` outcome also opens the episode for its propagation window (a key
  with that TTL), during which gated requests of every process replay instead of calling
  the hook again, until one replay gets through and settles it;
* waiters subscribe to the scope's channel and wake on the outcome's message, with the lease
  TTL as a bound on each wait, never a tight poll;
* the **known gate** for preflight is a key with the preflight TTL.

Keys hold a digest of the scope, never the scope or a credential, and the outcome holds only
whether to replay and the propagation window: headers a hook returns (fresh credentials, a
proof) stay in the leader's process. When Redis is unreachable or errors, each process falls
back to its local coordinator with a warning, and tries Redis again a second later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import anyio
import attrs

from ._episodes import EpisodeBook, Mark
from ._models import PaymentRequired, Reason, Retry
from ._preflight import BalanceCache

__all__ = ["AsyncRedisCoordinator", "RedisCoordinator"]

_logger = logging.getLogger("http402")
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
_PUBLISH = """
if redis.call('get', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('set', KEYS[2], ARGV[2], 'PX', ARGV[3])
if ARGV[4] ~= '0' then
  redis.call('set', KEYS[4], ARGV[2], 'PX', ARGV[4])
end
redis.call('del', KEYS[1])
redis.call('publish', KEYS[3], ARGV[2])
return 1
"""
_OUTCOME_TTL_MS = 10 * 60 * 1000
_RETRY_REDIS_AFTER = 1.0
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


def _import_redis() -> Any:
    try:
        import redis
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "http402's Redis coordination needs redis-py: pip install 'http402[redis]'"
        ) from exc
    return redis


@attrs.frozen
class _Keys:
    lease: str
    fence: str
    outcome: str
    open: str
    lifted: str
    gate: str
    channel: str

    @classmethod
    def of(cls, namespace: str, scope: str) -> _Keys:
        base = f"{namespace}:{hashlib.sha256(scope.encode()).hexdigest()[:32]}"
        names = ("lease", "fence", "outcome", "open", "lifted", "gate", "done")
        return cls(*(f"{base}:{name}" for name in names))


@attrs.frozen
class _Outcome:
    """A finished episode as every process can read it: no headers, no exception object."""

    fence: int
    kind: str  # "retry", "none" or "error"
    within: float | None
    finished_at: float

    def encode(self) -> str:
        return json.dumps(attrs.asdict(self))

    @classmethod
    def decode(cls, raw: bytes | str | None) -> _Outcome | None:
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return cls(
                int(data["fence"]), str(data["kind"]), data["within"], float(data["finished_at"])
            )
        except (ValueError, KeyError, TypeError):
            return None

    @classmethod
    def of(cls, fence: int, retry: Retry | None, error: BaseException | None) -> _Outcome:
        kind = "error" if error is not None else "none" if retry is None else "retry"
        within = retry.within if retry is not None else None
        return cls(fence, kind, within, time.time())

    def covers(self, sent_wall: float, is_open: bool, lifted: bytes | str | None) -> bool:
        """`True` when this episode answers a gate met by a request sent at `sent_wall`: sent
        before it finished, or (for a replay) while it is open or before its gate lifted."""
        if self.finished_at > sent_wall:
            return True
        if self.kind != "retry":
            return False
        return is_open or (lifted is not None and _float(lifted) > sent_wall)

    def open_ms(self, window: float) -> int:
        return int((self.within or window) * 1000) if self.kind == "retry" else 0

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


def _lifted(pipeline: Any, keys: _Keys) -> Any:
    """A replay got through: forget the known gate, and record when, so that a stale 402 of
    a request sent before then replays instead of leading. The window stays open: a lagging
    replica's 402 inside it replays too."""
    pipeline.delete(keys.gate)
    pipeline.set(keys.lifted, repr(time.time()), px=_OUTCOME_TTL_MS)
    return pipeline


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


def _float(raw: bytes | str) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0


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


class _Breaker:
    """Remembers a Redis failure for a second, so an outage costs one timeout, not one per
    request; logs the outage and the recovery once each."""

    def __init__(self) -> None:
        self._down_until = 0.0
        self._down = False
        self._lock = threading.Lock()

    def open(self) -> bool:
        return time.monotonic() < self._down_until

    def failed(self, exc: BaseException) -> None:
        with self._lock:
            self._down_until = time.monotonic() + _RETRY_REDIS_AFTER
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


class RedisCoordinator:
    """Shares episodes and known gates across processes through Redis (redis-py, sync).

    Pass it to the sync transport as `coordinator=`; every process of the fleet gives it a
    client to the same Redis.

    Args:
        client: A `redis.Redis` client. Give it a `socket_timeout` (a second or two), so that
            an unreachable Redis is noticed quickly.
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal; the holder renews it
            every third of that while its hook runs.

    Example:
        ```python
        import redis
        coordinator = http402.RedisCoordinator(redis.Redis.from_url(url, socket_timeout=2))
        transport = http402.PaymentRequiredTransport(
            on_payment_required=top_up, coordinator=coordinator
        )
        ```
    """

    def __init__(self, client: Any, *, namespace: str = "http402", lease_ttl: float = 10.0):
        _import_redis()
        self._redis = client
        self._namespace = namespace
        self._lease_ms = int(lease_ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._publish = client.register_script(_PUBLISH)
        #: This process's episodes: one local leader per burst talks to Redis.
        self.book = EpisodeBook()
        #: The balances probed per scope in this process, for `Preflight`.
        self.balances = BalanceCache(self.book)
        self._breaker = _Breaker()

    def mark(self) -> Mark:
        return self.book.mark()

    def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Retry | None],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; see the module's notes."""
        failed, answer = self._fleet(scope, sent.wall, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    def lifted(self, scope: str) -> None:
        pipeline = _lifted(self._redis.pipeline(), _Keys.of(self._namespace, scope))
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
        raw = self._call(lambda: self._redis.get(_Keys.of(self._namespace, scope).gate))
        if raw is _FAILED:
            return self.book.gated(scope)
        return _decode_payment(raw)

    def _call(self, operation: Callable[[], Any]) -> Any:
        if self._breaker.open():
            return _FAILED
        redis = _import_redis()
        try:
            result = operation()
        except redis.RedisError as exc:
            self._breaker.failed(exc)
            return _FAILED
        self._breaker.succeeded()
        return result

    def _fleet(
        self, scope: str, sent_wall: float, run_hook: Callable[[], Retry | None], window: float
    ) -> tuple[bool, Any]:
        """`(failed, answer)`: the hook's own exception comes back as a value, so that a
        `RedisError` the hook raised is never taken for this coordinator's own failure."""
        if self._breaker.open():
            return _attempt(run_hook)
        redis = _import_redis()
        keys = _Keys.of(self._namespace, scope)
        try:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(keys.channel)
        except redis.RedisError as exc:
            self._breaker.failed(exc)
            return _attempt(run_hook)
        try:
            while True:
                raw, is_open, lifted = self._redis.mget(keys.outcome, keys.open, keys.lifted)
                outcome = _Outcome.decode(raw)
                if outcome is not None and outcome.covers(sent_wall, is_open is not None, lifted):
                    self._breaker.succeeded()
                    return False, outcome.answer(keys.channel)
                fence = int(self._redis.incr(keys.fence))
                token = f"{fence}:{uuid.uuid4().hex}"
                if self._redis.set(keys.lease, token, nx=True, px=self._lease_ms):
                    self._breaker.succeeded()
                    break
                # Another process holds the lease: sleep until its outcome is published, or
                # until its lease could have expired.
                pubsub.get_message(timeout=self._lease_ms / 1000)
        except redis.RedisError as exc:
            self._breaker.failed(exc)
            return _attempt(run_hook)
        finally:
            with contextlib.suppress(redis.RedisError):
                pubsub.close()
        return self._lead(keys, token, fence, run_hook, window)

    def _lead(
        self, keys: _Keys, token: str, fence: int, run_hook: Callable[[], Any], window: float
    ) -> tuple[bool, Any]:
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew_until, args=(keys, token, stop), daemon=True)
        renewer.start()
        try:
            failed, answer = _attempt(run_hook)
        finally:
            stop.set()
            renewer.join()
        error = answer if failed else None
        retry = None if failed else answer
        self._finish(keys, token, _Outcome.of(fence, retry, error), window)
        return failed, answer

    def _renew_until(self, keys: _Keys, token: str, stop: threading.Event) -> None:
        redis = _import_redis()
        while not stop.wait(self._lease_ms / 3000):
            try:
                if not self._renew(keys=[keys.lease], args=[token, self._lease_ms]):
                    return
            except redis.RedisError:
                return

    def _finish(self, keys: _Keys, token: str, outcome: _Outcome, window: float) -> None:
        published = self._call(
            lambda: self._publish(
                keys=[keys.lease, keys.outcome, keys.channel, keys.open],
                args=[token, outcome.encode(), _OUTCOME_TTL_MS, outcome.open_ms(window)],
            )
        )
        if published == 0:
            _logger.warning(
                "http402: this process's lease (fence %d) expired before its hook finished; "
                "its outcome was not published",
                outcome.fence,
            )


class AsyncRedisCoordinator:
    """The async twin of `RedisCoordinator`, on `redis.asyncio` (so under asyncio).

    Args:
        client: A `redis.asyncio.Redis` client, with a `socket_timeout`.
        namespace: Prefix of every key.
        lease_ttl: Seconds a hook holder's lease lives without renewal.
    """

    def __init__(self, client: Any, *, namespace: str = "http402", lease_ttl: float = 10.0):
        _import_redis()
        self._redis = client
        self._namespace = namespace
        self._lease_ms = int(lease_ttl * 1000)
        self._renew = client.register_script(_RENEW)
        self._publish = client.register_script(_PUBLISH)
        #: This process's episodes: one local leader per burst talks to Redis.
        self.book = EpisodeBook()
        #: The balances probed per scope in this process, for `Preflight`.
        self.balances = BalanceCache(self.book)
        self._breaker = _Breaker()

    def mark(self) -> Mark:
        return self.book.mark()

    async def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """One hook call per episode of `scope` across the fleet; see the module's notes."""
        failed, answer = await self._fleet(scope, sent.wall, run_hook, window)
        if failed:
            raise answer
        return answer  # type: ignore[no-any-return]

    async def lifted(self, scope: str) -> None:
        pipeline = _lifted(self._redis.pipeline(), _Keys.of(self._namespace, scope))
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
        return _decode_payment(raw)

    async def _call(self, operation: Callable[[], Awaitable[Any]]) -> Any:
        if self._breaker.open():
            return _FAILED
        redis = _import_redis()
        try:
            result = await operation()
        except redis.RedisError as exc:
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
        redis = _import_redis()
        keys = _Keys.of(self._namespace, scope)
        try:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            await pubsub.subscribe(keys.channel)
        except redis.RedisError as exc:
            self._breaker.failed(exc)
            return await _async_attempt(run_hook)
        try:
            while True:
                raw, is_open, lifted = await self._redis.mget(keys.outcome, keys.open, keys.lifted)
                outcome = _Outcome.decode(raw)
                if outcome is not None and outcome.covers(sent_wall, is_open is not None, lifted):
                    self._breaker.succeeded()
                    return False, outcome.answer(keys.channel)
                fence = int(await self._redis.incr(keys.fence))
                token = f"{fence}:{uuid.uuid4().hex}"
                if await self._redis.set(keys.lease, token, nx=True, px=self._lease_ms):
                    self._breaker.succeeded()
                    break
                await pubsub.get_message(timeout=self._lease_ms / 1000)
        except redis.RedisError as exc:
            self._breaker.failed(exc)
            return await _async_attempt(run_hook)
        finally:
            with contextlib.suppress(redis.RedisError):
                await pubsub.aclose()
        return await self._lead(keys, token, fence, run_hook, window)

    async def _lead(
        self,
        keys: _Keys,
        token: str,
        fence: int,
        run_hook: Callable[[], Awaitable[Any]],
        window: float,
    ) -> tuple[bool, Any]:
        # The hook's exception is kept as a value, never raised inside the task group,
        # which would hand callers an ExceptionGroup instead of the hook's own exception.
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(self._renew_until, keys, token)
            try:
                failed, answer = await _async_attempt(run_hook)
            finally:
                tasks.cancel_scope.cancel()
        error = answer if failed else None
        retry = None if failed else answer
        with anyio.CancelScope(shield=True):
            await self._finish(keys, token, _Outcome.of(fence, retry, error), window)
        return failed, answer

    async def _renew_until(self, keys: _Keys, token: str) -> None:
        redis = _import_redis()
        while True:
            await anyio.sleep(self._lease_ms / 3000)
            try:
                if not await self._renew(keys=[keys.lease], args=[token, self._lease_ms]):
                    return
            except redis.RedisError:
                return

    async def _finish(self, keys: _Keys, token: str, outcome: _Outcome, window: float) -> None:
        published = await self._call(
            lambda: self._publish(
                keys=[keys.lease, keys.outcome, keys.channel, keys.open],
                args=[token, outcome.encode(), _OUTCOME_TTL_MS, outcome.open_ms(window)],
            )
        )
        if published == 0:
            _logger.warning(
                "http402: this process's lease (fence %d) expired before its hook finished; "
                "its outcome was not published",
                outcome.fence,
            )


_FAILED: Any = object()
