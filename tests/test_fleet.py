"""Fleet coordination against real servers, with real worker processes.

`.ci/run` installs Debian's redis-server and redis-cli; each test starts its own server on a
free loopback port (Redis, served to redis-py and valkey-py clients), and the cluster tests a
3-node Redis Cluster joined with `redis-cli --cluster create`. Without the binaries the tests
are skipped locally, and fail in CI. The fleet's decisions are tested first, as a table on a
fake clock, with no server.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

import http402
from http402._demo import DemoProvider
from http402._recovery import episode_key

redis = pytest.importorskip("redis")
ROOT = Path(__file__).parent.parent


class FakeClock:
    """Monotonic seconds that only move when a test moves them."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def free_port() -> int:
    """A free loopback port whose cluster bus port (+10000) is free too."""
    while True:
        with socket.socket() as probe, socket.socket() as bus:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
            if port > 55000:
                continue
            try:
                bus.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
            return port


class RedisServer:
    """A `redis-server` of its own on a free loopback port, with no persistence."""

    def __init__(self, binary: str, directory: Path, *extra: str) -> None:
        self.binary = binary
        self.directory = directory
        self.extra = extra
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Starts the server and waits until it answers. A port taken between `free_port`
        and the server's bind (another pytest-xdist worker's server) makes it exit: it is
        started again on another port. The server that answers must be this one (its `dir`),
        never a neighbour's that got the port first."""
        for _ in range(20):
            if self._launch():
                return
            self.port = free_port()
            self.url = f"redis://127.0.0.1:{self.port}/0"
        raise RuntimeError("redis-server found no free port in 20 tries")

    def _launch(self) -> bool:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        try:
            while self.process.poll() is None:
                try:
                    served = client.config_get("dir")["dir"]
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
                    continue
                if os.path.realpath(served) != os.path.realpath(self.directory):
                    self.stop()  # the port is a neighbour's server: ours could not bind it
                    return False
                return True
        finally:
            client.close()
        self.process = None  # exited: the port (or its cluster bus port) was taken
        return False

    def settle(self) -> None:
        """Makes the store one that has served for an hour (see `settle`)."""
        client = redis.Redis(port=self.port)
        try:
            settle(client)
        finally:
            client.close()

    def pause(self) -> None:
        """SIGSTOP: the server holds its sockets open and answers nothing (a long GC pause,
        a failover in progress)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def discard(self) -> None:
        """After its test: SIGKILL, at once (`stop`'s SIGTERM is served at the server's next
        tick, ~0.1 s; it keeps nothing on disk either way)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


def settle(client: Any, namespace: str = "http402") -> None:
    """Gives every bucket of `namespace` a marker made an hour ago, as a store that has
    served a fleet for a while has. A bucket whose marker is new (a store that was flushed,
    restarted or never used) elects nobody for the loss grace, a second and a half: tests
    that fault the store (a flush, a restart) still meet it, the others start from the store
    a user has, instead of waiting it out at their first gate."""
    from http402._fleet import BUCKETS, Keys

    assert re.fullmatch(rf"{namespace}:\{{b\d+\}}:marker", Keys.of(namespace, "scope").marker)
    seconds, micros = client.time()
    made = seconds * 1000 + micros // 1000 - 3_600_000
    pipe = client.pipeline(transaction=False)  # one round trip (a cluster's: one a node)
    for bucket in range(BUCKETS):
        pipe.set(f"{namespace}:{{b{bucket}}}:marker", f"settled:{made}")
    assert all(pipe.execute())


def server_binary(name: str = "redis-server") -> str:
    binary = shutil.which(name)
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is missing: .ci/run installs it for the fleet tests")
        pytest.skip(f"{name} is not installed here")
    return binary


