"""Load test: thousands of requests through http402's transports while the account runs dry.

Run as ``python benchmarks/load.py [--quick] [--threads N] [--tasks N] ...``. Loopback only:
it starts a `DemoProvider` (a real HTTP server on 127.0.0.1, an ephemeral port) and sends
nothing anywhere else. It stops by itself: the number of requests is fixed, no request is
started after ``--timeout`` seconds, and the run is abandoned ``GRACE`` seconds after that.

Sync threads (through ``PaymentRequiredTransport`` over ``httpx.HTTPTransport``) and async
tasks (through ``AsyncPaymentRequiredTransport`` over ``httpx.AsyncHTTPTransport``, in a
thread of their own) run at the same time against one account, each over a pool of at most
``--max-connections`` connections. The account starts with one top-up's worth of credits and
runs dry about ``--bursts`` times; each transport's hook (a plain function for sync, a
coroutine for async) POSTs one top-up to ``/billing/top-up`` and returns
``Retry(within=2, expected=propagation)``, and the credits arrive ``--propagation`` seconds
later, so the gated requests really wait and replay. The two transports coordinate
separately, so each may call its hook once per burst.

The provider tags every 402 with the burst it belongs to (a burst is a run of 402s between
200s), so each hook call is attributed to one burst. Afterwards, with every response
closed, each httpcore pool must hold no connection in use and no queued request, and no more
connections than its limit; with the clients closed, the server must hold no open socket.

With ``--virtual-time`` the run is bound by events, not by the wall clock (the test suite's
way: a busy machine must not change its outcome): each side has an account of its own, on a
provider whose clock moves only when that side's transport waits (``FakeProvider``'s virtual
clock, which is also its coordinator's clock and its ``sleep``). A top-up then shows after the
side waited ``--propagation`` seconds of that clock, and an episode's window closes after it
waited ``within`` seconds, whatever the host's load; the requests, sockets, threads and tasks
are as real as without it.

The exit code is 1 when a request did not end 200 (lost), a connection leaked, a transport
called its hook twice in one burst, or the provider charged a different number of requests
than were delivered; 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import math
import os
import queue
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
import httpx

import http402
from http402._demo import DemoProvider
from http402.testing import FakeProvider

LOOPBACK = "127.0.0.1"
#: Seconds after `timeout` before an unfinished run is abandoned.
GRACE = 30.0
#: The per-request httpx timeouts (the pool wait included).
REQUEST_TIMEOUT = httpx.Timeout(10.0, pool=30.0)
BURST_HEADER = "x-load-burst"
GENERATE = "/v1/generate"


@dataclass(frozen=True)
class LoadSettings:
    """The shape of one load run."""

    threads: int = 20
    sync_requests: int = 200  # per thread
    tasks: int = 200
    async_requests: int = 10  # per task
    max_connections: int = 20  # per transport
    bursts: int = 5  # about how many times the account runs dry
    propagation: float = 0.3  # seconds before a top-up is spendable
    max_wait: float = 0.2  # RetryPolicy.max_wait
    max_replays: int | None = None  # RetryPolicy.max_replays (no cap but the window)
    within: float = 2.0  # the hook's Retry(within=...): how long a top-up may take to show
    timeout: float = 90.0  # no request is started after this many seconds
    backend: str = "asyncio"  # the async side's event loop: asyncio or trio
    nodelay: bool = True  # TCP_NODELAY on the provider's sockets (see `_disable_nagle`)
    virtual_time: bool = False  # an account and a virtual clock per side (see the docstring)

    @property
    def total(self) -> int:
        return self.threads * self.sync_requests + self.tasks * self.async_requests

    @property
    def transports(self) -> int:
        return (self.threads * self.sync_requests > 0) + (self.tasks * self.async_requests > 0)

    @property
    def chunk(self) -> int:
        """Credits per top-up (and to start with): each burst gets one top-up per transport,
        so the account runs dry about `bursts` times before the last request."""
        return max(1, math.ceil(self.total / (self.transports * self.bursts + 1)))

    def chunk_of(self, requests: int) -> int:
        """Credits per top-up of a side's own account (`virtual_time`): it runs dry about
        `bursts` times before the side's last request."""
        if not self.virtual_time:
            return self.chunk
        return max(1, math.ceil(requests / (self.bursts + 1)))


