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
