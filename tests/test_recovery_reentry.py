"""A request a hook sends passes through recovery (case 112).

A top-up hook often calls the API it tops up before or while buying (an account or balance
endpoint, a billing call on the provider's own host), with the same client and key. Its
request is a gated request of the very scope whose hook is running: were it to join that
episode, it would wait on itself for ever. Every hook call runs in a context marked with
its coordinator's book (`_episodes.running_hook`); a gate met by a request in that context
raises its typed error at once: no hook, no wait, no hold asked. The marker is a context
variable, so it follows the hook into a thread started with its context copied and into
asyncio and trio tasks, and it stays with the hook (the next job of a hook worker, the next
request of the caller, recover as before).

The API is `httpx.MockTransport`; the hook's answer is awaited through its episode, with a
`hook_timeout` only so that a regression fails the test instead of hanging it. No sleeps.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason, Retry

from .fakes import VirtualClock

URL = "https://api.example.com/v1/chat"
ACCOUNT = "https://api.example.com/v1/account"
KEY = {"authorization": "Bearer sk-live-0123456789abcdef"}
EXHAUSTED = {"error": {"message": "Insufficient credits", "code": 402}}


class Account:
    """An account that answers every request with its 402 until the hook funds it."""

    def __init__(self) -> None:
        self.funded = False
        self.lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        response = httpx.Response if isinstance(request, httpx.Request) else _httpx2().Response
        with self.lock:
            if self.funded:
                return response(200, json={"ok": True})
        return response(402, json=EXHAUSTED)


def _httpx2() -> Any:
    return pytest.importorskip("httpx2")


def _same_client(client: Any, other: Any) -> Callable[[], Any]:
    return lambda: client.get(ACCOUNT, headers=KEY)


def _another_client(client: Any, other: Any) -> Callable[[], Any]:
    return lambda: other.get(ACCOUNT, headers=KEY)


def _a_thread_with_the_hooks_context(client: Any, other: Any) -> Callable[[], Any]:
    def look() -> Any:
        seen: list[Any] = []

        def send() -> None:
            try:
                seen.append(client.get(ACCOUNT, headers=KEY))
            except Exception as exc:
                seen.append(exc)

        worker = threading.Thread(target=contextvars.copy_context().run, args=(send,))
        worker.start()
        worker.join(10)
        if isinstance(seen[0], Exception):
            raise seen[0]
        return seen[0]

    return look


@pytest.mark.parametrize(
    "how",
    [_same_client, _another_client, _a_thread_with_the_hooks_context],
    ids=lambda f: f.__name__,
)
@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_request_a_hook_sends_meets_its_gate_at_once(how: Any, library: str) -> None:
    """The hook looks the account up through the client it tops up (or another client of
    the same coordinator, or a thread it starts with its context): that request raises the
    account's gate at once instead of joining the episode whose hook sent it; the hook then
    buys, and the request that led gets its 200. One hook call."""
    api, seen, calls = Account(), [], []
    if library == "httpx":
        wrap, make = http402.wrap, lambda: httpx.Client(transport=httpx.MockTransport(api))
    else:
        httpx2 = _httpx2()
        import http402.httpx2 as wrapped

        wrap, make = wrapped.wrap, lambda: httpx2.Client(transport=httpx2.MockTransport(api))
    clock = VirtualClock()
    coordinator = http402.LocalCoordinator(clock=clock)
    options = {"coordinator": coordinator, "hook_timeout": 10, "sleep": clock.sleep}

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason)
        try:
            seen.append(look().status_code)
        except Exception as exc:
            seen.append(type(exc).__name__)
        with api.lock:
            api.funded = True
        return Retry(within=30)

    client = wrap(make(), on_payment_required=top_up, **options)
    other = wrap(make(), on_payment_required=top_up, **options)
    look = how(client, other)
    assert client.post(URL, json={}, headers=KEY).status_code == 200
    assert seen == ["InsufficientCreditsError"]
    assert calls == [Reason.INSUFFICIENT_CREDITS]
    # The marker stayed with the hook: the caller's next exhaustion recovers as before.
    api.funded = False
    clock.now += 60  # past the first top-up's window
    assert client.post(URL, json={"again": 1}, headers=KEY).status_code == 200
    assert len(calls) == 2


def test_a_pay_hook_that_meets_a_price_does_not_pay_it_again() -> None:
    """A pay hook that fetches the resource's terms through the same client meets the price
    itself: it raises at once, with no second payment and no wait on the first."""
    paid, seen = [], []

    def api(request: httpx.Request) -> httpx.Response:
        if "x-payment" in request.headers:
            return httpx.Response(200, json={"ok": True})
        accepts = [
            {
                "scheme": "exact",
                "network": "base",
                "maxAmountRequired": "10000",
                "asset": "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
                "payTo": "0x209693Bc6afc0C5328bA36FaF03C514EF312287C",
                "resource": str(request.url),
                "maxTimeoutSeconds": 60,
            }
        ]
        return httpx.Response(402, json={"x402Version": 1, "error": "pay", "accepts": accepts})

    def pay(error: http402.PaymentRequiredError) -> Retry:
        try:
            seen.append(client.get("https://api.example.com/terms").status_code)
        except http402.PaymentRequiredError as exc:
            seen.append(type(exc).__name__)
        paid.append(1)
        return Retry(headers={"X-PAYMENT": "signed-proof-0123456789"})

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={Reason.PAYMENT_CHALLENGE: pay},
        hook_timeout=10,
    )
    assert client.get("https://api.example.com/report").status_code == 200
    assert seen == ["PaymentChallengeError"]
    assert paid == [1]


@pytest.mark.anyio
@pytest.mark.parametrize("hook_kind", ["coroutine", "plain, through the sync twin"])
async def test_a_request_an_async_hook_sends_meets_its_gate_at_once(hook_kind: str) -> None:
    """The async twin, under asyncio and trio: a coroutine hook awaits a request through the
    client it tops up, or a plain hook (run in a worker thread) sends one through a sync
    client of the coordinator's twin. Either raises the gate at once."""
    api, seen, calls = Account(), [], []
    coordinator = http402.AsyncLocalCoordinator()
    sync_client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        coordinator=coordinator.twin(),
        on_payment_required=lambda error: None,
        hook_timeout=10,
    )

    async def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason)
        try:
            seen.append((await client.get(ACCOUNT, headers=KEY)).status_code)
        except Exception as exc:
            seen.append(type(exc).__name__)
        api.funded = True
        return Retry(within=30)

    def plain(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason)
        try:
            seen.append(sync_client.get(ACCOUNT, headers=KEY).status_code)
        except Exception as exc:
            seen.append(type(exc).__name__)
        api.funded = True
        return Retry(within=30)

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(api)),
        on_payment_required=top_up if hook_kind == "coroutine" else plain,
        coordinator=coordinator,
        hook_timeout=10,
    )
    async with client:
        assert (await client.post(URL, json={}, headers=KEY)).status_code == 200
    assert seen == ["InsufficientCreditsError"]
    assert calls == [Reason.INSUFFICIENT_CREDITS]


def test_the_marker_is_the_hooks_alone() -> None:
    """Outside a hook nothing is marked; inside, only that hook's book; and a hook worker's
    next job starts unmarked, whatever the last one set (jobs run in a copy of the
    submitter's context)."""
    from http402 import _workers
    from http402._episodes import EpisodeBook, inside_hook, running_hook

    book, other = EpisodeBook(), EpisodeBook()
    assert not inside_hook(book)
    with running_hook(book):
        assert inside_hook(book) and not inside_hook(other)
    assert not inside_hook(book)
    leaked = contextvars.ContextVar("leaked", default="clean")
    seen: list[tuple[str, bool]] = []
    done = [threading.Event() for _ in range(40)]

    def job(at: int) -> None:
        seen.append((leaked.get(), inside_hook(book)))
        leaked.set("dirty")  # a hook that sets a context variable and never resets it
        done[at].set()

    for at in range(40):  # more jobs than workers: workers are reused
        _workers.run(lambda at=at: job(at))
        assert done[at].wait(10)
    assert set(seen) == {("clean", False)}
