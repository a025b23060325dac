"""One process of a fleet: requests against a gated provider, coordinated through Redis.

Run by tests/test_fleet.py as `python -m tests.fleet_worker ...`; prints one JSON line when
its hook starts, and one with its results when it is done.

`--mode top-up` (the default) sends requests to a `DemoProvider` whose credits ran out, with a
top-up hook; `--mode x402` answers each request with an x402 challenge (in process) and pays
it under a `SpendPolicy` whose window lives in Redis.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

import http402


def client_for(url: str, kind: str) -> Any:
    """A sync client of the kind asked for, with short timeouts."""
    options: dict[str, Any] = {"socket_timeout": 1, "socket_connect_timeout": 1}
    if kind == "valkey":
        import valkey

        return valkey.Valkey.from_url(url.replace("redis://", "valkey://"), **options)
    if kind == "cluster":
        import redis.cluster

        return redis.cluster.RedisCluster.from_url(url, **options)
    import redis

    return redis.Redis.from_url(url, **options)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--client", default="redis", choices=["redis", "valkey", "cluster"])
    parser.add_argument("--provider", default="")
    parser.add_argument("--mode", default="top-up", choices=["top-up", "x402"])
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--lease-ttl", type=float, default=5.0)
    parser.add_argument("--max-episodes", type=int, default=2)
    parser.add_argument("--hook-sleep", type=float, default=0.0)
    parser.add_argument("--start-at", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    client = client_for(args.redis, args.client)
    coordinator = http402.RedisCoordinator(
        client, lease_ttl=args.lease_ttl, max_episodes=(args.max_episodes, 600)
    )
    if args.mode == "x402":
        transport, base_url, counted = x402_transport(coordinator, args.hook_sleep)
    else:
        transport, base_url, counted = top_up_transport(coordinator, args)
    with httpx.Client(transport=transport, base_url=base_url, timeout=60) as http:
        time.sleep(max(0.0, args.start_at - time.time()))

        def one(number: int) -> int | str:
            try:
                return http.post("/v1/generate", json={"n": number}).status_code
            except http402.PaymentRequiredError as exc:
                return f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # reported, not raised: the test counts lost requests
                return repr(exc)

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            results = list(pool.map(one, range(args.requests)))
    print(
        json.dumps(
            {"event": "done", "pid": os.getpid(), "hook_calls": counted(), "results": results}
        ),
        flush=True,
    )


def top_up_transport(coordinator: http402.RedisCoordinator, args: argparse.Namespace) -> Any:
    hook_calls = 0

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        nonlocal hook_calls
        hook_calls += 1
        print(json.dumps({"event": "hook", "pid": os.getpid()}), flush=True)
        time.sleep(args.hook_sleep)
        httpx.post(f"{args.provider}/billing/top-up", json={"credits": 1000})
        return http402.Retry(within=60)

    transport = http402.PaymentRequiredTransport(
        httpx.HTTPTransport(),
        on_payment_required=top_up,
        coordinator=coordinator,
        retry=http402.RetryPolicy(max_replays=100, max_wait=0.25),
    )
    return transport, args.provider, lambda: hook_calls


def x402_transport(coordinator: http402.RedisCoordinator, hook_sleep: float) -> Any:
    from http402.testing import gate

    challenge = gate("x402.v1")
    offer = http402.classify(challenge).payment_options[0]
    paid: list[object] = []
    lock = threading.Lock()

    def provider(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-payment"):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, headers=challenge.headers, content=challenge.content)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        option = error.payment.payment_options[0]
        time.sleep(hook_sleep)  # the wallet signs; money moves
        with lock:
            paid.append(option.amount)
        return http402.Retry(headers={"X-PAYMENT": "signed-proof-aaaaaaaaaaaa"}, paid=option)

    assert offer.asset is not None and offer.amount is not None
    policy = http402.SpendPolicy(
        max_amount={offer.asset: offer.amount},
        max_per_window={offer.asset: offer.amount * 2},
        window=3600,
        store=coordinator.spend_store(),
    )
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(provider),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=policy,
    )
    return transport, "https://api.example.com", lambda: len(paid)


if __name__ == "__main__":
    main()
