"""The low-balance hook runs off the request: an alert never delays the response that carried
it (`docs/safety.md`, "An alert never delays the response that carried it").

Interleavings are forced: each hook waits on an event the test sets only after it has the
response (its first bytes, for a stream) in hand.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import anyio
import httpx
import pytest

import http402

URL = "https://api.vendor.example/v1/run"
STREAM = "https://api.vendor.example/v1/stream"
KEY = {"x-api-key": "k-live-0123456789abcdef"}


def vendor(request: httpx.Request) -> httpx.Response:
    """A 200 whose balance header crosses the watch's threshold (50, below 100)."""
    if request.url.path == "/v1/stream":
        return httpx.Response(
            200,
            headers={"content-type": "text/event-stream", "X-Credits-Remaining": "50"},
            content=b'data: {"choices":[{"delta":{"content":"Hello"}}]}\n\ndata: [DONE]\n\n',
        )
    return httpx.Response(200, headers={"X-Credits-Remaining": "50"}, json={"ok": True})


class BlockedTopUp:
    """A plain low-balance hook that tops up only once the test lets it."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()

    def __call__(self, alert: http402.LowBalance) -> None:
        self.started.set()
        assert self.release.wait(10), "the test never let the hook finish"
        self.done.set()


@pytest.mark.parametrize("url", [URL, STREAM])
def test_the_crossing_response_is_handed_back_before_the_hook_ends(url: str) -> None:
    """Case 70: the 200 that crossed the threshold (and a stream's first token) reaches its
    caller while the low-balance hook is still running."""
    hook = BlockedTopUp()
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(vendor), headers=KEY),
        low_balance=http402.LowBalanceWatch(hook, below=100),
    )
    with client, client.stream("POST", url, json={}) as response:
        first = next(response.iter_bytes())
        assert response.status_code == 200 and first
        assert not hook.done.is_set()  # the hook has not finished: nobody waited for it
    hook.release.set()
    assert hook.done.wait(10)


@pytest.mark.anyio
@pytest.mark.parametrize("url", [URL, STREAM])
async def test_an_async_crossing_response_is_handed_back_before_the_hook_ends(url: str) -> None:
    """The async twin, with a coroutine hook: it runs in a task that nobody awaits."""
    release, done = anyio.Event(), anyio.Event()

    async def top_up(alert: http402.LowBalance) -> None:
        await release.wait()
        done.set()

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(vendor), headers=KEY),
        low_balance=http402.LowBalanceWatch(top_up, below=100),
    )
    with anyio.fail_after(10):  # the response must not wait for the hook
        async with client, client.stream("POST", url, json={}) as response:
            chunks = [chunk async for chunk in response.aiter_bytes()]
            assert chunks and chunks[0]  # the stream's first token, the hook still running
            assert response.status_code == 200 and not done.is_set()
    release.set()
    with anyio.fail_after(10):
        await done.wait()


@pytest.mark.anyio
async def test_an_async_transport_runs_a_plain_hook_in_a_worker_off_the_request() -> None:
    hook = BlockedTopUp()
    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(vendor), headers=KEY),
        low_balance=http402.LowBalanceWatch(hook, below=100),
    )
    async with client:
        assert (await client.post(URL, json={})).status_code == 200
        assert not hook.done.is_set()
        await anyio.to_thread.run_sync(hook.started.wait, 10)
    hook.release.set()
    assert hook.done.wait(10)


@pytest.mark.anyio
async def test_an_async_hook_past_hook_timeout_is_cancelled_and_said_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Nobody waits for the hook, so `hook_timeout` bounds the hook's task itself."""
    cancelled = anyio.Event()

    async def hung(alert: http402.LowBalance) -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(vendor), headers=KEY),
        low_balance=http402.LowBalanceWatch(hung, below=100),
        hook_timeout=0.05,
    )
    async with client:
        assert (await client.post(URL, json={})).status_code == 200
        with anyio.fail_after(10):
            await cancelled.wait()
        await anyio.lowlevel.checkpoint()  # the task logs once its hook is cut off
    assert "did not finish within hook_timeout" in caplog.text


