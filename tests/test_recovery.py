"""Upgrade hooks and propagation-aware replay, through both transports.

Nothing here really sleeps: the transports take an injected `sleep` that only records.
"""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import Reason, Retry, RetryPolicy
from http402._episodes import FAILURE_HOLD

from .fakes import Account, Alerts

URL = "https://api.example.com/v1/generate"
PAYLOADS = Path(__file__).parent / "payloads"


class Clock:
    """A clock that moves only when a test moves it."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sleeps:
    """An injected sleep that records the waits asked for and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)


def sync_client(account: Account, sleeps: Sleeps | None = None, **options: Any) -> httpx.Client:
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(account.handler), sleep=sleeps or Sleeps(), **options
    )
    return httpx.Client(transport=transport)


def async_client(
    account: Account, sleeps: Sleeps | None = None, **options: Any
) -> httpx.AsyncClient:
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(account.handler), sleep=(sleeps or Sleeps()).asleep, **options
    )
    return httpx.AsyncClient(transport=transport)


class TestHooks:
    def test_a_hook_that_tops_up_gets_the_request_through(self) -> None:
        """The hook sees the typed error; its `Retry` replays until credits propagate."""
        account = Account(propagation=2)
        seen: list[http402.PaymentRequiredError] = []

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            seen.append(error)
            account.top_up(10)
            return Retry(within=60)

        sleeps = Sleeps()
        response = sync_client(account, sleeps, on_payment_required=top_up).post(URL)
        assert response.status_code == 200
        assert isinstance(seen[0], http402.InsufficientCreditsError)
        assert seen[0].payment.credits_required == 1
        assert len(account.requests) == 4  # the gate, two while propagating, the success
        # The scout replays at once (a top-up may show already), then waits before each
        # replay, on the geometric schedule (0.25 s x 1.3, +-10%).
        assert sleeps.waits == [pytest.approx(0.25 * 1.3**i, rel=0.11) for i in range(2)]
        # The fourth send: every send counts, as in `error.attempts` and the log records.
        assert response.extensions["http402.replay"] == {"attempt": 4}

    def test_returning_none_raises_the_typed_error(self) -> None:
        """A hook that declines leaves the error as it was."""
        account = Account()
        client = sync_client(account, on_payment_required=lambda error: None)
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(URL)
        assert len(account.requests) == 1

    def test_hooks_by_reason(self) -> None:
        """A mapping dispatches by reason; a reason without a hook raises as usual."""
        account = Account()
        calls: list[str] = []
        hooks = {Reason.PLAN_LIMIT_EXCEEDED: lambda e: calls.append("plan")}
        with pytest.raises(http402.InsufficientCreditsError):
            sync_client(account, on_payment_required=hooks).post(URL)
        assert calls == []

    def test_an_async_hook_on_the_sync_transport_is_a_type_error(self) -> None:
        """A sync transport cannot await, so it refuses a coroutine function up front."""

        async def hook(error: http402.PaymentRequiredError) -> None:
            return None

        with pytest.raises(TypeError, match="coroutine function"):
            http402.PaymentRequiredTransport(on_payment_required=hook)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="coroutine function"):
            http402.PaymentRequiredTransport(
                on_payment_required={"insufficient_credits": hook}  # type: ignore[dict-item]
            )

    def test_a_hook_returning_garbage_is_a_type_error(self) -> None:
        """Only `Retry` or `None` are answers."""
        client = sync_client(Account(), on_payment_required=lambda error: True)
        with pytest.raises(TypeError, match=r"must return http402\.Retry or None"):
            client.post(URL)

    def test_unknown_reason_keys_are_refused(self) -> None:
        """A typo in a reason is caught at construction."""
        with pytest.raises(ValueError, match="not_a_reason"):
            http402.PaymentRequiredTransport(on_payment_required={"not_a_reason": print})

    @pytest.mark.anyio
    async def test_async_hooks_and_sync_hooks_in_a_worker_thread(self) -> None:
        """The async transport awaits coroutine hooks and runs plain ones off the loop."""
        account = Account()
        loop_thread = threading.get_ident()
        threads: list[int] = []

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            threads.append(threading.get_ident())
            account.top_up(5)
            return Retry()

        async with async_client(account, on_payment_required=top_up) as client:
            assert (await client.post(URL)).status_code == 200
        assert threads and threads[0] != loop_thread

        async def atop_up(error: http402.PaymentRequiredError) -> Retry:
            account.top_up(5)
            return Retry()

        account.credits = 0
        async with async_client(account, on_payment_required=atop_up) as client:
            assert (await client.post(URL)).status_code == 200


