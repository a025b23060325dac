"""Paying at most once under ambiguity: unknown outcomes, holds and their reconcile, top-ups
that never show, orphaned proofs, the one-hook form, and responses handed back on
cancellation.

The paid API is `httpx.MockTransport` with its answers scripted per request, or a real
loopback server where a socket matters (a body cut after its headers, a pooled connection).
Threads meet on events; nothing waits on a sleep.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import contextvars
import hashlib
import json
import logging
import pickle
import re
import threading
import traceback
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

import http402
from http402 import Reason, Retry, _workers
from http402._actions import Sleep, StartHook

from .fakes import VirtualClock, insufficient
from .test_flow import Clock as FlowClock
from .test_flow import Driver, gated, recovery, run_hook

PAYLOADS = Path(__file__).parent / "payloads"
URL = "https://api.example.com/premium-data"
#: The x402 v2 challenge of coinbase/x402 specs/transports-v2/http.md, as recorded.
CHALLENGE = json.loads((PAYLOADS / "x402-v2-payment-required-header.json").read_text())["response"]


def challenge_header(amount: str = "10000", resource: str | None = None, **extensions: Any) -> str:
    """The spec's `PAYMENT-REQUIRED` payload with another amount (and resource), and
    extensions."""
    payload = json.loads(base64.b64decode(CHALLENGE["headers"]["payment-required"]))
    payload["accepts"][0]["amount"] = amount
    if resource is not None:
        payload["resource"]["url"] = resource
    if extensions:
        payload["extensions"] = extensions
    return base64.b64encode(json.dumps(payload).encode()).decode()


def settlement(**fields: Any) -> str:
    """A `PAYMENT-RESPONSE` header: base64 JSON of x402's SettleResponse (`success`,
    `errorReason`, `transaction`, `network`; coinbase/x402 specs/transports-v2/http.md).
    `settlement_pending` with a transaction hash is what a facilitator answers when its wait
    for the receipt timed out after the broadcast (odatano's x402 client re-sends the same
    proof on it rather than pay again; a resource server's notes call such a failure
    ambiguous: "funds may have moved")."""
    return base64.b64encode(json.dumps(fields).encode()).decode()


PENDING = settlement(
    success=False,
    errorReason="settlement_pending",
    transaction="0x7d5d747be160e280504c099d984bcfe07d5d747be160e280504c099d984bcfe0",
    network="eip155:84532",
)


def gate(
    amount: str = "10000", resource: str | None = None, **extra_headers: str
) -> httpx.Response:
    header = challenge_header(amount, resource)
    headers = {"content-type": "application/json", "payment-required": header}
    return httpx.Response(402, headers={**headers, **extra_headers}, json={})


class Wallet:
    """The application's pay hook: signs a fresh proof for each call, and counts them; in
    x402 v2's `PAYMENT-SIGNATURE` header, or v1's `X-PAYMENT` (`version=1`)."""

    def __init__(self, version: int = 2) -> None:
        self.proofs: list[str] = []
        self.version = version

    def __call__(self, error: http402.PaymentRequiredError) -> Retry:
        offer = error.payment.payment_options[0]
        signature = f"0x5ec2e7{len(self.proofs):04d}"
        body = {"x402Version": self.version, "payload": {"signature": signature}}
        proof = base64.b64encode(json.dumps(body).encode()).decode()
        self.proofs.append(proof)
        header = "PAYMENT-SIGNATURE" if self.version == 2 else "X-PAYMENT"
        return Retry(headers={header: proof}, paid=offer)


def paying_client(handler: Any, wallet: Any, **options: Any) -> httpx.Client:
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(handler),
        on_payment_required={Reason.PAYMENT_CHALLENGE: wallet},
        **options,
    )
    return httpx.Client(transport=transport)


class Broken(httpx.SyncByteStream):
    """A body that breaks after its first bytes (the connection reset after the headers)."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"data": '
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


#: What the paid replay meets, by kind of fault: the outcome of the payment is unknown.
PAID_FAULTS: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    "read timeout": lambda request: (_ for _ in ()).throw(httpx.ReadTimeout("timed out")),
    "reset before the answer": lambda request: (_ for _ in ()).throw(
        httpx.RemoteProtocolError("Server disconnected without sending a response.")
    ),
    "502": lambda request: httpx.Response(502, text="bad gateway"),
    "503": lambda request: httpx.Response(503, text="unavailable"),
    "settlement pending": lambda request: gate(**{"payment-response": PENDING}),
    "reset after the headers": lambda request: httpx.Response(200, stream=Broken()),
}


def x402_api(fault: Callable[[httpx.Request], httpx.Response]) -> Any:
    """A challenge to a request without a proof; `fault` to the paid replay."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        return fault(request)

    return handler


# --- A paid replay whose outcome is unknown ----------------------------------------------


@pytest.mark.parametrize("fault", list(PAID_FAULTS))
def test_a_paid_replay_without_a_clear_answer_is_held_until_reconciled(fault: str) -> None:
    """The paid replay times out, is reset, gets a 5xx, a pending settlement or a body cut
    after its headers: `PaymentOutcomeUnknownError` says what is known, never the proof; the
    same offer is not paid again (not even by an SDK's retry) until `reconcile`."""
    wallet = Wallet()
    client = paying_client(x402_api(PAID_FAULTS[fault]), wallet)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.get(URL).read()
    error = caught.value
    proof = wallet.proofs[0]
    assert not error.held
    assert error.offer is not None and error.offer.amount == 10000
    assert error.proof_digest == "sha256:" + hashlib.sha256(proof.encode()).hexdigest()
    shown = str(error) + repr(error) + "".join(traceback.format_exception(error))
    assert proof not in shown and "http402.reconcile" in str(error)
    if fault == "settlement pending":
        assert error.receipt is not None and error.receipt.startswith("0x7d5d")
    for _ in range(3):  # the caller's (or an SDK's) own retries
        with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
            client.get(URL)
        assert again.value.held and again.value.proof_digest == error.proof_digest
    assert len(wallet.proofs) == 1
    http402.reconcile(client, error)
    with pytest.raises(http402.PaymentOutcomeUnknownError):
        client.get(URL).read()
    assert len(wallet.proofs) == 2


def test_the_unknown_outcome_pickles_whole() -> None:
    """The error survives pickling (a worker process reports it): class, message, hold."""
    wallet = Wallet()
    client = paying_client(x402_api(PAID_FAULTS["503"]), wallet)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.get(URL)
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is type(caught.value) and str(again) == str(caught.value)
    assert again.hold == caught.value.hold and again.keys == caught.value.keys


def test_a_hold_is_per_offer() -> None:
    """A held offer does not stop an offer of another resource from being paid."""
    wallet = Wallet()

    def handler(request: httpx.Request) -> httpx.Response:
        amount = "10000" if request.url.path == "/premium-data" else "20000"
        if "payment-signature" not in request.headers:
            return gate(amount, str(request.url))
        if amount == "10000":
            raise httpx.ReadTimeout("timed out")
        return httpx.Response(200, json={"data": "other"})

    client = paying_client(handler, wallet)
    with pytest.raises(http402.PaymentOutcomeUnknownError):
        client.get(URL)
    assert client.get("https://api.example.com/other-data").status_code == 200
    assert len(wallet.proofs) == 2


def test_a_paid_replay_that_gets_through_says_not_to_retry_it() -> None:
    """Every response to a paid attempt carries `x-should-retry: false`: an SDK that fails
    to read its body never sends it again."""
    wallet = Wallet()
    client = paying_client(x402_api(lambda request: httpx.Response(200, json={})), wallet)
    response = client.get(URL)
    assert response.status_code == 200
    assert response.headers["x-should-retry"] == "false"


def test_a_failed_settlement_without_a_transaction_is_a_refused_payment() -> None:
    """`success: false` with no transaction broadcast is a payment that did not happen: the
    challenge error, no hold, and the next request may pay."""
    refused = settlement(success=False, errorReason="insufficient_funds", network="base")
    wallet = Wallet()
    client = paying_client(x402_api(lambda request: gate(**{"payment-response": refused})), wallet)
    for _ in range(2):
        with pytest.raises(http402.PaymentChallengeError) as caught:
            client.get(URL)
        assert caught.value.payment.code == "insufficient_funds"
    assert len(wallet.proofs) == 2


@pytest.mark.anyio
async def test_a_cancelled_paid_replay_holds_the_offer_and_the_cancellation_goes_on() -> None:
    """The caller is cancelled while the paid replay is under way: the cancellation
    propagates as it came, and the offer is held for the next request."""
    wallet = Wallet()
    arrived, never = anyio.Event(), anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        arrived.set()
        await never.wait()
        raise AssertionError("unreachable")

    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(handler), on_payment_required={Reason.PAYMENT_CHALLENGE: wallet}
    )
    async with httpx.AsyncClient(transport=transport) as client:
        async with anyio.create_task_group() as group:

            async def paid() -> None:
                await client.get(URL)

            group.start_soon(paid)
            await arrived.wait()
            group.cancel_scope.cancel()
        assert group.cancel_scope.cancelled_caught
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            await client.get(URL)
    assert caught.value.held and "cancelled" in str(caught.value)
    assert len(wallet.proofs) == 1


# --- A pay hook that raises --------------------------------------------------------------

#: What a spend window of 25,000 atomic units allows for the spec's 10,000 offer: two.
WINDOW = {"0x036CbD53842c5426634e7929541eC2318f3dCF7e": 25_000}


class PaidThenFailed:
    """A wallet that pays (money leaves), then fails its own follow-up call: an L402 wallet
    whose preimage lookup fails, an x402 wallet whose receipt wait times out."""

    def __init__(self) -> None:
        self.paid = 0

    def __call__(self, error: http402.PaymentRequiredError) -> Retry:
        self.paid += 1
        raise ConnectionError("wallet: the payment went out, then the preimage lookup failed")


