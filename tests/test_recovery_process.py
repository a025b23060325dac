"""Money invariants inside one process: a fork, a sync and an async client of one account,
and the short failure hold that an SDK's own retries join.

The episode book is driven by hand on a fake clock where that is enough; a real `os.fork`,
real threads and a real event loop where the fault lives in them. Nothing waits on a sleep:
threads meet on events, a forked child answers through a pipe.
"""

from __future__ import annotations

import io
import os
import select
import threading
import warnings
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import Retry, _workers
from http402._episodes import FAILURE_HOLD, CallAnswer, EpisodeBook, Turn
from http402._replay import call_of

from .fakes import Account
from .test_recovery_holds import challenge_header as challenge

URL = "https://api.example.com/v1/generate"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- The short failure hold --------------------------------------------------------------


@pytest.mark.parametrize("answer", ["raised", "declined"])
def test_a_failed_episode_answers_its_scope_for_the_failure_hold(answer: str) -> None:
    """An episode whose hook raised or declined answers the gates of its scope sent after it
    finished, for `FAILURE_HOLD` seconds; then a gate leads a new episode."""
    clock = Clock()
    book = EpisodeBook(clock)
    lead, episode = book.join("scope", book.mark())
    assert lead
    error = RuntimeError("billing is down") if answer == "raised" else None
    book.finish(episode, None, error, 60.0)
    clock.now += FAILURE_HOLD - 0.01
    assert book.join("scope", book.mark()) == (False, episode)
    assert book.join("other scope", book.mark())[0]
    clock.now += 0.02
    lead, again = book.join("scope", book.mark())
    assert lead and again is not episode


def test_a_window_that_closed_is_no_failure_hold() -> None:
    """An episode that answered `Retry` is joined only while its window is open."""
    clock = Clock()
    book = EpisodeBook(clock)
    _, episode = book.join("scope", book.mark())
    book.finish(episode, Retry(within=5), None, 60.0)
    clock.now += 5.0
    assert book.join("scope", book.mark())[0]


def test_an_sdk_retry_of_a_hook_that_raised_does_not_call_it_again() -> None:
    """A request sent again at once after its hook raised (what anthropic does with a
    transport's exception) gets the same exception, and the hook is not called again."""
    account = Account()
    calls: list[int] = []
    failure = RuntimeError("billing API is down")

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(1)
        raise failure

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler), on_payment_required=top_up
        )
    )
    for _ in range(3):
        with pytest.raises(RuntimeError) as caught:
            client.post(URL)
        assert caught.value is failure
    assert len(calls) == 1
    assert len(account.requests) == 3


# --- An SDK's retries of one call ----------------------------------------------------------


def sdk_attempt(client: httpx.Client, retry: int, body: bytes = b'{"prompt": "hi"}') -> Any:
    """One attempt of one SDK call, as the openai and anthropic SDKs number them."""
    return client.post(URL, content=body, headers={"x-stainless-retry-count": str(retry)})


@pytest.mark.parametrize("answer", ["raised", "declined"])
def test_an_sdks_retries_of_a_call_join_its_failed_episode_past_the_failure_hold(
    answer: str,
) -> None:
    """Five retries 8 s apart (the SDKs' longest backoff) outlast the 10 s failure hold:
    each is recognised by its `x-stainless-retry-count` and its unchanged request, and gets
    the call's answer again; a new call (`0`), or the same request without the header, after
    the hold, may top up again."""
    account, clock, calls = Account(), Clock(), []
    failure = RuntimeError("bought, then the ledger write failed")

    def top_up(error: http402.PaymentRequiredError) -> Retry | None:
        calls.append(clock.now)
        if answer == "raised":
            raise failure
        return None

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required=top_up,
            coordinator=http402.LocalCoordinator(clock=clock),
        )
    )
    expected = RuntimeError if answer == "raised" else http402.InsufficientCreditsError
    for retry in range(6):
        with pytest.raises(expected):
            sdk_attempt(client, retry)
        clock.now += 8.0
    assert len(calls) == 1
    with pytest.raises(expected):
        sdk_attempt(client, 0)  # a new call of the same request: a new need
    assert len(calls) == 2
    clock.now += FAILURE_HOLD
    with pytest.raises(expected):
        sdk_attempt(client, 1, body=b'{"prompt": "another call"}')  # no attempt of it met it
    assert len(calls) == 3


