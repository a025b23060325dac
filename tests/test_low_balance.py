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
import time
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import _workers as workers

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


# --- a low-balance top-up that bought is the scope's credits top-up while it propagates -----


#: (the gate's reason, when the gated request is sent, what it gets when sent again (the
#: credits showed), whether the gate's hook runs, what the request ends with)
PROPAGATING = [
    # Bought (`Retry(within=5)`), sent inside the window: the gate follows the top-up.
    ("insufficient_credits", "in the window", 200, False, 200),
    ("unknown", "in the window", 200, False, 200),
    # Never shows in the window: no second purchase; the request ends with the gate.
    ("insufficient_credits", "in the window", None, False, 402),
    # Sent after the window closed, nothing having shown the top-up took: held, not bought.
    ("insufficient_credits", "after the window", None, False, "held"),
    # A gate a credits top-up does not answer leads at once.
    ("subscription_expired", "in the window", None, True, 402),
]


@pytest.mark.parametrize(("reason", "when", "again", "hook_runs", "ends"), PROPAGATING)
def test_a_gate_follows_a_low_balance_top_up_while_it_propagates(
    reason: str, when: str, again: int | None, hook_runs: bool, ends: int | str
) -> None:
    """A low-balance hook that bought answers `Retry(within=...)`: its top-up is the scope's
    credits top-up, and its window the propagation window. A gate of credits (or a wordless
    one) met in it follows it on the replay schedule instead of buying again; a top-up that
    never shows holds the next gate (as a gate's own top-up would). On a fake clock, in the
    core: the book is told the run ended, as the shells tell it."""
    from http402._actions import Gated, Sent, StartHook
    from http402._exceptions import error_for
    from http402._recovery import episode_key
    from http402._replay import default_scope

    from .test_flow import Driver, recovery

    hooks: list[str] = []
    sends: list[float] = []

    def respond(request: httpx.Request, now: float) -> object:
        sends.append(now)
        if len(sends) > 1 and again == 200 and now >= 1.0:  # the credits show at 1 s
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
        return http402.Retry(within=5)

    driver = Driver(recovery(top_up), respond)
    book = driver.coordinator.book
    scope = default_scope(httpx.Request("POST", "https://api.example.com/v1/generate"))
    key = episode_key(scope, http402.Reason.INSUFFICIENT_CREDITS)
    book.low_balance_ended(
        book.low_balance_started(scope), http402.Retry(within=5), key, Decimal(40)
    )
    if when == "after the window":
        driver.clock.now += 6
    flow = driver.start()
    action = flow.send(None)
    outcome: int | str
    try:
        while True:
            assert not (isinstance(action, StartHook) and not hook_runs)
            action = flow.send(driver.perform(action))
    except StopIteration as done:
        outcome = done.value.status_code
    except http402.PaymentOutcomeUnknownError:
        outcome = "held"
    except http402.PaymentRequiredError as error:
        outcome = "held" if "not topped up again" in (error.not_replayed or "") else 402
    assert outcome == ends
    assert bool(hooks) is hook_runs
    if when == "in the window" and not hook_runs:
        assert len(sends) > 1 and all(at <= 5 + 1e-9 for at in sends)  # replays in the window


