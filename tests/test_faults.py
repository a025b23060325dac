"""Fault injection: what the transports do when the network, the hook or the layers around
them misbehave during recovery."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import Retry, RetryPolicy

from .fakes import insufficient

URL = "https://api.example.com/v1/generate"


def no_wait(seconds: float) -> None:
    pass


def scripted(*steps: Any) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler that plays `steps` in order: a status code to answer, or an exception to
    raise; the last step repeats. Requests that reach it are recorded."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, BaseException):
            raise step
        seen.append(request)
        body = insufficient(0, 1) if step == 402 else {"ok": True}
        return httpx.Response(step, json=body)

    return handler, seen


def client_for(handler: Any, **options: Any) -> httpx.Client:
    options.setdefault("on_payment_required", lambda error: Retry())
    options.setdefault("sleep", no_wait)
    return httpx.Client(
        transport=http402.PaymentRequiredTransport(httpx.MockTransport(handler), **options)
    )


def test_a_connect_error_on_replay_is_retried_within_the_budget() -> None:
    """Nothing was sent, so the replay may try again; the request then goes through."""
    handler, seen = scripted(402, httpx.ConnectError("refused"), 200)
    response = client_for(handler).post(URL)
    assert response.status_code == 200
    assert len(seen) == 2  # the gate, then the replay that got through


def test_connect_errors_until_the_budget_ends_surface_the_connect_error() -> None:
    """When no replay can even be sent, the connection error is what the caller sees."""
    handler, seen = scripted(402, httpx.ConnectError("refused"))
    client = client_for(handler, retry=RetryPolicy(max_replays=4))
    with pytest.raises(httpx.ConnectError):
        client.post(URL)
    assert len(seen) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("peer closed")],
    ids=["read-timeout", "remote-protocol-error"],
)
def test_a_failure_after_sending_is_surfaced_and_never_resent(failure: Exception) -> None:
    """A replay that may have reached the server is not sent again, nor the hook rerun: the
    outcome is unknown, said with the failure as its cause, and the scope is held."""
    calls: list[object] = []
    sent: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(1)
        if "http402.replay" not in request.extensions:
            return httpx.Response(402, json=insufficient(0, 1))
        raise failure

    def hook(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error)
        return Retry()

    client = client_for(handler, on_payment_required=hook)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.post(URL)
    assert caught.value.__cause__ is failure
    assert len(sent) == 2
    assert len(calls) == 1
    # Another request of the scope replays in the window (that pays nothing) and meets the
    # same fault: never a second top-up.
    with pytest.raises(http402.PaymentOutcomeUnknownError):
        client.post(URL)
    assert len(calls) == 1 and len(sent) == 4


def test_a_hanging_sync_hook_times_out_for_every_waiter() -> None:
    """`hook_timeout` fails the episode with `TimeoutError`, promptly, for all its waiters."""
    release = threading.Event()

    def hanging(error: http402.PaymentRequiredError) -> Retry:
        release.wait(10)
        return Retry()

    handler, _ = scripted(402)
    client = client_for(handler, on_payment_required=hanging, hook_timeout=0.2)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.post(URL)
        except BaseException as exc:
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    release.set()
    assert time.monotonic() - started < 5
    assert len(errors) == 3
    assert all(isinstance(error, TimeoutError) for error in errors)


@pytest.mark.anyio
async def test_a_hanging_async_hook_times_out() -> None:
    """The async transport bounds a coroutine hook the same way."""

    async def hanging(error: http402.PaymentRequiredError) -> Retry:
        await anyio.sleep(30)
        return Retry()

    handler, _ = scripted(402)
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(handler), on_payment_required=hanging, hook_timeout=0.2
    )
    started = time.monotonic()
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(TimeoutError):
            await client.post(URL)
    assert time.monotonic() - started < 5


def test_hook_timeout_must_be_positive() -> None:
    """A zero or negative timeout is refused at construction."""
    with pytest.raises(ValueError, match="hook_timeout"):
        http402.PaymentRequiredTransport(hook_timeout=0)


def test_a_redirect_on_replay_to_another_origin_drops_the_credentials() -> None:
    """A replay answered by a cross-origin redirect: the client follows it without the
    caller's Authorization and without the hook's payment headers."""
    seen: dict[str, httpx.Request] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "elsewhere.example":
            seen["redirected"] = request
            return httpx.Response(200, json={"ok": True})
        if "http402.replay" in request.extensions:
            return httpx.Response(302, headers={"location": "https://elsewhere.example/x"})
        return httpx.Response(402, json=insufficient(0, 1))

    client = client_for(
        handler,
        on_payment_required=lambda error: Retry(headers={"PAYMENT-SIGNATURE": "proof-123456"}),
    )
    client.follow_redirects = True
    response = client.post(URL, headers={"Authorization": "Bearer sk-secret-0000000000"})
    assert response.status_code == 200
    redirected = seen["redirected"]
    assert "authorization" not in redirected.headers
    assert "payment-signature" not in redirected.headers


def test_an_sdks_own_retries_around_the_transport_stay_bounded() -> None:
    """Raise mode inside the openai SDK: the SDK does not retry an error it does not know, so
    the request is sent once plus our bounded replays, and our typed error comes out.

    (Annotate mode is the setting for SDKs: their own error types, and no retried gates.)"""
    openai = pytest.importorskip("openai")
    import httpx2

    import http402.httpx2

    sent: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        sent.append(1)
        return httpx2.Response(429, json={"error": {"code": "insufficient_quota"}})

    transport = http402.httpx2.PaymentRequiredTransport(
        httpx2.MockTransport(handler),
        on_payment_required=lambda error: Retry(),
        retry=RetryPolicy(max_replays=3),
        sleep=no_wait,
    )
    client = openai.OpenAI(
        api_key="sk-test-0000000000000000",
        http_client=httpx2.Client(transport=transport),
        max_retries=2,
    )
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        client.chat.completions.create(model="m", messages=[])
    assert len(sent) == 1 + 3
    assert caught.value.attempts == 4