class TestCoalescing:
    @pytest.mark.anyio
    async def test_200_concurrent_tasks_share_one_hook_call(self) -> None:
        """Every task waits for the one top-up, then replays; all succeed."""
        account = Account(propagation=3)
        everyone_gated = anyio.Event()
        account.on_gate = lambda n: everyone_gated.set() if n >= 200 else None
        calls = 0

        async def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            await everyone_gated.wait()
            account.top_up(1000)
            return Retry(within=30)

        statuses: list[int] = []
        async with async_client(account, on_payment_required=top_up) as client:

            async def call() -> None:
                statuses.append((await client.post(URL)).status_code)

            async with anyio.create_task_group() as tasks:
                for _ in range(200):
                    tasks.start_soon(call)
        assert calls == 1
        assert statuses == [200] * 200

    @pytest.mark.anyio
    async def test_cancelling_one_waiter_leaves_the_others_and_the_hook_alone(self) -> None:
        """One waiting task is cancelled; the hook finishes and the other waiters succeed."""
        account = Account()
        three_gated = anyio.Event()
        account.on_gate = lambda n: three_gated.set() if n >= 3 else None
        hook_running = anyio.Event()
        release = anyio.Event()
        calls = 0

        async def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            hook_running.set()
            await release.wait()
            account.top_up(10)
            return Retry()

        statuses: list[int] = []
        async with async_client(account, on_payment_required=top_up) as client:

            async def call() -> None:
                statuses.append((await client.post(URL)).status_code)

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(call)
                tasks.start_soon(call)
                await hook_running.wait()  # a leader is elected: the next request waits
                with anyio.CancelScope() as doomed:
                    async with anyio.create_task_group() as inner:
                        inner.start_soon(call)
                        await three_gated.wait()
                        await anyio.sleep(0.01)  # every request is now leading or waiting
                        doomed.cancel()
                release.set()
        assert doomed.cancelled_caught
        assert calls == 1
        assert statuses == [200, 200]

    def test_50_threads_share_one_hook_call(self) -> None:
        """The sync transport coalesces across threads the same way."""
        account = Account(propagation=2)
        everyone_gated = threading.Event()
        account.on_gate = lambda n: everyone_gated.set() if n >= 50 else None
        calls = 0

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            assert everyone_gated.wait(timeout=10)
            account.top_up(1000)
            return Retry()

        client = sync_client(account, on_payment_required=top_up)
        with ThreadPoolExecutor(max_workers=50) as pool:
            statuses = list(pool.map(lambda _: client.post(URL).status_code, range(50)))
        assert calls == 1
        assert statuses == [200] * 50

    def test_a_late_402_replays_without_a_second_hook_call(self) -> None:
        """A request sent before the hook finished, whose 402 arrives after, reuses it."""
        account = Account()
        hook_done = threading.Event()
        slow_started = threading.Event()

        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/slow" and "http402.replay" not in request.extensions:
                slow_started.set()
                assert hook_done.wait(timeout=10)
                return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})
            return account.handler(request)

        calls = 0

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            account.top_up(10)
            hook_done.set()
            return Retry()

        client = httpx.Client(
            transport=http402.PaymentRequiredTransport(
                httpx.MockTransport(handler), on_payment_required=top_up, sleep=Sleeps()
            )
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            slow = pool.submit(client.post, "https://api.example.com/slow")
            assert slow_started.wait(timeout=10)
            fast = pool.submit(client.post, "https://api.example.com/fast")
            assert fast.result().status_code == 200
            assert slow.result().status_code == 200
        assert calls == 1

    def test_a_request_sent_while_credits_propagate_joins_the_open_episode(self) -> None:
        """After the hook's top-up, new gated requests replay instead of topping up again."""
        account = Account(propagation=4)
        calls = 0
        pool = ThreadPoolExecutor(max_workers=1)
        later: list[Any] = []

        def handler(request: httpx.Request) -> httpx.Response:
            replay = request.extensions.get("http402.replay")
            if request.url.path == "/a" and replay == {"attempt": 2}:
                # Sent after the hook finished, before its credits show: request B. It waits
                # for A, the episode's scout, so A does not wait for it here.
                later.append(pool.submit(client.post, "https://api.example.com/b"))
            return account.handler(request)

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            account.top_up(10)
            return Retry(within=60)

        client = httpx.Client(
            transport=http402.PaymentRequiredTransport(
                httpx.MockTransport(handler), on_payment_required=top_up, sleep=Sleeps()
            )
        )
        assert client.post("https://api.example.com/a").status_code == 200
        assert later[0].result().status_code == 200
        assert calls == 1
        pool.shutdown()

    def test_a_stale_402_handled_after_the_gate_lifted_does_not_top_up_again(self) -> None:
        """A request sent before the lift, whose 402 is handled after it, just replays."""
        account = Account(propagation=1)
        hook_returned = threading.Event()
        b_served = threading.Event()
        lifted = threading.Event()
        calls = 0

        def handler(request: httpx.Request) -> httpx.Response:
            replay = "http402.replay" in request.extensions
            if request.url.path == "/a" and replay:
                assert b_served.wait(timeout=10)  # b is sent while the credits propagate
            response = account.handler(request)
            if request.url.path == "/b" and not replay:
                b_served.set()
                assert lifted.wait(timeout=10)  # ...and its 402 is handled after the lift
            return response

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            account.top_up(10)
            hook_returned.set()
            return Retry(within=60)

        client = httpx.Client(
            transport=http402.PaymentRequiredTransport(
                httpx.MockTransport(handler), on_payment_required=top_up, sleep=Sleeps()
            )
        )
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(client.post, "https://api.example.com/a")
            assert hook_returned.wait(timeout=10)
            second = pool.submit(client.post, "https://api.example.com/b")
            assert first.result(timeout=10).status_code == 200
            lifted.set()
            assert second.result(timeout=10).status_code == 200
        assert calls == 1

    def test_a_hook_that_raises_fails_its_waiters_and_the_next_burst_retries(self) -> None:
        """The hook's own exception reaches every waiter unchanged; a gate inside the short
        failure hold (an SDK's own retry) gets it too, without a hook call; after the hold,
        a new episode."""
        account = Account()
        everyone_gated = threading.Event()
        account.on_gate = lambda n: everyone_gated.set() if n >= 5 else None
        calls = 0
        failure = RuntimeError("billing API is down")

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            nonlocal calls
            calls += 1
            if calls == 1:
                assert everyone_gated.wait(timeout=10)
                raise failure
            account.top_up(10)
            return Retry()

        clock = Clock()
        coordinator = http402.LocalCoordinator(clock=clock)
        client = sync_client(account, on_payment_required=top_up, coordinator=coordinator)
        with ThreadPoolExecutor(max_workers=5) as pool:
            futures = [pool.submit(client.post, URL) for _ in range(5)]
            errors = [f.exception() for f in futures]
        assert all(error is failure for error in errors)
        assert len(account.requests) == 5  # nothing was replayed
        clock.now += FAILURE_HOLD - 0.1
        with pytest.raises(RuntimeError) as again:
            client.post(URL)
        assert again.value is failure
        assert calls == 1
        clock.now += 0.2
        assert client.post(URL).status_code == 200
        assert calls == 2

    def test_scopes_are_separate_per_credential(self) -> None:
        """Two API keys are two accounts: each gets its own hook call."""
        account = Account()
        scopes: list[str] = []

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            scopes.append(error.request.headers["authorization"])
            account.top_up(1)
            return Retry()

        client = sync_client(account, on_payment_required=top_up)
        client.post(URL, headers={"Authorization": "Bearer key-one-000000"})
        client.post(URL, headers={"Authorization": "Bearer key-two-000000"})
        assert len(scopes) == 2

    def test_default_scope_holds_no_credential(self) -> None:
        """The scope names the origin and a digest, never the key itself."""
        request = httpx.Request("GET", URL, headers={"x-api-key": "sk-secret-1234567890"})
        scope = http402._replay.default_scope(request)
        assert scope.startswith("https://api.example.com:")
        assert "sk-secret" not in scope


class TestPropagationWindow:
    def test_a_gate_that_never_lifts_raises_after_bounded_replays(self) -> None:
        """The last typed error comes back with the attempts made and the time waited."""
        account = Account()
        sleeps = Sleeps()
        client = sync_client(
            account, sleeps, on_payment_required=lambda e: Retry(), retry=RetryPolicy(max_replays=4)
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        assert caught.value.attempts == 5
        assert len(account.requests) == 5
        assert caught.value.waited == pytest.approx(sum(sleeps.waits))

    def test_the_window_closes_before_a_wait_that_would_pass_it(self) -> None:
        """With `Retry-After: 30` and a 100 s window, three waits fit, not four.

        No replay is sent before the gate's `Retry-After`, the first one included.
        """
        account = Account()
        account.retry_after = "30"
        sleeps = Sleeps()
        client = sync_client(account, sleeps, on_payment_required=lambda e: Retry(within=100))
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        assert sleeps.waits == [pytest.approx(30.0, abs=0.01)] * 3
        assert caught.value.waited == pytest.approx(90.0, abs=0.03)
        assert caught.value.attempts == 4
        assert "gave up: retry after 30 s, beyond the propagation window" in str(caught.value)

    def test_a_retry_after_beyond_the_window_raises_at_once_and_is_kept(self) -> None:
        """`Retry-After: 3600` against a 120 s window: no hook call (it would buy nothing
        that a replay could use), no replay, and the error says when."""
        account = Account()
        account.retry_after = "3600"
        sleeps = Sleeps()
        calls: list[http402.PaymentRequiredError] = []
        client = sync_client(
            account, sleeps, on_payment_required=lambda e: calls.append(e) or Retry()
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        assert len(account.requests) == 1 and sleeps.waits == []
        assert caught.value.payment.retry_after == 3600
        assert "retry after 3600 s, beyond the propagation window" in str(caught.value)
        assert calls == []

    def test_backoff_is_geometric_capped_and_lightly_jittered(self) -> None:
        """After a replay at once, waits grow from 0.25 s by 1.3 up to 4 s, each within 10%
        of the curve, and replays go on until the window closes, not for a fixed count."""
        sleeps = Sleeps()
        client = sync_client(Account(), sleeps, on_payment_required=lambda e: Retry(within=60))
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        *on_curve, last = sleeps.waits
        curve = [min(4.0, 0.25 * 1.3**i) for i in range(len(on_curve))]
        assert all(abs(w - c) <= 0.1 * c + 1e-9 for w, c in zip(on_curve, curve, strict=True))
        # The last replay goes just before the window closes, not a whole step early.
        assert last < 4.4 and 59 < sum(sleeps.waits) < 60
        assert caught.value.attempts == len(sleeps.waits) + 2
        assert len(set(sleeps.waits)) > 1

    def test_max_replays_is_an_optional_extra_cap(self) -> None:
        """`RetryPolicy(max_replays=2)` stops after two replays, window or not."""
        account = Account()
        client = sync_client(
            account, on_payment_required=lambda e: Retry(), retry=RetryPolicy(max_replays=2)
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        assert caught.value.attempts == 3 and len(account.requests) == 3
        assert "replays ran out" in str(caught.value)

    def test_a_changed_reason_raises_the_new_error(self) -> None:
        """Credits arrive but the card is declined: that is the error to see."""
        answers = iter(
            [
                httpx.Response(402, json={"error": {"code": "insufficient_credits"}}),
                httpx.Response(402, json={"error": {"code": "card_declined"}}),
            ]
        )
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda request: next(answers)),
            on_payment_required=lambda e: Retry(),
            sleep=Sleeps(),
        )
        with pytest.raises(http402.PaymentFailedError) as caught:
            httpx.Client(transport=transport).post(URL)
        assert caught.value.attempts == 2

    @pytest.mark.anyio
    async def test_cancelling_during_the_wait_stops_promptly_and_sends_nothing_more(
        self,
    ) -> None:
        """A cancelled request stops in its wait; no replay goes out after it."""
        account = Account()
        account.retry_after = "60"
        gated = anyio.Event()
        account.on_gate = lambda n: gated.set()
        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler), on_payment_required=lambda e: Retry()
        )
        async with httpx.AsyncClient(transport=transport) as client:
            with anyio.move_on_after(5) as timeout:
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(client.post, URL)
                    await gated.wait()
                    await anyio.sleep(0.05)
                    tasks.cancel_scope.cancel()
            assert not timeout.cancelled_caught
        sent = len(account.requests)
        await anyio.sleep(0.1)
        assert sent == 1 and len(account.requests) == 1  # the gate; Retry-After holds the rest


