"""Store calls that a request can afford: bounded in time, and their failures told apart.

A redis-py client retries a failed command (redis-py 6 and later: ten times, with backoff)
and waits `socket_timeout` (5 s by default) for each answer: through a stall it holds every
call for the whole stall. `Runner` bounds each call by the coordinator's `store_timeout`,
whatever the client's settings, and `failure_of` tells a server that is down (nothing listens:
it holds no lease anyone can renew) from one that stalls (it may hold one, and may still act).

A client that retries refused connections (redis-py's `Redis(host=...)` default) hides a
server that is down behind its retries: the call only times out. So a call that has not
answered after `PROBE_AFTER` asks `Listener` whether anything listens at the store's
address; a refused connection there ends the call at once, as refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import importlib
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from ._fleet import StoreFailure

__all__ = ["PROBE_AFTER", "Listener", "Runner", "failure_of", "listener_for", "store_errors"]

#: Seconds a store call may go unanswered before the store's address is probed.
PROBE_AFTER = 0.05
#: Seconds a probe's connection may take (a server that does not accept is not "down").
_PROBE_TIMEOUT = 0.25
#: Seconds one probe's answer serves.
_PROBE_KEEP = 1.0


def store_errors(client: Any) -> tuple[type[BaseException], ...]:
    """The exceptions `client`'s own library raises for a store failure: `redis.RedisError`
    for redis-py, `valkey.ValkeyError` for valkey-py; connection errors for anything else.
    `TimeoutError` (a call past `store_timeout`) always counts."""
    package = type(client).__module__.partition(".")[0]
    with contextlib.suppress(ImportError):
        module = importlib.import_module(f"{package}.exceptions")
        for name in ("RedisError", "ValkeyError"):
            base = getattr(module, name, None)
            if isinstance(base, type) and issubclass(base, BaseException):
                return (base, TimeoutError)
    return (ConnectionError, TimeoutError, OSError)


def failure_of(exc: BaseException) -> StoreFailure:
    """`refused` when nothing listens at the store's address (the server is down); `stalled`
    for anything else (a timeout, a dropped connection), after which the server may act."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return StoreFailure("refused", exc)
        current = current.__cause__ or current.__context__
    text = str(exc).lower()
    if "connection refused" in text or text.startswith("error 111 "):
        return StoreFailure("refused", exc)
    return StoreFailure("stalled", exc)


class Listener:
    """Whether anything listens at a store's address (a TCP host and port, or a Unix
    socket): a refused connection means the server is down. One answer serves a second, so
    an outage costs one probe a second, not one per call.

    Args:
        address: `(host, port)`, or a Unix socket's path.
        clock: Monotonic seconds.
    """

    def __init__(
        self, address: tuple[str, int] | str, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._address = address
        self._clock = clock
        self._until = 0.0
        self._refused = False

    def refused(self) -> bool:
        """`True` when a connection to the address is refused (nothing listens)."""
        if self._clock() < self._until:
            return self._refused
        try:
            if isinstance(self._address, str):
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.settimeout(_PROBE_TIMEOUT)
                    probe.connect(self._address)
            else:
                socket.create_connection(self._address, timeout=_PROBE_TIMEOUT).close()
        except OSError as exc:
            return self._answer(_is_refused(exc))
        return self._answer(False)

    async def arefused(self) -> bool:
        """`refused`, without blocking the event loop."""
        if self._clock() < self._until:
            return self._refused
        try:
            if isinstance(self._address, str):
                connecting = asyncio.open_unix_connection(self._address)
            else:
                connecting = asyncio.open_connection(*self._address)
            _, writer = await asyncio.wait_for(connecting, _PROBE_TIMEOUT)
        except (OSError, asyncio.TimeoutError) as exc:
            return self._answer(_is_refused(exc))
        writer.close()
        return self._answer(False)

    def _answer(self, refused: bool) -> bool:
        self._refused, self._until = refused, self._clock() + _PROBE_KEEP
        return refused


def listener_for(client: Any) -> Listener | None:
    """A `Listener` for the address of a redis-py or valkey-py client's connection pool; `None`
    where the address is not one fixed host (a cluster, a Sentinel-managed pool)."""
    pool = getattr(client, "connection_pool", None)
    options = getattr(pool, "connection_kwargs", None)
    if not isinstance(options, dict) or "sentinel" in type(pool).__name__.lower():
        return None
    path, host = options.get("path"), options.get("host")
    if isinstance(path, str) and path:
        return Listener(path)
    if isinstance(host, str) and host:
        port = options.get("port", 6379)
        return Listener((host, int(port))) if isinstance(port, int | str) else None
    return None


def refused_error(timeout: float) -> TimeoutError:
    """What a call ends with when its store was found down: a timeout (every coordinator
    counts it a store failure) caused by a refused connection (which `failure_of` reads)."""
    error = TimeoutError(f"the store did not answer within {timeout:g} s: nothing listens")
    error.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    return error


def _is_refused(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionRefusedError | FileNotFoundError) or (
        isinstance(exc, OSError) and exc.errno in (errno.ECONNREFUSED, errno.ENOENT)
    )


class Runner:
    """Runs sync store calls so that a caller waits at most `timeout` seconds, in daemon
    worker threads; a call whose caller gave up before it started is never made (so never
    acts late). Rebuilt after a fork. `timeout=None` calls in the caller's thread. With a
    `listener`, a call unanswered after `PROBE_AFTER` whose store is found down ends at once
    (`refused_error`)."""

    _WORKERS = 4

    def __init__(self, timeout: float | None, listener: Listener | None = None) -> None:
        self._timeout = timeout
        self._listener = listener
        self._pid = -1
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def run(self, operation: Callable[[], Any]) -> Any:
        if self._timeout is None:
            return operation()
        if self._pid != os.getpid():
            self._start()
        job = _Job(operation)
        deadline = time.monotonic() + self._timeout
        self._queue.put(job)
        if (
            self._listener is not None
            and self._timeout > PROBE_AFTER
            and not job.done.wait(PROBE_AFTER)
            and self._listener.refused()
            and not job.done.is_set()
        ):
            job.abandoned = True
            raise refused_error(self._timeout)
        if not job.done.wait(max(0.0, deadline - time.monotonic())):
            job.abandoned = True
            raise TimeoutError(f"the store did not answer within {self._timeout:g} s")
        if job.error is not None:
            raise job.error
        return job.result

    def _start(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._queue = queue.SimpleQueue()
            for _ in range(self._WORKERS):
                threading.Thread(
                    target=_work, args=(self._queue,), name="http402-store", daemon=True
                ).start()
            self._pid = os.getpid()


def _work(jobs: queue.SimpleQueue[_Job]) -> None:
    while True:
        job = jobs.get()
        if job.abandoned:
            continue
        try:
            job.result = job.operation()
        except BaseException as exc:  # handed to the caller
            job.error = exc
        job.done.set()


class _Job:
    __slots__ = ("abandoned", "done", "error", "operation", "result")

    def __init__(self, operation: Callable[[], Any]) -> None:
        self.operation = operation
        self.done = threading.Event()
        self.abandoned = False
        self.result: Any = None
        self.error: BaseException | None = None
