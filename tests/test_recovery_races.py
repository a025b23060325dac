"""Races and faults where money moves, through the real transports, sync and async.

Each test forces its interleaving with events, never with a sleep that hopes for it. They
turn the repros of `../shared/cases/recovery/` into the project's own tests, one per kind.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import Reason, Retry, SpendPolicy
from http402.testing import gate as recorded_gate

from .fakes import VirtualClock

URL = "https://api.example.com/v1/generate"
GATE = {"error": {"code": "insufficient_credits", "message": "Not enough credits."}}


def no_sleep(seconds: float) -> None:
    pass


async def no_asleep(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


class Funded:
    """A provider that answers 402 until funded, then 200."""

    def __init__(self) -> None:
        self.funded = False
        self.requests = 0
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests += 1
            if self.funded:
                return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=GATE)


class TestCancellation:
    @pytest.mark.anyio
    async def test_cancelling_the_leader_never_cancels_the_hook_nor_fails_a_waiter(
        self,
    ) -> None:
        """The request that led is cancelled mid top-up (its caller's deadline); the hook
        finishes, and a waiter that was never cancelled gets its 200."""
        provider = Funded()
        hook_started, release_hook = anyio.Event(), anyio.Event()
        hook_finished = []

        async def top_up(error: http402.PaymentRequiredError) -> Retry:
            hook_started.set()
            await release_hook.wait()
            provider.funded = True
            hook_finished.append(True)
            return Retry(within=10)

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(provider), on_payment_required=top_up, sleep=no_asleep
        )
        results: dict[str, Any] = {}
        async with httpx.AsyncClient(transport=transport) as client:

            async def leader(scope: anyio.CancelScope) -> None:
                with scope:
                    await client.get(URL)
                results["leader"] = "cancelled" if scope.cancelled_caught else "done"

            async def waiter() -> None:
                results["waiter"] = (await client.get(URL)).status_code

            leader_scope = anyio.CancelScope()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(leader, leader_scope)
                await hook_started.wait()
                tasks.start_soon(waiter)
                await wait_until(lambda: provider.requests >= 2)
                leader_scope.cancel()
                await anyio.lowlevel.checkpoint()
                release_hook.set()
        assert results == {"leader": "cancelled", "waiter": 200}
        assert hook_finished == [True]

    def test_asyncio_timeout_around_the_leader(self) -> None:
        """Plain asyncio cancellation (`wait_for`) of the leader, as in the shared repro."""
        provider = Funded()

        async def top_up(error: http402.PaymentRequiredError) -> Retry:
            await asyncio.sleep(0.2)
            provider.funded = True
            return Retry(within=10)

        async def main() -> tuple[Any, Any]:
            client = http402.wrap(
                httpx.AsyncClient(transport=httpx.MockTransport(provider)),
                on_payment_required=top_up,
                sleep=no_asleep,
            )
            leader = asyncio.ensure_future(asyncio.wait_for(client.get(URL), 0.05))
            await asyncio.sleep(0.01)
            waiter = asyncio.ensure_future(client.get(URL))
            return tuple(await asyncio.gather(leader, waiter, return_exceptions=True))  # type: ignore[return-value]

        leader, waiter = asyncio.run(main())
        assert isinstance(leader, (asyncio.TimeoutError, TimeoutError))
        assert waiter.status_code == 200


async def wait_until(condition: Any) -> None:
    with anyio.fail_after(5):
        while not condition():
            await anyio.sleep(0.001)


def test_one_async_coordinator_serves_two_event_loops() -> None:
    """Two threads, each with its own event loop, share one coordinator: the second loop's
    waiter is woken by the first loop's hook (one hook call, two 200s)."""
    provider = Funded()
    hook_started, release = threading.Event(), threading.Event()
    calls = []

    async def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(1)
        hook_started.set()
        await anyio.to_thread.run_sync(release.wait)
        provider.funded = True
        return Retry(within=10)

    coordinator = http402.AsyncLocalCoordinator()
    results: list[int] = []

    def loop_thread() -> None:
        async def one() -> None:
            transport = http402.AsyncPaymentRequiredTransport(
                httpx.MockTransport(provider),
                on_payment_required=top_up,
                coordinator=coordinator,
                sleep=no_asleep,
            )
            async with httpx.AsyncClient(transport=transport) as client:
                results.append((await client.get(URL)).status_code)

        asyncio.run(one())

    first = threading.Thread(target=loop_thread)
    first.start()
    assert hook_started.wait(5)
    second = threading.Thread(target=loop_thread)
    second.start()
    while provider.requests < 2:
        threading.Event().wait(0.001)
    release.set()
    first.join(5)
    second.join(5)
    assert not first.is_alive() and not second.is_alive()
    assert results == [200, 200] and calls == [1]


def test_a_hook_past_hook_timeout_still_runs_and_no_second_hook_starts() -> None:
    """The caller gets `TimeoutError`; the next gated request of the scope does not start a
    second top-up beside the running one, and once the hook answers, requests replay."""
    provider = Funded()
    entered, release = threading.Event(), threading.Event()
    calls = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(1)
        entered.set()
        release.wait(10)
        provider.funded = True
        return Retry(within=30)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required=top_up,
        hook_timeout=0.05,
        sleep=no_sleep,
    )
    with pytest.raises(TimeoutError):
        client.get(URL)
    assert entered.wait(10)  # a loaded host may start the hook's thread after the timeout
    with pytest.raises(TimeoutError):
        client.get(URL)  # joins the hook that still runs
    release.set()
    assert client.get(URL).status_code == 200
    assert calls == [1]