def running_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started `RedisServer`, stopped after (for fixtures in other test modules too)."""
    server = RedisServer(server_binary(), tmp_path)
    server.start()
    server.settle()
    yield server
    server.discard()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_server(tmp_path)


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 3-node Redis Cluster on loopback (no replicas); the URL of its first node."""
    binary, cli = server_binary(), server_binary("redis-cli")
    nodes = []
    for _ in range(3):
        directory = tmp_path_factory.mktemp("cluster")
        nodes.append(RedisServer(binary, directory, "--cluster-enabled", "yes"))
    try:
        for node in nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        subprocess.run(
            [cli, "--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=30,
        )
        deadline = time.monotonic() + 30
        for node in nodes:
            client = redis.Redis(port=node.port)
            while client.execute_command("CLUSTER INFO").get("cluster_state") != "ok":
                assert time.monotonic() < deadline, "the cluster did not come up"
                time.sleep(0.1)
            client.close()
        from redis.cluster import RedisCluster

        cluster = RedisCluster(host="127.0.0.1", port=nodes[0].port)
        settle(cluster)
        cluster.close()
        yield nodes[0].url.removesuffix("/0")
    finally:
        for node in nodes:
            node.discard()


@pytest.fixture
def provider() -> Iterator[DemoProvider]:
    """A gated paid API on loopback: no credits; a top-up shows half a second later."""
    gated = DemoProvider(credits=0, price=1, propagation=0.5)
    gated.start()
    yield gated
    gated.stop()


def worker(
    redis_server: RedisServer | str, provider: DemoProvider | None = None, **options: Any
) -> Forked:
    """A fleet process (`tests/fleet_worker.py`) on this Redis (or cluster node URL); a
    `True` option is a flag."""
    url = redis_server if isinstance(redis_server, str) else redis_server.url
    arguments = ["--redis", url]
    if provider is not None:
        arguments += ["--provider", provider.url]
    for name, value in options.items():
        flag = f"--{name.replace('_', '-')}"
        arguments += [flag] if value is True else [flag, str(value)]
    return Zygote.running().fork(arguments)


def gates_served(provider: DemoProvider, count: int) -> threading.Event:
    """An event set once `provider` has answered `count` requests with a 402: a hook waits
    on it so that those requests meet the gate while it runs, not after a guessed delay."""
    served = threading.Event()
    seen = 0
    lock = threading.Lock()
    answer = provider.fake.answer

    def counted(method: str, path: str, body: bytes) -> Any:
        nonlocal seen
        status, payload, headers = answer(method, path, body)
        if status == 402:
            with lock:
                seen += 1
                if seen >= count:
                    served.set()
        return status, payload, headers

    provider.fake.answer = counted  # type: ignore[method-assign]
    return served


class Zygote:
    """`python -m tests.fleet_worker --zygote`, one per test process, started at the first
    fleet process: it imports what a fleet process needs once and forks each from there."""

    _running: Zygote | None = None

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.fleet_worker", "--zygote"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self._lock = threading.Lock()

    @classmethod
    def running(cls) -> Zygote:
        if cls._running is None:
            cls._running = cls()
        return cls._running

    @classmethod
    def stop(cls) -> None:
        zygote, cls._running = cls._running, None
        if zygote is not None:
            assert zygote._process.stdin is not None and zygote._process.stdout is not None
            zygote._process.stdin.close()
            zygote._process.wait(timeout=30)
            zygote._process.stdout.close()

    def fork(self, argv: list[str]) -> Forked:
        """A fleet process running `argv`, its stdin, stdout and stderr on new FIFOs."""
        folder = Path(tempfile.mkdtemp(prefix="http402-fleet-"))
        fifos = [folder / name for name in ("stdin", "stdout", "stderr")]
        for fifo in fifos:
            os.mkfifo(fifo)
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps({"argv": argv, "fifos": list(map(str, fifos))}))
            self._process.stdin.write("\n")
            self._process.stdin.flush()
            # Opened in the child's order: each open waits for the other end's.
            stdin = open(fifos[0], "w")  # noqa: SIM115
            stdout = open(fifos[1])  # noqa: SIM115
            stderr = open(fifos[2])  # noqa: SIM115
            pid = int(self._process.stdout.readline())
        shutil.rmtree(folder)  # open FIFOs stay usable
        return Forked(pid, stdin, stdout, stderr)


@pytest.fixture(scope="module", autouse=True)
def _zygote() -> Iterator[None]:
    """Stops this module's zygote, if a test started one."""
    yield
    Zygote.stop()


class Forked:
    """A fleet process forked by the `Zygote`: what `Fleet` uses of a `subprocess.Popen`.
    Its status is the one it says last (`exit`); one killed says none."""

    def __init__(self, pid: int, stdin: Any, stdout: Any, stderr: Any) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stderr = stderr
        self.stdout = _Lines(self, stdout)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        return self.returncode

    def wait(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)


class _Lines:
    """A forked process's stdout, without its `exit` line, which sets its status."""

    def __init__(self, process: Forked, file: Any) -> None:
        self._process = process
        self._file = file

    def __iter__(self) -> Iterator[str]:
        for line in self._file:
            if line.startswith('{"event": "exit"'):
                self._process.returncode = json.loads(line)["status"]
            else:
                yield line
        if self._process.returncode is None:
            self._process.returncode = -signal.SIGKILL

    def close(self) -> None:
        self._file.close()


class Fleet:
    """Fleet processes a test drives by their events, never by guessed delays: each says
    `ready` when set up, `gated` at its first 402, `hook_called` once past its holds (it
    elects or waits on the fleet) and `hook` when its hook starts; the test
    waits for what it needs, says `go` to all at once, and `release` to hooks that wait."""

    def __init__(self, processes: list[Forked]) -> None:
        self.processes = processes
        self._events: dict[int, list[dict[str, Any]]] = {p.pid: [] for p in processes}
        self._errors: dict[int, list[str]] = {p.pid: [] for p in processes}
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(p,), daemon=True) for p in processes
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, process: Forked) -> None:
        assert process.stdout is not None and process.stderr is not None
        errors = threading.Thread(
            target=lambda: self._errors[process.pid].extend(process.stderr or ()), daemon=True
        )
        errors.start()
        for line in process.stdout:
            if line.startswith("{"):
                with self._changed:
                    self._events[process.pid].append(json.loads(line))
                    self._changed.notify_all()
        errors.join()
        process.stdout.close()
        process.stderr.close()
        process.wait()
        with self._changed:
            self._changed.notify_all()

    def said(self, event: str) -> int:
        """How many processes said `event`."""
        return sum(any(e["event"] == event for e in said) for said in self._events.values())

    def wait_for(self, event: str, processes: int = 1, timeout: float = 60) -> None:
        """Waits until `processes` of them said `event`."""
        with self._changed:
            seen = self._changed.wait_for(
                lambda: (
                    self.said(event) >= processes
                    or any(p.poll() is not None for p in self.processes)
                ),
                timeout,
            )
            assert seen and self.said(event) >= processes, (event, self._events, self._errors)

    def start(self) -> Fleet:
        """Says `go` to every process once all are ready: the burst starts together."""
        self.wait_for("ready", len(self.processes))
        self.tell("go")
        return self

    def tell(self, word: str) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.write(word + "\n")
            process.stdin.flush()

    def reports(self) -> list[tuple[dict[str, Any], str]]:
        """Each process's `done` line and its stderr, once it exited cleanly."""
        out = []
        for process, reader in zip(self.processes, self._readers, strict=True):
            reader.join(timeout=120)
            assert not reader.is_alive(), "a fleet process did not exit"
            if process.stdin is not None:
                process.stdin.close()
            err = "".join(self._errors[process.pid])
            assert process.returncode == 0, err
            done = [e for e in self._events[process.pid] if e["event"] == "done"]
            out.append((done[0], err))
        return out

    def kill(self) -> None:
        for process, reader in zip(self.processes, self._readers, strict=True):
            process.kill()
            reader.join(timeout=10)
            if process.stdin is not None:
                process.stdin.close()