QUICK = LoadSettings(threads=8, sync_requests=100, tasks=50, async_requests=10, bursts=3)


@dataclass
class PoolState:
    """An httpcore connection pool, looked at once every response is closed."""

    limit: int
    connections: int = 0
    in_use: int = 0  # neither idle nor closed: active, or still connecting
    queued: int = 0  # requests waiting for a connection
    after_close: int = 0  # connections left once the client is closed

    @property
    def leaked(self) -> int:
        return self.in_use + self.queued + max(0, self.connections - self.limit) + self.after_close


@dataclass
class SideResult:
    """What one transport (sync or async) saw."""

    name: str
    planned: int
    latencies: list[float] = field(default_factory=list)  # seconds, of requests that got 200
    failures: Counter[str] = field(default_factory=Counter)
    unsent: int = 0  # not started before the deadline
    finished_at: float = 0.0
    pool: PoolState | None = None
    done: bool = False
    #: The dry spells of the account this side spent from (shared without `virtual_time`).
    bursts: int = 0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def lost(self) -> int:
        return self.planned - self.ok


@dataclass
class LoadResult:
    """Everything one load run measured."""

    settings: LoadSettings
    url: str
    sync: SideResult
    async_: SideResult
    elapsed: float
    served_200: int
    served_402: int
    bursts: int
    top_ups: int
    hook_calls: list[tuple[str, int]]  # (transport, burst) per call
    events: Counter[str]
    most_attempts: int
    client_connections: int  # open in the clients' pools once the requests were done
    server_sockets_open: int | None  # at that moment, on the server's side
    server_sockets_left: int | None  # after the clients were closed

    @property
    def sides(self) -> tuple[SideResult, SideResult]:
        return self.sync, self.async_

    @property
    def requests(self) -> int:
        return self.sync.planned + self.async_.planned

    @property
    def ok(self) -> int:
        return self.sync.ok + self.async_.ok

    @property
    def lost(self) -> int:
        return self.sync.lost + self.async_.lost

    @property
    def leaked(self) -> int:
        pools = sum(side.pool.leaked if side.pool else 1 for side in self.sides if side.planned)
        return pools + (self.server_sockets_left or 0)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def hook_calls_of(self, name: str) -> int:
        return sum(1 for side, _ in self.hook_calls if side == name)

    def most_hook_calls_in_a_burst_of(self, name: str) -> int:
        return max(Counter(b for side, b in self.hook_calls if side == name).values(), default=0)

    @property
    def most_hook_calls_in_a_burst(self) -> int:
        """The most hook calls one transport made for one burst (1 when coalescing works)."""
        return max(Counter(self.hook_calls).values(), default=0)

    def latency(self, quantile: float, side: SideResult | None = None) -> float:
        """A latency percentile (nearest rank), in seconds, of the requests that got 200."""
        values = sorted(side.latencies if side else self.sync.latencies + self.async_.latencies)
        if not values:
            return math.nan
        return values[max(0, math.ceil(quantile * len(values)) - 1)]

    def problems(self) -> list[str]:
        """Why this run fails; empty when it passes."""
        found = []
        if self.lost:
            found.append(f"{self.lost} requests did not end 200")
        if self.leaked:
            found.append(f"{self.leaked} connections leaked")
        if self.most_hook_calls_in_a_burst > 1:
            found.append("a transport called its hook more than once in one burst")
        if self.served_200 != self.ok:
            found.append(f"the provider charged {self.served_200} requests; {self.ok} got 200")
        if not all(side.done for side in self.sides):
            found.append("a side did not finish before the run was abandoned")
        return found