class TestReplaySafety:
    @pytest.mark.parametrize(
        "body",
        [
            {"content": b"\x00\x01 raw bytes"},
            {"json": {"prompt": "hello", "n": 2}},
            {"data": {"field": "value"}},
            {"files": {"upload": ("a.txt", io.BytesIO(b"file contents"), "text/plain")}},
        ],
        ids=["bytes", "json", "form", "multipart-file"],
    )
    def test_replayable_bodies_are_sent_whole_again(self, body: dict[str, Any]) -> None:
        """The replay carries exactly the bytes the first attempt did."""
        account = Account()

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            account.top_up(1)
            return Retry()

        sync_client(account, on_payment_required=top_up).post(URL, **body)
        first, replay = account.bodies
        assert replay == first
        assert len(first) > 0

    def test_a_generator_body_is_not_sent_again_and_the_error_says_why(self) -> None:
        """A consumed stream cannot be replayed; the hook is not even called."""
        account = Account()
        calls: list[object] = []

        def body() -> Iterator[bytes]:
            yield b"streamed "
            yield b"once"

        client = sync_client(account, on_payment_required=calls.append)
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL, content=body())
        assert calls == []
        assert len(account.requests) == 1
        assert "not replayed" in str(caught.value)
        assert caught.value.not_replayed is not None

    def test_idempotency_key_and_caller_request_are_untouched(self) -> None:
        """Every replay carries the caller's Idempotency-Key byte for byte."""
        account = Account(propagation=2)

        def top_up(error: http402.PaymentRequiredError) -> Retry:
            account.top_up(1)
            return Retry(headers={"X-Fresh-Token": "t-123456789"})

        client = sync_client(account, on_payment_required=top_up)
        request = client.build_request("POST", URL, headers={"Idempotency-Key": "ik_9f/+=~.Zz-42"})
        assert client.send(request).status_code == 200
        keys = {r.headers.get_list("idempotency-key")[0] for r in account.requests}
        assert keys == {"ik_9f/+=~.Zz-42"}
        assert [r.extensions.get("http402.replay") for r in account.requests] == [
            None,
            {"attempt": 2},
            {"attempt": 3},
            {"attempt": 4},
        ]
        assert "x-fresh-token" not in request.headers
        assert "http402.replay" not in request.extensions

    def test_a_hook_may_not_change_the_idempotency_key(self) -> None:
        """Retry refuses to carry an Idempotency-Key."""
        with pytest.raises(ValueError, match="Idempotency-Key"):
            Retry(headers={"Idempotency-Key": "other"})

    def test_no_connection_leaks_with_a_pool_of_one(self) -> None:
        """Each 402 is closed before its replay: one pooled connection serves them all."""
        from http402._demo import DemoProvider

        provider = DemoProvider(credits=0, price=1)
        provider.start()
        try:

            def top_up(error: http402.PaymentRequiredError) -> Retry:
                provider.credits += 1
                return Retry()

            inner = httpx.HTTPTransport(limits=httpx.Limits(max_connections=1))
            scopes = iter(range(100))  # a scope per request: each gets its own top-up
            transport = http402.PaymentRequiredTransport(
                inner,
                on_payment_required=top_up,
                sleep=Sleeps(),
                scope=lambda request: str(next(scopes)),
            )
            timeout = httpx.Timeout(5.0, pool=1.0)
            with httpx.Client(transport=transport, timeout=timeout) as client:
                for _ in range(5):
                    assert client.post(f"{provider.url}/v1/generate").status_code == 200
        finally:
            provider.stop()