def upload_attempt(client: httpx.Client, retry: int, file: Any = b"hello world") -> Any:
    """One attempt of an SDK's file upload: the multipart body is built afresh, with a random
    boundary, as the openai and anthropic SDKs build it on every attempt (`files=`)."""
    return client.post(
        URL,
        files={"file": ("notes.txt", file, "text/plain")},
        data={"purpose": "batch"},
        headers={"x-stainless-retry-count": str(retry)},
    )


def gate(request: httpx.Request) -> httpx.Response:
    return httpx.Response(402, json={"error": {"code": "insufficient_credits"}})


class Unread(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A provider answering the gate without reading the request's body, as a transport that
    streams a multipart body leaves it: not read into `request.content`."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return gate(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return gate(request)


TRANSPORTS = {"body read": lambda: httpx.MockTransport(gate), "body unread": Unread}


@pytest.mark.parametrize("inner", sorted(TRANSPORTS))
def test_an_sdks_retries_of_an_upload_join_its_failed_episode(inner: str) -> None:
    """An upload's multipart body has a new boundary at every attempt, and may be left
    unread: its retries, 8 s apart, are still the call's and get its answer past the failure
    hold; an upload of another file is another call (case 60)."""
    clock, calls = Clock(), []

    def top_up(error: http402.PaymentRequiredError) -> Retry | None:
        calls.append(clock.now)
        raise RuntimeError("bought, then the ledger write failed")

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            TRANSPORTS[inner](),
            on_payment_required=top_up,
            coordinator=http402.LocalCoordinator(clock=clock),
        )
    )
    for retry in range(6):
        with pytest.raises(RuntimeError):
            upload_attempt(client, retry)
        clock.now += 8.0
    assert len(calls) == 1
    with pytest.raises(RuntimeError):
        upload_attempt(client, 1, file=b"another file")  # no attempt of it met the failure
    assert len(calls) == 2


@pytest.mark.anyio
@pytest.mark.parametrize("inner", sorted(TRANSPORTS))
async def test_an_sdks_retries_of_an_async_upload_join_its_failed_episode(inner: str) -> None:
    clock, calls = Clock(), []

    async def top_up(error: http402.PaymentRequiredError) -> Retry | None:
        calls.append(clock.now)
        raise RuntimeError("bought, then the ledger write failed")

    transport = http402.AsyncPaymentRequiredTransport(
        TRANSPORTS[inner](),
        on_payment_required=top_up,
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
    )
    async with httpx.AsyncClient(transport=transport) as client:
        for retry in range(6):
            with pytest.raises(RuntimeError):
                await client.post(
                    URL,
                    files={"file": ("notes.txt", b"hello world", "text/plain")},
                    headers={"x-stainless-retry-count": str(retry)},
                )
            clock.now += 8.0
    assert len(calls) == 1


def _attempt(retry: int = 1, **body: Any) -> httpx.Request:
    return httpx.Request("POST", URL, headers={"x-stainless-retry-count": str(retry)}, **body)


def _read(request: httpx.Request) -> httpx.Request:
    request.read()
    return request


def _key(request: httpx.Request) -> str:
    call = call_of(request, "scope")
    assert call is not None
    return call.key


def _chunks() -> Iterator[bytes]:
    yield b"a stream"