class _Meter:
    """Counts what the provider serves, and tags each 402 with its burst."""

    def __init__(self, provider: DemoProvider) -> None:
        self._lock = threading.Lock()
        self.served_200 = 0
        self.served_402 = 0
        self.bursts = 0
        self._dry = False
        answer = provider.fake.answer

        def metered(method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
            with self._lock:  # one answer at a time, so the bursts are counted in order
                status, payload, headers = answer(method, path, body)
                if path == GENERATE and status == 200:
                    self.served_200 += 1
                    self._dry = False
                elif path == GENERATE and status == 402:
                    self.served_402 += 1
                    if not self._dry:
                        self._dry = True
                        self.bursts += 1
                    headers = {**headers, BURST_HEADER: str(self.bursts)}
            return status, payload, headers

        provider.fake.answer = metered  # type: ignore[method-assign]


class _Events(logging.Handler):
    """Counts http402's telemetry events, and the most sends one request needed."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.events: Counter[str] = Counter()
        self.most_attempts = 1

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "http402_event", None)
        if event is not None:
            self.events[event] += 1
            self.most_attempts = max(self.most_attempts, int(getattr(record, "attempt", 1)))


class _HookLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, int]] = []

    def record(self, side: str, error: http402.PaymentRequiredError) -> None:
        burst = int(error.response.headers.get(BURST_HEADER, "0"))
        with self._lock:
            self.calls.append((side, burst))


def _pool_state(transport: Any, limit: int) -> PoolState:
    """The pool of an `httpx.HTTPTransport` / `AsyncHTTPTransport` (httpcore's)."""
    pool = transport._pool
    connections = pool.connections
    return PoolState(
        limit=limit,
        connections=len(connections),
        in_use=sum(1 for c in connections if not (c.is_idle() or c.is_closed())),
        queued=len(pool._requests),
    )


def _open_connections(*transports: Any) -> int:
    """Connections of these transports' pools that are not closed."""
    return sum(
        1 for transport in transports for c in transport._pool.connections if not c.is_closed()
    )


def _server_sockets(port: int) -> int | None:
    """Connected server-side TCP sockets on `port` (Linux `/proc/net/tcp`), or `None`."""
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    count = 0
    for line in lines:
        fields = line.split()
        local, state = fields[1], fields[3]
        # 0A LISTEN, 06 TIME_WAIT and 07 CLOSE hold no connection.
        if int(local.rsplit(":", 1)[1], 16) == port and state not in ("0A", "06", "07"):
            count += 1
    return count


def _drained(port: int, seconds: float = 5.0) -> int | None:
    """Server-side sockets left after waiting up to `seconds` for them to close."""
    deadline = time.monotonic() + seconds
    while True:
        left = _server_sockets(port)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def _retry_policy(settings: LoadSettings) -> http402.RetryPolicy:
    return http402.RetryPolicy(max_replays=settings.max_replays, max_wait=settings.max_wait)


def _limits(settings: LoadSettings) -> httpx.Limits:
    return httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
    )


def _record(side: SideResult, lock: threading.Lock, started: float, outcome: Any) -> None:
    """Tallies one request: a response, or the exception it raised."""
    elapsed = time.perf_counter() - started
    with lock:
        if isinstance(outcome, httpx.Response):
            if outcome.status_code == 200 and "x-credits-remaining" in outcome.headers:
                side.latencies.append(elapsed)
            else:
                side.failures[f"HTTP {outcome.status_code}"] += 1
        else:
            side.failures[type(outcome).__name__] += 1
        side.finished_at = time.monotonic()


def _run_sync(
    settings: LoadSettings,
    url: str,
    side: SideResult,
    hooks: _HookLog,
    start: threading.Barrier,
    deadline: Callable[[], float],
    clock: FakeProvider | None = None,
) -> tuple[Callable[[float], int], Callable[[], None]]:
    """Starts the sync threads; returns a function that joins them (and counts the open
    client connections), and one that closes the clients."""
    lock = threading.Lock()
    chunk = settings.chunk_of(side.planned)
    billing = httpx.Client(base_url=url, trust_env=False, timeout=REQUEST_TIMEOUT)

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        hooks.record("sync", error)
        billing.post("/billing/top-up", json={"credits": chunk}).raise_for_status()
        return http402.Retry(within=settings.within, expected=settings.propagation)

    inner = httpx.HTTPTransport(limits=_limits(settings))
    timing: dict[str, Any] = {}
    if clock is not None:
        timing = {"sleep": clock.sleep, "coordinator": http402.LocalCoordinator(clock=clock.now)}
    transport = http402.PaymentRequiredTransport(
        inner,
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        retry=_retry_policy(settings),
        **timing,
    )
    client = httpx.Client(
        transport=transport, base_url=url, trust_env=False, timeout=REQUEST_TIMEOUT
    )

    def worker(index: int) -> None:
        try:
            start.wait()
        except threading.BrokenBarrierError:
            return
        for number in range(settings.sync_requests):
            if time.monotonic() > deadline():
                with lock:
                    side.unsent += settings.sync_requests - number
                return
            started = time.perf_counter()
            try:
                outcome: Any = client.post(GENERATE, json={"thread": index, "n": number})
            except Exception as error:  # counted as lost, not raised
                outcome = error
            _record(side, lock, started, outcome)

    threads = [
        threading.Thread(target=worker, args=(index,), name=f"load-sync-{index}", daemon=True)
        for index in range(settings.threads)
    ]
    for thread in threads:
        thread.start()

    def join(abandon_at: float) -> int:
        for thread in threads:
            thread.join(max(0.0, abandon_at - time.monotonic()))
        side.done = not any(thread.is_alive() for thread in threads)
        side.pool = _pool_state(inner, settings.max_connections)
        return _open_connections(inner, billing._transport)

    def close() -> None:
        client.close()
        billing.close()
        if side.pool is not None:
            side.pool.after_close = len(inner._pool.connections)

    return join, close


async def _run_async(
    settings: LoadSettings,
    url: str,
    side: SideResult,
    hooks: _HookLog,
    start: threading.Barrier,
    deadline: Callable[[], float],
    finished: queue.SimpleQueue[int],
    may_close: threading.Event,
    clock: FakeProvider | None = None,
) -> None:
    lock = threading.Lock()
    chunk = settings.chunk_of(side.planned)
    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=REQUEST_TIMEOUT) as bill:

        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            hooks.record("async", error)
            answer = await bill.post("/billing/top-up", json={"credits": chunk})
            answer.raise_for_status()
            return http402.Retry(within=settings.within, expected=settings.propagation)

        inner = httpx.AsyncHTTPTransport(limits=_limits(settings))
        timing: dict[str, Any] = {}
        if clock is not None:
            coordinator = http402.AsyncLocalCoordinator(clock=clock.now)
            timing = {"sleep": clock.asleep, "coordinator": coordinator}
        transport = http402.AsyncPaymentRequiredTransport(
            inner,
            on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
            retry=_retry_policy(settings),
            **timing,
        )
        client = httpx.AsyncClient(
            transport=transport, base_url=url, trust_env=False, timeout=REQUEST_TIMEOUT
        )
        async with client:

            async def task(index: int) -> None:
                for number in range(settings.async_requests):
                    if time.monotonic() > deadline():
                        with lock:
                            side.unsent += settings.async_requests - number
                        return
                    started = time.perf_counter()
                    try:
                        outcome: Any = await client.post(
                            GENERATE, json={"task": index, "n": number}
                        )
                    except Exception as error:  # counted as lost, not raised
                        outcome = error
                    _record(side, lock, started, outcome)

            await anyio.to_thread.run_sync(start.wait)
            with anyio.move_on_after(max(0.0, deadline() + GRACE - time.monotonic())) as scope:
                async with anyio.create_task_group() as tasks:
                    for index in range(settings.tasks):
                        tasks.start_soon(task, index)
            side.done = not scope.cancelled_caught
            side.pool = _pool_state(inner, settings.max_connections)
            # Count the server's sockets with these clients still open, then close them.
            finished.put(_open_connections(inner, bill._transport))
            await anyio.to_thread.run_sync(may_close.wait)
        side.pool.after_close = len(inner._pool.connections)