def test_a_pay_hook_that_raises_may_have_paid_so_its_offer_is_held() -> None:
    """A pay hook's exception leaves the outcome unknown: `PaymentOutcomeUnknownError` (the
    hook's exception as its cause), the offer held until reconciled, and the spend window
    still counting the reservation; `None` is the pay hook's way to say it paid nothing."""
    wallet = PaidThenFailed()
    policy = http402.SpendPolicy(max_amount=WINDOW, max_per_window=WINDOW)
    client = paying_client(lambda request: gate(), wallet, spend_policy=policy)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.get(URL)
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert not caught.value.held and "pay hook raised ConnectionError" in str(caught.value)
    assert caught.value.offer is not None and caught.value.offer.amount == 10_000
    with pytest.raises(http402.PaymentOutcomeUnknownError) as again:  # an SDK's retry
        client.get(URL)
    assert again.value.held and wallet.paid == 1
    assert policy.screen(http402.classify(gate(amount="20000")))[0] == ()  # 10,000 counted
    http402.reconcile(client, caught.value)  # the wallet says it paid: the offer may pay again
    with pytest.raises(http402.PaymentOutcomeUnknownError):
        client.get(URL)
    assert wallet.paid == 2


@pytest.mark.anyio
async def test_an_async_pay_hook_that_raises_may_have_paid_so_its_offer_is_held() -> None:
    """The same with a coroutine pay hook on the async transport."""
    paid: list[str] = []

    async def wallet(error: http402.PaymentRequiredError) -> Retry:
        paid.append(error.payment.payment_options[0].pay_to or "")
        raise ConnectionError("wallet: the payment went out, then the receipt wait failed")

    policy = http402.SpendPolicy(max_amount=WINDOW, max_per_window=WINDOW)
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(lambda request: gate()),
        on_payment_required={Reason.PAYMENT_CHALLENGE: wallet},
        spend_policy=policy,
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            await client.get(URL)
        assert isinstance(caught.value.__cause__, ConnectionError)
        with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
            await client.get(URL)
    assert again.value.held and len(paid) == 1
    assert policy.screen(http402.classify(gate(amount="20000")))[0] == ()


def test_a_pay_hook_that_raises_after_its_request_gave_up_still_holds_its_offer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The pay hook outlasts `hook_timeout`, then pays and raises with no request waiting
    for it: its offer is held all the same, so the next requests for it (an SDK's retries)
    raise `PaymentOutcomeUnknownError` instead of paying again."""
    hooks: list[threading.Thread] = []

    def run(job: Callable[[], None]) -> None:  # the hook's worker, joined below
        hooks.append(threading.Thread(target=job))
        hooks[-1].start()

    monkeypatch.setattr(_workers, "run", run)
    go = threading.Event()
    wallet = PaidThenFailed()

    def slow_wallet(error: http402.PaymentRequiredError) -> Retry:
        assert go.wait(10)
        return wallet(error)

    client = paying_client(lambda request: gate(), slow_wallet, hook_timeout=0.05)
    with pytest.raises(TimeoutError):
        client.get(URL)
    go.set()  # the wallet pays and fails only now, with nobody waiting
    hooks[0].join()
    for _ in range(2):
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            client.get(URL)
        assert caught.value.held
    assert wallet.paid == 1 and len(hooks) == 1
    http402.reconcile(client, caught.value)  # the wallet says: paid, nothing to use
    with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
        client.get(URL)  # reconciled: the next request pays (and this wallet fails again)
    assert not again.value.held and wallet.paid == 2


@pytest.mark.anyio
async def test_an_async_pay_hook_that_raises_after_its_caller_was_cancelled_holds_its_offer() -> (
    None
):
    """The caller is cancelled while the pay hook runs; the hook then pays and raises with
    nobody waiting: the next requests for the offer are held, not paid again."""
    started, go = anyio.Event(), anyio.Event()
    paid: list[int] = []

    async def wallet(error: http402.PaymentRequiredError) -> Retry:
        started.set()
        await go.wait()
        paid.append(1)
        raise ConnectionError("wallet: the payment went out, then the receipt wait failed")

    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(lambda request: gate()),
        on_payment_required={Reason.PAYMENT_CHALLENGE: wallet},
    )
    async with httpx.AsyncClient(transport=transport) as client:
        async with anyio.create_task_group() as group:
            group.start_soon(client.get, URL)
            await started.wait()
            group.cancel_scope.cancel()
        go.set()
        await anyio.wait_all_tasks_blocked()  # the hook's own task has raised
        for _ in range(2):
            with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
                await client.get(URL)
            assert caught.value.held
    assert len(paid) == 1


class ResetAfterHeaders(BaseHTTPRequestHandler):
    """A real server: a challenge without a proof; with one, a 200 whose body stops short."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if "payment-signature" not in self.headers:
            self.send_response(402)
            self.send_header("payment-required", challenge_header())
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"{}")
            return
        self.send_response(200)
        self.send_header("content-length", "1000")
        self.end_headers()
        self.wfile.write(b'{"data": "prem')
        self.wfile.flush()
        self.close_connection = True


@contextlib.contextmanager
def loopback(handler: type[BaseHTTPRequestHandler], path: str) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 running `handler`; yields the URL of `path`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def reset_server() -> Iterator[str]:
    with loopback(ResetAfterHeaders, "/premium-data") as url:
        yield url


def test_a_real_reset_after_the_headers_is_an_unknown_outcome(reset_server: str) -> None:
    """Over a real socket: the paid 200's body stops short; reading it raises the unknown
    outcome (the transport's error as its cause), and the next request pays nothing."""
    wallet = Wallet()
    transport = http402.PaymentRequiredTransport(
        on_payment_required={Reason.PAYMENT_CHALLENGE: wallet}
    )
    with httpx.Client(transport=transport, timeout=5) as client:
        with client.stream("GET", reset_server) as response:
            assert response.headers["x-should-retry"] == "false"
            with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
                response.read()
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
        with pytest.raises(http402.PaymentOutcomeUnknownError):
            client.get(reset_server)
    assert len(wallet.proofs) == 1


# --- The protocol's payment identifier ---------------------------------------------------

#: x402's `payment-identifier` extension as a server declares it (coinbase/x402
#: specs/extensions/payment_identifier.md, "Server advertises support").
DECLARED = {
    "info": {"required": False},
    "schema": {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {
            "required": {"type": "boolean"},
            "id": {"type": "string", "minLength": 16, "maxLength": 128},
        },
        "required": ["required"],
    },
}


def test_a_declared_payment_identifier_goes_with_the_proof() -> None:
    """Where the server declares `payment-identifier`, the proof carries the extension back
    with an `id` (its facilitator deduplicates by it), and the hold records it."""
    wallet = Wallet()
    sent: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        proof = request.headers.get("payment-signature")
        if proof is None:
            header = challenge_header(**{"payment-identifier": DECLARED})
            return httpx.Response(402, headers={"payment-required": header}, json={})
        sent.append(json.loads(base64.b64decode(proof)))
        return httpx.Response(503)

    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        paying_client(handler, wallet).get(URL)
    extension = sent[0]["extensions"]["payment-identifier"]
    assert re.fullmatch(r"pay_[0-9a-f]{32}", extension["info"]["id"])
    assert extension["schema"] == DECLARED["schema"]
    assert sent[0]["payload"] == json.loads(base64.b64decode(wallet.proofs[0]))["payload"]
    assert caught.value.hold.payment_id == extension["info"]["id"]


def test_no_identifier_is_added_where_none_is_declared() -> None:
    """Without the server's declaration, the proof goes exactly as the hook made it."""
    wallet = Wallet()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        sent.append(request.headers["payment-signature"])
        return httpx.Response(200)

    paying_client(handler, wallet).get(URL)
    assert sent == wallet.proofs


# --- A pay hook slower than hook_timeout -------------------------------------------------


@pytest.fixture
def hook_threads(monkeypatch: pytest.MonkeyPatch) -> list[threading.Thread]:
    """The hooks' workers. The first hook (the slow one) runs on a thread of its own that the
    test joins once it released it: its late proof is kept when the thread ends, and a retry
    sent before would wait for it only `hook_timeout`. The later hooks answer at once, and
    run in the caller's thread (in a copy of its context, as a worker's): on a thread of
    their own, a loaded machine's scheduler could hold them past the 50 ms too."""
    threads: list[threading.Thread] = []

    def run(job: Callable[[], None]) -> None:
        if threads:
            contextvars.copy_context().run(job)
            return
        threads.append(threading.Thread(target=job))
        threads[-1].start()

    monkeypatch.setattr(_workers, "run", run)
    return threads


def test_a_proof_that_came_too_late_serves_the_next_request_for_the_offer(
    hook_threads: list[threading.Thread],
) -> None:
    """The pay hook answers after `hook_timeout`: the request raises `TimeoutError`, and the
    next request for the offer (an SDK's retry) uses that proof instead of paying again."""
    release = threading.Event()
    proofs: list[str] = []
    used: list[str] = []

    def slow_wallet(error: http402.PaymentRequiredError) -> Retry:
        assert release.wait(10)
        proofs.append(f"proof-{len(proofs)}-0123456789")
        return Retry(headers={"PAYMENT-SIGNATURE": proofs[-1]})

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        used.append(request.headers["payment-signature"])
        return httpx.Response(200, json={"data": "premium"})

    client = paying_client(handler, slow_wallet, hook_timeout=0.05)
    with pytest.raises(TimeoutError):
        client.get(URL)
    release.set()  # the first payment finishes only now
    hook_threads[0].join()
    assert client.get(URL).status_code == 200
    assert proofs == used == ["proof-0-0123456789"]
    assert client.get(URL).status_code == 200  # a proof is used once: the next one pays
    assert len(proofs) == 2


def test_a_proof_that_came_too_late_serves_only_its_own_billing_scope(
    hook_threads: list[threading.Thread],
) -> None:
    """Two tenants of one API on one client (two keys, two scopes, two wallets): tenant A's
    late proof is never sent with tenant B's request for the same offer; B pays with its
    own wallet, and A's retry uses A's proof."""
    release = threading.Event()
    charged: list[str] = []
    sent: list[tuple[str, str]] = []

    def tenant_wallet(error: http402.PaymentRequiredError) -> Retry:
        tenant = error.request.headers["x-api-key"][:7]
        if tenant == "tenantA":
            assert release.wait(10)
        charged.append(tenant)
        return Retry(headers={"PAYMENT-SIGNATURE": f"signed-by-{tenant}-wallet"})

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        sent.append((request.headers["x-api-key"][:7], request.headers["payment-signature"]))
        return httpx.Response(200, json={"data": "premium"})

    client = paying_client(handler, tenant_wallet, hook_timeout=0.05)
    a, b = {"x-api-key": "tenantA-Zq7Kp2mX9vL4nR8t"}, {"x-api-key": "tenantB-Hn4Yc8Vb2Lm6Qw1E"}
    with pytest.raises(TimeoutError):
        client.get(URL, headers=a)
    assert client.get(URL, headers=b).status_code == 200
    release.set()
    hook_threads[0].join()  # tenant A's hook
    assert client.get(URL, headers=a).status_code == 200
    assert sent == [
        ("tenantB", "signed-by-tenantB-wallet"),
        ("tenantA", "signed-by-tenantA-wallet"),
    ]
    assert sorted(charged) == ["tenantA", "tenantB"]


