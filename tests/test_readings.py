"""Balance readings are ordered by when the server could have computed them: a reading of a
request sent before the held one arrived cannot be ordered against it, and moves no money
(no low-balance re-arm or alert, no preflight refusal, no sign that a top-up showed).

The rule is one pure function (`_readings.supersedes`) on the book's logical clock; the
transports are driven through forced interleavings: the server holds one request's answer
on an event while later requests are answered, and a virtual clock stands in for time.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import anyio
import httpx
import httpx2
import pytest

import http402
import http402.httpx2
from http402._episodes import BalanceCache, EpisodeBook
from http402._readings import supersedes

from .fakes import Alerts, VirtualClock

KEY = {"x-api-key": "k-live-0123456789abcdef"}
API = "https://api.vendor.example"


@pytest.mark.parametrize(
    ("held_arrived", "sent", "newer"),
    [
        (None, 0, True),  # nothing held: any reading is the newest
        (None, 7, True),
        (3, 3, True),  # sent as the held reading had just arrived: computed after it
        (3, 9, True),
        (3, 2, False),  # sent before the held reading arrived: it overlaps, cannot be ordered
        (3, 0, False),
    ],
)
def test_a_reading_supersedes_the_held_one_only_if_sent_after_it_arrived(
    held_arrived: int | None, sent: int, newer: bool
) -> None:
    assert supersedes(held_arrived, sent) is newer


def balance(amount: str) -> http402.Balance:
    return http402.Balance(provider="unknown", available=Decimal(amount))


def test_the_cache_keeps_the_newest_reading_by_when_its_request_was_sent() -> None:
    """On a fake clock: A is sent, then B; B's reading arrives (held); A's arrives after it,
    from a request sent before: left out, whatever it says. C, sent after B's arrived, is
    taken. A probe overlapped by a header is left out too, and `forget` (billing took)
    keeps every reading of a request sent before it out."""
    clock = VirtualClock()
    book = EpisodeBook(clock)
    cache = BalanceCache(book)
    a_sent = book.mark().sequence
    b_sent = book.mark().sequence
    assert cache.seen("scope", balance("100"), b_sent)
    assert not cache.seen("scope", balance("102"), a_sent)  # a "rise" that never was
    assert cache.fresh("scope", 60) == balance("100")
    c_sent = book.mark().sequence
    assert cache.seen("scope", balance("98"), c_sent)
    role, episode = cache.join("scope", every=0)
    assert role == "lead"
    probe_sent = book.mark().sequence
    d_sent = book.mark().sequence
    assert cache.seen("scope", balance("96"), d_sent)  # arrives while the probe is out
    assert not cache.store("scope", episode, balance("97"), probe_sent)  # type: ignore[arg-type]
    assert cache.last("scope") == balance("96")
    before = book.mark().sequence
    cache.forget("scope")
    assert not cache.seen("scope", balance("10"), before)  # sent before the top-up showed
    assert cache.last("scope") is None
    assert cache.seen("scope", balance("190"), book.mark().sequence)


def test_what_shows_of_a_top_up_is_read_only_from_requests_sent_after_it() -> None:
    """`since(scope, mark)`: the held reading counts only if its request was sent after the
    hook answered; one sent after that could not be ordered leaves it untold."""
    book = EpisodeBook(VirtualClock())
    cache = BalanceCache(book)
    old = book.mark().sequence
    assert cache.since("scope", 0) == (None, False)
    answered = book.tick()  # the hook answers (an episode finishing advances it too)
    assert cache.seen("scope", balance("5"), old)
    assert cache.since("scope", answered) == (None, False)  # from before the top-up
    replay = book.mark().sequence
    other = book.mark().sequence
    assert cache.seen("scope", balance("190"), other)
    assert cache.since("scope", answered) == (balance("190"), False)
    cache.forget("scope")
    assert not cache.seen("scope", balance("7"), replay)
    assert cache.since("scope", answered) == (None, True)  # read since, not ordered: untold


# --- The low-balance watch (case 64) -------------------------------------------------------


class Charging:
    """Credits charged at admission, the balance header computed then: the answer of
    `/v1/a` is held until `release` is set (a long body), while later requests answer."""

    def __init__(self, credits: int, price: int) -> None:
        self.credits, self.price = credits, price
        self.lock = threading.Lock()
        self.a_charged, self.release = threading.Event(), threading.Event()

    def charge(self) -> int:
        with self.lock:
            self.credits -= self.price
            return self.credits

    def handler(self, request: Any) -> Any:
        left = self.charge()
        if request.url.path == "/v1/a":
            self.a_charged.set()
            self.release.wait(5)
        http = httpx2 if isinstance(request, httpx2.Request) else httpx
        return http.Response(200, headers={"X-Credits-Remaining": str(left)}, json={"ok": True})


def _sync_client(library: str, handler: Callable[[Any], Any], **options: Any) -> Any:
    if library == "httpx2":
        return http402.httpx2.wrap(
            httpx2.Client(transport=httpx2.MockTransport(handler)), **options
        )
    return http402.wrap(httpx.Client(transport=httpx.MockTransport(handler)), **options)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_an_answer_computed_before_a_newer_one_does_not_rearm_the_low_balance_watch(
    library: str,
) -> None:
    """Balance 104, 2 per call, warn below 100: A is charged (102) and answers last, after B
    (100) and C (98: crossed, warned). A's 102 is no rise (its request was sent before C's
    answer arrived), so D's 96 is the same crossing: one alert, one top-up (case 64)."""
    server, fired = Charging(104, 2), Alerts()  # the hook runs off the request
    client = _sync_client(
        library, server.handler, low_balance=http402.LowBalanceWatch(fired, below=100)
    )
    a = threading.Thread(target=lambda: client.get(f"{API}/v1/a", headers=KEY))
    a.start()
    assert server.a_charged.wait(5)
    client.get(f"{API}/v1/b", headers=KEY)
    client.get(f"{API}/v1/c", headers=KEY)
    server.release.set()
    a.join(5)
    client.get(f"{API}/v1/d", headers=KEY)
    assert [alert.balance for alert in fired.wait(1)] == [Decimal(98)]
    # A real rise, read from a request sent after the last reading arrived, re-arms it.
    server.credits += 100
    client.get(f"{API}/v1/e", headers=KEY)
    server.credits -= 110
    client.get(f"{API}/v1/f", headers=KEY)
    assert [alert.balance for alert in fired.wait(2)] == [Decimal(98), Decimal(82)]