def test_eight_processes_share_one_top_up(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """8 processes x 25 requests hit one gate at once: one hook call, every request served.
    The hook ends once every process met the gate."""
    fleet = Fleet(
        [worker(redis_server, provider, requests=25, threads=5, hook_waits=True) for _ in range(8)]
    ).start()
    fleet.wait_for("gated", 8)
    fleet.wait_for("hook")
    fleet.tell("release")
    reports = [report for report, _ in fleet.reports()]
    assert sum(report["hook_calls"] for report in reports) == 1
    assert provider.top_ups == 1
    assert [status for report in reports for status in report["results"]] == [200] * 200


def test_a_killed_lease_holder_is_taken_over_after_its_ttl(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """SIGKILL the process running the hook: another takes over once the lease expires, and
    the top-up happens exactly once."""
    holder = Fleet(
        [worker(redis_server, provider, requests=1, threads=1, lease_ttl=1, hook_waits=True)]
    ).start()
    holder.wait_for("hook")
    successor = Fleet([worker(redis_server, provider, requests=3, threads=3, lease_ttl=1)])
    successor.start().wait_for("gated")  # it meets the gate while the holder's lease lives
    holder.kill()  # SIGKILL, mid-hook
    [(report, _)] = successor.reports()
    assert report["hook_calls"] == 1
    assert report["results"] == [200, 200, 200]
    assert provider.top_ups == 1


def test_stopping_redis_mid_run_degrades_to_local_coordination(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """With Redis gone mid-hook, coordination is per process: a process that saw the
    holder's lease waits it out, then each coordinates its own threads and warns. Each tops
    up at most once (the outage's bound), and every request is served: nothing was paid
    without an answer, so nothing raises `PaymentOutcomeUnknownError`. The hook's propagation
    window is 3 s (six times the provider's): an exiting process tries to publish the
    outcome Redis did not take until the window ends, and the test waits for the processes
    to exit. Leases last 2 s (not the default 5 s), which the processes that saw the holder's
    wait out."""
    fleet = Fleet(
        [
            worker(
                redis_server,
                provider,
                requests=10,
                threads=5,
                hook_waits=True,
                within=3,
                lease_ttl=2,
            )
            for _ in range(4)
        ]
    ).start()
    fleet.wait_for("hook_called", 4)  # every process is past its holds, electing
    fleet.wait_for("hook")
    redis_server.stop()  # mid-hook, every process in the burst
    fleet.tell("release")
    outcomes = fleet.reports()
    assert [s for report, _ in outcomes for s in report["results"]] == [200] * 40
    assert all(report["hook_calls"] <= 1 for report, _ in outcomes)
    assert any("coordinating in this process only" in err for _, err in outcomes)
    assert 1 <= provider.top_ups <= 4


def test_coordination_resumes_when_redis_returns(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """After an outage, the coordinator warns once, then uses Redis again a second later
    (on its clock) and says so."""
    clock = FakeClock()
    coordinator = http402.RedisCoordinator(
        redis.Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1),
        clock=clock,
    )
    payment = http402.PaymentRequired(reason="insufficient_credits", provider="test")
    caplog.set_level(logging.WARNING, logger="http402")
    redis_server.stop()
    coordinator.mark_gated("scope", payment, ttl=30)
    assert coordinator.gated("scope") == payment  # the local fallback still knows
    assert "coordinating in this process only" in caplog.text
    redis_server.start()
    coordinator.mark_gated("scope", payment, ttl=30)
    assert "Redis is back" not in caplog.text  # the breaker holds for a second
    clock.now += 1.0
    coordinator.mark_gated("scope", payment, ttl=30)
    assert "Redis is back" in caplog.text
    assert http402.RedisCoordinator(redis.Redis.from_url(redis_server.url)).gated("scope") == (
        payment
    )


def test_no_credential_is_written_to_redis(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """Keys and values hold scope digests and outcomes, never the API key or hook headers."""
    client = redis.Redis.from_url(redis_server.url)

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        httpx.post(f"{provider.url}/billing/top-up", json={"credits": 10})
        return http402.Retry(headers={"X-Fresh-Token": "fresh-secret-token-123"}, within=30)

    transport = http402.PaymentRequiredTransport(
        httpx.HTTPTransport(),
        on_payment_required=top_up,
        coordinator=http402.RedisCoordinator(client),
        preflight=http402.Preflight(gate_ttl=30),
        retry=http402.RetryPolicy(max_wait=0.25),
    )
    with httpx.Client(transport=transport, base_url=provider.url) as http:
        response = http.post("/v1/generate", headers={"Authorization": "Bearer sk-fleet-secret-42"})
    assert response.status_code == 200
    dump = b" ".join(
        key + b" " + (client.dump(key) or b"") for key in client.scan_iter("http402:*")
    )
    assert dump
    for secret in (b"sk-fleet-secret-42", b"fresh-secret-token-123", b"127.0.0.1"):
        assert secret not in dump


def test_a_stale_holder_cannot_publish(redis_server: RedisServer) -> None:
    """Fencing: once another holder was elected, the old token publishes nothing, whether
    the new lease is still alive or already expired."""
    from http402._fleet import Keys, Outcome
    from http402._redis import _PUBLISH

    client = redis.Redis.from_url(redis_server.url)
    keys = Keys.of("http402", "scope")
    publish = client.register_script(_PUBLISH)
    until = int(time.time() * 1000) + 10_000
    client.hset(keys.state, mapping={"holder": "2:new-holder", "until": until, "fence": 2})
    stale = Outcome(fence=1, kind="retry", within=5.0, finished_at=time.time())
    args = ["1:old-holder", stale.encode(), 60_000, 5_000, "marker-id"]
    script_keys = [keys.state, keys.marker, keys.channel]
    assert publish(keys=script_keys, args=args) == 0
    client.hset(keys.state, "until", 0)  # the new holder's lease expired
    assert publish(keys=script_keys, args=args) == 0
    assert client.hget(keys.state, "outcome") is None


def test_a_holder_whose_lease_expired_still_publishes_if_nobody_was_elected(
    redis_server: RedisServer,
) -> None:
    """A holder paused past its lease publishes on its return, if no one took over: its
    outcome is the fleet's answer, and nobody pays again."""
    from http402._fleet import Keys, Outcome
    from http402._redis import _PUBLISH

    client = redis.Redis.from_url(redis_server.url)
    keys = Keys.of("http402", "scope")
    publish = client.register_script(_PUBLISH)
    client.hset(keys.state, mapping={"holder": "1:holder", "until": 0, "fence": 1})
    late = Outcome(fence=1, kind="retry", within=5.0, finished_at=time.time())
    args = ["1:holder", late.encode(), 60_000, 5_000, "marker-id"]
    assert publish(keys=[keys.state, keys.marker, keys.channel], args=args) == 1
    assert Outcome.decode(client.hget(keys.state, "outcome")) == late


def test_a_lift_told_by_another_process_covers_a_stale_gate_after_the_window(
    redis_server: RedisServer,
) -> None:
    """A request sent after A's top-up finished, whose 402 (stale: the scope lifted after it
    was sent) comes back once the window closed, is answered by A's top-up: the election
    reads the scope's lift, which `lifted` tells the fleet."""
    from http402._fleet import Keys

    first = http402.RedisCoordinator(redis.Redis.from_url(redis_server.url))
    second = http402.RedisCoordinator(redis.Redis.from_url(redis_server.url))
    key = "https://api.example.com:#0123456789abcdef|insufficient_credits"
    scope = key.rpartition("|")[0]
    calls: list[int] = []
    first.run_episode(key, first.mark(), lambda: calls.append(1) or http402.Retry(within=30), 30)
    sent = second.mark()
    client = redis.Redis.from_url(redis_server.url)
    client.hset(Keys.episode("http402", key).state, "open_until", 0)  # the window closed
    first.lifted(scope)  # a replay of A's got through, after `sent`
    answer = second.run_episode(key, sent, lambda: calls.append(2) or http402.Retry(), 30)
    assert answer == http402.Retry(within=30)
    assert calls == [1]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_async_redis_coordinator(redis_server: RedisServer, anyio_backend: str) -> None:
    """The async coordinator (redis.asyncio, so under asyncio) coalesces the same way."""
    import anyio
    import redis.asyncio

    gated = DemoProvider(credits=0, price=1, propagation=0.3)
    every_task_gated = gates_served(gated, 20)
    gated.start()
    calls = 0

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        nonlocal calls
        calls += 1
        # Every task meets the gate while the hook runs, then the hook tops up.
        assert await anyio.to_thread.run_sync(every_task_gated.wait, 30)
        async with httpx.AsyncClient() as billing:
            await billing.post(f"{gated.url}/billing/top-up", json={"credits": 100})
        return http402.Retry(within=30)

    client = redis.asyncio.Redis.from_url(redis_server.url)
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.AsyncHTTPTransport(),
        on_payment_required=top_up,
        coordinator=http402.AsyncRedisCoordinator(client),
        retry=http402.RetryPolicy(max_wait=0.25),
    )
    statuses: list[int] = []
    try:
        async with httpx.AsyncClient(transport=transport, base_url=gated.url) as http:

            async def one() -> None:
                statuses.append((await http.post("/v1/generate")).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(20):
                    tasks.start_soon(one)
    finally:
        await client.aclose()
        gated.stop()
    assert statuses == [200] * 20
    assert calls == 1
    assert gated.top_ups == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_sync_and_async_coordinators_share_episodes_through_redis(
    redis_server: RedisServer, anyio_backend: str
) -> None:
    """A sync transport and an async one on one account: one top-up between them."""

    import anyio
    import redis.asyncio

    gated = DemoProvider(credits=0, price=1, propagation=0.3)
    both_gated = gates_served(gated, 2)
    gated.start()
    hook_calls: list[str] = []
    sync_hook_runs = threading.Event()

    def sync_top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        hook_calls.append("sync")
        sync_hook_runs.set()
        assert both_gated.wait(30)  # the async request met the gate while this hook ran
        httpx.post(f"{gated.url}/billing/top-up", json={"credits": 10})
        return http402.Retry(within=30)

    async def async_top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        hook_calls.append("async")
        async with httpx.AsyncClient() as billing:
            await billing.post(f"{gated.url}/billing/top-up", json={"credits": 10})
        return http402.Retry(within=30)

    sync_client = httpx.Client(
        base_url=gated.url,
        transport=http402.PaymentRequiredTransport(
            on_payment_required=sync_top_up,
            coordinator=http402.RedisCoordinator(redis.Redis.from_url(redis_server.url)),
            retry=http402.RetryPolicy(max_wait=0.25),
        ),
    )
    async_redis = redis.asyncio.Redis.from_url(redis_server.url)
    async_client = httpx.AsyncClient(
        base_url=gated.url,
        transport=http402.AsyncPaymentRequiredTransport(
            on_payment_required=async_top_up,
            coordinator=http402.AsyncRedisCoordinator(async_redis),
            retry=http402.RetryPolicy(max_wait=0.25),
        ),
    )
    statuses: list[int] = []
    try:
        thread = threading.Thread(
            target=lambda: statuses.append(sync_client.post("/v1/generate").status_code)
        )
        thread.start()
        assert await anyio.to_thread.run_sync(sync_hook_runs.wait, 30)  # the sync one leads
        statuses.append((await async_client.post("/v1/generate")).status_code)
        await anyio.to_thread.run_sync(thread.join)
    finally:
        sync_client.close()
        await async_client.aclose()
        await async_redis.aclose()
        gated.stop()
    assert sorted(statuses) == [200, 200]
    assert len(hook_calls) == 1
    assert gated.top_ups == 1


# The fleet's decisions, as a table on a fake clock: no server, no sleeps.


def view(**fields: Any) -> Any:
    from http402._fleet import View

    defaults: dict[str, Any] = {
        "outcome_raw": "",
        "lease": None,
        "lease_ms": 0,
        "is_open": False,
        "lifted": None,
    }
    return View(**{**defaults, **fields})


def outcome(fence: int, finished_at: float, kind: str = "retry") -> str:
    from http402._fleet import Outcome

    return Outcome(fence, kind, 30.0 if kind == "retry" else None, finished_at).encode()


def election(clock: FakeClock | None = None, sent_wall: float = 100.0) -> Any:
    from http402._fleet import Election

    return Election(sent_wall, lease_ttl=5.0, clock=clock or FakeClock(), scope_hint="s")


def test_election_an_outcome_finished_after_the_request_covers_it() -> None:
    """A top-up that finished after the request was sent answers it: no hook here."""
    from http402._fleet import Verdict

    step = election().viewed(view(outcome_raw=outcome(1, finished_at=101.0)))
    assert step.verdict is Verdict.COVERED
    assert step.answer == http402.Retry(within=30.0)


def test_election_a_held_lease_is_waited_for_until_it_could_expire() -> None:
    """Another process holds the lease: wait for its message, at most its remaining TTL."""
    from http402._fleet import Verdict

    step = election().viewed(view(lease="3:other", lease_ms=4200, current="3:other"))
    assert (step.verdict, step.timeout) == (Verdict.WAIT, 4.2)


def test_election_leads_only_if_the_outcome_is_still_the_one_judged() -> None:
    """With no lease and an old outcome, the process asks to take the lease on that outcome."""
    from http402._fleet import Verdict

    old = outcome(1, finished_at=50.0, kind="none")
    ballot = election()
    step = ballot.viewed(view(outcome_raw=old, current="1:a"))
    assert (step.verdict, step.seen) == (Verdict.ACQUIRE, old)
    assert ballot.viewed(view(outcome_raw=old), acquired="2:me").verdict is Verdict.LEAD


def test_election_gives_a_holder_that_never_published_one_more_lease() -> None:
    """The last holder's lease is gone but it published nothing (paused, or cut off): wait
    one lease for it, once; then take over."""
    from http402._fleet import Verdict

    ballot = election()
    silent = view(outcome_raw=outcome(1, finished_at=50.0), current="2:paused")
    assert (ballot.viewed(silent).verdict, ballot.viewed(silent).verdict) == (
        Verdict.WAIT,
        Verdict.ACQUIRE,
    )


def test_election_remembers_holders_a_store_forgot() -> None:
    """After Redis lost its data, the holder this process saw still gets its one lease."""
    from http402._fleet import Verdict

    step = election().viewed(view(), witnessed="4:holder")
    assert (step.verdict, step.timeout) == (Verdict.WAIT, 5.0)


def test_election_declines_when_the_cap_refuses() -> None:
    """The fleet's cap refused another episode whose predecessor published: raise the gate."""
    from http402._fleet import Verdict

    step = election().viewed(view(outcome_raw=outcome(2, 50.0), current="2:a"), capped="2:a")
    assert step.verdict is Verdict.DECLINED
    assert "cap" in step.note


def test_election_waits_through_errors_while_a_lease_may_live_then_goes_local() -> None:
    """Store errors are waited out for as long as a lease seen could still be alive, even
    when the store refuses connections; then the process coordinates alone."""
    from http402._fleet import StoreFailure, Verdict

    clock = FakeClock()
    ballot = election(clock)
    ballot.viewed(view(lease="1:other", lease_ms=5000, current="1:other"))
    clock.now += 4.9
    assert ballot.failed(StoreFailure("refused")).verdict is Verdict.WAIT
    clock.now += 5.2
    assert ballot.failed(StoreFailure("refused")).verdict is Verdict.LOCAL


def test_side_calls_skip_the_store_for_a_second_on_its_clock() -> None:
    """After a failure, side calls skip the store for one second of its clock."""
    from http402._fleet import StoreFailure, StoreHealth

    clock = FakeClock()
    health = StoreHealth(clock)
    health.failed(StoreFailure("stalled", ConnectionError("down")))
    assert health.open()
    clock.now += 1.0
    assert not health.open()


def test_max_episodes_must_be_a_count_and_a_period() -> None:
    """A cap of zero, or a period that is not positive, is refused at construction."""
    with pytest.raises(ValueError, match="max_episodes"):
        http402.RedisCoordinator(redis.Redis(), max_episodes=(0, 600))


# Against a real server.


def gate_error() -> http402.PaymentRequiredError:
    request = httpx.Request("POST", "https://api.example.com/v1")
    payment = http402.PaymentRequired(reason="insufficient_credits", provider="test")
    return http402.InsufficientCreditsError(
        None, request=request, response=httpx.Response(402, request=request), payment=payment
    )


def test_a_hook_raising_a_redis_error_runs_once_and_reaches_the_caller(
    redis_server: RedisServer,
) -> None:
    """A hook whose own ledger raises `redis.TimeoutError` is not taken for the
    coordinator's failure: it runs once, and the caller gets that exception
    (shared/cases/recovery/01)."""
    calls = []

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        calls.append(1)
        raise redis.exceptions.TimeoutError("the app's own ledger write timed out")

    def gate(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"message": "Insufficient credits"}})

    coordinator = http402.RedisCoordinator(redis.Redis.from_url(redis_server.url), lease_ttl=5)
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(gate)),
        on_payment_required=top_up,
        coordinator=coordinator,
        sleep=lambda seconds: None,
    )
    with pytest.raises(redis.exceptions.TimeoutError, match="ledger"):
        client.get("https://openrouter.ai/api/v1/chat")
    assert len(calls) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_hook_raising_a_redis_error_reaches_the_caller_unwrapped(
    redis_server: RedisServer, anyio_backend: str
) -> None:
    """The async coordinator hands callers the hook's own exception, once, never an
    `ExceptionGroup`."""
    calls = []

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        calls.append(1)
        raise redis.exceptions.TimeoutError("the app's own ledger write timed out")

    def gate(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"message": "Insufficient credits"}})

    coordinator = http402.AsyncRedisCoordinator.from_url(redis_server.url, lease_ttl=5)
    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(gate)),
        on_payment_required=top_up,
        coordinator=coordinator,
    )
    try:
        with pytest.raises(redis.exceptions.TimeoutError, match="ledger"):
            await client.get("https://openrouter.ai/api/v1/chat")
    finally:
        await client.aclose()
        await coordinator._redis.aclose()
    assert len(calls) == 1