def test_a_call_is_known_by_its_body_whatever_form_it_takes() -> None:
    """The same call's attempts have one key: a multipart body whatever its boundary, read
    or not, its file given as bytes or as a file; another body is another call. A body that
    cannot be read again is keyed as any such body of its scope, method and URL (a false
    merge that only ever fails closed); a request without the SDK's header is no call."""
    upload = {"files": {"file": ("a.txt", b"hello", "text/plain")}, "data": {"purpose": "x"}}
    first = _key(_attempt(0, **upload))
    assert _key(_attempt(1, **upload)) == first  # another random boundary
    assert _key(_read(_attempt(2, **upload))) == first  # read as a transport reads it
    as_file = {**upload, "files": {"file": ("a.txt", io.BytesIO(b"hello"), "text/plain")}}
    assert _key(_attempt(3, **as_file)) == first
    assert _key(_attempt(1, files={"file": ("a.txt", b"hullo", "text/plain")})) != first
    assert _key(_attempt(1, content=b'{"prompt": "hi"}')) != first
    unreadable = _key(_attempt(1, content=_chunks()))
    assert unreadable == _key(_attempt(2, content=iter([b"another stream"])))
    assert unreadable not in (first, _key(_attempt(1, content=b"a stream")))
    assert call_of(httpx.Request("POST", URL, **upload), "scope") is None


def test_a_call_is_remembered_only_while_its_retries_keep_coming() -> None:
    """What a call met is forgotten `keep_closed` seconds after its last attempt, and a
    retry that meets it again counts as an attempt."""
    clock = Clock()
    book = EpisodeBook(clock, keep_closed=60.0)
    _, episode = book.join("scope", book.mark())
    book.finish(episode, None, RuntimeError("billing is down"), 60.0)
    book.answered("call:a", CallAnswer(episode=episode))
    clock.now += 59.0
    assert book.join("scope", book.mark(), retry_of="call:a") == (False, episode)
    clock.now += 59.0
    assert book.join("scope", book.mark(), retry_of="call:a") == (False, episode)
    assert book.join("other scope", book.mark(), retry_of="call:a")[0]
    clock.now += 60.0
    assert book.join("scope", book.mark(), retry_of="call:a")[0]


def test_an_sdks_retry_of_a_call_whose_payment_is_unknown_is_held_at_a_new_price() -> None:
    """The paid replay timed out; the SDK's retry meets a new price (another offer key):
    the call's hold still answers it, and nothing is paid until it is reconciled."""
    prices = iter(["10000", "12000", "12000"])
    paid: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" in request.headers:
            raise httpx.ReadTimeout("timed out")
        return httpx.Response(402, headers={"payment-required": challenge(next(prices))})

    def wallet(error: http402.PaymentRequiredError) -> Retry:
        offer = error.payment.payment_options[0]
        paid.append(str(offer.amount))
        return Retry(headers={"PAYMENT-SIGNATURE": f"signed-{len(paid)}-0123456789"}, paid=offer)

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
        )
    )
    with pytest.raises(http402.PaymentOutcomeUnknownError) as first:
        sdk_attempt(client, 0)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as retried:
        sdk_attempt(client, 1)
    assert retried.value.held and paid == ["10000"]
    http402.reconcile(client, first.value)
    with pytest.raises(http402.PaymentOutcomeUnknownError):
        sdk_attempt(client, 2)  # reconciled: the retry may pay
    assert paid == ["10000", "12000"]