# --- Retry-After that no replay could honour ---------------------------------------------


def test_a_challenge_whose_retry_after_passes_the_window_is_not_paid() -> None:
    """`Retry-After: 3600` against a 120 s window: no replay could go, so nothing is paid."""
    wallet = Wallet()
    client = paying_client(lambda request: gate(**{"retry-after": "3600"}), wallet)
    with pytest.raises(http402.PaymentChallengeError, match="beyond the propagation window"):
        client.get(URL)
    assert wallet.proofs == []


class Waiting:
    """An API out of credits that asks for `Retry-After: 100` on its 402 (not before), and
    serves once a top-up shows: what the test's hook buys shows at once."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.funded = False
        self.sent: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(self.clock.now)
        if self.funded:
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, headers={"retry-after": "100"}, json=insufficient(0, 1))


def test_a_hooks_window_shorter_than_the_retry_after_still_gets_its_replay() -> None:
    """`Retry-After: 100` is within the retry policy's 120 s, so the hook may pay; it then
    answers `Retry(within=90)` (the README's hook), which it could not say before running.
    The window is stretched so that one replay still goes after the 100 s: what the hook
    bought is used, not left without a replay."""
    clock = VirtualClock()
    api, bought = Waiting(clock), []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        bought.append(clock.now)
        api.funded = True
        return Retry(within=90)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    assert client.post("https://api.example.com/v1/generate").status_code == 200
    assert len(bought) == 1 and len(api.sent) == 2
    assert api.sent[1] - api.sent[0] >= 100  # not before the server's Retry-After


def test_a_stretched_window_never_passes_the_retry_policys() -> None:
    """The replay after the `Retry-After` is refused again with another 100 s: the policy's
    120 s window is the longest wait, and the request gives up saying when to come back."""
    clock = VirtualClock()
    api, bought = Waiting(clock), []
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={
            Reason.INSUFFICIENT_CREDITS: lambda e: bought.append(e) or Retry(within=90)
        },
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with pytest.raises(http402.InsufficientCreditsError, match="retry after 100 s, beyond"):
        client.post("https://api.example.com/v1/generate")
    assert len(bought) == 1 and len(api.sent) == 2


class Metered:
    """An API whose credits a top-up adds one at a time and each 200 spends; its 402 has
    no `Retry-After`."""

    def __init__(self) -> None:
        self.credits = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.credits:
            self.credits -= 1
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=insufficient(0, 1))


def test_a_window_is_stretched_only_for_a_retry_after_it_would_cut_off() -> None:
    """After a top-up showed, a new exhaustion inside the window replays until the window
    closes, then buys again: replays past the window's end, with no `Retry-After`, never
    keep a lifted window open up to the retry policy's `within`."""
    clock = VirtualClock()
    api, bought = Metered(), []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        bought.append(clock.now)
        api.credits += 1
        return Retry(within=5)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    assert client.post("https://api.example.com/v1/generate").status_code == 200
    clock.sleep(1)
    assert client.post("https://api.example.com/v1/generate").status_code == 200
    assert len(bought) == 2
    assert bought[1] - bought[0] < 5 + http402.RetryPolicy().max_wait


def test_a_retry_after_past_the_window_the_application_set_is_not_paid() -> None:
    """A hook's own window is known only once it answers; the application sets the longest
    wait it accepts with `RetryPolicy(within=...)`: a `Retry-After` past it calls no hook."""
    clock = VirtualClock()
    api, bought = Waiting(clock), []
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: lambda e: bought.append(e) or Retry()},
        retry=http402.RetryPolicy(within=90),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with pytest.raises(http402.InsufficientCreditsError, match="the hook was not called"):
        client.post("https://api.example.com/v1/generate")
    assert bought == [] and len(api.sent) == 1


# --- One hook for every reason -----------------------------------------------------------


def test_one_hook_for_every_reason_pays_no_challenge() -> None:
    """A plain callable tops up account-level gates only: twenty concurrent priced requests
    call it not once, and each error says how to pay challenges."""
    calls: list[Reason] = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason)
        return Retry(within=90)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: gate())), on_payment_required=top_up
    )
    errors: list[BaseException] = []

    def one() -> None:
        try:
            client.get(URL)
        except http402.PaymentChallengeError as error:
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert calls == []
    assert len(errors) == 20
    assert all("Reason.PAYMENT_CHALLENGE" in str(error) for error in errors)


def test_one_hook_with_a_spend_policy_pays_challenges_within_it() -> None:
    """Beside a spend policy, the one hook pays challenges, screened and capped by it."""
    wallet = Wallet()
    asset = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"
    policy = http402.SpendPolicy(max_amount={asset: 10_000}, max_per_window={asset: 20_000})

    def handler(request: httpx.Request) -> httpx.Response:
        if "payment-signature" not in request.headers:
            return gate()
        return httpx.Response(200)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(handler)),
        on_payment_required=wallet,
        spend_policy=policy,
    )
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    with pytest.raises(http402.PaymentChallengeError, match="spend policy"):
        client.get(URL)
    assert len(wallet.proofs) == 2


# --- Top-ups: an unknown outcome, and a top-up that never shows --------------------------


class Account:
    """Credits bought by the hook show after `delay` virtual seconds (`None`: never); a
    replay meets `fault` while `faulty`."""

    def __init__(self, clock: VirtualClock, delay: float | None = 0.0) -> None:
        self.clock = clock
        self.delay = delay
        self.credits = 0
        self.arrivals: list[float] = []
        self.top_ups = 0
        self.fault: Callable[[httpx.Request], httpx.Response] | None = None

    def top_up(self, error: http402.PaymentRequiredError) -> Retry:
        self.top_ups += 1
        if self.delay is not None:
            self.arrivals.append(self.clock.now + self.delay)
        return Retry(within=30, receipt=f"inv_{self.top_ups:04d}")

    def handler(self, request: httpx.Request) -> httpx.Response:
        while self.arrivals and self.arrivals[0] <= self.clock.now:
            self.arrivals.pop(0)
            self.credits += 5
        if self.fault is not None and "http402.replay" in request.extensions:
            return self.fault(request)
        if self.credits > 0:
            self.credits -= 1
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=insufficient(0, 1))


def topping_client(account: Account, clock: VirtualClock) -> httpx.Client:
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(account.handler),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: account.top_up},
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    return httpx.Client(transport=transport)


@pytest.mark.parametrize("fault", ["read timeout", "502", "reset before the answer"])
def test_a_topped_up_replay_without_an_answer_holds_the_top_up(fault: str) -> None:
    """A replay after a top-up ends without an answer: the unknown outcome (with the hook's
    receipt), and no second top-up when the account is gated again; a request to the
    endpoint that gets through shows the credits, and ends the hold."""
    clock = VirtualClock()
    account = Account(clock)
    account.fault = PAID_FAULTS[fault]
    client = topping_client(account, clock)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.post("https://api.example.com/v1/generate")
    assert caught.value.receipt == "inv_0001" and caught.value.reason is Reason.INSUFFICIENT_CREDITS
    account.fault = None
    clock.now += 60  # the window closed; the credits, it turns out, arrived
    account.credits = 0  # ... and were spent elsewhere: gated again
    with pytest.raises(http402.PaymentOutcomeUnknownError) as held:
        client.post("https://api.example.com/v1/generate")
    assert held.value.held and account.top_ups == 1
    account.credits = 1
    assert client.post("https://api.example.com/v1/generate").status_code == 200
    assert client.post("https://api.example.com/v1/generate").status_code == 200  # tops up
    assert account.top_ups == 2


def test_a_topped_up_replay_that_gets_through_says_not_to_retry_it() -> None:
    clock = VirtualClock()
    account = Account(clock)
    response = topping_client(account, clock).post("https://api.example.com/v1/generate")
    assert response.status_code == 200 and response.headers["x-should-retry"] == "false"


def test_a_top_up_that_never_shows_is_not_bought_again_every_window() -> None:
    """The window closes with the gate never lifting: later bursts raise the gate, saying
    why, instead of buying again for as long as traffic lasts; a request of the endpoint
    that gets through (the credits showed at last) lets the next exhaustion top up."""
    clock = VirtualClock()
    account = Account(clock, delay=None)
    client = topping_client(account, clock)
    url = "https://api.example.com/v1/generate"
    with pytest.raises(http402.InsufficientCreditsError, match="window closed"):
        client.post(url)
    for _ in range(5):
        clock.now += 3600
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(url)
        assert "did not show within its 30 s window" in str(caught.value)
        assert caught.value.not_replayed is not None
    assert account.top_ups == 1
    account.credits, account.delay = 1, 0.0  # the provider delivers at last, and on time
    assert client.post(url).status_code == 200
    assert client.post(url).status_code == 200  # a new exhaustion: topped up again
    assert account.top_ups == 2


def test_forget_gate_ends_the_hold_of_a_top_up_that_did_not_show() -> None:
    """After a top-up made by hand, `forget_gate` lets the hook top up again."""
    clock = VirtualClock()
    account = Account(clock, delay=None)
    client = topping_client(account, clock)
    url = "https://api.example.com/v1/generate"
    with pytest.raises(http402.InsufficientCreditsError):
        client.post(url)
    clock.now += 60
    http402.forget_gate(client, url)
    account.delay = 0.0
    assert client.post(url).status_code == 200
    assert account.top_ups == 2


class _StoreDown(http402.LocalCoordinator):
    """A coordinator whose store does not answer a release while `down` is set."""

    down = False

    def release(self, scope: str, key: str | None = None) -> None:
        if self.down:
            raise ConnectionError("the store does not answer")
        super().release(scope, key)


