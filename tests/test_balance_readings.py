"""A balance reading is true of the moment its request was sent: what preflight refuses on it
is a gate as of then (`docs/safety.md`, "A refusal on a stale reading joins the top-up").

A request that read a low balance before a top-up, and whose reading is still the newest this
process has, is refused by `Preflight(min_balance=...)`. Dated by its reading, that refusal
is a late gate of the episode that topped up since: it joins it and is sent, instead of
buying again. The fleet's twin of these tests, on a real redis-server, is in
`tests/test_fleet_balances.py`.
"""

from __future__ import annotations

import threading

import anyio
import httpx
import pytest

import http402

from .fakes import Metered

KEY = {"x-api-key": "k-live-0123456789abcdef"}
URL = "https://api.example.com/v1/run"


class Account(Metered):
    """A metered API: 1 credit a call, stated in `X-Credits-Remaining`; a 402 at 0. The
    answer to a call marked `x-slow` waits, already charged, until `release` is set."""

    def __init__(self, balance: int) -> None:
        super().__init__(balance)
        self.top_ups = 0
        self.slow_charged = threading.Event()
        self.release = threading.Event()

    def top_up(self) -> None:
        self.top_ups += 1
        self.balance += 200

    def handler(self, request: httpx.Request) -> httpx.Response:
        response = self.charge(request)
        if "x-slow" in request.headers:
            self.slow_charged.set()
            assert self.release.wait(10), "the test never answered the slow call"
        return response


def test_a_refusal_on_a_reading_older_than_the_last_top_up_joins_it() -> None:
    """A long call charged before the top-up answers after it, with its old balance (14,
    below the minimum 15): preflight refuses the next call on that reading, which is older
    than the top-up that finished since. It joins that top-up's episode and is sent: one
    top-up."""
    account = Account(16)
    now = [0.0]

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.top_up()
        return http402.Retry(within=5)

    def advance(seconds: float) -> None:
        now[0] += seconds

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(account.handler), headers=KEY),
        on_payment_required=top_up,
        preflight=http402.Preflight(min_balance=15),
        coordinator=http402.LocalCoordinator(clock=lambda: now[0]),
        sleep=advance,
    )
    with client:
        assert client.post(URL).headers["x-credits-remaining"] == "15"
        slow: dict[str, httpx.Response] = {}
        thread = threading.Thread(
            target=lambda: slow.setdefault("response", client.post(URL, headers={"x-slow": "1"}))
        )
        thread.start()
        assert account.slow_charged.wait(10)  # charged (14), not answered yet
        assert client.post(URL).headers["x-credits-remaining"] == "13"
        assert client.post(URL).headers["x-credits-remaining"] == "212"  # refused on 13: top-up
        account.release.set()
        thread.join(10)
        assert slow["response"].headers["x-credits-remaining"] == "14"  # read before the top-up
        now[0] += 10  # the top-up's window closes
        response = client.post(URL)
    assert response.status_code == 200
    assert response.headers["x-credits-remaining"] == "211"
    assert account.top_ups == 1


@pytest.mark.anyio
async def test_an_async_refusal_on_a_reading_older_than_the_last_top_up_joins_it() -> None:
    """The async twin: the slow call's stale reading is refused on, and joins the top-up."""
    account = Account(16)
    now = [0.0]
    answered = anyio.Event()
    slow_charged = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        response = account.charge(request)
        if "x-slow" in request.headers:
            slow_charged.set()
            await answered.wait()
        return response

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.top_up()
        return http402.Retry(within=5)

    async def advance(seconds: float) -> None:
        now[0] += seconds

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(handler), headers=KEY),
        on_payment_required=top_up,
        preflight=http402.Preflight(min_balance=15),
        coordinator=http402.AsyncLocalCoordinator(clock=lambda: now[0]),
        sleep=advance,
    )
    slow: dict[str, httpx.Response] = {}

    async def slow_call() -> None:
        slow["response"] = await client.post(URL, headers={"x-slow": "1"})

    async with client, anyio.create_task_group() as tasks:
        assert (await client.post(URL)).headers["x-credits-remaining"] == "15"
        tasks.start_soon(slow_call)
        await slow_charged.wait()
        assert (await client.post(URL)).headers["x-credits-remaining"] == "13"
        assert (await client.post(URL)).headers["x-credits-remaining"] == "212"
        answered.set()
        with anyio.fail_after(10):
            while "response" not in slow:
                await anyio.lowlevel.checkpoint()
        assert slow["response"].headers["x-credits-remaining"] == "14"
        now[0] += 10
        response = await client.post(URL)
    assert response.status_code == 200
    assert response.headers["x-credits-remaining"] == "211"
    assert account.top_ups == 1