def run_load(settings: LoadSettings) -> LoadResult:
    """Runs one load test against a fresh `DemoProvider` on 127.0.0.1 (one per side with
    `virtual_time`) and measures it."""
    sync = SideResult("sync", settings.threads * settings.sync_requests)
    async_ = SideResult("async", settings.tasks * settings.async_requests)
    providers = {"sync": _provider(settings, sync)}
    providers["async"] = _provider(settings, async_) if settings.virtual_time else providers["sync"]
    unique = list({id(p): p for p in providers.values()}.values())
    meters = {id(p): _Meter(p) for p in unique}
    hooks = _HookLog()
    events = _Events()
    logger = logging.getLogger("http402")
    saved = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(events)

    start = threading.Barrier(settings.threads + 2)
    async_finished: queue.SimpleQueue[int] = queue.SimpleQueue()
    async_may_close = threading.Event()
    began = [math.inf]

    def deadline() -> float:
        return began[0] + settings.timeout

    def clock(name: str) -> FakeProvider | None:
        return providers[name].fake if settings.virtual_time else None

    def async_side() -> None:
        try:
            anyio.run(
                _run_async,
                *(settings, providers["async"].url, async_, hooks, start, deadline),
                *(async_finished, async_may_close, clock("async")),
                backend=settings.backend,
            )
        except Exception as error:  # reported as an unfinished side
            async_.failures[f"async side crashed: {error!r}"] += 1
            start.abort()

    for provider in unique:
        provider.start()
    try:
        join_sync, close_sync = _run_sync(
            settings, providers["sync"].url, sync, hooks, start, deadline, clock("sync")
        )
        async_thread = threading.Thread(target=async_side, name="load-async", daemon=True)
        async_thread.start()
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=30)  # broken when a side could not start: its requests are lost
        began[0] = time.monotonic()
        abandon_at = deadline() + GRACE
        client_connections = join_sync(abandon_at)
        with contextlib.suppress(queue.Empty):  # unfinished: `async_.done` says so
            wait = max(0.1, abandon_at - time.monotonic())
            client_connections += async_finished.get(timeout=wait)
        elapsed = max(sync.finished_at, async_.finished_at, began[0]) - began[0]
        sockets_open = _sum_known(_server_sockets(_port(p)) for p in unique)
        close_sync()
        async_may_close.set()
        async_thread.join(10)
        sockets_left = _sum_known(_drained(_port(p)) for p in unique)
    finally:
        async_may_close.set()
        for provider in unique:
            provider.stop()
        logger.removeHandler(events)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    for side in (sync, async_):
        side.bursts = meters[id(providers[side.name])].bursts
    return LoadResult(
        settings=settings,
        url=", ".join(p.url for p in unique),
        sync=sync,
        async_=async_,
        elapsed=elapsed,
        served_200=sum(m.served_200 for m in meters.values()),
        served_402=sum(m.served_402 for m in meters.values()),
        bursts=sum(m.bursts for m in meters.values()),
        top_ups=sum(p.top_ups for p in unique),
        hook_calls=hooks.calls,
        events=events.events,
        most_attempts=events.most_attempts,
        client_connections=client_connections,
        server_sockets_open=sockets_open,
        server_sockets_left=sockets_left,
    )