def test_the_cap_declines_a_top_up_beyond_it(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With `max_episodes=(1, 600)`, a second exhaustion in the period calls no hook: the
    coordinator answers `None` (the requests raise their gate) and logs why."""
    caplog.set_level(logging.WARNING, logger="http402")
    calls: list[str] = []
    first = http402.RedisCoordinator.from_url(redis_server.url, max_episodes=(1, 600))
    second = http402.RedisCoordinator.from_url(redis_server.url, max_episodes=(1, 600))
    assert first.run_episode("scope", first.mark(), lambda: calls.append("a"), 30) is None
    sent = second.mark()  # after the first episode finished: a new exhaustion
    assert second.run_episode("scope", sent, lambda: calls.append("b"), 30) is None
    assert calls == ["a"]
    assert "the fleet's cap of 1 top-up per 600 s was reached; next allowed at" in caplog.text


def test_the_cap_declines_through_the_transport_with_the_typed_error(
    redis_server: RedisServer,
) -> None:
    """Through a transport, a declined episode raises the request's own typed gate."""
    coordinator = http402.RedisCoordinator.from_url(redis_server.url, max_episodes=(1, 600))
    # The flow's episodes are per scope and reason.
    key = episode_key("x", http402.Reason.INSUFFICIENT_CREDITS)
    coordinator.run_episode(key, coordinator.mark(), lambda: None, 30)
    calls = []

    def gate(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, json={"error": {"message": "Insufficient credits"}})

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(gate)),
        on_payment_required=lambda error: calls.append(error),
        coordinator=coordinator,
        scope=lambda request: "x",
    )
    with pytest.raises(http402.InsufficientCreditsError, match="the fleet's cap of 1 top-up"):
        client.get("https://openrouter.ai/api/v1/chat")
    assert calls == []


