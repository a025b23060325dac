"""Balances across a fleet, against a real redis-server: a refusal on a stale reading joins
the fleet's top-up (`tests/test_balance_readings.py` has the in-process twin), and the
low-balance watch calls its hook once per crossing across the fleet.

Two transports with a `RedisCoordinator` each stand for two processes. Interleavings are
forced by the order of the calls; a top-up's window is closed in the store as time would
close it (its end moved to the past), never by sleeping.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import _workers as workers

from .fakes import Metered
from .test_fleet import RedisServer, running_server

redis = pytest.importorskip("redis")

KEY = {"x-api-key": "k-live-0123456789abcdef"}
URL = "https://api.example.com/v1/run"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    yield from running_server(tmp_path)


class Account(Metered):
    """A metered API: 1 credit a call, stated in `X-Credits-Remaining`; a 402 at 0."""

    def __init__(self, balance: int) -> None:
        super().__init__(balance)
        self.top_ups: list[str] = []

    def top_up(self, by: str) -> None:
        self.top_ups.append(by)
        self.balance += 200

    handler = Metered.charge


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


# --- The low-balance watch: once per crossing, fleet-wide ------------------------------


class Claiming(http402.RedisCoordinator):
    """A process's coordinator that tells the test each answer it gets for a crossing's
    claim, and each re-arm it sends (both run off the request)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[bool] = []
        self.cleared: list[tuple[str, ...]] = []
        self.changed = threading.Condition()

    def claim_crossing(self, scope: str, crossing: str) -> bool:
        answer = super().claim_crossing(scope, crossing)
        with self.changed:
            self.answers.append(answer)
            self.changed.notify_all()
        return answer

    def clear_crossings(self, scope: str, crossings: tuple[str, ...]) -> None:
        super().clear_crossings(scope, crossings)
        with self.changed:
            self.cleared.append(crossings)
            self.changed.notify_all()

    def wait(self, what: Callable[[], bool]) -> None:
        with self.changed:
            assert self.changed.wait_for(what, 10), (self.answers, self.cleared)


class TopUps:
    """The watch's hook of each process: a top-up, recorded with the process's name."""

    def __init__(self) -> None:
        self.by: list[str] = []
        self.changed = threading.Condition()

    def of(self, name: str) -> Callable[[http402.LowBalance], None]:
        def top_up(alert: http402.LowBalance) -> None:
            with self.changed:
                self.by.append(name)
                self.changed.notify_all()

        return top_up

    def wait(self, count: int) -> list[str]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.by) >= count, 10), self.by
            return list(self.by)


def _watching(account: Account, top_ups: TopUps, name: str, coordinator: Any) -> httpx.Client:
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(account.handler),
        coordinator=coordinator,
        low_balance=http402.LowBalanceWatch(top_ups.of(name), below=100),
    )
    return httpx.Client(transport=transport, headers=KEY)


def test_one_crossing_calls_the_low_balance_hook_once_across_the_fleet(
    server: RedisServer,
) -> None:
    """Case 68: three processes each read the balance in turn (100, 99, 98); of the two that
    see it below 100, the first to claim the crossing in Redis tops up, the other finds it
    claimed."""
    account, top_ups = Account(101), TopUps()
    coordinators = [Claiming.from_url(server.url, store_timeout=1) for _ in range(3)]
    clients = [
        _watching(account, top_ups, name, coordinator)
        for name, coordinator in zip(("P1", "P2", "P3"), coordinators, strict=True)
    ]
    for client in clients:
        assert client.post(URL).status_code == 200
    for coordinator in coordinators[1:]:  # P1 read 100: no crossing, nothing claimed
        coordinator.wait(lambda c=coordinator: len(c.answers) == 1)  # type: ignore[misc]
    # P2 and P3 both saw the crossing; whichever job claimed it first (they run off the
    # requests) tops up, the other finds it claimed.
    answers = [c.answers for c in coordinators]
    assert answers in ([[], [True], [False]], [[], [False], [True]])
    assert top_ups.wait(1) == ["P2" if answers[1] == [True] else "P3"]
    for client in clients:
        client.close()