class TestChallenges:
    def load(self, name: str) -> dict[str, Any]:
        return json.loads((PAYLOADS / f"{name}.json").read_text())

    def x402_handler(self, paid: list[str]) -> Any:
        wire = self.load("x402-v1-payment-requirements-body")["response"]

        def handler(request: httpx.Request) -> httpx.Response:
            if "x-payment" in request.headers:
                paid.append(request.headers["x-payment"])
                return httpx.Response(200, json={"data": "premium"})
            return httpx.Response(402, headers=wire["headers"], content=wire["body"].encode())

        return handler

    def test_a_challenge_is_paid_per_request_and_replayed_with_the_proof(self) -> None:
        """Each request calls the hook with its priced offers and pays its own price."""
        paid: list[str] = []
        offers: list[Decimal | None] = []

        def pay(error: http402.PaymentRequiredError) -> Retry:
            offers.append(error.payment.payment_options[0].amount)
            return Retry(headers={"X-PAYMENT": f"proof-{len(offers)}-abcdefgh"})

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(self.x402_handler(paid)),
            on_payment_required={Reason.PAYMENT_CHALLENGE: pay},
        )
        client = httpx.Client(transport=transport)
        assert client.get("https://api.example.com/premium-data").status_code == 200
        assert client.get("https://api.example.com/premium-data").status_code == 200
        assert offers == [Decimal(10000), Decimal(10000)]
        assert paid == ["proof-1-abcdefgh", "proof-2-abcdefgh"]

    def test_the_spend_policy_refuses_an_offer_over_its_limit_before_any_hook(self) -> None:
        """Fail closed: above `max_amount`, nothing is paid and the hook is not called."""
        calls: list[object] = []
        policy = http402.SpendPolicy(
            max_amount={"0x036CbD53842c5426634e7929541eC2318f3dCF7e": 5000}
        )
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(self.x402_handler([])),
            on_payment_required=calls.append,
            spend_policy=policy,
        )
        with pytest.raises(http402.PaymentChallengeError) as caught:
            httpx.Client(transport=transport).get("https://api.example.com/premium-data")
        assert calls == []
        assert "exceeds max_amount 5000" in str(caught.value)

    def test_the_spend_policy_window_and_allow_lists(self) -> None:
        """Per-window totals, networks, assets and payees are all enforced."""
        asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
        now = [0.0]
        policy = http402.SpendPolicy(
            max_amount={asset: 10_000},
            max_per_window={asset: 25_000},
            window=60,
            allowed_networks={"base-sepolia"},
            clock=lambda: now[0],
        )
        payment = http402.classify(
            httpx.Response(
                402,
                content=self.load("x402-v1-payment-requirements-body")["response"]["body"].encode(),
            )
        )
        assert payment is not None
        policy.record(policy.screen(payment)[0], None)  # 10000 spent
        assert policy.screen(payment)[0] == payment.payment_options  # 20000 <= 25000
        policy.record(payment.payment_options, None)  # 20000 spent
        allowed, why = policy.screen(payment)  # 30000 > 25000
        assert allowed == () and why is not None and "max_per_window" in why
        now[0] = 61.0
        assert policy.screen(payment)[0] == payment.payment_options
        strict = http402.SpendPolicy(max_amount={asset: 10_000}, allowed_payees={"0xsomeone"})
        assert strict.screen(payment)[0] == ()
        unlisted = http402.SpendPolicy(max_amount={"other-asset": 10**9})
        assert "no max_amount" in (unlisted.screen(payment)[1] or "")

    def test_a_402_after_the_paid_replay_raises_with_the_servers_reason(self) -> None:
        """x402's PAYMENT-RESPONSE failure comes back as a PaymentChallengeError; the proof
        never shows in str, repr or logs."""
        settlement = self.load("x402-v2-settlement-failed-payment-response-402")["response"]
        challenge = self.load("x402-v2-payment-required-header")["response"]

        def handler(request: httpx.Request) -> httpx.Response:
            wire = settlement if "payment-signature" in request.headers else challenge
            return httpx.Response(402, headers=wire["headers"], content=wire["body"].encode())

        proof = "eyJzaWduYXR1cmUiOiJ0b3Atc2VjcmV0LXByb29mIn0="
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            on_payment_required={
                Reason.PAYMENT_CHALLENGE: lambda e: Retry(headers={"PAYMENT-SIGNATURE": proof})
            },
        )
        with pytest.raises(http402.PaymentChallengeError) as caught:
            httpx.Client(transport=transport).get("https://api.example.com/premium-data")
        error = caught.value
        assert "insufficient_funds" in str(error)
        assert error.attempts == 2
        assert proof not in str(error) + repr(error) + repr(error.payment)

    @pytest.mark.parametrize(
        ("after_first", "expected_calls", "outcome"),
        [("challenge", 2, 200), ("credits", 1, http402.PaymentChallengeError)],
    )
    def test_max_payments_pays_a_fresh_challenge_and_stops_on_anything_else(
        self, after_first: str, expected_calls: int, outcome: Any
    ) -> None:
        """With two payments allowed, a new price is paid again; another gate is final."""
        challenge = self.load("x402-v1-payment-requirements-body")["response"]
        paid: list[str] = []

        def handler(request: httpx.Request) -> httpx.Response:
            if "x-payment" not in request.headers:
                return httpx.Response(402, content=challenge["body"].encode())
            paid.append(request.headers["x-payment"])
            if len(paid) == 2:
                return httpx.Response(200, json={"data": "premium"})
            if after_first == "challenge":
                return httpx.Response(402, content=challenge["body"].encode())
            return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})

        calls: list[object] = []

        def pay(error: http402.PaymentRequiredError) -> Retry:
            calls.append(error)
            return Retry(headers={"X-PAYMENT": f"proof-{len(calls)}-abcdefgh"})

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            on_payment_required={Reason.PAYMENT_CHALLENGE: pay},
            max_payments=2,
        )
        client = httpx.Client(transport=transport)
        if outcome == 200:
            assert client.get("https://api.example.com/premium-data").status_code == 200
        else:
            with pytest.raises(outcome):
                client.get("https://api.example.com/premium-data")
        assert len(calls) == expected_calls