@pytest.fixture
def hook_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The threads the transport runs hooks in, for a test to join (no waiting on time)."""
    threads: list[threading.Thread] = []

    def run(job: Any) -> None:
        threads.append(threading.Thread(target=job))
        threads[-1].start()

    monkeypatch.setattr(_workers, "run", run)
    return threads


class SlowWallet:
    """A pay hook slower than `hook_timeout`: its first payment waits for `go`; it then
    returns a proof, or (`raises`) pays and fails."""

    def __init__(self, *, raises: bool) -> None:
        self.go, self.raises, self.paid = threading.Event(), raises, []

    def __call__(self, error: http402.PaymentRequiredError) -> Retry:
        if not self.paid:
            assert self.go.wait(10)
        offer = error.payment.payment_options[0]
        self.paid.append(str(offer.amount))
        if self.raises:
            raise ConnectionError("wallet: paid, then the receipt wait failed")
        return Retry(headers={"PAYMENT-SIGNATURE": f"signed-{len(self.paid)}-0123456789"})


@pytest.mark.parametrize("raises", [False, True])
def test_an_sdks_retry_at_a_new_price_gets_its_calls_late_payment(
    raises: bool, hook_threads: list[threading.Thread]
) -> None:
    """The pay hook outlasts `hook_timeout` and the SDK sends the call again, meeting a new
    price (another offer): the retry gets what the call's first payment came to, the late
    proof or the unknown outcome of a wallet that raised, and the new price is not paid."""
    prices = iter(["10000", "12000", "12000"])
    proofs: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" in request.headers:
            proofs.append(request.headers["payment-signature"])
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, headers={"payment-required": challenge(next(prices))})

    wallet = SlowWallet(raises=raises)
    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
            hook_timeout=0.05,
        )
    )
    with pytest.raises(TimeoutError):
        sdk_attempt(client, 0)
    wallet.go.set()
    hook_threads[0].join()
    if raises:
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            sdk_attempt(client, 1)
        assert caught.value.held and proofs == []
    else:
        assert sdk_attempt(client, 1).status_code == 200
        assert proofs == ["signed-1-0123456789"]
    assert wallet.paid == ["10000"] and len(hook_threads) == 1


def test_an_sdks_retry_of_a_call_whose_paid_replay_was_refused_is_not_paid_again() -> None:
    """Raise mode inside an SDK: the paid replay is refused with a new challenge; the SDK's
    retries are refused too, saying why, and nothing more is paid; a new call may pay."""
    paid: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(402, headers={"payment-required": challenge("10000")})

    def wallet(error: http402.PaymentRequiredError) -> Retry:
        offer = error.payment.payment_options[0]
        paid.append(str(offer.amount))
        return Retry(headers={"PAYMENT-SIGNATURE": f"signed-{len(paid)}-0123456789"}, paid=offer)

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(handler),
            on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
        )
    )
    with pytest.raises(http402.PaymentChallengeError, match="after a paid replay"):
        sdk_attempt(client, 0)
    for retry in (1, 2):
        with pytest.raises(http402.PaymentChallengeError, match="paid replay was refused"):
            sdk_attempt(client, retry)
    assert len(paid) == 1
    with pytest.raises(http402.PaymentChallengeError, match="after a paid replay"):
        sdk_attempt(client, 0)
    assert len(paid) == 2


# --- Fork --------------------------------------------------------------------------------


def test_forked_forgets_what_only_the_parents_threads_could_finish() -> None:
    """In a child, a running hook, a scout and a probe under way are forgotten: the next gate
    leads, a replay scouts, a probe is taken again."""
    clock = Clock()
    coordinator = http402.LocalCoordinator(clock=clock)
    book = coordinator.book
    _, running = book.join("running", book.mark())
    _, window = book.join("window", book.mark())
    book.finish(window, Retry(within=30), None, 60.0)
    parents_scout = object()
    assert book.turn(window, parents_scout) is Turn.SCOUT
    assert coordinator.balances.join("probed", every=60)[0] == "lead"

    coordinator.forked()
    book.forked()

    lead, episode = book.join("running", book.mark())
    assert lead and episode is not running
    assert book.join("window", book.mark()) == (False, window)  # the window stays open
    assert book.turn(window, object()) is Turn.SCOUT
    assert coordinator.balances.join("probed", every=60)[0] == "lead"


def test_forked_keeps_holds() -> None:
    """A hold guards money already spent: a fork does not lift it."""
    coordinator = http402.LocalCoordinator()
    coordinator.hold("scope", "top-up:insufficient_credits", "{}")
    coordinator.forked()
    assert coordinator.held("scope", "top-up:insufficient_credits") == "{}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the platform cannot fork")
def test_a_child_forked_while_a_hook_runs_does_not_wait_for_it() -> None:
    """A real fork while the parent's hook runs: the child's gated request leads its own
    episode at once, instead of waiting on a hook that runs only in the parent."""
    parent = os.getpid()
    hook_started, finish_hook = threading.Event(), threading.Event()
    account = Account()

    def top_up(error: http402.PaymentRequiredError) -> Retry | None:
        if os.getpid() != parent:
            return None  # the child's own hook: it declines at once
        hook_started.set()
        finish_hook.wait(timeout=30)
        account.top_up(10)
        return Retry(within=5)

    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required=top_up,
            sleep=lambda seconds: None,
        )
    )
    gated = threading.Thread(target=client.post, args=(URL,))
    gated.start()
    assert hook_started.wait(timeout=10)
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns that forking a threaded process may deadlock: the fault we test.
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        answer = b"nothing"
        try:
            client.post(URL)
            answer = b"sent"
        except http402.InsufficientCreditsError as error:
            answer = b"declined" if error.attempts == 1 else b"other"
        except BaseException:
            answer = b"error"
        finally:
            os.write(write, answer)
            os._exit(0)
    os.close(write)
    try:
        ready, _, _ = select.select([read], [], [], 10)
        answer = os.read(read, 64) if ready else b"still waiting"
    finally:
        finish_hook.set()
        gated.join(timeout=10)
        os.close(read)
        os.waitpid(child, 0)
    assert answer == b"declined"


# --- A sync and an async client of one account -------------------------------------------


def test_twins_share_one_process_state() -> None:
    """A coordinator's twin is of the other kind, made once, and shares episodes, holds and
    balances."""
    sync = http402.LocalCoordinator()
    twin = sync.twin()
    assert isinstance(twin, http402.AsyncLocalCoordinator)
    assert twin is sync.twin() and twin.twin() is sync
    assert twin.book is sync.book and twin.balances is sync.balances
    sync.hold("scope", "key", "{}")
    assert twin.holds.held("scope", "key") == "{}"


def test_a_sync_and_an_async_client_of_one_account_top_up_once() -> None:
    """A sync client's hook is running when an async client of the same account meets the
    gate: the async request waits for that hook, and both get through on one top-up."""
    account = Account()
    calls: list[str] = []
    hook_started, finish_hook = threading.Event(), threading.Event()

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append("sync")
        hook_started.set()
        assert finish_hook.wait(timeout=10)
        account.top_up(10)
        return Retry(within=30)

    async def atop_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append("async")
        account.top_up(10)
        return Retry(within=30)

    coordinator = http402.LocalCoordinator()
    sync_client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required=top_up,
            coordinator=coordinator,
            sleep=lambda seconds: None,
        )
    )
    results: dict[str, Any] = {}
    first = threading.Thread(target=lambda: results.update(sync=sync_client.post(URL)))
    first.start()
    assert hook_started.wait(timeout=10)

    async def second() -> None:
        async def no_sleep(seconds: float) -> None:
            await anyio.sleep(0)

        # The async request's gate comes while the sync client's hook is held: only then
        # may the hook finish.
        account.on_gate = lambda n: finish_hook.set() if n >= 2 else None
        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required=atop_up,
            coordinator=coordinator,  # the sync client's: the async transport uses its twin
            sleep=no_sleep,
        )
        async with httpx.AsyncClient(transport=transport) as client:
            results["async"] = await client.post(URL)

    anyio.run(second)
    first.join(timeout=10)
    assert results["sync"].status_code == 200 and results["async"].status_code == 200
    assert calls == ["sync"]