def test_a_rise_seen_by_any_process_rearms_the_crossing_for_the_fleet(
    server: RedisServer,
) -> None:
    """P2 claimed the crossing and topped up; P1 sees the top-up show (a rise) and re-arms
    it in Redis; when the balance crosses again, P1's crossing is claimed and tops up."""
    account, top_ups = Account(100), TopUps()
    coordinators = [Claiming.from_url(server.url, store_timeout=1) for _ in range(2)]
    first, second = (
        _watching(account, top_ups, name, coordinator)
        for name, coordinator in zip(("P1", "P2"), coordinators, strict=True)
    )
    with first, second:
        assert first.post(URL).headers["x-credits-remaining"] == "99"  # P1 claims, tops up
        assert top_ups.wait(1) == ["P1"]
        assert second.post(URL).headers["x-credits-remaining"] == "98"  # already claimed
        coordinators[1].wait(lambda: coordinators[1].answers == [False])
        account.top_up("billing")  # it shows: 298
        assert first.post(URL).headers["x-credits-remaining"] == "297"  # a rise, for P1
        coordinators[0].wait(lambda: len(coordinators[0].cleared) == 1)
        account.balance = 100  # spent again
        assert first.post(URL).headers["x-credits-remaining"] == "99"  # a new crossing
        assert top_ups.wait(2) == ["P1", "P1"]
    assert coordinators[0].answers == [True, True]


def test_a_crossing_redis_cannot_claim_calls_no_hook(
    server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    """While Redis does not answer, a crossing cannot be claimed: the hook is not called
    (another process may have called it: a top-up hook must not run twice), and a warning
    says so. The gate's own top-up still answers an account that runs out."""
    account, top_ups = Account(100), TopUps()
    coordinator = Claiming.from_url(server.url, store_timeout=1)
    with _watching(account, top_ups, "P1", coordinator) as client:
        server.stop()
        assert client.post(URL).headers["x-credits-remaining"] == "99"
        coordinator.wait(lambda: coordinator.answers == [False])
    assert top_ups.by == []
    assert "the low-balance hook was not called" in caplog.text


class AsyncClaiming(http402.AsyncRedisCoordinator):
    """`Claiming` for the async coordinator: a claim's answers, one `anyio.Event` each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answers: list[bool] = []
        self.answered = anyio.Event()

    async def claim_crossing(self, scope: str, crossing: str) -> bool:
        answer = await super().claim_crossing(scope, crossing)
        self.answers.append(answer)
        self.answered.set()
        return answer


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_one_crossing_calls_an_async_low_balance_hook_once_across_the_fleet(
    server: RedisServer, anyio_backend: str
) -> None:
    account, by = Account(101), []
    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(3)]
    coordinators = [AsyncClaiming(store, store_timeout=1) for store in stores]

    def process(name: str, coordinator: Any) -> httpx.AsyncClient:
        async def top_up(alert: http402.LowBalance) -> None:
            by.append(name)

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=coordinator,
            low_balance=http402.LowBalanceWatch(top_up, below=100),
        )
        return httpx.AsyncClient(transport=transport, headers=KEY)

    clients = [process(name, c) for name, c in zip(("P1", "P2", "P3"), coordinators, strict=True)]
    try:
        for client in clients:
            assert (await client.post(URL)).status_code == 200
        with anyio.fail_after(10):
            for coordinator in coordinators[1:]:
                await coordinator.answered.wait()
            while not by:
                await anyio.lowlevel.checkpoint()
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()
    answers = [c.answers for c in coordinators]
    assert answers in ([[], [True], [False]], [[], [False], [True]])
    assert by == ["P2" if answers[1] == [True] else "P3"]


class Buyer:
    """One purchase function for the low-balance hook and the gate's hook of every process
    (the README's pattern): a purchase waits on an event the test sets, and its credits
    land when it ends."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.by: list[str] = []
        self.buying = threading.Event()
        self.release = threading.Event()

    def buy(self, name: str) -> None:
        self.by.append(name)
        self.buying.set()
        assert self.release.wait(10), "the test never let the purchase end"
        self.account.top_up(name)


def test_a_gate_in_another_process_waits_for_the_fleets_low_balance_top_up(
    server: RedisServer,
) -> None:
    """Case 139 across the fleet: P1's 200 crosses the low-balance threshold and its hook
    starts buying (its run marked in Redis); P2 meets the 402 meanwhile. P2's gate starts no
    hook: it waits until P1's run ends (asking the store), is sent again and gets through.
    One purchase."""
    account = Account(100)
    buyer = Buyer(account)

    def process(name: str) -> httpx.Client:
        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            buyer.buy(f"{name} gate hook")
            return http402.Retry(within=10)

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.RedisCoordinator.from_url(server.url, store_timeout=1),
            on_payment_required=top_up,
            low_balance=http402.LowBalanceWatch(
                lambda alert: buyer.buy(f"{name} low-balance hook"), below=100
            ),
        )
        return httpx.Client(transport=transport, headers=KEY)

    with process("P1") as first, process("P2") as second:
        assert first.post(URL).status_code == 200  # 99 left: P1's hook buys
        assert buyer.buying.wait(10)
        account.balance = 0  # spent elsewhere meanwhile
        answers: list[int] = []
        gated = threading.Thread(target=lambda: answers.append(second.post(URL).status_code))
        gated.start()
        gated.join(0.6)
        assert gated.is_alive() and buyer.by == ["P1 low-balance hook"]
        buyer.release.set()
        gated.join(10)
    assert answers == [200]
    assert buyer.by == ["P1 low-balance hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_gate_in_another_process_waits_for_the_fleets_low_balance_top_up(
    server: RedisServer, anyio_backend: str
) -> None:
    account = Account(100)
    buyer = Buyer(account)
    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(2)]

    def process(name: str, store: Any) -> httpx.AsyncClient:
        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            buyer.by.append(f"{name} gate hook")
            return http402.Retry(within=10)

        async def low(alert: http402.LowBalance) -> None:
            await anyio.to_thread.run_sync(buyer.buy, f"{name} low-balance hook")

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.AsyncRedisCoordinator(store, store_timeout=1),
            on_payment_required=top_up,
            low_balance=http402.LowBalanceWatch(low, below=100),
        )
        return httpx.AsyncClient(transport=transport, headers=KEY)

    clients = [process(name, store) for name, store in zip(("P1", "P2"), stores, strict=True)]
    answers: list[int] = []
    try:
        assert (await clients[0].post(URL)).status_code == 200
        await anyio.to_thread.run_sync(buyer.buying.wait, 10)
        account.balance = 0

        async def gated() -> None:
            answers.append((await clients[1].post(URL)).status_code)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(gated)
                await anyio.sleep(0.6)
                assert not answers and buyer.by == ["P1 low-balance hook"]
                buyer.release.set()
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()
    assert answers == [200]
    assert buyer.by == ["P1 low-balance hook"]