class TestKnowBeforeYouPay:
    def test_preflight_fails_fast_while_the_scope_is_gated(self) -> None:
        """Within the TTL, a known gate is raised again without sending the request."""
        account = Account()
        client = sync_client(account, preflight=http402.Preflight(gate_ttl=30))
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(URL)
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(URL)
        assert len(account.requests) == 1
        assert caught.value.attempts == 0
        assert "not sent" in str(caught.value)
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(URL, headers={"x-api-key": "another-key-123456"})
        assert len(account.requests) == 2  # another scope is still sent

    def test_low_balance_hook_fires_once_per_drop(self) -> None:
        """A balance header below the threshold calls the hook once, until it recovers."""
        balances = iter([100, 40, 30, 80, 20])

        def handler(request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers={"X-Credits-Remaining": str(next(balances))})

        fired = Alerts()
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            low_balance=http402.LowBalanceWatch(fired, below=50),
        )
        client = httpx.Client(transport=transport)
        for _ in range(5):
            client.get(URL)
        alerts = sorted(fired.wait(2), key=lambda alert: alert.as_of)
        assert [alert.balance for alert in alerts] == [Decimal(40), Decimal(20)]
        assert {alert.trigger for alert in alerts} == {"balance"}
        assert alerts[0].threshold == 50 and len(alerts[0].scope_digest) == 16

    def test_a_low_balance_watch_needs_a_threshold(self) -> None:
        """A hook without a threshold is a mistake caught up front."""
        with pytest.raises(ValueError, match="below or within"):
            http402.LowBalanceWatch(print)


