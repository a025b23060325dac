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