def _end_low_balance_windows(server: RedisServer) -> None:
    """Ends the windows of the fleet's low-balance top-ups that bought, as time would (their
    end moved to the past), never by sleeping."""
    client = redis.Redis.from_url(server.url)
    keys = list(client.scan_iter("http402:*:low-runs"))
    assert keys
    for key in keys:
        for token, value in client.hgetall(key).items():
            assert value.startswith(b"bought "), value  # the run ended, and bought
            client.hset(key, token, "bought 0 1")  # its window ended long ago
    client.close()


class Propagating:
    """The README's one purchase function for the low-balance hook and the gate's hook of
    every process: it answers `Retry(within=30)` at once, and its credits land only when
    the test says (a top-up propagating)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.by: list[str] = []
        self.bought = threading.Event()

    def buy(self, name: str) -> http402.Retry:
        self.by.append(name)
        self.bought.set()
        return http402.Retry(within=30)

    def land(self) -> None:
        self.account.top_up(self.by[0])


def test_a_gate_in_another_process_follows_the_fleets_low_balance_top_up_while_it_propagates(
    server: RedisServer,
) -> None:
    """P1's low-balance hook bought and answered `Retry(within=30)`; its credits have not
    landed when P2 meets the 402. P2's gate starts no hook: the store keeps P1's run marked
    until its window closes, and P2 waits, then is sent again and gets through. One
    purchase (before, the mark went with the run, and P2 bought beside the top-up still
    propagating)."""
    account = Account(100)
    buyer = Propagating(account)

    def process(name: str) -> httpx.Client:
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.RedisCoordinator.from_url(server.url, store_timeout=1),
            on_payment_required=lambda error: buyer.buy(f"{name} gate hook"),
            low_balance=http402.LowBalanceWatch(
                lambda alert: buyer.buy(f"{name} low-balance hook"), below=100
            ),
        )
        return httpx.Client(transport=transport, headers=KEY)

    with process("P1") as first, process("P2") as second:
        assert first.post(URL).status_code == 200  # 99 left: P1's hook buys
        assert buyer.bought.wait(10)
        account.balance = 0  # spent elsewhere meanwhile; the top-up has not landed
        answers: list[int] = []
        gated = threading.Thread(target=lambda: answers.append(second.post(URL).status_code))
        gated.start()
        gated.join(0.6)
        assert gated.is_alive() and buyer.by == ["P1 low-balance hook"]
        buyer.land()
        _end_low_balance_windows(server)
        gated.join(10)
    assert answers == [200]
    assert buyer.by == ["P1 low-balance hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_gate_in_another_process_follows_the_fleets_low_balance_top_up(
    server: RedisServer, anyio_backend: str
) -> None:
    account = Account(100)
    buyer = Propagating(account)
    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(2)]

    def process(name: str, store: Any) -> httpx.AsyncClient:
        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            return buyer.buy(f"{name} gate hook")

        async def low(alert: http402.LowBalance) -> http402.Retry:
            return buyer.buy(f"{name} low-balance hook")

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.AsyncRedisCoordinator(store, store_timeout=1),
            on_payment_required=top_up,
            low_balance=http402.LowBalanceWatch(low, below=100),
        )
        return httpx.AsyncClient(transport=transport, headers=KEY)

    clients = [process(name, store) for name, store in zip(("P1", "P2"), stores, strict=True)]
    answers: list[int] = []
    try:
        assert (await clients[0].post(URL)).status_code == 200
        await anyio.to_thread.run_sync(buyer.bought.wait, 10)
        account.balance = 0

        async def gated() -> None:
            answers.append((await clients[1].post(URL)).status_code)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(gated)
                await anyio.sleep(0.6)
                assert not answers and buyer.by == ["P1 low-balance hook"]
                buyer.land()
                await anyio.to_thread.run_sync(_end_low_balance_windows, server)
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()
    assert answers == [200]
    assert buyer.by == ["P1 low-balance hook"]


def test_a_fleets_low_balance_top_up_that_never_shows_is_held_not_bought_again(
    server: RedisServer,
) -> None:
    """P1's low-balance hook bought and answered `Retry`, and its credits never land. P2's
    gate waits out the window, is sent once more and is still gated: nothing showed the
    top-up took, so P2 holds the scope's credits top-ups in the store and raises, and no
    process buys again (P3's gate meets the hold; P1's own gates follow its window, as a
    gate's top-up is followed, and meet its hold after)."""
    account = Account(100)
    buyer = Propagating(account)

    def process(name: str) -> httpx.Client:
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.RedisCoordinator.from_url(server.url, store_timeout=1),
            on_payment_required=lambda error: buyer.buy(f"{name} gate hook"),
            low_balance=http402.LowBalanceWatch(
                lambda alert: buyer.buy(f"{name} low-balance hook"), below=100
            ),
        )
        return httpx.Client(transport=transport, headers=KEY)

    with process("P1") as first, process("P2") as second, process("P3") as third:
        assert first.post(URL).status_code == 200  # 99 left: P1's hook buys
        assert buyer.bought.wait(10)
        account.balance = 0  # spent elsewhere; the top-up never lands
        raised: list[BaseException] = []

        def gated() -> None:
            try:
                second.post(URL)
            except http402.PaymentRequiredError as error:
                raised.append(error)

        waiting = threading.Thread(target=gated)
        waiting.start()
        waiting.join(0.6)
        assert waiting.is_alive()  # it waits for P1's top-up to show
        _end_low_balance_windows(server)
        waiting.join(10)
        assert len(raised) == 1 and isinstance(raised[0], http402.InsufficientCreditsError)
        assert "did not show" in (raised[0].not_replayed or "")
        with pytest.raises(http402.InsufficientCreditsError, match="did not show"):
            third.post(URL)  # P3 meets the fleet's hold: no second purchase
    assert buyer.by == ["P1 low-balance hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_fleets_low_balance_top_up_that_never_shows_is_held(
    server: RedisServer, anyio_backend: str
) -> None:
    account = Account(100)
    buyer = Propagating(account)
    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(3)]

    def process(name: str, store: Any) -> httpx.AsyncClient:
        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            return buyer.buy(f"{name} gate hook")

        async def low(alert: http402.LowBalance) -> http402.Retry:
            return buyer.buy(f"{name} low-balance hook")

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.AsyncRedisCoordinator(store, store_timeout=1),
            on_payment_required=top_up,
            low_balance=http402.LowBalanceWatch(low, below=100),
        )
        return httpx.AsyncClient(transport=transport, headers=KEY)

    names = ("P1", "P2", "P3")
    clients = [process(name, store) for name, store in zip(names, stores, strict=True)]
    raised: list[BaseException] = []
    try:
        assert (await clients[0].post(URL)).status_code == 200
        await anyio.to_thread.run_sync(buyer.bought.wait, 10)
        account.balance = 0

        async def gated() -> None:
            try:
                await clients[1].post(URL)
            except http402.PaymentRequiredError as error:
                raised.append(error)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(gated)
                await anyio.sleep(0.6)
                assert not raised
                await anyio.to_thread.run_sync(_end_low_balance_windows, server)
        assert len(raised) == 1 and isinstance(raised[0], http402.InsufficientCreditsError)
        with pytest.raises(http402.InsufficientCreditsError, match="did not show"):
            await clients[2].post(URL)
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()
    assert buyer.by == ["P1 low-balance hook"]


