"""One process of a fleet: requests against a gated provider, coordinated through Redis.

Run by tests/test_fleet.py as `python -m tests.fleet_worker ...`; prints one JSON line when
its hook starts, and one with its results when it is done.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

import http402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--provider", required=True)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--threads", type=int, default=5)
    parser.add_argument("--lease-ttl", type=float, default=5.0)
    parser.add_argument("--hook-sleep", type=float, default=0.0)
    parser.add_argument("--start-at", type=float, default=0.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    hook_calls = 0

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        nonlocal hook_calls
        hook_calls += 1
        print(json.dumps({"event": "hook", "pid": os.getpid()}), flush=True)
        time.sleep(args.hook_sleep)
        httpx.post(f"{args.provider}/billing/top-up", json={"credits": 1000})
        return http402.Retry(within=60)

    client = redis.Redis.from_url(args.redis, socket_timeout=1, socket_connect_timeout=1)
    transport = http402.PaymentRequiredTransport(
        httpx.HTTPTransport(),
        on_payment_required=top_up,
        coordinator=http402.RedisCoordinator(client, lease_ttl=args.lease_ttl),
        retry=http402.RetryPolicy(max_replays=100, max_wait=0.25),
    )
    with httpx.Client(transport=transport, base_url=args.provider, timeout=60) as http:
        time.sleep(max(0.0, args.start_at - time.time()))

        def one(number: int) -> int | str:
            try:
                return http.post("/v1/generate", json={"n": number}).status_code
            except Exception as exc:  # reported, not raised: the test counts lost requests
                return repr(exc)

        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            results = list(pool.map(one, range(args.requests)))
    print(
        json.dumps(
            {"event": "done", "pid": os.getpid(), "hook_calls": hook_calls, "results": results}
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