def test_a_hook_that_moves_money_finishes_before_the_interpreter_exits(tmp_path: str) -> None:
    """The program ends as soon as it has its response; the top-up hook, still running in a
    worker of the hooks' pool, finishes first."""
    done = f"{tmp_path}/topped-up"
    program = textwrap.dedent(
        f"""
        import threading, time, httpx, http402
        started = threading.Event()
        def top_up(alert):
            started.set()
            time.sleep(0.3)  # the billing call, still under way when the program ends
            open({done!r}, "w").write(str(alert.balance))
        def vendor(request):
            return httpx.Response(200, headers={{"X-Credits-Remaining": "50"}})
        client = http402.wrap(httpx.Client(transport=httpx.MockTransport(vendor)),
                              low_balance=http402.LowBalanceWatch(top_up, below=100))
        client.get("https://api.vendor.example/v1/run")
        assert started.wait(10)
        print("answered", flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "answered\n"
    with open(done) as written:
        assert written.read() == "50"


# --- a running low-balance top-up is its scope's episode (case 139) ------------------------


def _gate(reason: str) -> dict[str, object]:
    return {"error": {"code": reason, "message": reason.replace("_", " ")}}


#: (the gate's reason, when the low-balance run ends relative to the gated request, what the
#: request gets when it is sent again, whether the gate's hook runs)
FOLLOWS = [
    ("insufficient_credits", "runs", 200, False),
    ("insufficient_credits", "runs", 402, True),
    ("insufficient_credits", "ended after it was sent", 200, False),
    ("insufficient_credits", "ended before it was sent", None, True),
    ("unknown", "runs", 200, False),
    ("subscription_expired", "runs", None, True),
]


@pytest.mark.parametrize(("reason", "run", "again", "hook_runs"), FOLLOWS)
def test_a_gate_follows_the_scopes_low_balance_top_up(
    reason: str, run: str, again: int | None, hook_runs: bool
) -> None:
    """Case 139's kind in the core, on a fake clock: while the low-balance hook of a scope
    runs (or it ended after the gated request was sent), a gate of credits (or a wordless
    one) waits for it, with no hook started, and the request is sent once more: it gets
    through, or meets the gate again and leads an episode of its own. A run that ended
    before the request was sent, or a gate another top-up does not answer (a lapsed
    subscription), leads at once."""
    from http402._actions import Gated, Send, Sent, StartHook, Wait
    from http402._exceptions import error_for
    from http402._replay import default_scope

    from .test_flow import Driver, recovery

    hooks: list[str] = []
    sends: list[str] = []

    def respond(request: httpx.Request, now: float) -> object:
        sends.append(request.url.path)
        if len(sends) > 1 and again == 200:
            return Sent(httpx.Response(200, json={}, request=request))
        body = b"" if reason == "unknown" else None
        response = (
            httpx.Response(402, content=body, request=request)
            if body is not None
            else httpx.Response(402, json=_gate(reason), request=request)
        )
        payment = http402.classify(response)
        assert payment is not None and payment.reason.value == reason
        return Gated(error_for(payment, request=request, response=response))

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
        hooks.append(error.reason.value)
        return None

    driver = Driver(recovery(top_up), respond)
    book = driver.coordinator.book
    scope = default_scope(httpx.Request("POST", "https://api.example.com/v1/generate"))
    running = None
    if run == "ended before it was sent":
        book.low_balance_ended(book.low_balance_started(scope))
    else:
        running = book.low_balance_started(scope)
    flow = driver.start()
    action = flow.send(None)
    assert isinstance(action, Send)
    if run == "ended after it was sent":
        assert running is not None
        book.low_balance_ended(running)
    action = flow.send(driver.perform(action))  # the gate
    if running is not None and not running.finished and reason != "subscription_expired":
        assert isinstance(action, Wait) and action.episode is running
        book.low_balance_ended(running)
        action = flow.send(None)
    status = None
    try:
        while True:
            assert not (isinstance(action, StartHook) and not hook_runs)
            action = flow.send(driver.perform(action))
    except StopIteration as done:
        status = done.value.status_code
    except http402.PaymentRequiredError:
        status = 402
    assert status == (200 if again == 200 else 402)
    assert bool(hooks) is hook_runs
    assert len(sends) == (1 if run == "ended before it was sent" or not again else 2)


class Buying:
    """The README's pattern: one purchase function for the low-balance hook and the gate's
    hook; the purchase waits on an event the test sets, and the credits land when it ends."""

    def __init__(self) -> None:
        self.credits = 50
        self.purchases: list[str] = []
        self.overlapped = False
        self.running = threading.Event()
        self.release = threading.Event()

    def buy(self, who: str) -> None:
        self.overlapped = self.overlapped or self.running.is_set()
        self.purchases.append(who)
        self.running.set()
        assert self.release.wait(10), "the test never let the purchase finish"
        self.credits += 1000
        self.running.clear()

    def api(self, http: object) -> object:
        answers = [0]

        def answer(request: object) -> object:
            answers[0] += 1
            if answers[0] == 1:
                return http.Response(200, json={}, headers={"X-Credits-Remaining": "50"})  # type: ignore[attr-defined]
            if self.credits < 100:
                return http.Response(402, json=_gate("insufficient_credits"))  # type: ignore[attr-defined]
            return http.Response(200, json={}, headers={"X-Credits-Remaining": str(self.credits)})  # type: ignore[attr-defined]

        return answer


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_gate_waits_for_the_low_balance_top_up_and_buys_nothing(library: str) -> None:
    """Case 139, sync: the low-balance hook is still buying when the next request meets the
    402 it was meant to prevent. The gate waits for that purchase and is sent again; it
    gets through, and the gate's hook never buys beside it."""
    http = pytest.importorskip(library)
    account = Buying()

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.buy("gate hook")
        return http402.Retry(within=10)

    client = http402.wrap(
        http.Client(transport=http.MockTransport(account.api(http)), headers=KEY),
        on_payment_required=top_up,
        low_balance=http402.LowBalanceWatch(
            lambda alert: account.buy("low-balance hook"), below=100
        ),
    )
    with client:
        assert client.get(URL).status_code == 200
        assert account.running.wait(10)  # the low-balance hook is buying
        second: list[int] = []
        request = threading.Thread(target=lambda: second.append(client.get(URL).status_code))
        request.start()
        request.join(0.3)
        assert request.is_alive()  # it met the gate, and waits for the purchase
        account.release.set()
        request.join(10)
    assert second == [200]
    assert account.purchases == ["low-balance hook"] and not account.overlapped


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@pytest.mark.parametrize("coroutine", [True, False])
async def test_an_async_gate_waits_for_the_low_balance_top_up_and_buys_nothing(
    library: str, coroutine: bool, anyio_backend: str
) -> None:
    """Case 139, async: a coroutine low-balance hook (awaited in its task) or a plain one
    (in a worker thread) is buying when the next request meets the 402: the gate waits
    for it, is sent again and gets through; one purchase."""
    http = pytest.importorskip(library)
    account = Buying()

    async def buy_async(alert: http402.LowBalance) -> None:
        await anyio.to_thread.run_sync(account.buy, "low-balance hook")

    def buy_plain(alert: http402.LowBalance) -> None:
        account.buy("low-balance hook")

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.buy("gate hook")
        return http402.Retry(within=10)

    client = http402.wrap(
        http.AsyncClient(transport=http.MockTransport(account.api(http)), headers=KEY),
        on_payment_required=top_up,
        low_balance=http402.LowBalanceWatch(buy_async if coroutine else buy_plain, below=100),
    )
    async with client:
        assert (await client.get(URL)).status_code == 200
        await anyio.to_thread.run_sync(account.running.wait, 10)
        second: list[int] = []

        async def request() -> None:
            second.append((await client.get(URL)).status_code)

        async with anyio.create_task_group() as group:
            group.start_soon(request)
            await anyio.sleep(0.3)
            assert not second  # it met the gate, and waits for the purchase
            account.release.set()
    assert second == [200]
    assert account.purchases == ["low-balance hook"] and not account.overlapped