@pytest.mark.anyio
async def test_an_answer_computed_before_a_newer_one_does_not_rearm_the_async_watch() -> None:
    credits, alerts = [104], []
    a_charged, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        credits[0] -= 2
        left = credits[0]
        if request.url.path == "/v1/a":
            a_charged.set()
            await release.wait()
        return httpx.Response(200, headers={"X-Credits-Remaining": str(left)}, json={})

    alerted = anyio.Event()

    async def alert(low: http402.LowBalance) -> None:  # run off the request, in a task
        alerts.append(low.balance)
        alerted.set()

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        low_balance=http402.LowBalanceWatch(alert, below=100),
    )
    async with client:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: client.get(f"{API}/v1/a", headers=KEY))
            await a_charged.wait()
            await client.get(f"{API}/v1/b", headers=KEY)
            await client.get(f"{API}/v1/c", headers=KEY)
            release.set()
        await client.get(f"{API}/v1/d", headers=KEY)
        with anyio.fail_after(10):
            await alerted.wait()
    assert alerts == [Decimal(98)]


# --- Preflight's minimum and the judgement that a top-up showed (case 66) ---------------------


class Reserving:
    """Credits reserved at admission (the header says what was left then); `/v1/long-report`
    answers only once `release` is set. Below 10 credits, a 402 stating the balance."""

    def __init__(self) -> None:
        self.credits = 20
        self.lock = threading.Lock()
        self.long_charged, self.release = threading.Event(), threading.Event()
        self.top_ups: list[int] = []

    def top_up(self, error: Any) -> http402.Retry:
        with self.lock:
            self.credits += 200
            self.top_ups.append(self.credits)
        return http402.Retry(within=30)

    def admit(self, request: Any) -> Any:
        """The answer, its balance computed now, as the request is admitted."""
        http = httpx2 if isinstance(request, httpx2.Request) else httpx
        with self.lock:
            if self.credits < 10:
                return http.Response(
                    402,
                    headers={"X-Credits-Remaining": str(self.credits)},
                    json={"error": {"code": "insufficient_credits", "message": "Insufficient"}},
                )
            self.credits -= 10
            left = self.credits
        return http.Response(200, headers={"X-Credits-Remaining": str(left)}, json={"ok": True})

    def handler(self, request: Any) -> Any:
        response = self.admit(request)
        if request.url.path == "/v1/long-report":
            self.long_charged.set()
            self.release.wait(5)
        return response


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_stale_balance_of_a_long_request_buys_no_second_top_up(library: str) -> None:
    """Preflight(min_balance=15): A is admitted (its header will say 10) and answers a minute
    after B (0), C's refusal, one top-up and C's replay (190). A's 10 comes from a request
    sent before the top-up: it is not what preflight refuses on, so D is sent, and the
    account holds 180 after one top-up (case 66)."""
    server, clock = Reserving(), VirtualClock()
    client = _sync_client(
        library,
        server.handler,
        on_payment_required=server.top_up,
        preflight=http402.Preflight(min_balance=15),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    a = threading.Thread(target=lambda: client.get(f"{API}/v1/long-report", headers=KEY))
    a.start()
    assert server.long_charged.wait(5)
    assert client.get(f"{API}/v1/quick", headers=KEY).headers["x-credits-remaining"] == "0"
    assert client.get(f"{API}/v1/quick", headers=KEY).headers["x-credits-remaining"] == "190"
    clock.now += 60
    server.release.set()
    a.join(5)
    assert client.get(f"{API}/v1/quick", headers=KEY).headers["x-credits-remaining"] == "180"
    assert server.top_ups == [200]


@pytest.mark.anyio
async def test_a_stale_balance_of_a_long_async_request_buys_no_second_top_up() -> None:
    server, clock = Reserving(), VirtualClock()
    charged, release = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        response: httpx.Response = server.admit(request)
        if request.url.path == "/v1/long-report":
            charged.set()
            await release.wait()
        return response

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        on_payment_required=server.top_up,
        preflight=http402.Preflight(min_balance=15),
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
    )
    async with client:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(lambda: client.get(f"{API}/v1/long-report", headers=KEY))
            await charged.wait()
            assert (await client.get(f"{API}/v1/quick", headers=KEY)).status_code == 200
            assert (await client.get(f"{API}/v1/quick", headers=KEY)).status_code == 200
            clock.now += 60
            release.set()
        await client.get(f"{API}/v1/quick", headers=KEY)
    assert server.top_ups == [200]
    assert server.credits == 180


