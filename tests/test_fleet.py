"""Fleet coordination against a real `redis-server`, with real worker processes.

`.ci/run` installs Debian's redis-server; each test starts its own on a free loopback port.
Without the binary the tests are skipped locally, and fail in CI.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import http402
from http402._demo import DemoProvider

redis = pytest.importorskip("redis")
ROOT = Path(__file__).parent.parent


class RedisServer:
    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
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
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing: .ci/run installs it for the fleet tests")
        pytest.skip("redis-server is not installed here")
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def provider() -> Iterator[DemoProvider]:
    """A gated paid API on loopback: no credits; a top-up shows half a second later."""
    gated = DemoProvider(credits=0, price=1, propagation=0.5)
    gated.start()
    yield gated
    gated.stop()


def worker(
    redis_server: RedisServer, provider: DemoProvider, **options: Any
) -> subprocess.Popen[str]:
    arguments = [
        sys.executable,
        "-m",
        "tests.fleet_worker",
        "--redis",
        redis_server.url,
        "--provider",
        provider.url,
    ]
    for name, value in options.items():
        arguments += [f"--{name.replace('_', '-')}", str(value)]
    return subprocess.Popen(
        arguments, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finished(process: subprocess.Popen[str]) -> tuple[dict[str, Any], str]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return next(line for line in lines if line["event"] == "done"), err


def test_eight_processes_share_one_top_up(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """8 processes x 25 requests hit one gate at once: one hook call, every request served."""
    start_at = time.time() + 3
    processes = [
        worker(redis_server, provider, requests=25, threads=5, start_at=start_at, hook_sleep=0.5)
        for _ in range(8)
    ]
    reports = [finished(process)[0] for process in processes]
    assert sum(report["hook_calls"] for report in reports) == 1
    assert provider.top_ups == 1
    assert [status for report in reports for status in report["results"]] == [200] * 200


def test_a_killed_lease_holder_is_taken_over_after_its_ttl(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """SIGKILL the process running the hook: another takes over once the lease expires, and
    the top-up happens exactly once."""
    holder = worker(redis_server, provider, requests=1, threads=1, lease_ttl=1, hook_sleep=60)
    assert holder.stdout is not None
    assert json.loads(holder.stdout.readline())["event"] == "hook"
    successor = worker(redis_server, provider, requests=3, threads=3, lease_ttl=1)
    time.sleep(1.0)  # the successor is now waiting on the holder's lease
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=10)
    report, _ = finished(successor)
    assert report["hook_calls"] == 1
    assert report["results"] == [200, 200, 200]
    assert provider.top_ups == 1


def test_stopping_redis_mid_run_degrades_to_local_coordination(
    redis_server: RedisServer, provider: DemoProvider
) -> None:
    """With Redis gone, each process coordinates its own threads, warns, and loses nothing."""
    start_at = time.time() + 3
    processes = [
        worker(redis_server, provider, requests=10, threads=5, start_at=start_at, hook_sleep=1)
        for _ in range(4)
    ]
    time.sleep(max(0.0, start_at - time.time()) + 0.3)
    redis_server.stop()
    outcomes = [finished(process) for process in processes]
    assert [s for report, _ in outcomes for s in report["results"]] == [200] * 40
    assert any("coordinating in this process only" in err for _, err in outcomes)
    assert 1 <= provider.top_ups <= 4


def test_coordination_resumes_when_redis_returns(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """After an outage, the coordinator warns once, then uses Redis again and says so."""
    coordinator = http402.RedisCoordinator(
        redis.Redis.from_url(redis_server.url, socket_timeout=1, socket_connect_timeout=1)
    )
    payment = http402.PaymentRequired(reason="insufficient_credits", provider="test")
    caplog.set_level(logging.WARNING, logger="http402")
    redis_server.stop()
    coordinator.mark_gated("scope", payment, ttl=30)
    assert coordinator.gated("scope") == payment  # the local fallback still knows
    assert "coordinating in this process only" in caplog.text
    redis_server.start()
    time.sleep(1.1)
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
        preflight_ttl=30,
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
    """Fencing: once a lease has passed to another holder, the old token publishes nothing."""
    from http402._redis import _PUBLISH, _Keys, _Outcome

    client = redis.Redis.from_url(redis_server.url)
    keys = _Keys.of("http402", "scope")
    publish = client.register_script(_PUBLISH)
    client.set(keys.lease, "2:new-holder", px=10_000)
    stale = _Outcome(fence=1, kind="retry", within=5.0, finished_at=time.time())
    args = ["1:old-holder", stale.encode(), 60_000, 5_000]
    assert publish(keys=[keys.lease, keys.outcome, keys.channel, keys.open], args=args) == 0
    assert client.get(keys.outcome) is None
    assert client.get(keys.lease) == b"2:new-holder"


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_async_redis_coordinator(redis_server: RedisServer, anyio_backend: str) -> None:
    """The async coordinator (redis.asyncio, so under asyncio) coalesces the same way."""
    import anyio
    import redis.asyncio

    gated = DemoProvider(credits=0, price=1, propagation=0.3)
    gated.start()
    calls = 0

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        nonlocal calls
        calls += 1
        await anyio.sleep(0.3)
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
    import threading

    import anyio
    import redis.asyncio

    gated = DemoProvider(credits=0, price=1, propagation=0.3)
    gated.start()
    hook_calls: list[str] = []

    def sync_top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        hook_calls.append("sync")
        time.sleep(0.5)  # long enough for the async request to meet the gate meanwhile
        httpx.post(f"{gated.url}/billing/top-up", json={"credits": 10})
        return http402.Retry(within=30)

    async def async_top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        hook_calls.append("async")
        await anyio.sleep(0.5)
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
        await anyio.sleep(0.1)  # the sync request leads; the async one arrives during its hook
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