def _provider(settings: LoadSettings, side: SideResult) -> DemoProvider:
    """A provider on 127.0.0.1 whose account starts with one top-up's worth; with
    `virtual_time`, on a clock that moves only when the side's transport waits."""
    chunk = settings.chunk_of(side.planned)
    provider = DemoProvider(credits=chunk, price=1, propagation=settings.propagation)
    if httpx.URL(provider.url).host != LOOPBACK:
        raise RuntimeError(f"the provider must listen on {LOOPBACK}, not {provider.url}")
    if settings.virtual_time:
        provider.fake = FakeProvider(
            credits=chunk, price=1, propagation=settings.propagation, url=provider.url
        )
    if settings.nodelay:
        _disable_nagle(provider)
    return provider


def _port(provider: DemoProvider) -> int:
    return httpx.URL(provider.url).port or 0


def _sum_known(counts: Any) -> int | None:
    """The sum of socket counts, or `None` when one could not be read."""
    total = 0
    for count in counts:
        if count is None:
            return None
        total += count
    return total


def _disable_nagle(provider: DemoProvider) -> None:
    """Sets TCP_NODELAY on this provider's connections.

    `DemoProvider`'s handler sends a response's headers and its body in two writes; with
    Nagle's algorithm on, the body waits for the client's delayed ACK (about 40 ms) on every
    keep-alive request, which would make this a benchmark of that stall. The handler class
    belongs to this one provider, so no other server is changed.
    """
    server = getattr(provider, "_server", None)
    handler = getattr(server, "RequestHandlerClass", None)
    if handler is not None:
        handler.disable_nagle_algorithm = True


