"""Balances across a fleet, against a real redis-server: a refusal on a stale reading joins
the fleet's top-up (`tests/test_balance_readings.py` has the in-process twin).

Two transports with a `RedisCoordinator` each stand for two processes. Interleavings are
forced by the order of the calls; a top-up's window is closed in the store as time would
close it (its end moved to the past), never by sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import http402

from .test_fleet import RedisServer, running_server

redis = pytest.importorskip("redis")

KEY = {"x-api-key": "k-live-0123456789abcdef"}
URL = "https://api.example.com/v1/run"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_server(tmp_path)


class Account:
    """A metered API: 1 credit a call, stated in `X-Credits-Remaining`; a 402 at 0."""

    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.top_ups: list[str] = []

    def top_up(self, by: str) -> None:
        self.top_ups.append(by)
        self.balance += 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.balance < 1:
            return httpx.Response(
                402,
                headers={"X-Credits-Remaining": "0"},
                json={"error": {"code": "insufficient_credits", "message": "Insufficient credits"}},
            )
        self.balance -= 1
        return httpx.Response(200, headers={"X-Credits-Remaining": str(self.balance)}, json={})


def _close_window(server: RedisServer) -> None:
    """Ends the fleet's open top-up window (the one episode of the test), as time would."""
    client = redis.Redis.from_url(server.url)
    states = [key for key in client.scan_iter("http402:*:state") if client.hget(key, "open_until")]
    assert len(states) == 1, states
    client.hset(states[0], "open_until", "0")
    client.close()


def _process(account: Account, name: str, coordinator: Any, **options: Any) -> Any:
    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.top_up(name)
        return http402.Retry(within=30)

    return http402.PaymentRequiredTransport(
        httpx.MockTransport(account.handler),
        on_payment_required=top_up,
        preflight=http402.Preflight(min_balance=15),
        coordinator=coordinator,
        sleep=lambda seconds: None,
        **options,
    )


def test_a_process_refused_on_a_reading_before_the_fleets_top_up_joins_it(
    server: RedisServer,
) -> None:
    """Case 67: P1 and P2 read a balance below the minimum; P1's next call tops up for the
    fleet; P2, idle while that top-up's window was open, is refused on its reading from
    before it. Dated by that reading, P2's refusal is a late gate of P1's episode: the
    fleet's election answers it with P1's top-up, and P2 is sent. One top-up."""
    account = Account(10)
    transports = [
        _process(account, name, http402.RedisCoordinator.from_url(server.url, store_timeout=1))
        for name in ("P1", "P2")
    ]
    first, second = (httpx.Client(transport=t, headers=KEY) for t in transports)
    with first, second:
        assert first.post(URL).headers["x-credits-remaining"] == "9"
        assert second.post(URL).headers["x-credits-remaining"] == "8"
        assert first.post(URL).headers["x-credits-remaining"] == "207"  # the fleet's top-up
        _close_window(server)
        response = second.post(URL)
        assert response.headers["x-credits-remaining"] == "206"
        assert second.post(URL).headers["x-credits-remaining"] == "205"
    assert account.top_ups == ["P1"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_process_refused_on_a_reading_before_the_fleets_top_up_joins_it(
    server: RedisServer, anyio_backend: str
) -> None:
    account = Account(10)

    async def no_wait(seconds: float) -> None:
        return None

    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(2)]
    transports = [
        http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required=_async_top_up(account, name),
            preflight=http402.Preflight(min_balance=15),
            coordinator=http402.AsyncRedisCoordinator(store, store_timeout=1),
            sleep=no_wait,
        )
        for name, store in zip(("P1", "P2"), stores, strict=True)
    ]
    first, second = (httpx.AsyncClient(transport=t, headers=KEY) for t in transports)
    try:
        async with first, second:
            assert (await first.post(URL)).headers["x-credits-remaining"] == "9"
            assert (await second.post(URL)).headers["x-credits-remaining"] == "8"
            assert (await first.post(URL)).headers["x-credits-remaining"] == "207"
            _close_window(server)
            assert (await second.post(URL)).headers["x-credits-remaining"] == "206"
    finally:
        for store in stores:
            await store.aclose()
    assert account.top_ups == ["P1"]


def _async_top_up(account: Account, name: str) -> Any:
    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.top_up(name)
        return http402.Retry(within=30)

    return top_up
