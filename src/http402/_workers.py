"""The threads that run hooks: one pool per process, reused from episode to episode.

A hook runs where no caller owns it, so that a request that gives up never cuts off a payment
half made; and a hook that moves money must finish before the interpreter exits. The workers
of `concurrent.futures` are that: they are not daemons, and at exit they run what was queued,
then stop. Starting a thread per episode cost about a sixth of a gated episode's CPU time.

Who changes what: `run` is called by the shells, from any thread; the pool is made on first
use and replaced in the child of a fork (the parent's workers do not exist there). When every
worker is busy (slow hooks of many billing scopes, or a hook that waits for another), the
next hook gets a thread of its own rather than a place in a queue that might never move.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

__all__ = ["MAX_WORKERS", "idle", "run"]

#: Workers kept for hooks; more hooks at once each get a thread of their own.
MAX_WORKERS = 32
_NAME = "http402-hook"


class _Pool:
    """The pool and its count of busy workers, made per process."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix=_NAME)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._busy = 0

    def run(self, job: Callable[[], None]) -> None:
        with self._lock:
            pooled = self._busy < MAX_WORKERS
            if pooled:
                self._busy += 1
        if pooled:
            try:
                self._executor.submit(self._done_after, job)
                return
            except RuntimeError:  # the interpreter is shutting down: no new pooled work
                with self._lock:
                    self._busy -= 1
        threading.Thread(target=job, name=_NAME).start()

    def _done_after(self, job: Callable[[], None]) -> None:
        try:
            job()
        finally:
            with self._lock:
                self._busy -= 1
                if not self._busy:
                    self._idle.notify_all()

    def idle(self, timeout: float) -> bool:
        with self._lock:
            return self._idle.wait_for(lambda: not self._busy, timeout)


_pool: _Pool | None = None
_pool_lock = threading.Lock()


def run(job: Callable[[], None], *, credentials: tuple[str, ...] = ()) -> None:
    """Runs `job` (which handles its own exceptions) in a worker thread of this process, in a
    copy of the caller's context; what it logs is scrubbed of `credentials` too
    (`_logs.credentials`)."""
    if credentials:
        job = functools.partial(_with_credentials, credentials, job)
    # In a copy of the caller's context: what the job sets (a hook's marker, `running_hook`,
    # and whatever the hook sets itself) stays with it, never leaking into the next job of
    # the same worker.
    job = functools.partial(contextvars.copy_context().run, job)
    pool = _pool
    if pool is None:
        pool = _new_pool()
    pool.run(job)


def _with_credentials(credentials: tuple[str, ...], job: Callable[[], None]) -> None:
    from ._logs import credentials as known

    with known(credentials):
        job()


def idle(timeout: float) -> bool:
    """Waits until no pooled hook of this process runs (at most `timeout` seconds); `True`
    when none does. For a program that prints what its hooks did in order (the demo)."""
    pool = _pool
    return True if pool is None else pool.idle(timeout)


def _new_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool()
        return _pool


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_forget_pool)