def test_from_url_accepts_unix_sockets(tmp_path: Path) -> None:
    """`unix://` URLs build a client as redis-py's `from_url` does, with a socket timeout."""
    socket_path = tmp_path / "redis.sock"
    server = RedisServer(server_binary(), tmp_path, "--unixsocket", str(socket_path))
    server.start()
    try:
        coordinator = http402.RedisCoordinator.from_url(f"unix://{socket_path}?db=0")
        kwargs = coordinator._redis.connection_pool.connection_kwargs
        assert kwargs["socket_timeout"] == 2.0
        payment = http402.PaymentRequired(reason="insufficient_credits", provider="test")
        coordinator.mark_gated("scope", payment, ttl=30)
        assert http402.RedisCoordinator.from_url(server.url).gated("scope") == payment
    finally:
        server.stop()


def test_a_valkey_client_is_accepted_and_its_errors_recognised(redis_server: RedisServer) -> None:
    """`valkey.Valkey` works wherever `redis.Redis` does; its `ValkeyError` trips the
    breaker, with no `import redis` assumed."""
    valkey = pytest.importorskip("valkey")
    from http402._store import store_errors

    client = valkey.Valkey.from_url(redis_server.url.replace("redis://", "valkey://"))
    assert store_errors(client) == (valkey.exceptions.ValkeyError, TimeoutError)
    coordinator = http402.RedisCoordinator.from_url(
        redis_server.url.replace("redis://", "valkey://")
    )
    assert type(coordinator._redis).__module__.startswith("valkey")
    assert coordinator.run_episode("s", coordinator.mark(), http402.Retry, 30) == http402.Retry()


