"""What does coordinating through Redis add, per request, next to the in-process coordinator?

Run as ``python benchmarks/fleet.py [--rounds N] [--redis-url URL]``. Prints figures only.

Without ``--redis-url`` it starts its own ``redis-server`` on a free loopback port (no
persistence), as the fleet tests do. Every variant is a sync ``PaymentRequiredTransport`` over
an ``httpx.MockTransport`` (no network but Redis), so the differences are the coordinator's:

- **non-gated**: a 200. The coordinator is not consulted at all (expected: no difference),
  and with ``Preflight(gate_ttl=30)`` (one ``GET`` of the scope's known gate per request).
- **gated**: a 402 whose hook answers ``Retry`` with a header, and the replay's 200: one whole
  episode per request, each in a scope of its own (the local leader's election, the hook,
  publishing its outcome, telling the fleet the gate lifted). Replay waits are skipped.

Each round runs one request of every variant, in shuffled order; a variant's figure is the
median over rounds, in microseconds, with the 90th percentile.
"""

from __future__ import annotations

import argparse
import itertools
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

import http402

# Exported as `http402.LocalCoordinator` once the recovery branch lands; imported where it is.
LocalCoordinator = getattr(http402, "LocalCoordinator", None)
if LocalCoordinator is None:
    from http402._episodes import LocalCoordinator


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed; pass --redis-url")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory() as directory:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", directory],
            stdout=subprocess.DEVNULL,
        )
        try:
            import redis

            client = redis.Redis(port=port)
            for _ in range(100):
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.05)
            client.close()
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait()


def provider(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/free" or request.headers.get("x-topped-up"):
        return httpx.Response(200, json={"ok": True})
    return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})


def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
    return http402.Retry(headers={"x-topped-up": "1"}, within=30)


def client_for(coordinator: object, *, preflight: bool) -> httpx.Client:
    counter = itertools.count()
    # Scopes of their own: an outcome of another client would answer without the headers.
    prefix = uuid.uuid4().hex
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(provider),
        on_payment_required=top_up,
        coordinator=coordinator,  # type: ignore[arg-type]
        preflight=http402.Preflight(gate_ttl=30) if preflight else None,
        # A scope per gated request: each one is a new episode, never a covered one.
        scope=lambda request: f"{prefix}-{next(counter)}",
        sleep=lambda seconds: None,
    )
    return httpx.Client(transport=transport, base_url="https://api.example.com")


def timed(send: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = send()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    return elapsed * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    random.seed(args.seed)
    server = redis_server() if args.redis_url is None else _given(args.redis_url)
    with server as url:
        import redis

        print(f"redis-py {redis.__version__}, server at {url}, {args.rounds} rounds")
        clients = {
            "local": client_for(LocalCoordinator(), preflight=False),
            "redis": client_for(http402.RedisCoordinator.from_url(url), preflight=False),
            "local+preflight": client_for(LocalCoordinator(), preflight=True),
            "redis+preflight": client_for(http402.RedisCoordinator.from_url(url), preflight=True),
        }
        cases = {
            (path, name): (lambda c=client, p=path: c.post(p))
            for name, client in clients.items()
            for path in ("/free", "/paid")
        }
        for send in cases.values():  # warm up: connections, scripts loaded
            for _ in range(20):
                timed(send)
        samples: dict[tuple[str, str], list[float]] = {key: [] for key in cases}
        for _ in range(args.rounds):
            order = list(cases.items())
            random.shuffle(order)
            for key, send in order:
                samples[key].append(timed(send))
        print()
        print(
            f"{'request':<10} {'coordinator':<17} {'median µs':>10} {'p90 µs':>9} {'added µs':>9}"
        )
        for path, label in (("/free", "non-gated"), ("/paid", "gated")):
            for preflight in ("", "+preflight"):
                base = statistics.median(samples[(path, "local" + preflight)])
                for name in ("local" + preflight, "redis" + preflight):
                    values = samples[(path, name)]
                    median = statistics.median(values)
                    p90 = statistics.quantiles(values, n=10)[-1]
                    added = median - base
                    print(f"{label:<10} {name:<17} {median:>10.0f} {p90:>9.0f} {added:>+9.0f}")
        for client in clients.values():
            client.close()


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