def test_telemetry_records_have_the_fields_and_no_credential(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Log records carry billing_gate_reason, provider, scope, attempt and waited."""
    account = Account(propagation=1)

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        account.top_up(1)
        return Retry()

    caplog.set_level(logging.INFO, logger="http402")
    sync_client(account, on_payment_required=top_up).post(
        URL, headers={"Authorization": "Bearer sk-telemetry-secret-0000"}
    )
    records = [r for r in caplog.records if hasattr(r, "billing_gate_reason")]
    assert {r.http402_event for r in records} >= {"still_gated", "recovered"}  # type: ignore[attr-defined]
    for record in records:
        assert record.billing_gate_reason == "insufficient_credits"  # type: ignore[attr-defined]
        assert record.scope.startswith("https://api.example.com:")  # type: ignore[attr-defined]
        assert record.billing_gate_kind == "payment"  # type: ignore[attr-defined]
        assert record.provider == "generic"  # type: ignore[attr-defined]
    assert "sk-telemetry-secret" not in caplog.text


def test_wrap_shares_one_coordinator_across_mounts() -> None:
    """A scope reached through two mounts still gets one hook call per episode."""
    account = Account()
    client = http402.wrap(
        httpx.Client(
            transport=httpx.MockTransport(account.handler),
            mounts={"https://api.example.com/v2": httpx.MockTransport(account.handler)},
        ),
        on_payment_required=lambda e: Retry(),
        sleep=Sleeps(),
    )
    transports = [client._transport, *client._mounts.values()]
    coordinators = {id(t._coordinator) for t in transports}  # type: ignore[union-attr]
    assert len(coordinators) == 1


def test_opentelemetry_span_events(monkeypatch: pytest.MonkeyPatch) -> None:
    """With opentelemetry installed, the current span gets an event per step."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    account = Account(propagation=1)

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        account.top_up(1)
        return Retry()

    with provider.get_tracer("test").start_as_current_span("call"):
        sync_client(account, on_payment_required=top_up).post(URL)
    (span,) = exporter.get_finished_spans()
    events = {event.name: dict(event.attributes or {}) for event in span.events}
    assert {"http402.still_gated", "http402.recovered"} <= set(events)
    assert events["http402.recovered"]["billing_gate_reason"] == "insufficient_credits"
    assert events["http402.recovered"]["attempt"] == 3