def test_a_lagging_replica_after_the_first_success_does_not_top_up_again() -> None:
    """Two replicas behind round robin, one behind the other: four requests, one top-up."""
    state: dict[str, Any] = {"topped_up": False, "n": 0}
    lagging = threading.Event()

    def provider(request: httpx.Request) -> httpx.Response:
        state["n"] += 1
        replica_b = state["n"] % 2 == 0
        if state["topped_up"] and not (replica_b and not lagging.is_set()):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=GATE)

    calls = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(1)
        state["topped_up"] = True
        return Retry(within=30)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required=top_up,
        sleep=no_sleep,
    )
    for _ in range(3):
        assert client.get(URL).status_code == 200
    lagging.set()
    assert client.get(URL).status_code == 200
    assert calls == [1]


def test_concurrent_challenges_never_pass_the_spend_window() -> None:
    """20 threads meet an x402 price at once against a window of two payments: two pay."""
    challenge = recorded_gate("x402.v1")
    payment = http402.classify(challenge)
    assert payment is not None
    offer = payment.payment_options[0]
    assert offer.asset is not None and offer.amount is not None
    barrier = threading.Barrier(20)
    paid = []
    lock = threading.Lock()

    def provider(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-payment"):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, headers=challenge.headers, content=challenge.content)

    def pay(error: http402.PaymentRequiredError) -> Retry:
        with lock:
            paid.append(error.payment.payment_options[0].amount)
        return Retry(headers={"X-PAYMENT": "signed-proof"}, paid=error.payment.payment_options[0])

    policy = SpendPolicy(
        max_amount={offer.asset: offer.amount}, max_per_window={offer.asset: offer.amount * 2}
    )
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required={Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=policy,
    )
    outcomes: list[str] = []

    def one() -> None:
        barrier.wait()
        try:
            outcomes.append(str(client.get(URL).status_code))
        except http402.PaymentChallengeError:
            outcomes.append("refused")

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sum(paid) <= offer.amount * 2
    assert outcomes.count("200") == len(paid) == 2
    assert outcomes.count("refused") == 18


def test_a_hook_header_is_a_secret_whatever_its_name() -> None:
    """A value a hook adds under a neutral name (`X-Ledger-Ref`), echoed, is scrubbed."""
    proof = "proof-ZQ7kP2mX9vL4nR8tW3yB6cD1fG5hJ0sA"

    def provider(request: httpx.Request) -> httpx.Response:
        if "x-ledger-ref" in request.headers:
            echoed = f"Insufficient credits for {request.headers['x-ledger-ref']}"
            return httpx.Response(402, json={"error": {"message": echoed}})
        return httpx.Response(402, json=GATE)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required=lambda error: Retry(headers={"X-Ledger-Ref": proof}, within=1),
        sleep=no_sleep,
    )
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        client.get(URL)
    assert caught.value.attempts > 1
    assert proof[:10] not in str(caught.value) + repr(caught.value.payment)


def test_every_caller_sees_the_hook_exception_as_the_hook_raised_it() -> None:
    """A caller inside its own `except` block does not rewrite the shared exception's
    `__context__`."""

    class LedgerDown(Exception):
        pass

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        try:
            raise ConnectionError("ledger timed out")
        except ConnectionError:
            raise LedgerDown("could not record the top-up") from None

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402, json=GATE))),
        on_payment_required=top_up,
    )
    try:
        raise KeyError("the caller's own error, being handled")
    except KeyError:
        with pytest.raises(LedgerDown) as caught:
            client.get(URL)
    assert isinstance(caught.value.__context__, ConnectionError)
    assert caught.value.__suppress_context__


#: 402s with nothing usable in them (`Reason.UNKNOWN`): an edge's default error page (nginx's
#: `auth_request` answering from a cached billing decision), an empty body, an empty object.
WORDLESS_402S = {
    "nginx page": (
        b"<html>\r\n<head><title>402 Payment Required</title></head>\r\n<body>\r\n<center>"
        b"<h1>402 Payment Required</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
        b"</html>\r\n",
        "text/html",
    ),
    "empty body": (b"", "text/plain"),
    "empty object": (b"{}", "application/json"),
}