# --- Many seeds: concurrent requests answered in any order -----------------------------------


class ReorderingWorld:
    """One account on a seeded schedule: requests are sent (the transport's mark taken),
    admitted by the server later (charged, the balance header computed then), and answered
    later still, in any order; now and then the account is topped up. Every answer goes
    through the transport's own balance reading (`Shell._balance_alerts`), with a
    low-balance watch below `threshold`."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.credits = self.rng.randrange(90, 130)
        self.threshold = 100
        self.transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda request: httpx.Response(200)),
            low_balance=http402.LowBalanceWatch(lambda alert: None, below=self.threshold),
        )
        self.history = [self.credits]  # the true balance after every change
        self.alerts = 0
        self.held: list[int] = []  # the history index of each reading kept, in order

    def run(self, steps: int = 80) -> list[str]:
        sent: list[int] = []  # marks of requests sent, not admitted yet
        admitted: list[tuple[int, int]] = []  # (mark, history index) computed, not answered
        for _ in range(steps):
            roll = self.rng.random()
            if roll < 0.35:
                sent.append(self.transport._book.sequence)
            elif roll < 0.6 and sent:
                mark = sent.pop(self.rng.randrange(len(sent)))
                self.credits -= self.rng.randrange(1, 5)
                self.history.append(self.credits)
                admitted.append((mark, len(self.history) - 1))
            elif roll < 0.95 and admitted:
                self._answer(*admitted.pop(self.rng.randrange(len(admitted))))
            elif roll >= 0.95:
                self.credits += self.rng.randrange(5, 60)  # a top-up, bought elsewhere
                self.history.append(self.credits)
        return self.broken()

    def _answer(self, mark: int, index: int) -> None:
        request = httpx.Request("GET", f"{API}/v1/generate", headers=KEY)
        response = httpx.Response(200, headers={"X-Credits-Remaining": str(self.history[index])})
        before = self.transport._coordinator.balances.last(self.transport._scope_of(request))
        crossings = self.transport._balance_alerts(request, response, mark)
        self.alerts += 0 if crossings is None else len(crossings.fired)
        after = self.transport._coordinator.balances.last(self.transport._scope_of(request))
        if after is not before:
            self.held.append(index)

    def broken(self) -> list[str]:
        broken = []
        if self.held != sorted(self.held):
            broken.append(f"readings kept out of the order they were computed in: {self.held}")
        # After the first, an alert needs the watch re-armed since the last one: a rise
        # among the readings kept, so a rise of the true balance between the two (the
        # readings kept being in the order they were computed in).
        rises = sum(1 for earlier, later in itertools.pairwise(self.history) if later > earlier)
        if self.alerts > 1 + rises:
            broken.append(f"{self.alerts} alerts for {rises} rises of the balance")
        return broken


@pytest.mark.parametrize("block", range(4))
def test_no_seed_reorders_balances_or_warns_twice_for_one_fall(block: int) -> None:
    """400 seeds of concurrent requests answered in any order: the readings kept are in the
    order the server computed them, and the watch warns again only after the balance really
    rose (without the rule, a stale reading looks like a rise and warns again)."""
    for seed in range(block * 100, block * 100 + 100):
        broken = ReorderingWorld(seed).run()
        assert not broken, (seed, broken)