def test_spend_windows_are_shared_by_policies_on_one_store(redis_server: RedisServer) -> None:
    """Two policies (two processes) on one store share one window: reservations count at
    once, a release gives back, a commit keeps the amount paid."""
    from http402.testing import gate

    payment = http402.classify(gate("x402.v1"))
    assert payment is not None
    offer = payment.payment_options[0]
    assert offer.asset is not None and offer.amount is not None
    stores = [http402.RedisCoordinator.from_url(redis_server.url).spend_store() for _ in range(2)]
    policies = [
        http402.SpendPolicy(
            max_amount={offer.asset: offer.amount},
            max_per_window={offer.asset: offer.amount * 2},
            store=store,
        )
        for store in stores
    ]
    _, _, one = policies[0].reserve(payment)
    _, _, two = policies[1].reserve(payment)
    allowed, refusals, three = policies[0].reserve(payment)
    assert one is not None and two is not None
    assert (allowed, three) == ((), None)
    assert refusals is not None and "max_per_window" in refusals
    one.release()
    _, _, four = policies[1].reserve(payment)
    assert four is not None
    two.commit(offer)
    four.commit(None)
    assert policies[0].screen(payment)[0] == ()


def test_eight_processes_of_twenty_challenges_pay_within_the_shared_window(
    redis_server: RedisServer,
) -> None:
    """8 processes x 20 concurrent x402 challenges, a window of 2 payments in Redis: at most
    2 paid in all; the rest raise their challenge."""
    fleet = Fleet(
        [
            worker(redis_server, mode="x402", requests=20, threads=20, hook_sleep=0.05)
            for _ in range(8)
        ]
    ).start()
    reports = [report for report, _ in fleet.reports()]
    paid = sum(report["hook_calls"] for report in reports)
    results = [result for report in reports for result in report["results"]]
    assert paid == 2
    assert results.count(200) == 2
    assert all(r == 200 or r.startswith("PaymentChallengeError") for r in results)