class _Edge:
    """An account out of credits behind an edge: the origin shows a top-up `origin_lag`
    seconds after it, the edge's cached billing check `edge_lag` seconds after it, and the
    edge's 402 says nothing."""

    def __init__(self, clock: Any, wordless: str, origin_lag: float, edge_lag: float) -> None:
        self.clock, self.origin_lag, self.edge_lag = clock, origin_lag, edge_lag
        self.body, self.content_type = WORDLESS_402S[wordless]
        self.topped_up_at: float | None = None
        self.top_ups: list[Reason] = []

    def shows(self, lag: float) -> bool:
        return self.topped_up_at is not None and self.clock() >= self.topped_up_at + lag

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/stream"):
            if self.shows(self.edge_lag):
                return httpx.Response(200, text="data: {}\n\n")
            return httpx.Response(
                402, content=self.body, headers={"content-type": self.content_type}
            )
        if self.shows(self.origin_lag):
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=GATE)

    def top_up(self, error: http402.PaymentRequiredError) -> Retry:
        self.top_ups.append(error.reason)
        if self.topped_up_at is None:
            self.topped_up_at = self.clock()
        return Retry(within=60)

    async def atop_up(self, error: http402.PaymentRequiredError) -> Retry:
        return self.top_up(error)


@pytest.mark.parametrize("wordless", sorted(WORDLESS_402S))
@pytest.mark.parametrize("form", ["one hook", "a hook per reason"])
def test_a_wordless_402_inside_an_open_window_follows_its_episode(wordless: str, form: str) -> None:
    """The credits gate's hook tops up (`Retry(within=60)`); 15 s later, inside the window, a
    request behind the edge meets a 402 that says nothing: the same 402 unexplained, not
    another problem of the account. It replays in the open episode until the edge catches
    up, and the hook is not called again (case 95: it led an `unknown` episode and bought
    again). Once the window has closed, a wordless 402 is a need of its own again."""
    clock = VirtualClock()
    edge = _Edge(clock, wordless, origin_lag=10, edge_lag=40)
    hooks: Any = (
        edge.top_up
        if form == "one hook"
        else {Reason.INSUFFICIENT_CREDITS: edge.top_up, Reason.UNKNOWN: edge.top_up}
    )
    client = http402.wrap(
        httpx.Client(base_url="https://api.example.com", transport=httpx.MockTransport(edge)),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
        on_payment_required=hooks,
    )
    assert client.get("/v1/generate").status_code == 200
    clock.now += 5  # inside the window
    assert client.get("/v1/stream").status_code == 200
    assert edge.top_ups == [Reason.INSUFFICIENT_CREDITS]
    assert clock.now >= edge.topped_up_at + 40  # it waited for the edge, in the window

    clock.now = edge.topped_up_at + 61  # the window has closed
    edge.edge_lag = 10_000  # the edge is gated again: a need of its own
    with pytest.raises(http402.PaymentRequiredError):
        client.get("/v1/stream")
    assert edge.top_ups == [Reason.INSUFFICIENT_CREDITS, Reason.UNKNOWN]


@pytest.mark.anyio
async def test_a_wordless_402_inside_an_open_window_follows_its_episode_async() -> None:
    """The async twin (asyncio and trio)."""
    clock = VirtualClock()
    edge = _Edge(clock, "nginx page", origin_lag=10, edge_lag=40)
    client = http402.wrap(
        httpx.AsyncClient(base_url="https://api.example.com", transport=httpx.MockTransport(edge)),
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
        on_payment_required=edge.atop_up,
    )
    assert (await client.get("/v1/generate")).status_code == 200
    clock.now += 5
    assert (await client.get("/v1/stream")).status_code == 200
    assert edge.top_ups == [Reason.INSUFFICIENT_CREDITS]


def test_a_wordless_402_while_the_hook_runs_waits_for_that_hook() -> None:
    """Forced interleaving: while the credits hook runs, another request meets a wordless
    402. It joins the running episode (waits for its answer, then replays) instead of
    starting an `unknown` hook beside it."""
    clock = VirtualClock()
    edge = _Edge(clock, "empty body", origin_lag=0, edge_lag=0)
    running, release = threading.Event(), threading.Event()
    entered: list[Reason] = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        entered.append(error.reason)
        running.set()
        assert release.wait(30)
        return edge.top_up(error)

    client = http402.wrap(
        httpx.Client(base_url="https://api.example.com", transport=httpx.MockTransport(edge)),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
        on_payment_required=top_up,
    )
    answers: list[int] = []
    leader = threading.Thread(target=lambda: answers.append(client.get("/v1/generate").status_code))
    leader.start()
    assert running.wait(30)
    follower = threading.Thread(target=lambda: answers.append(client.get("/v1/stream").status_code))
    follower.start()
    book = client._transport._coordinator.book  # type: ignore[attr-defined]
    episode = book.running(next(iter(book._scopes)))  # the credits episode, still running
    while not episode._wakers and len(entered) < 2:  # it waits on it, or calls a hook
        assert follower.is_alive()
    release.set()
    leader.join(30)
    follower.join(30)
    assert sorted(answers) == [200, 200]
    assert edge.top_ups == [Reason.INSUFFICIENT_CREDITS]