def test_a_release_the_store_does_not_take_is_said_once_per_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Requests get through while a top-up's hold stands and the store is down: the hold
    stays (each such response asks again), and the warning is said once, not on every
    response; once a release takes, the next outage is said again."""
    clock = VirtualClock()
    account = Account(clock, delay=None)
    coordinator = _StoreDown(clock=clock)
    client = httpx.Client(
        transport=http402.PaymentRequiredTransport(
            httpx.MockTransport(account.handler),
            on_payment_required={Reason.INSUFFICIENT_CREDITS: account.top_up},
            coordinator=coordinator,
            sleep=clock.sleep,
        )
    )
    url = "https://api.example.com/v1/generate"
    with pytest.raises(http402.InsufficientCreditsError):
        client.post(url)  # the top-up did not show in its window: the scope is held

    def release_warnings() -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if getattr(r, "http402_event", None) == "release_failed"
            and r.levelno == logging.WARNING
        ]

    coordinator.down, account.credits = True, 10
    with caplog.at_level(logging.DEBUG, logger="http402"):
        for _ in range(4):
            assert client.post(url).status_code == 200
        assert len(release_warnings()) == 1
        events = [getattr(r, "http402_event", None) for r in caplog.records]
        assert events.count("release_failed") == 4
        assert coordinator.book.holds  # still held
        coordinator.down = False
        assert client.post(url).status_code == 200  # the release takes
        assert not coordinator.book.holds
        account.credits = 0
        clock.now += 3600
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(url)  # a new top-up that does not show: held again
        coordinator.down, account.credits = True, 10
        assert client.post(url).status_code == 200
        assert len(release_warnings()) == 2


# --- The coordinator cannot tell ---------------------------------------------------------


class Unanswering(http402.LocalCoordinator):
    """A coordinator whose store does not answer whether a payment is held."""

    def held(self, scope: str, key: str) -> str | None:
        raise ConnectionError("the store did not answer")


def test_a_coordinator_that_cannot_tell_fails_closed() -> None:
    """No answer to "is a payment held?" is a hold: the hook is not called."""
    clock = VirtualClock()
    account = Account(clock)
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(account.handler),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: account.top_up},
        coordinator=Unanswering(clock=clock),
    )
    with pytest.raises(http402.PaymentOutcomeUnknownError, match="could not say"):
        httpx.Client(transport=transport).post("https://api.example.com/v1/generate")
    assert account.top_ups == 0


# --- A response held while the transport awaits something else ---------------------------


class Balances(BaseHTTPRequestHandler):
    """A real server that answers 200 with a low balance header."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("x-credits-remaining", "5")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


@pytest.fixture
def balance_server() -> Iterator[str]:
    with loopback(Balances, "/v1/x") as url:
        yield url


@pytest.mark.anyio
async def test_a_hanging_low_balance_hook_keeps_no_connection_and_is_cut_at_hook_timeout(
    balance_server: str,
) -> None:
    """The low-balance hook hangs after a 200: the response is answered at once and read, so
    with one pooled connection the next request still gets it; the hook, which runs off the
    request, is cancelled once `hook_timeout` passes."""
    started, cancelled = anyio.Event(), anyio.Event()

    async def alert(low: http402.LowBalance) -> None:
        started.set()
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    client = http402.wrap(
        httpx.AsyncClient(limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5, pool=2)),
        low_balance=http402.LowBalanceWatch(alert, below=10),
        hook_timeout=0.2,
    )
    async with client:
        assert (await client.get(balance_server)).status_code == 200
        await started.wait()
        assert (await client.get(balance_server)).status_code == 200
        with anyio.fail_after(10):
            await cancelled.wait()


def test_a_top_up_nobody_saw_fail_is_not_bought_again_after_its_window() -> None:
    """Every request of the episode is cancelled before its window closes (an application
    timeout shorter than the window), so none sees it close: the next gate, after the
    window, still does not buy again, since nothing showed that the top-up took."""
    clock, bought = FlowClock(), []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        bought.append(clock.now)
        return Retry(within=30)

    driver = Driver(recovery(top_up), lambda request, now: gated(request), clock=clock)
    first = driver.start()
    action = driver.until(first, StartHook)
    run_hook(action)
    action = driver.until(first, Sleep)  # the scout waits for its first replay
    with pytest.raises(asyncio.CancelledError):
        first.throw(asyncio.CancelledError())  # the application's timeout
    clock.now += 3600
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        driver.run()
    assert "did not show" in str(caught.value)
    assert len(bought) == 1


class StaleBalance:
    """An API that serves every request and states the balance in `X-Credits-Remaining`,
    a header that lags, is cached, or counts in another unit than the credits bought."""

    def __init__(self, balance: int) -> None:
        self.balance = balance
        self.served = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.served += 1
        return httpx.Response(200, headers={"x-credits-remaining": str(self.balance)}, json={})


def test_a_top_up_the_balance_never_shows_is_bought_once() -> None:
    """`Preflight(min_balance=10)` tops up below 10; every replay gets a 200, but the
    balance header still says 3: the top-up did not show where preflight looks, so it is
    not bought again each window. Requests are sent meanwhile (the server decides), and
    once the balance shows, a later fall below the minimum tops up again."""
    clock, api, bought = VirtualClock(), StaleBalance(3), []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        bought.append(error.payment.code)
        return Retry(within=0.5)

    client = http402.wrap(
        httpx.Client(base_url="https://api.vendor.example", transport=httpx.MockTransport(api)),
        preflight=http402.Preflight(min_balance=10, every=60),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    key = {"x-api-key": "Zq7Kp2mX9vL4nR8tW3yB6cD1fG5hJ0sA"}
    for _ in range(12):
        assert client.post("/v1/run", json={}, headers=key).status_code == 200
        clock.now += 0.25
    assert bought == ["preflight_min_balance"]
    api.balance = 20  # the top-up shows, late
    assert client.post("/v1/run", json={}, headers=key).status_code == 200
    api.balance = 3  # spent again: a new need
    clock.now += 1
    assert client.post("/v1/run", json={}, headers=key).status_code == 200
    assert client.post("/v1/run", json={}, headers=key).status_code == 200
    assert bought == ["preflight_min_balance"] * 2


@pytest.mark.anyio
async def test_an_async_top_up_the_balance_never_shows_is_bought_once() -> None:
    """The same through the async transport."""
    clock, api, bought = VirtualClock(), StaleBalance(3), []

    async def top_up(error: http402.PaymentRequiredError) -> Retry:
        bought.append(error.payment.code)
        return Retry(within=0.5)

    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(api),
        preflight=http402.Preflight(min_balance=10, every=60),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
    )
    async with httpx.AsyncClient(transport=transport) as client:
        for _ in range(12):
            response = await client.post("https://api.vendor.example/v1/run", json={})
            assert response.status_code == 200
            clock.now += 0.25
    assert len(bought) == 1 and api.served >= 12


class Funded(BaseHTTPRequestHandler):
    """A real server out of credits until `funded` is set (by the test's top-up hook)."""

    protocol_version = "HTTP/1.1"
    funded = threading.Event()

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        status, body = (200, b"{}") if self.funded.is_set() else (402, GATE_BODY)
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


GATE_BODY = json.dumps(insufficient(0, 1)).encode()


class SlowToTell(http402.AsyncLocalCoordinator):
    """A coordinator whose `lifted` (the fleet's store told that the gate lifted) hangs."""

    def __init__(self) -> None:
        super().__init__()
        self.telling = anyio.Event()

    async def lifted(self, scope: str) -> None:
        self.telling.set()
        await anyio.sleep_forever()


@pytest.mark.anyio
async def test_cancelled_while_the_coordinator_is_told_the_connection_goes_back() -> None:
    """The caller is cancelled while the coordinator is told that a replay got through
    (a Redis call, after the 200): the flow closes the response it held, so with one pooled
    connection the next request still gets it."""
    Funded.funded.clear()

    async def top_up(error: http402.PaymentRequiredError) -> Retry:
        Funded.funded.set()
        return Retry(within=30)

    coordinator = SlowToTell()
    with loopback(Funded, "/v1/generate") as url:
        client = http402.wrap(
            httpx.AsyncClient(
                limits=httpx.Limits(max_connections=1), timeout=httpx.Timeout(5, pool=2)
            ),
            on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
            coordinator=coordinator,
        )
        async with client:
            async with anyio.create_task_group() as group:
                group.start_soon(client.post, url)
                await coordinator.telling.wait()
                group.cancel_scope.cancel()
            http402.wrap(client)  # no hooks: the next request just goes
            assert (await client.post(url)).status_code == 200


@pytest.mark.parametrize("target", [42, None, object()])
def test_reconcile_names_what_it_takes_when_given_something_else(target: Any) -> None:
    """A wrong argument gets a clear `TypeError`, sync and async, from the client helpers and
    from the transport, not an `AttributeError` from inside."""
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    )
    with pytest.raises(TypeError, match="reconcile\\(\\) takes"):
        http402.reconcile(client, target)
    with pytest.raises(TypeError, match="reconcile\\(\\) takes"):
        http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda r: httpx.Response(200))
        ).reconcile(target)

    async def main() -> None:
        async_client = http402.wrap(
            httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        )
        with pytest.raises(TypeError, match="reconcile\\(\\) takes"):
            await http402.areconcile(async_client, target)

    asyncio.run(main())


def test_a_client_without_a_base_url_is_told_to_name_the_url() -> None:
    """`forget_gate` and `reconcile` of a client with no base URL and no URL: a clear
    `ValueError`, sync and async, rather than silently forgetting nothing; with a URL they
    act."""
    mock = httpx.MockTransport(lambda r: httpx.Response(200))
    client = http402.wrap(httpx.Client(transport=mock))
    with pytest.raises(ValueError, match="no base URL, so pass the URL"):
        http402.forget_gate(client)
    with pytest.raises(ValueError, match="no base URL, so pass the URL"):
        http402.reconcile(client)
    http402.forget_gate(client, "https://api.example.com/v1")
    http402.reconcile(client, "https://api.example.com/v1")

    async def main() -> None:
        async_client = http402.wrap(httpx.AsyncClient(transport=mock))
        with pytest.raises(ValueError, match="no base URL"):
            await http402.aforget_gate(async_client)
        with pytest.raises(ValueError, match="no base URL"):
            await http402.areconcile(async_client)

    asyncio.run(main())


# --- A settle call that failed after the payment was verified ----------------------------

#: The x402 v1 challenge of coinbase/x402 specs/x402-specification-v1.md (section 5.1.1).
V1_CHALLENGE = json.loads(
    json.loads((PAYLOADS / "x402-v1-payment-requirements-body.json").read_text())["response"][
        "body"
    ]
)