def test_redis_paused_mid_hook_costs_no_second_top_up(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """8 processes; Redis is frozen (SIGSTOP) for 3 s while the hook runs and publishes:
    exactly one top-up, and every request is answered."""
    fleet = Fleet(
        [
            worker(redis_server, provider, requests=10, threads=5, hook_waits=True, hook_sleep=1)
            for _ in range(8)
        ]
    ).start()
    fleet.wait_for("hook_called", 8)  # every process is past its holds, electing
    fleet.wait_for("hook")
    redis_server.pause()
    fleet.tell("release")  # the hook ends a second later, and publishes into the freeze
    time.sleep(3)  # the freeze's duration
    redis_server.resume()
    outcomes = fleet.reports()
    assert [s for report, _ in outcomes for s in report["results"]] == [200] * 80
    assert sum(report["hook_calls"] for report, _ in outcomes) == 1
    assert provider.top_ups == 1


def test_redis_restarted_with_data_loss_mid_hook_stays_within_the_cap(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """Redis restarts empty while the hook runs, every process in the burst: the holder
    re-takes its lease, nobody is elected meanwhile, so at most the fleet's cap of top-ups
    (here 1), and every request is answered.

    The promise is for processes that saw the holder's lease before Redis went down (the
    restart's down phase is an outage: a process whose first look meets it coordinates
    alone, docs/fleet.md), so the restart waits until every process's election saw it:
    `hook_called` is said before the first look, and under load a look could land in the
    down phase and run a second hook."""
    fleet = Fleet(
        [
            worker(redis_server, provider, requests=10, threads=5, hook_waits=True, max_episodes=1)
            for _ in range(8)
        ]
    ).start()
    fleet.wait_for("saw_lease", 8)  # every process's election saw the holder's lease
    fleet.wait_for("hook")
    redis_server.stop()
    redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    deadline = time.monotonic() + 30
    while not any(client.hget(key, "holder") for key in client.scan_iter("http402:*:state")):
        assert time.monotonic() < deadline, "the holder did not re-take its lease"
        time.sleep(0.05)
    client.close()
    fleet.tell("release")
    outcomes = fleet.reports()
    results = [s for report, _ in outcomes for s in report["results"]]
    assert provider.top_ups <= 1
    assert results == [200] * 80, results


@pytest.mark.parametrize("client", ["valkey", "cluster"])
def test_eight_processes_share_one_top_up_on_valkey_clients_and_on_a_cluster(
    client: str, request: pytest.FixtureRequest, provider: DemoProvider
) -> None:
    """A `valkey.Valkey` client, and a 3-node Redis Cluster: one top-up for 8 processes."""
    if client == "valkey":
        pytest.importorskip("valkey")
        url = request.getfixturevalue("redis_server").url
    else:
        url = request.getfixturevalue("redis_cluster")
    fleet = Fleet(
        [
            worker(url, provider, client=client, requests=10, threads=5, hook_waits=True)
            for _ in range(8)
        ]
    ).start()
    fleet.wait_for("gated", 8)  # the hook ends once every process met the gate
    fleet.wait_for("hook")
    fleet.tell("release")
    reports = [report for report, _ in fleet.reports()]
    assert sum(report["hook_calls"] for report in reports) == 1
    assert provider.top_ups == 1
    assert [status for report in reports for status in report["results"]] == [200] * 80


def test_every_key_of_a_scope_shares_one_cluster_slot() -> None:
    """A scope's keys, its episodes' for every reason included, carry one hash tag: a script
    reads an episode's state and its scope's holds on one cluster node."""
    from redis.crc import key_slot

    from http402._fleet import Keys

    scope = "https://api.example.com|digest"
    keys = [Keys.of("http402", scope)] + [
        Keys.of("http402", scope, reason.value) for reason in http402.Reason
    ]
    slots = {key_slot(value.encode()) for each in keys for value in attrs.astuple(each)}
    assert len(slots) == 1
    assert len({each.state for each in keys}) == len(keys)  # one state per reason


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_the_async_coordinator_coalesces_on_a_cluster(
    redis_cluster: str, anyio_backend: str
) -> None:
    """`AsyncRedisCoordinator.from_url(..., cluster=True)`: 20 tasks, one hook call."""
    import anyio

    calls = []
    gates = 0
    every_task_gated = anyio.Event()

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        calls.append(1)
        with anyio.fail_after(30):
            await every_task_gated.wait()  # every task meets the gate while the hook runs
        return http402.Retry(headers={"x-topped-up": "1"}, within=30)

    def gate(request: httpx.Request) -> httpx.Response:
        nonlocal gates
        if request.headers.get("x-topped-up"):
            return httpx.Response(200)
        gates += 1
        if gates == 20:
            every_task_gated.set()
        return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})

    coordinator = http402.AsyncRedisCoordinator.from_url(redis_cluster, cluster=True)
    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(gate)),
        on_payment_required=top_up,
        coordinator=coordinator,
        retry=http402.RetryPolicy(max_wait=0.25),
    )
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await client.get("https://api.example.com/v1")).status_code)

    try:
        async with anyio.create_task_group() as tasks:
            for _ in range(20):
                tasks.start_soon(one)
    finally:
        await client.aclose()
        await coordinator._redis.aclose()
    assert statuses == [200] * 20
    assert calls == [1]