def _ms(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.1f}"


def _opt(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _pool_cell(pool: PoolState | None, text: Callable[[PoolState], str]) -> str:
    return "?" if pool is None else text(pool)


def summary(result: LoadResult) -> str:
    """The summary table of one run."""
    s = result.settings
    sync, async_ = result.sides
    rows: list[tuple[str, ...]] = [
        ("requests", str(sync.planned), str(async_.planned), str(result.requests)),
        ("ended 200", str(sync.ok), str(async_.ok), str(result.ok)),
        ("lost (not 200)", str(sync.lost), str(async_.lost), str(result.lost)),
        ("throughput req/s", "", "", f"{result.throughput:.0f}"),
    ]
    for label, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0)):
        cells = [_ms(result.latency(q, side)) for side in (sync, async_, None)]
        rows.append((f"latency {label} ms", *cells))
    calls = [str(result.hook_calls_of(side.name)) for side in result.sides]
    most = [str(result.most_hook_calls_in_a_burst_of(side.name)) for side in result.sides]
    rows += [
        ("hook calls", *calls, str(len(result.hook_calls))),
        ("most hook calls in 1 burst", *most, str(result.most_hook_calls_in_a_burst)),
        (
            "pool connections (limit)",
            _pool_cell(sync.pool, lambda p: f"{p.connections} ({p.limit})"),
            _pool_cell(async_.pool, lambda p: f"{p.connections} ({p.limit})"),
            "",
        ),
        (
            "pool in use / queued",
            _pool_cell(sync.pool, lambda p: f"{p.in_use} / {p.queued}"),
            _pool_cell(async_.pool, lambda p: f"{p.in_use} / {p.queued}"),
            "",
        ),
    ]
    provider = [
        ("gate bursts (dry spells)", str(result.bursts)),
        ("402s served", str(result.served_402)),
        ("200s served (charged)", str(result.served_200)),
        ("top-ups received", str(result.top_ups)),
        ("replays that got through", str(result.events["recovered"])),
        ("gave up", str(result.events["gave_up"])),
        ("most sends for 1 request", str(result.most_attempts)),
        ("client connections open", str(result.client_connections)),
        ("server sockets, clients open", _opt(result.server_sockets_open)),
        ("server sockets, clients closed", _opt(result.server_sockets_left)),
        ("leaked connections", str(result.leaked)),
    ]
    width = max(len(row[0]) for row in [*rows, *provider])
    bursts = range(1, max(side.bursts for side in result.sides) + 1)
    chunk = " / ".join(sorted({str(s.chunk_of(side.planned)) for side in result.sides}))
    lines = [
        f"http402 load test on {result.url}: {s.threads} threads x {s.sync_requests} sync + "
        f"{s.tasks} tasks x {s.async_requests} async ({s.backend}); max {s.max_connections} "
        f"connections per transport; top-up {chunk} credits, propagation {s.propagation:g} "
        f"s; RetryPolicy(max_wait={s.max_wait:g}, max_replays={s.max_replays}); "
        f"provider TCP_NODELAY {'on' if s.nodelay else 'off'}; "
        + ("virtual time, an account per side; " if s.virtual_time else "")
        + f"{result.elapsed:.1f} s",
        "",
        f"{'':<{width}}  {'sync':>14}  {'async':>14}  {'total':>10}",
        *(f"{a:<{width}}  {b:>14}  {c:>14}  {d:>10}" for a, b, c, d in rows),
        "",
        *(f"{a:<{width}}  {b:>14}" for a, b in provider),
        "",
        f"{'hook calls in burst':<{width}}  " + " ".join(f"{b:>3}" for b in bursts),
    ]
    for side in result.sides:
        per_burst = Counter(b for name, b in result.hook_calls if name == side.name)
        lines.append(
            f"{'  ' + side.name:<{width}}  " + " ".join(f"{per_burst[b]:>3}" for b in bursts)
        )
    for side in result.sides:
        for failure, count in sorted(side.failures.items()):
            lines.append(f"{side.name} failure: {failure} x {count}")
        if side.unsent:
            lines.append(f"{side.name}: {side.unsent} requests not started before the deadline")
    problems = result.problems()
    lines += ["", "FAIL: " + "; ".join(problems) if problems else "PASS"]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    defaults = LoadSettings()
    parser.add_argument("--quick", action="store_true", help="a smaller run for CI (~5 s)")
    parser.add_argument("--threads", type=int, help=f"sync threads ({defaults.threads})")
    parser.add_argument("--sync-requests", type=int, help=f"per thread ({defaults.sync_requests})")
    parser.add_argument("--tasks", type=int, help=f"async tasks ({defaults.tasks})")
    parser.add_argument("--async-requests", type=int, help=f"per task ({defaults.async_requests})")
    parser.add_argument("--max-connections", type=int, help="per transport (20)")
    parser.add_argument("--bursts", type=int, help="about how often the account runs dry (5)")
    parser.add_argument("--propagation", type=float, help="seconds for a top-up to show (0.3)")
    parser.add_argument("--max-wait", type=float, help="RetryPolicy.max_wait (0.2)")
    parser.add_argument("--max-replays", type=int, help="RetryPolicy.max_replays (none)")
    parser.add_argument("--timeout", type=float, help="start no request after this (90 s)")
    parser.add_argument("--backend", choices=("asyncio", "trio"), help="async event loop")
    parser.add_argument(
        "--keep-nagle",
        dest="nodelay",
        action="store_false",
        default=None,
        help="leave the provider's sockets as DemoProvider sets them (a ~40 ms stall each)",
    )
    parser.add_argument(
        "--virtual-time",
        action="store_true",
        default=None,
        help="an account and a virtual clock per side: bound by events, not the wall clock",
    )
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else defaults
    chosen = {
        name: value
        for name, value in vars(args).items()
        if name != "quick" and value is not None and hasattr(settings, name)
    }
    settings = replace(settings, **chosen)
    if settings.total < 1 or settings.bursts < 1 or settings.max_connections < 1:
        parser.error("requests, bursts and max connections must be positive")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; httpx {httpx.__version__}")
    result = run_load(settings)
    print(summary(result))
    return 1 if result.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