#: What the x402 reference middlewares answer a paid request whose settle step failed: a
#: plain re-challenge whose `error` says so, with no settlement header (the transfer may have
#: been broadcast before the facilitator's answer was lost). Each from coinbase/x402.
SETTLE_FAILED = {
    # x402-express and x402-hono relay the facilitator client's error message:
    # typescript/packages/legacy/x402/src/verify/useFacilitator.ts,
    # `throw new Error(`Failed to settle payment: ${res.status} ${res.statusText}`)`.
    "express, facilitator 504": "Failed to settle payment: 504 Gateway Timeout",
    # python/legacy/src/x402/fastapi/middleware.py, when the settle call raises:
    # `x402_response("Settle failed")`.
    "fastapi, settle raised": "Settle failed",
    # python/legacy/src/x402/flask/middleware.py: `"Settle failed: " + (str(e) or ...)`.
    "flask, settle raised": "Settle failed: Read timed out. (read timeout=10)",
    # typescript/packages/legacy/x402-express/src/index.ts, an error without a message.
    "express, no message": "Payment settlement failed",
}

#: A verification's refusal, before anything was sent: the payment did not happen.
VERIFY_REFUSED = {
    # python/legacy/src/x402/fastapi/middleware.py: `f"Invalid payment: {error_reason}"`.
    "fastapi, insufficient funds": "Invalid payment: insufficient_funds",
    # x402-express: `error: response.invalidReason` (x402's ErrorReasons).
    "express, bad signature": "invalid_exact_evm_payload_signature",
    # useFacilitator.ts: `Failed to verify payment: ${res.status} ${res.statusText}`.
    "express, verify call failed": "Failed to verify payment: 400 Bad Request",
}


def v1_rechallenge(error: str) -> httpx.Response:
    return httpx.Response(402, json={**V1_CHALLENGE, "error": error})


def v1_api(answer_to_paid: str) -> Any:
    """A v1 challenge to a request without a proof; the re-challenge `answer_to_paid` to a
    paid one."""

    def handler(request: httpx.Request) -> httpx.Response:
        if "x-payment" not in request.headers:
            return v1_rechallenge("X-PAYMENT header is required")
        return v1_rechallenge(answer_to_paid)

    return handler


@pytest.mark.parametrize("said", list(SETTLE_FAILED))
def test_a_settle_call_that_failed_after_verifying_is_an_unknown_outcome(said: str) -> None:
    """Case 71: the paid replay is verified, then the settle call fails (a facilitator
    timeout or 5xx, perhaps after the broadcast), and the middleware re-challenges saying so:
    the offer is held, and the application's retry does not pay it again."""
    wallet = Wallet(version=1)
    client = paying_client(v1_api(SETTLE_FAILED[said]), wallet)
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.get(URL)
    assert "settle" in caught.value.hold.why and not caught.value.held
    with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
        client.get(URL)
    assert again.value.held
    assert len(wallet.proofs) == 1


@pytest.mark.parametrize("said", list(VERIFY_REFUSED))
def test_a_verification_refusal_is_a_refused_payment(said: str) -> None:
    """A re-challenge that refuses the proof at verification (before anything is sent) is a
    payment that did not happen: the challenge error, no hold, and the retry may pay."""
    wallet = Wallet(version=1)
    client = paying_client(v1_api(VERIFY_REFUSED[said]), wallet)
    for _ in range(2):
        with pytest.raises(http402.PaymentChallengeError) as caught:
            client.get(URL)
        assert not isinstance(caught.value, http402.PaymentOutcomeUnknownError)
    assert len(wallet.proofs) == 2


@pytest.mark.anyio
async def test_an_async_settle_call_that_failed_after_verifying_is_an_unknown_outcome() -> None:
    wallet = Wallet(version=1)
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(v1_api(SETTLE_FAILED["express, facilitator 504"])),
        on_payment_required={Reason.PAYMENT_CHALLENGE: wallet},
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(http402.PaymentOutcomeUnknownError):
            await client.get(URL)
        with pytest.raises(http402.PaymentOutcomeUnknownError) as again:
            await client.get(URL)
    assert again.value.held
    assert len(wallet.proofs) == 1


#: The four kinds of client `forget_gate` and `reconcile` take: (library, async).
CLIENT_KINDS = [("httpx", False), ("httpx", True), ("httpx2", False), ("httpx2", True)]


class _AuthedAccount:
    """An API whose clients send their key through the client's `auth=` (Basic, as Stripe's
    `auth=(key, "")`): httpx applies it in `send`, after `build_request`. It is gated until
    credits are added by hand; a priced route answers its first paid replay with a 503."""

    def __init__(self, library: str) -> None:
        self.http = pytest.importorskip(library)
        self.credits = 0
        self.paid = 0

    def __call__(self, request: Any) -> Any:
        assert request.headers["authorization"].startswith("Basic ")  # every real request
        if request.url.path.endswith("/premium"):
            if not request.headers.get("payment-signature"):
                return self.http.Response(
                    402, headers={"payment-required": challenge_header()}, json={}
                )
            self.paid += 1
            return self.http.Response(503 if self.paid == 1 else 200, json={})
        if self.credits <= 0:
            return self.http.Response(402, json=insufficient(0, 1))
        self.credits -= 1
        return self.http.Response(200, json={})

    def client(self, asynchronous: bool, **options: Any) -> Any:
        make = self.http.AsyncClient if asynchronous else self.http.Client
        inner = make(
            base_url="https://api.example.com/v1",
            transport=self.http.MockTransport(self),
            auth=("acct_4242", "key_live_Zx81Qm27Lp90Vb36Nc54Kd"),
        )
        return http402.wrap(inner, **options)


async def _both(asynchronous: bool, value: Any) -> Any:
    return await value if asynchronous else value


async def _outcome(asynchronous: bool, client: Any, path: str) -> Any:
    try:
        response = await _both(asynchronous, client.get(path))
    except (http402.PaymentRequiredError, http402.PaymentOutcomeUnknownError) as exc:
        return exc
    return response.status_code


@pytest.mark.parametrize(("library", "asynchronous"), CLIENT_KINDS)
def test_forget_gate_and_reconcile_name_the_scope_the_clients_auth_gives_its_requests(
    library: str, asynchronous: bool
) -> None:
    """`forget_gate(client)` and `reconcile(client)` compute the billing scope of a request
    the client sends, its `auth=` applied as `send` applies it (case 93: built only, it named
    another scope, and both calls ended nothing, silently): after a top-up by hand the next
    request is sent, and after a reconcile the held offer is paid again. Both say they found
    something; sync and async, httpx and httpx2."""
    account = _AuthedAccount(library)
    forget = http402.aforget_gate if asynchronous else http402.forget_gate
    reconcile = http402.areconcile if asynchronous else http402.reconcile

    async def main() -> None:
        gated = account.client(asynchronous, preflight=http402.Preflight(gate_ttl=600))
        assert isinstance(await _outcome(asynchronous, gated, "/generate"), Exception)
        refused = await _outcome(asynchronous, gated, "/generate")
        assert isinstance(refused, http402.InsufficientCreditsError)
        assert refused.attempts == 0  # known before sending
        account.credits = 10  # a top-up made by hand
        assert await _both(asynchronous, forget(gated)) is True
        assert await _outcome(asynchronous, gated, "/generate") == 200

        wallet = Wallet()
        priced = account.client(
            asynchronous,
            on_payment_required={Reason.PAYMENT_CHALLENGE: wallet},
        )
        unknown = await _outcome(asynchronous, priced, "/premium")
        assert isinstance(unknown, http402.PaymentOutcomeUnknownError)
        held = await _outcome(asynchronous, priced, "/premium")
        assert isinstance(held, http402.PaymentOutcomeUnknownError) and held.held
        assert len(wallet.proofs) == 1
        assert await _both(asynchronous, reconcile(priced)) is True  # nothing settled
        assert await _outcome(asynchronous, priced, "/premium") == 200
        assert len(wallet.proofs) == 2

    asyncio.run(main())


def _called(call: Callable[[Any], Any], client: Any) -> None:
    result = call(client)
    if asyncio.iscoroutine(result):
        asyncio.run(result)


@pytest.mark.parametrize(("library", "asynchronous"), CLIENT_KINDS)
def test_the_sync_calls_refuse_an_async_client_and_name_their_twin(
    library: str, asynchronous: bool
) -> None:
    """`reconcile(client, error)` given an async client handed back an unawaited coroutine
    and ended nothing (a new user followed the unknown outcome's message, which named only
    `reconcile`): each of the four calls refuses the other kind of client with a
    `TypeError` naming its twin, and the unknown outcome's message names both."""
    account = _AuthedAccount(library)
    client = account.client(asynchronous)
    wrong = {
        "reconcile": http402.reconcile,
        "forget_gate": http402.forget_gate,
        "areconcile": http402.areconcile,
        "aforget_gate": http402.aforget_gate,
    }
    for name, call in wrong.items():
        if name.startswith("a") != asynchronous:
            twin = name[1:] if name.startswith("a") else "a" + name
            with pytest.raises(TypeError, match=rf"call (await )?http402\.{twin}\(client"):
                _called(call, client)

    async def unknown() -> Any:
        priced = account.client(
            asynchronous, on_payment_required={Reason.PAYMENT_CHALLENGE: Wallet()}
        )
        return await _outcome(asynchronous, priced, "/premium")

    error = asyncio.run(unknown())
    assert isinstance(error, http402.PaymentOutcomeUnknownError)
    assert "http402.reconcile(client, error)" in str(error)
    assert "await http402.areconcile(client, error) with an async client" in str(error)