def test_election_waits_while_a_store_that_lost_its_data_elects_nobody() -> None:
    """A store that lost its data moments ago (its marker is new) elects nobody for a
    renewal beat: the election waits what is left of it, during which a holder re-takes
    its lease."""
    from http402._fleet import Verdict

    ballot = election()
    first = ballot.viewed(view(fresh_ms=1200))
    assert (first.verdict, first.timeout) == (Verdict.WAIT, 1.2)
    assert ballot.viewed(view()).verdict is Verdict.ACQUIRE


def test_a_shared_window_that_cannot_settle_stays_counted_and_warns(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With Redis gone, reserving fails closed (the offer is refused), and releasing a
    reservation warns instead of failing the hook's answer."""
    from http402.testing import gate

    payment = http402.classify(gate("x402.v1"))
    assert payment is not None
    offer = payment.payment_options[0]
    assert offer.asset is not None and offer.amount is not None
    store = http402.RedisCoordinator.from_url(redis_server.url, socket_timeout=0.5).spend_store()
    policy = http402.SpendPolicy(
        max_amount={offer.asset: offer.amount},
        max_per_window={offer.asset: offer.amount},
        store=store,
    )
    _, _, reservation = policy.reserve(payment)
    assert reservation is not None
    redis_server.stop()
    caplog.set_level(logging.WARNING, logger="http402")
    reservation.release()
    assert "stays counted" in caplog.text
    allowed, refusals, refused = policy.reserve(payment)
    assert (allowed, refused) == ((), None)
    assert refusals is not None and "the fleet's spend window did not answer" in refusals


def test_payments_recorded_outside_a_reservation_count_in_the_shared_window(
    redis_server: RedisServer,
) -> None:
    """`SpendPolicy.record` on a shared window counts for every policy on its store."""
    from http402.testing import gate

    payment = http402.classify(gate("x402.v1"))
    assert payment is not None
    offer = payment.payment_options[0]
    assert offer.asset is not None and offer.amount is not None
    limits = {
        "max_amount": {offer.asset: offer.amount},
        "max_per_window": {offer.asset: offer.amount},
    }
    coordinator = http402.RedisCoordinator.from_url(redis_server.url)
    first = http402.SpendPolicy(**limits, store=coordinator.spend_store())
    second = http402.SpendPolicy(**limits, store=coordinator.spend_store())
    first.record(payment.payment_options, offer)
    allowed, refusals = second.screen(payment)
    assert allowed == ()
    assert refusals is not None and "max_per_window" in refusals


@pytest.mark.anyio
async def test_async_reservations_on_a_shared_window_keep_the_loop_free(
    redis_server: RedisServer,
) -> None:
    """`areserve`, `acommit` and `arelease` run a shared window's round trips in a worker
    thread (so under asyncio and trio), with the same accounts as the sync calls."""
    from http402.testing import gate

    payment = http402.classify(gate("x402.v1"))
    assert payment is not None
    offer = payment.payment_options[0]
    assert offer.asset is not None and offer.amount is not None
    policy = http402.SpendPolicy(
        max_amount={offer.asset: offer.amount},
        max_per_window={offer.asset: offer.amount},
        store=http402.RedisCoordinator.from_url(redis_server.url).spend_store(),
    )
    _, _, first = await policy.areserve(payment)
    assert first is not None
    assert (await policy.areserve(payment))[2] is None
    await first.arelease()
    _, _, second = await policy.areserve(payment)
    assert second is not None
    await second.acommit(offer)
    assert policy.screen(payment)[0] == ()