class GateBuying:
    """The gate's top-up propagates until the test lands it, while a cheap endpoint still
    answers 200 stating the balance it left (none): a crossing of the low-balance watch."""

    def __init__(self) -> None:
        self.by: list[str] = []
        self.bought = threading.Event()
        self.landed = False

    def buy(self, name: str) -> http402.Retry:
        self.by.append(name)
        self.bought.set()
        return http402.Retry(within=30)

    def handler(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/cheap":
            return httpx.Response(200, json={}, headers={"X-Credits-Remaining": "0"})
        if not self.landed:
            return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})
        return httpx.Response(200, json={}, headers={"X-Credits-Remaining": "1000"})


def test_a_crossing_in_another_process_during_the_fleets_top_up_calls_no_hook(
    server: RedisServer,
) -> None:
    """The reverse of case 139 across the fleet: P1's gate hook bought (elected in Redis)
    and its credits propagate when P2's 200 crosses the low-balance threshold. The store
    says a top-up of the scope is at work (`top_up_at_work`): P2 calls no low-balance hook
    (the same purchase function) beside it."""
    account = GateBuying()

    def process(name: str) -> httpx.Client:
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.RedisCoordinator.from_url(server.url, store_timeout=1),
            on_payment_required=lambda error: account.buy(f"{name} gate hook"),
            low_balance=http402.LowBalanceWatch(
                lambda alert: account.buy(f"{name} low-balance hook"), below=100
            ),
        )
        return httpx.Client(transport=transport, headers=KEY)

    with process("P1") as first, process("P2") as second:
        answers: list[int] = []
        gated = threading.Thread(target=lambda: answers.append(first.post(URL).status_code))
        gated.start()
        assert account.bought.wait(10)  # P1's gate hook bought; its credits propagate
        assert second.get("https://api.example.com/v1/cheap").status_code == 200
        assert workers.idle(10)  # P2's low-balance job, had it called a hook, is done
        account.landed = True
        gated.join(10)
    assert answers == [200]
    assert account.by == ["P1 gate hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_crossing_in_another_process_during_the_fleets_top_up_calls_no_hook(
    server: RedisServer, anyio_backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="http402")
    account = GateBuying()
    stores = [redis.asyncio.Redis.from_url(server.url) for _ in range(2)]
    called = anyio.Event()

    def process(name: str, store: Any) -> httpx.AsyncClient:
        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            return account.buy(f"{name} gate hook")

        async def low(alert: http402.LowBalance) -> http402.Retry:
            called.set()
            return account.buy(f"{name} low-balance hook")

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            coordinator=http402.AsyncRedisCoordinator(store, store_timeout=1),
            on_payment_required=top_up,
            low_balance=http402.LowBalanceWatch(low, below=100),
        )
        return httpx.AsyncClient(transport=transport, headers=KEY)

    clients = [process(name, store) for name, store in zip(("P1", "P2"), stores, strict=True)]
    answers: list[int] = []
    try:

        async def gated() -> None:
            answers.append((await clients[0].post(URL)).status_code)

        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                group.start_soon(gated)
                await anyio.to_thread.run_sync(account.bought.wait, 10)
                cheap = await clients[1].get("https://api.example.com/v1/cheap")
                assert cheap.status_code == 200
                while not any("not called beside it" in r.getMessage() for r in caplog.records):
                    await anyio.sleep(0.01)  # P2's alert task decides, and says so
                account.landed = True
    finally:
        for client in clients:
            await client.aclose()
        for store in stores:
            await store.aclose()
    assert answers == [200]
    assert not called.is_set() and account.by == ["P1 gate hook"]