@pytest.mark.parametrize(("library", "asynchronous"), CLIENT_KINDS)
def test_forget_gate_and_reconcile_say_when_they_found_nothing(
    library: str, asynchronous: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """A call whose scope knows nothing (another key than the requests', or nothing ever
    gated) answers `False` and warns on the `http402` logger, naming no credential."""
    account = _AuthedAccount(library)
    client = account.client(asynchronous, preflight=http402.Preflight(gate_ttl=600))
    forget = http402.aforget_gate if asynchronous else http402.forget_gate
    reconcile = http402.areconcile if asynchronous else http402.reconcile
    other = {"X-Api-Key": "sk-another-tenant-0123456789"}

    async def main() -> None:
        assert isinstance(await _outcome(asynchronous, client, "/generate"), Exception)
        with caplog.at_level(logging.WARNING, logger="http402"):
            assert await _both(asynchronous, reconcile(client)) is False  # a gate, no hold
            assert await _both(asynchronous, forget(client, headers=other)) is False
        assert await _both(asynchronous, forget(client)) is True

    asyncio.run(main())
    said = [r.getMessage() for r in caplog.records if "found nothing known" in r.getMessage()]
    assert len(said) == 2
    assert not any("sk-another" in text or "key_live" in text for text in said)


class _FreeAndPaid:
    """One endpoint, one key, free and paid work (OpenRouter's `/chat/completions` serves
    `:free` models at a zero balance): a free model's call always gets through; a paid one
    needs credits, which the top-up hook buys and which never show."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.top_ups = 0
        self.credits = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        if json.loads(request.content or b"{}").get("model", "").endswith(":free"):
            return httpx.Response(200, json={"choices": []})
        if self.credits > 0:
            self.credits -= 1
            return httpx.Response(200, json={"choices": []})
        return httpx.Response(402, json=insufficient(0, 1))

    def top_up(self, error: http402.PaymentRequiredError) -> Retry:
        self.top_ups += 1
        return Retry(within=30)


PAID = {"model": "openai/gpt-4o", "messages": []}
FREE = {"model": "meta-llama/llama-3.3-8b-instruct:free", "messages": []}
COMPLETIONS = "https://openrouter.ai/api/v1/chat/completions"


@pytest.mark.parametrize("when", ["while the scout waits", "after the window closed"])
def test_a_free_call_to_the_same_endpoint_does_not_show_a_top_up(when: str) -> None:
    """A top-up never shows; the application's other traffic sends a free model's call to
    the same endpoint with the same key, and it gets its 200, during the window (a forced
    order: inside the scout's wait) or after it: no sign that the credits came (case 92: each
    window then closed "lifted", and every paid call bought again). The top-up is bought
    once; the same paid call getting through, or an SDK's retry of it, is the sign."""
    clock = VirtualClock()
    api = _FreeAndPaid(clock)
    free_calls: list[int] = []

    def sleep(seconds: float) -> None:
        if when == "while the scout waits" and not free_calls:
            free_calls.append(client.post(COMPLETIONS, json=FREE).status_code)
        clock.sleep(seconds)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api.handler)),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=sleep,
        on_payment_required={Reason.INSUFFICIENT_CREDITS: api.top_up},
    )
    for _ in range(3):
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(COMPLETIONS, json=PAID)
        if when == "after the window closed":
            free_calls.append(client.post(COMPLETIONS, json=FREE).status_code)
        clock.now += 60
    assert 200 in free_calls
    assert api.top_ups == 1
    api.credits = 1  # the credits show at last: the paid call itself is the sign
    retry = {"x-stainless-retry-count": "1"}  # an SDK's retry of the same call
    assert client.post(COMPLETIONS, json=PAID, headers=retry).status_code == 200
    with pytest.raises(http402.InsufficientCreditsError):
        client.post(COMPLETIONS, json=PAID)  # a new exhaustion: topped up again
    assert api.top_ups == 2


@pytest.mark.anyio
async def test_a_free_call_to_the_same_endpoint_does_not_show_a_top_up_async() -> None:
    """The async twin (asyncio and trio): a free call inside the scout's wait."""
    clock = VirtualClock()
    api = _FreeAndPaid(clock)
    free_calls: list[int] = []

    async def sleep(seconds: float) -> None:
        if not free_calls:
            free_calls.append((await client.post(COMPLETIONS, json=FREE)).status_code)
        clock.sleep(seconds)

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(api.handler)),
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=sleep,
        on_payment_required={Reason.INSUFFICIENT_CREDITS: api.top_up},
    )
    for _ in range(3):
        with pytest.raises(http402.InsufficientCreditsError):
            await client.post(COMPLETIONS, json=PAID)
        clock.now += 60
    assert free_calls == [200]
    assert api.top_ups == 1


def test_a_need_is_what_the_request_asks_for() -> None:
    """`need_of`: the same method, URL and body are one need whatever else differs (headers,
    an SDK's retry count, a multipart boundary, a credential in the query); another body,
    query or method is another need."""
    from http402._holds import need_of

    def need(method: str = "POST", url: str = COMPLETIONS, **kwargs: Any) -> str:
        return need_of(httpx.Request(method, url, **kwargs))

    paid = need(json=PAID)
    assert need(json=PAID, headers={"x-stainless-retry-count": "2"}) == paid
    assert need(json=FREE) != paid
    assert need("GET", json=PAID) != paid
    assert need(url=COMPLETIONS + "?model=free", json=PAID) != paid
    assert need(url=COMPLETIONS + "?api_key=one0123456789", json=PAID) == need(
        url=COMPLETIONS + "?api_key=two0123456789", json=PAID
    )
    upload = {"file": ("a.txt", b"same bytes")}
    first = httpx.Request("POST", COMPLETIONS, files=upload)
    second = httpx.Request("POST", COMPLETIONS, files=upload)
    assert first.headers["content-type"] != second.headers["content-type"]  # boundaries
    assert need_of(first) == need_of(second)


@pytest.mark.parametrize("remaining", ["4", "0", None])
def test_other_paid_calls_show_a_top_up_only_by_the_balance_they_read(
    remaining: str | None,
) -> None:
    """The top-up comes, and other paid calls to the endpoint (other bodies) spend it all
    while the gated call's scout waits (a forced order), each 200 saying the balance left.
    A balance above zero read after the hook answered shows the top-up took: the window ends
    "lifted", and the gated call, still refused, starts a new episode (a new exhaustion) and
    gets through. A 200 that reads no balance, or a zero one, shows nothing: the top-up is
    held as not shown, as for a free call (a high-volume account then reconciles)."""
    clock = VirtualClock()
    state = {"credits": 0, "top_ups": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["credits"] <= 0:
            return httpx.Response(402, json=insufficient(0, 1))
        state["credits"] -= 1
        left = {"x-credits-remaining": remaining} if remaining is not None else {}
        return httpx.Response(200, json={"choices": []}, headers=left)

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        state["top_ups"] += 1
        state["credits"] += 5
        return Retry(within=30, expected=1)

    others: list[int] = []

    def sleep(seconds: float) -> None:
        if state["top_ups"] == 1 and not others:  # others spend the top-up first
            for n in range(5):
                body = {"model": "openai/gpt-4o", "messages": [{"n": n}]}
                others.append(client.post(COMPLETIONS, json=body).status_code)
        clock.sleep(seconds)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(handler)),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=sleep,
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
    )
    if remaining == "4":
        assert client.post(COMPLETIONS, json=PAID).status_code == 200
        assert state["top_ups"] == 2
    else:
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(COMPLETIONS, json=PAID)
        clock.now += 60
        with pytest.raises(http402.InsufficientCreditsError, match="did not show"):
            client.post(COMPLETIONS, json=PAID)
        assert state["top_ups"] == 1
    assert others == [200] * 5


@pytest.mark.parametrize("reads_balance", [True, False])
def test_a_top_up_that_showed_late_is_shown_by_another_calls_balance(reads_balance: bool) -> None:
    """The credits come only after the window closed: the top-up is held as not shown. Later
    another paid call (another body) gets through; if its answer states a balance above zero
    (read after the hook answered), the hold ends and the next exhaustion tops up again; a 200
    that states no balance (a free call's, say) leaves the hold: it shows nothing."""
    clock = VirtualClock()
    state: dict[str, Any] = {"credits": 0, "top_ups": 0, "arrive": None}

    def handler(request: httpx.Request) -> httpx.Response:
        if state["arrive"] is not None and clock.now >= state["arrive"]:
            state["credits"], state["arrive"] = state["credits"] + 2, None
        if state["credits"] <= 0:
            return httpx.Response(402, json=insufficient(0, 1))
        state["credits"] -= 1
        left = {"x-credits-remaining": str(state["credits"] + 1)} if reads_balance else {}
        return httpx.Response(200, json={"choices": []}, headers=left)

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        state["top_ups"] += 1
        state["arrive"] = clock.now + 45  # past the 30 s window
        return Retry(within=30)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(handler)),
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
    )
    with pytest.raises(http402.InsufficientCreditsError, match="window closed"):
        client.post(COMPLETIONS, json=PAID)
    clock.now += 60  # the credits came meanwhile
    other = {"model": "openai/gpt-4o", "messages": [{"n": 1}]}
    assert client.post(COMPLETIONS, json=other).status_code == 200
    assert client.post(COMPLETIONS, json={**other, "n": 2}).status_code == 200
    if reads_balance:
        with pytest.raises(http402.InsufficientCreditsError, match="window closed"):
            client.post(COMPLETIONS, json=PAID)  # a new exhaustion: topped up again
        assert state["top_ups"] == 2
    else:
        with pytest.raises(http402.InsufficientCreditsError, match="did not show"):
            client.post(COMPLETIONS, json=PAID)
        assert state["top_ups"] == 1


class Unmoved:
    """An account whose top-up never shows (case 111): a request for the big model is refused
    with `gate`, any other is served; `header` is the balance a 200 states (`None`: none),
    and `/user/balance` (DeepSeek's probe, asked by name) answers `probed`."""

    def __init__(self, gate: dict[str, Any], header: str | None, probed: str = "3.00") -> None:
        self.gate, self.header, self.probed = gate, header, probed

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/user/balance":
            info = {"currency": "CNY", "total_balance": self.probed}
            return httpx.Response(200, json={"is_available": True, "balance_infos": [info]})
        headers = {} if self.header is None else {"x-credits-remaining": self.header}
        if json.loads(request.content or b"{}").get("model") == "big":
            return httpx.Response(402, json=self.gate, headers=headers)
        return httpx.Response(200, json={}, headers=headers)


STATES_NOTHING = {"error": {"code": "insufficient_credits", "message": "Insufficient credits"}}


