"""Store calls that a request can afford: bounded in time, and their failures told apart.

A redis-py client retries a failed command (redis-py 6 and later: ten times, with backoff)
and waits `socket_timeout` (5 s by default) for each answer: through a stall it holds every
call for the whole stall. `Runner` bounds each call by the coordinator's `store_timeout`,
whatever the client's settings, and `failure_of` tells a server that is down (nothing listens:
it holds no lease anyone can renew) from one that stalls (it may hold one, and may still act).
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from ._fleet import StoreFailure

__all__ = ["Runner", "failure_of", "store_errors"]


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


class Runner:
    """Runs sync store calls so that a caller waits at most `timeout` seconds, in daemon
    worker threads; a call whose caller gave up before it started is never made (so never
    acts late). Rebuilt after a fork. `timeout=None` calls in the caller's thread."""

    _WORKERS = 4

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout
        self._pid = -1
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()

    def run(self, operation: Callable[[], Any]) -> Any:
        if self._timeout is None:
            return operation()
        if self._pid != os.getpid():
            self._start()
        job = _Job(operation)
        self._queue.put(job)
        if not job.done.wait(self._timeout):
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