# --- a low-balance run's mark is a lease, on the store's clock -----------------------------


@pytest.fixture
def short_beats(monkeypatch: pytest.MonkeyPatch) -> float:
    """The low-balance lease's beat at a tenth of a second (a lease of three beats), so a
    lease can be seen to outlive its first write, and a lost mark to come back."""
    from http402 import _fleet, _redis

    monkeypatch.setattr(_fleet, "LOW_BEAT", 0.1)
    monkeypatch.setattr(_redis, "LOW_BEAT", 0.1)
    monkeypatch.setattr(_redis, "LOW_LEASE", 0.3)
    return 0.1


def test_a_low_balance_run_stays_marked_however_long_its_hook_takes(
    server: RedisServer, short_beats: float
) -> None:
    """Case 172's kind: the mark was written once with a TTL of the larger of `hook_timeout`
    and the window, so a hook slower than that (a bank transfer) vanished from the fleet's
    view while it still bought, and another process's gate bought beside it. Now the run's
    process writes it again every beat while the run lasts; when it ends, it goes."""
    coordinator = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    other = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    token = coordinator.low_balance_started("scope-a", ttl=0.05)
    time.sleep(20 * short_beats)  # far past the ttl it was given, and past many leases
    assert other.low_balance_running("scope-a") is True
    coordinator.low_balance_ended("scope-a", token)
    assert other.low_balance_running("scope-a") is False