class Propagating:
    """An account whose purchases land 0.3 s after they are made (a top-up propagating):
    one purchase function serves the low-balance hook and the gate's hook, as the README
    pattern has it; both answer `Retry(within=5)`."""

    def __init__(self) -> None:
        self.purchases: list[str] = []
        self.bought = threading.Event()
        self.lands_at: float | None = None

    def buy(self, who: str) -> http402.Retry:
        self.purchases.append(who)
        self.lands_at = time.monotonic() + 0.3
        self.bought.set()
        return http402.Retry(within=5)

    def api(self, http: Any) -> Any:
        answers = [0]

        def answer(request: Any) -> Any:
            answers[0] += 1
            if answers[0] == 1:
                return http.Response(200, json={}, headers={"X-Credits-Remaining": "50"})
            if self.lands_at is None or time.monotonic() < self.lands_at:
                return http.Response(402, json=_gate("insufficient_credits"))
            return http.Response(200, json={}, headers={"X-Credits-Remaining": "1050"})

        return answer


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_low_balance_top_up_still_propagating_is_not_bought_again(library: str) -> None:
    """The low-balance hook bought and answered `Retry(within=5)`; the credits have not
    landed when the next request meets the 402. The gate follows that top-up (replays until
    the credits show) and the gate's hook never buys a second time."""
    http = pytest.importorskip(library)
    account = Propagating()
    client = http402.wrap(
        http.Client(transport=http.MockTransport(account.api(http)), headers=KEY),
        on_payment_required=lambda error: account.buy("gate hook"),
        low_balance=http402.LowBalanceWatch(
            lambda alert: account.buy("low-balance hook"), below=100
        ),
    )
    with client:
        assert client.get(URL).status_code == 200
        assert account.bought.wait(10)
        client_sees = client.get(URL)
    assert client_sees.status_code == 200
    assert account.purchases == ["low-balance hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("library", ["httpx", "httpx2"])
@pytest.mark.parametrize("coroutine", [True, False])
async def test_an_async_low_balance_top_up_still_propagating_is_not_bought_again(
    library: str, coroutine: bool, anyio_backend: str
) -> None:
    """The async twin: a coroutine low-balance hook (awaited in its task) or a plain one (in
    a worker thread) answered `Retry`; the gate met while its credits propagate buys
    nothing."""
    http = pytest.importorskip(library)
    account = Propagating()

    async def buy_async(alert: http402.LowBalance) -> http402.Retry:
        return account.buy("low-balance hook")

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        return account.buy("gate hook")

    hook: Any = buy_async if coroutine else (lambda alert: account.buy("low-balance hook"))
    client = http402.wrap(
        http.AsyncClient(transport=http.MockTransport(account.api(http)), headers=KEY),
        on_payment_required=top_up,
        low_balance=http402.LowBalanceWatch(hook, below=100),
    )
    async with client:
        assert (await client.get(URL)).status_code == 200
        await anyio.to_thread.run_sync(account.bought.wait, 10)
        await anyio.sleep(0.05)  # the hook's run ends after its purchase is recorded
        assert (await client.get(URL)).status_code == 200
    assert account.purchases == ["low-balance hook"]


def test_a_low_balance_hooks_answer_must_be_a_retry_or_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any other answer is the hook's error, logged: the run ends as a warning's would."""
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(vendor), headers=KEY),
        low_balance=http402.LowBalanceWatch(lambda alert: 42, below=100),
    )
    with client, caplog.at_level("WARNING", logger="http402"):
        assert client.get(URL).status_code == 200
        assert workers.idle(10)  # the hook's worker is done
    failed = [r for r in caplog.records if "low-balance hook raised TypeError" in r.getMessage()]
    assert failed and "must return http402.Retry or None, not int" in (failed[0].exc_text or "")


# --- a crossing met while a top-up of its scope is under way calls no low-balance hook -----


class GateTopUp:
    """An account whose gate's top-up propagates until the test lands it; a cheap endpoint
    still answers 200 meanwhile, stating the balance it left: none (a balance above zero
    would show the gate's top-up took, `credits_show`)."""

    def __init__(self) -> None:
        self.purchases: list[str] = []
        self.bought = threading.Event()
        self.landed = False

    def buy(self, who: str) -> http402.Retry:
        self.purchases.append(who)
        self.bought.set()
        return http402.Retry(within=10)

    def api(self, http: Any) -> Any:
        def answer(request: Any) -> Any:
            if request.url.path == "/v1/cheap":
                return http.Response(200, json={}, headers={"X-Credits-Remaining": "0"})
            if not self.landed:
                return http.Response(402, json=_gate("insufficient_credits"))
            return http.Response(200, json={}, headers={"X-Credits-Remaining": "1003"})

        return answer


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_a_crossing_during_a_gates_top_up_calls_no_low_balance_hook(library: str) -> None:
    """The reverse of case 139: the gate's hook bought and its credits propagate when a
    200 of the same scope crosses the low-balance threshold. That top-up is the answer to
    the balance running low: the low-balance hook (the same purchase function) is not
    called beside it."""
    http = pytest.importorskip(library)
    account = GateTopUp()
    client = http402.wrap(
        http.Client(transport=http.MockTransport(account.api(http)), headers=KEY),
        on_payment_required=lambda error: account.buy("gate hook"),
        low_balance=http402.LowBalanceWatch(
            lambda alert: account.buy("low-balance hook"), below=100
        ),
    )
    with client:
        answers: list[int] = []
        gated = threading.Thread(target=lambda: answers.append(client.get(URL).status_code))
        gated.start()
        assert account.bought.wait(10)  # the gate's hook bought; its credits propagate
        assert client.get("https://api.vendor.example/v1/cheap").status_code == 200
        assert workers.idle(10)  # a low-balance hook, had it been called, is done
        account.landed = True
        gated.join(10)
    assert answers == [200]
    assert account.purchases == ["gate hook"]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
async def test_an_async_crossing_during_a_gates_top_up_calls_no_low_balance_hook(
    anyio_backend: str,
) -> None:
    account = GateTopUp()
    called = anyio.Event()

    async def low(alert: http402.LowBalance) -> http402.Retry:
        called.set()
        return account.buy("low-balance hook")

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        return account.buy("gate hook")

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(account.api(httpx)), headers=KEY),
        on_payment_required=top_up,
        low_balance=http402.LowBalanceWatch(low, below=100),
    )
    answers: list[int] = []

    async def gated() -> None:
        answers.append((await client.get(URL)).status_code)

    async with client, anyio.create_task_group() as group:
        group.start_soon(gated)
        await anyio.to_thread.run_sync(account.bought.wait, 10)
        assert (await client.get("https://api.vendor.example/v1/cheap")).status_code == 200
        for _ in range(20):  # the alert's task, had it a hook to call, would have run
            await anyio.lowlevel.checkpoint()
        account.landed = True
    assert answers == [200]
    assert not called.is_set() and account.purchases == ["gate hook"]


def test_one_reading_that_crosses_two_thresholds_buys_once() -> None:
    """A balance that crosses the time-to-empty and the balance threshold at once fires two
    alerts. A hook that warns hears both; a hook that bought (answered `Retry`) for the
    first is not called for the second: its top-up is under way."""
    heard: dict[str, list[str]] = {"warns": [], "buys": []}

    def run(kind: str) -> None:
        def hook(alert: http402.LowBalance) -> http402.Retry | None:
            heard[kind].append(alert.trigger)
            return http402.Retry(within=10) if kind == "buys" else None

        balances = iter(["1000", "500", "50"])
        now = [0.0]
        client = http402.wrap(
            httpx.Client(
                transport=httpx.MockTransport(
                    lambda request: httpx.Response(
                        200, json={}, headers={"X-Credits-Remaining": next(balances)}
                    )
                ),
                headers=KEY,
            ),
            low_balance=http402.LowBalanceWatch(hook, below=100, within=3600),
            coordinator=http402.LocalCoordinator(clock=lambda: now[0]),
        )
        with client:
            for _ in range(3):
                now[0] += 60  # a minute between calls: 7.5 credits a second at the end
                assert client.get(URL).status_code == 200
                assert workers.idle(10)

    run("warns")
    run("buys")
    assert sorted(heard["warns"]) == ["balance", "time_left"]
    assert len(heard["buys"]) == 1