@pytest.mark.parametrize(
    ("gate_body", "header", "preflight", "probed", "bought"),
    [
        # A balance header on another request's 200 (the adversary's case 111).
        pytest.param(insufficient(3, 10), "3", None, "3.00", 1, id="header-restates-the-gate"),
        pytest.param(insufficient(3, 10), "9", None, "3.00", 1, id="header-below-the-need"),
        pytest.param(insufficient(3, 10), "10", None, "3.00", 4, id="header-shows-the-need"),
        pytest.param({"balance": 3}, "3", None, "3.00", 1, id="header-restates-a-bare-balance"),
        pytest.param({"balance": 3}, "4", None, "3.00", 4, id="header-above-a-bare-balance"),
        pytest.param(STATES_NOTHING, "1", None, "3.00", 4, id="a-gate-of-no-amount-keeps-above-0"),
        pytest.param(STATES_NOTHING, "0", None, "3.00", 1, id="a-gate-of-no-amount-and-zero"),
        # The scout's balance probe while the top-up propagates (`Preflight(poll=True)`).
        pytest.param(insufficient(3, 10), None, "poll", "3.00", 1, id="scout-probe-restates"),
        pytest.param(insufficient(3, 10), None, "poll", "12.00", 4, id="scout-probe-shows"),
        # A preflight probe before sending (`Preflight(min_balance=1)`).
        pytest.param(insufficient(3, 10), None, "min", "3.00", 1, id="preflight-probe-restates"),
        pytest.param(insufficient(3, 10), None, "min", "12.00", 4, id="preflight-probe-shows"),
    ],
)
def test_a_balance_shows_a_top_up_only_above_what_its_gate_stated(
    gate_body: dict[str, Any], header: str | None, preflight: str | None, probed: str, bought: int
) -> None:
    """Case 111's kind: a top-up that never shows is held after its window; a balance read
    later (a header on another request's 200, the scout's probe, a preflight probe) ends
    that hold only when it is above what the gate stated the account had, and at least what
    it stated the request needed; a gate that stated nothing keeps "above zero". Otherwise
    the next gate of the same need buys again, once per window, for as long as cheap
    traffic runs. Four windows on a virtual clock; `bought` counts the hook's calls: 1 when
    the reading is no sign, 4 (one a window) when it shows the top-up each time."""
    clock, purchases = VirtualClock(), []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        purchases.append(clock.now)
        return Retry(within=30)

    options: dict[str, Any] = {}
    if preflight == "poll":
        options["preflight"] = http402.Preflight(poll=True, probe="deepseek", every=1)
    elif preflight == "min":
        options["preflight"] = http402.Preflight(min_balance=1, probe="deepseek", every=1)
    api = Unmoved(gate_body, header, probed)
    client = http402.wrap(
        httpx.Client(base_url="https://api.example.com", transport=httpx.MockTransport(api)),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
        **options,
    )
    key = {"authorization": "Bearer sk-live-0123456789abcdef"}

    def big() -> None:
        with contextlib.suppress(http402.PaymentRequiredError):
            client.post("/v1/chat", json={"model": "big"}, headers=key)

    big()  # bought; nothing shows in the window: held
    for _ in range(3):
        clock.now += 2  # past the preflight probe's `every`: a new reading
        assert client.post("/v1/chat", json={"model": "small"}, headers=key).status_code == 200
        big()
        clock.now += 60
    assert len(purchases) == bought


class CutShort:
    """An async top-up hook that sends its purchase and awaits an answer that never comes:
    whatever cancels it (its event loop's shutdown, a cancel of its task) cuts it short
    after the money may have moved."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.started: anyio.Event | None = None

    async def __call__(self, error: http402.PaymentRequiredError) -> Retry:
        self.sent.append(len(self.sent))  # POST /billing/purchase has left
        if self.started is not None:
            self.started.set()
        await anyio.sleep_forever()  # its answer has not come back yet
        raise AssertionError("unreachable")


def _exhausted(request: httpx.Request) -> httpx.Response:
    return httpx.Response(402, json={"error": {"message": "Insufficient credits", "code": 402}})


@pytest.mark.parametrize("runner", ["asyncio.run", "trio.run"])
def test_a_top_up_cut_short_by_its_event_loops_end_is_held_until_reconciled(runner: str) -> None:
    """Case 113: each job runs under its own event loop (`asyncio.run`, `trio.run`: a Celery
    task, a CLI script) and one `AsyncLocalCoordinator` serves them all. The job's request
    stops waiting at `hook_timeout`, the job ends, and the loop's end cancels the hook
    mid-purchase. That top-up's outcome is unknown: the next jobs, during the failure hold
    and long after it, raise `PaymentOutcomeUnknownError` (held) and buy nothing; once the
    application reconciles, the next job buys again."""
    import time

    hook, offset = CutShort(), [0.0]  # real time (`hook_timeout` passes), moved on by hand
    coordinator = http402.AsyncLocalCoordinator(clock=lambda: time.monotonic() + offset[0])
    key = {"authorization": "Bearer sk-live-0123456789abcdef"}
    errors: list[BaseException] = []

    async def job() -> None:
        client = http402.wrap(
            httpx.AsyncClient(transport=httpx.MockTransport(_exhausted)),
            on_payment_required=hook,
            coordinator=coordinator,
            hook_timeout=0.05,
        )
        try:
            await client.post("https://api.example.com/v1/chat", json={}, headers=key)
        except Exception as exc:
            errors.append(exc)

    def run() -> None:
        if runner == "asyncio.run":
            asyncio.run(job())
        else:
            pytest.importorskip("trio").run(job)

    run()
    assert isinstance(errors[-1], TimeoutError)
    for moved in (0, 11, 3600):  # inside the 10 s failure hold, past it, an hour later
        offset[0] += moved
        run()
        assert isinstance(errors[-1], http402.PaymentOutcomeUnknownError)
        assert errors[-1].held and "cut short" in errors[-1].hold.why
    assert hook.sent == [0]
    held = errors[-1]
    assert isinstance(held, http402.PaymentOutcomeUnknownError)

    async def reconciled() -> None:
        client = http402.wrap(httpx.AsyncClient(), coordinator=coordinator)
        assert await http402.areconcile(client, held)

    asyncio.run(reconciled())
    run()
    assert hook.sent == [0, 1]


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # trio's system tasks end with the run
async def test_a_top_up_whose_task_is_cancelled_holds_it_for_its_waiters() -> None:
    """The hook's own task is cancelled (by the application, or a library reaching for every
    task of the loop) while two requests wait for it: both raise `PaymentOutcomeUnknownError`
    for the top-up that may have been bought, and a third request later buys nothing."""
    from http402 import _async_transport

    hook = CutShort()
    hook.started = anyio.Event()
    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(_exhausted)), on_payment_required=hook
    )
    key = {"authorization": "Bearer sk-live-0123456789abcdef"}
    caught: list[BaseException] = []

    async def send() -> None:
        try:
            await client.post("https://api.example.com/v1/chat", json={}, headers=key)
        except Exception as exc:
            caught.append(exc)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(send)
            group.start_soon(send)
            await hook.started.wait()
            await anyio.wait_all_tasks_blocked()
            for task in list(_async_transport._HOOK_TASKS):
                task.cancel()
        await send()
    assert len(caught) == 3
    assert all(isinstance(each, http402.PaymentOutcomeUnknownError) for each in caught)
    assert hook.sent == [0]


def _held_elsewhere(coordinator: Any, episode: str) -> str:
    """Another process's hold on the top-up of `episode` (`<scope>|<reason>`), put while
    this process waited in the election."""
    scope, reason = episode.rsplit("|", 1)
    record = http402.PaymentHold(
        kind="unknown_outcome", reason=Reason(reason), why="another process's hook was cut short"
    ).encode()
    coordinator.book.holds.hold(scope, f"top-up:{reason}", record)
    return scope


class ElectedAfterAHold(http402.LocalCoordinator):
    """A fleet's coordinator in miniature: its election elects this process only after
    another process's top-up of the scope was held (its hook cut short, its lease gone)."""

    def run_episode(self, scope: str, sent: Any, run_hook: Any, window: float) -> Any:
        _held_elsewhere(self, scope)
        return run_hook()


class AsyncElectedAfterAHold(http402.AsyncLocalCoordinator):
    async def run_episode(self, scope: str, sent: Any, run_hook: Any, window: float) -> Any:
        _held_elsewhere(self, scope)
        return await run_hook()


def test_a_process_elected_after_a_hold_was_put_does_not_buy() -> None:
    """In a fleet, a request asks for the scope's holds before its election; while it waits
    there, the holder's hook is cut short and holds the top-up (case 113's kind). The
    process then elected asks again before its hook runs, and raises the hold."""
    calls: list[str] = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append("bought")
        return Retry(within=30)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(_exhausted)),
        on_payment_required=top_up,
        coordinator=ElectedAfterAHold(),
    )
    with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
        client.post("https://api.example.com/v1/chat", json={})
    assert caught.value.held and calls == []


@pytest.mark.anyio
async def test_an_async_process_elected_after_a_hold_was_put_does_not_buy() -> None:
    calls: list[str] = []

    async def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append("bought")
        return Retry(within=30)

    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(_exhausted)),
        on_payment_required=top_up,
        coordinator=AsyncElectedAfterAHold(),
    )
    async with client:
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            await client.post("https://api.example.com/v1/chat", json={})
    assert caught.value.held and calls == []


#: A call signed anew on every send, as exchange-style APIs sign each call in its query
#: (a fresh `timestamp` and an HMAC `signature`), and other names that change per request.
SIGNED = [
    ("?symbol=BTCUSDT&timestamp=1733370000000&signature=9f86d081884c7d65", "?symbol=BTCUSDT"),
    ("?symbol=BTCUSDT&timestamp=1733370000001&signature=60303ae22b998861", "?symbol=BTCUSDT"),
    ("?q=cats&nonce=8f14e45f&sig=aab3238922bcc25a", "?q=cats"),
    ("?X-Amz-Signature=0123456789abcdef&page=2", "?page=2"),
    ("?idempotency_key=5f3c1a&page=2#frag", "?page=2#frag"),
    ("?timestamp=1&signature=2", ""),
    ("?page=2&model=gpt-4o", "?page=2&model=gpt-4o"),
    ("", ""),
    # Case 163: the other per-call values a signing API sends beside its signature.
    (
        "?appKey=6f1c&q=hi&salt=4f9a-11&curtime=1733370000&signType=v3&sign=ab12",
        "?appKey=6f1c&q=hi",
    ),
    ("?X-Amz-Date=20261205T045500Z&X-Amz-Expires=300&X-Amz-Signature=ff00&page=2", "?page=2"),
    ("?_=1733370000123&q=cats&requestId=r-77", "?q=cats"),
]