def test_another_processs_run_never_shortens_a_bought_window(
    server: RedisServer, short_beats: float
) -> None:
    """Case 185's kind: a run's start set the hash's expiry to its own bound, unconditionally,
    cutting a bought top-up's longer window short, so a gate bought beside it. Marks are
    counted by their own lease on the store's clock, and the hash lives as long as the
    longest of them."""
    first = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    second = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    bought = first.low_balance_started("scope-b", ttl=30)
    first.low_balance_bought("scope-b", bought, within=60)
    warning = second.low_balance_started("scope-b", ttl=0.001)  # a warn-only run elsewhere
    second.low_balance_ended("scope-b", warning)
    time.sleep(10 * short_beats)
    assert second.low_balance_running("scope-b") == "bought"


def test_a_store_that_lost_a_run_counts_it_until_its_process_writes_it_again(
    server: RedisServer, short_beats: float
) -> None:
    """Case 186's kind: a flush (a restart without persistence, an eviction) lost the mark
    and nobody wrote it back, so another process's gate bought beside the purchase under
    way. A store whose bucket's marker is missing or new counts as a run under way for two
    beats; the run's process writes its mark again within one."""
    client = redis.Redis.from_url(server.url)
    coordinator = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    other = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    token = coordinator.low_balance_started("scope-c", ttl=30)
    time.sleep(5 * short_beats)
    client.flushdb()
    assert other.low_balance_running("scope-c") is True  # lost: counted all the same
    time.sleep(5 * short_beats)  # past the grace: only a mark written again counts now
    assert other.low_balance_running("scope-c") is True
    coordinator.low_balance_ended("scope-c", token)
    assert other.low_balance_running("scope-c") is False
    client.close()


def test_a_bought_window_ends_once_and_is_not_started_again(
    server: RedisServer, short_beats: float
) -> None:
    """A bought mark's hash outlives its window by a lease, so the next write reads that the
    window ended and the mark goes for good. Before, the hash expired with the window, the
    next write found no mark and started the window again, and a gate elsewhere waited for
    a top-up's window that never closed."""
    coordinator = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    other = http402.RedisCoordinator.from_url(server.url, store_timeout=1)
    token = coordinator.low_balance_started("scope-d", ttl=30)
    coordinator.low_balance_bought("scope-d", token, within=0.5)
    assert other.low_balance_running("scope-d") in (True, "bought")  # (True: a new store)
    time.sleep(20 * short_beats)  # the window, its lease, and many beats after
    assert other.low_balance_running("scope-d") is False
    time.sleep(10 * short_beats)
    assert other.low_balance_running("scope-d") is False