@pytest.mark.parametrize(("query", "target"), SIGNED)
def test_what_a_request_asks_for_leaves_out_what_changes_per_request(
    query: str, target: str
) -> None:
    """Case 131's kind, the rule as a table: `request_target` drops the query parameters
    that `changes_per_request` names (the one definition the billing scope uses too), keeps
    the rest as sent; so the hold key of an offer naming no resource, a top-up's need and an
    SDK call's key are one for a call re-signed on each send, and two for another query."""
    from http402._holds import need_of, offer_keys
    from http402._replay import call_of, default_scope, request_target

    base = "https://api.example.com/api/v3/report"
    assert request_target(base + query) == base + target
    plain = base + target
    assert offer_keys([], "GET", base + query) == offer_keys([], "GET", plain)
    headers = {"X-MBX-APIKEY": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE", "x-stainless-retry-count": "1"}
    signed = httpx.Request("GET", base + query, headers=headers)
    unsigned = httpx.Request("GET", plain, headers=headers)
    assert need_of(signed) == need_of(unsigned)
    assert default_scope(signed) == default_scope(unsigned)
    scope = default_scope(signed)
    assert call_of(signed, scope) == call_of(unsigned, scope)
    other = base + "?symbol=ETHUSDT"
    assert offer_keys([], "GET", other) != offer_keys([], "GET", plain)


def test_an_offers_resource_signed_anew_is_one_hold() -> None:
    """Case 169: an x402 offer whose `resource` is the request's URL as signed for this send
    is one hold key across sends (the resource read by `request_target`); another resource
    is another key."""
    from decimal import Decimal

    from http402._holds import offer_keys

    def offer(resource: str) -> http402.PaymentOption:
        return http402.PaymentOption(
            protocol="x402",
            scheme="exact",
            network="eip155:8453",
            asset="0x833589fcd6edb6e08f4c7c32d4f71b54bda02913",
            amount=Decimal("10000"),
            resource=resource,
        )

    base = "https://api.example.com/v1/report?symbol=BTC"
    first = offer_keys([offer(base + "&timestamp=1&signature=aa")], "GET", base)
    again = offer_keys([offer(base + "&timestamp=2&signature=bb")], "GET", base)
    assert first == again
    assert first != offer_keys([offer(base.replace("BTC", "ETH"))], "GET", base)


def _payment_scheme_api(library: str) -> Any:
    """An API whose report costs $5 through the `Payment` scheme (no resource named); the
    paid replay gets a 503: the outcome is unknown."""
    http = pytest.importorskip(library)
    body = {"amount": "500", "currency": "usd", "recipient": "acct_1Merchant"}
    request = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")
    header = (
        'Payment id="ch-1", realm="api.example.com", method="stripe", '
        f'intent="charge", request="{request}"'
    )

    def api(request: Any) -> Any:
        if request.headers.get("authorization", "").startswith("Payment "):
            return http.Response(503)
        return http.Response(402, headers={"WWW-Authenticate": header})

    return http, api


@pytest.mark.parametrize(("library", "asynchronous"), CLIENT_KINDS)
def test_a_call_re_signed_on_each_send_is_held_as_one_call(
    library: str, asynchronous: bool
) -> None:
    """Case 131: the application retries a call whose payment's outcome is unknown, signed
    anew (a new `timestamp` and `signature` in its query). The offer names no resource, so
    its hold key is the request's: without what changes per request, it is the same call,
    and the retry meets the hold; one payment. httpx and httpx2, sync and async."""
    http, api = _payment_scheme_api(library)
    paid: list[object] = []

    def pay(error: http402.PaymentRequiredError) -> Retry:
        paid.append(error.payment.payment_options[0])
        return Retry(headers={"Authorization": f"Payment credential-{len(paid):04d}"})

    async def main() -> list[Any]:
        make = http.AsyncClient if asynchronous else http.Client
        client = http402.wrap(
            make(transport=http.MockTransport(api)),
            on_payment_required={Reason.PAYMENT_CHALLENGE: pay},
            spend_policy=http402.SpendPolicy(max_amount={"USD": 1000}),
        )
        outcomes = []
        for timestamp in (1733370000000, 1733370000001):
            query = f"symbol=BTCUSDT&timestamp={timestamp}"
            signature = hashlib.sha256(query.encode()).hexdigest()
            url = f"https://api.example.com/api/v3/report?{query}&signature={signature}"
            outcomes.append(await _outcome(asynchronous, client, url))
        return outcomes

    first, second = asyncio.run(main())
    assert isinstance(first, http402.PaymentOutcomeUnknownError) and not first.held
    assert isinstance(second, http402.PaymentOutcomeUnknownError) and second.held
    assert len(paid) == 1


#: A gate of each reason, as the same account may answer it (`unknown`: an edge's empty 402).
GATES_BY_REASON = {
    Reason.INSUFFICIENT_CREDITS: {"error": {"code": "insufficient_credits", "message": "x"}},
    Reason.SUBSCRIPTION_EXPIRED: {
        "error": {"code": "subscription_expired", "message": "Your subscription has expired."}
    },
    Reason.PAYMENT_FAILED: {"error": {"code": "card_declined", "message": "Card declined."}},
    Reason.UNKNOWN: None,
}


def _gate_of(reason: Reason, request: httpx.Request) -> Any:
    from http402._actions import Gated
    from http402._exceptions import error_for

    body = GATES_BY_REASON[reason]
    response = (
        httpx.Response(402, content=b"", headers={"content-type": "text/html"}, request=request)
        if body is None
        else httpx.Response(402, json=body, request=request)
    )
    payment = http402.classify(response)
    assert payment is not None and payment.reason is reason
    return Gated(error_for(payment, request=request, response=response))


@pytest.mark.parametrize("kind", ["unknown_outcome", "not_shown"])
@pytest.mark.parametrize("held_for", list(GATES_BY_REASON))
@pytest.mark.parametrize("gate", list(GATES_BY_REASON))
def test_a_wordless_gate_is_held_by_any_top_ups_hold_and_a_worded_one_by_its_own(
    gate: Reason, held_for: Reason, kind: str
) -> None:
    """Cases 135 and 141's kind, decided once in the core (`holding_reasons`), as a table on
    a fake clock: a scope holds a top-up bought for `held_for` (its outcome unknown, or it
    did not show); a gate of `gate` meets the one hook for every reason. A 402 that says
    nothing is the same 402 unexplained: it is held by any reason's top-up, and a gate that
    names its reason is held by its own and by a wordless one's; another named reason is
    another need, and its hook runs."""
    from http402._holds import PaymentHold, top_up_key
    from http402._replay import default_scope

    calls: list[Reason] = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason)
        return Retry(within=5)

    clock = FlowClock()
    driver = Driver(recovery(top_up), lambda request, now: _gate_of(gate, request), clock=clock)
    scope = default_scope(httpx.Request("POST", "https://api.example.com/v1/generate"))
    hold = PaymentHold(kind=kind, reason=held_for, why="bought before", since=0.0)
    driver.coordinator.hold(scope, top_up_key(held_for), hold.encode())
    held = gate is held_for or Reason.UNKNOWN in (gate, held_for)
    with pytest.raises((http402.PaymentRequiredError, http402.PaymentOutcomeUnknownError)) as ended:
        driver.run()
    if not held:
        assert calls == [gate]
        return
    assert calls == []
    if kind == "unknown_outcome":
        assert isinstance(ended.value, http402.PaymentOutcomeUnknownError) and ended.value.held
        assert top_up_key(held_for) in ended.value.keys  # what reconcile ends
    else:
        assert isinstance(ended.value, http402.PaymentRequiredError)
        assert "bought before" in (ended.value.not_replayed or "")


def _wordless_after(library: str, first: str) -> tuple[Any, Any]:
    """An account whose first 402 says insufficient credits and whose later ones are an
    edge's empty page; a topped-up replay gets a 503 (`first="503"`: the outcome is unknown)
    or the same gate (`first="gated"`: the top-up never shows)."""
    http = pytest.importorskip(library)
    answers = [0]

    def api(request: Any) -> Any:
        answers[0] += 1
        if request.extensions.get("http402.replay") and first == "503":
            return http.Response(503)
        if answers[0] == 1 or (first == "gated" and request.extensions.get("http402.replay")):
            return http.Response(402, json=GATES_BY_REASON[Reason.INSUFFICIENT_CREDITS])
        return http.Response(402, content=b"", headers={"content-type": "text/html"})

    return http, api


@pytest.mark.parametrize("first", ["503", "gated"])
@pytest.mark.parametrize(("library", "asynchronous"), CLIENT_KINDS)
def test_a_wordless_402_after_a_held_top_up_buys_nothing(
    library: str, asynchronous: bool, first: str
) -> None:
    """Cases 135 and 141 end to end: a credits top-up's replay gets a 503 (its outcome is
    unknown) or its window closes with the gate still there (it did not show); the next
    402 of the same account is wordless (reason `unknown`). The one hook for every reason is
    not called again: the held outcome raises `PaymentOutcomeUnknownError`, the unshown top-up
    the gate saying why. Reconciling that wordless gate's error ends the hold, and the next
    one buys. httpx and httpx2, sync and async."""
    http, api = _wordless_after(library, first)
    calls: list[str] = []

    def top_up(error: http402.PaymentRequiredError) -> Retry:
        calls.append(error.reason.value)
        return Retry(within=0.2)

    async def main() -> None:
        make = http.AsyncClient if asynchronous else http.Client
        client = http402.wrap(
            make(transport=http.MockTransport(api), base_url="https://api.example.com"),
            on_payment_required=top_up,
            retry=http402.RetryPolicy(max_wait=0.05),
        )
        outcome = await _outcome(asynchronous, client, "/v1/run")
        assert isinstance(
            outcome,
            http402.PaymentOutcomeUnknownError
            if first == "503"
            else http402.InsufficientCreditsError,
        )
        await asyncio.sleep(0.25)  # past the window: a wordless 402 inside it replays
        wordless = await _outcome(asynchronous, client, "/v1/run")
        assert calls == ["insufficient_credits"]
        if first == "503":
            assert isinstance(wordless, http402.PaymentOutcomeUnknownError) and wordless.held
        else:
            assert isinstance(wordless, http402.PaymentRequiredError)
            assert wordless.reason is Reason.UNKNOWN
            assert "did not show" in (wordless.not_replayed or "")
        reconcile = http402.areconcile if asynchronous else http402.reconcile
        assert await _both(asynchronous, reconcile(client, wordless)) is True
        await _outcome(asynchronous, client, "/v1/run")
        assert calls == ["insufficient_credits", "unknown"]

    asyncio.run(main())
