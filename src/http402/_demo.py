"""`python -m http402 demo`: a paid API on loopback runs out of credits; http402 says so,
then recovers.

The provider is a real HTTP server on 127.0.0.1 (an ephemeral port), spoken to over real
sockets through `httpx.HTTPTransport`; nothing is mocked. Its 402 uses the common JSON error
shape, so the answer comes from http402's generic adapter, as it would for any provider that
has no adapter of its own. Its top-up endpoint takes a couple of seconds to make new credits
spendable, as real billing systems do, so the replay has to wait for it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

import httpx

from . import _workers
from ._burn import LowBalance, LowBalanceWatch
from ._episodes import LocalCoordinator
from ._exceptions import PaymentRequiredError
from ._models import Reason, Retry
from ._preflight import Preflight
from ._transport import PaymentRequiredTransport
from .testing import FakeProvider

__all__ = ["DemoProvider", "run_demo"]

_FIELDS = (
    "reason",
    "provider",
    "status_code",
    "code",
    "message",
    "credits_required",
    "credits_available",
    "action_url",
    "request_id",
)


class DemoProvider:
    """A `FakeProvider` served over real HTTP on 127.0.0.1: `POST /v1/generate` costs `price`
    credits; `POST /billing/top-up` adds credits that become spendable `propagation` seconds
    later, on the real clock."""

    def __init__(self, *, credits: int = 100, price: int = 40, propagation: float = 2.0) -> None:
        self._server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # Polled every 50 ms for `stop` (the default half second made every stop wait).
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self.fake = FakeProvider(
            credits=credits,
            price=price,
            propagation=propagation,
            url=self.url,
            clock=time.monotonic,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def credits(self) -> int:
        return self.fake.credits

    @credits.setter
    def credits(self, value: int) -> None:
        self.fake.credits = value

    @property
    def price(self) -> int:
        return self.fake.price

    @property
    def top_ups(self) -> int:
        """How many top-ups were asked for: a fleet should ask once per episode."""
        return self.fake.top_ups

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    # The standard backlog of 5 resets connections when a fleet of clients arrives at once.
    request_queue_size = 256


def _handler_for(provider: DemoProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body would wait for the
        # client's delayed ACK (about 40 ms per keep-alive request).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            if self.path == "/v2/team/credit-usage":
                self._balance()
            else:
                self._answer(b"")

        def _balance(self) -> None:
            # Firecrawl's documented credit-usage shape (docs.firecrawl.dev/api-reference/
            # endpoint/credit-usage), so that the demo's preflight can use that probe here.
            usage = {"remainingCredits": provider.credits, "planCredits": 1000}
            data = json.dumps({"success": True, "data": usage}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            self._answer(self.rfile.read(length))

        def _answer(self, body: bytes) -> None:
            status, payload, headers = provider.fake.answer(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("x-request-id", f"req_{secrets.token_hex(6)}")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def _running(provider: DemoProvider) -> Iterator[DemoProvider]:
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


def run_demo(out: TextIO) -> int:
    """Runs the demo, writing to `out`; returns the process exit code."""
    with _running(DemoProvider()) as provider:
        print(f"http402 demo: a paid API on {provider.url} (loopback, real HTTP)", file=out)
        print(
            f"  the account has {provider.credits} credits; each call costs {provider.price}\n",
            file=out,
        )
        # The key is a throwaway, sent to show that no credential reaches any output.
        headers = {"authorization": f"Bearer demo-{secrets.token_hex(16)}"}

        print("1. without a hook, the gate is a typed error:", file=out)
        transport = PaymentRequiredTransport(httpx.HTTPTransport())
        with httpx.Client(transport=transport, base_url=provider.url, headers=headers) as client:
            for call in range(1, 10):
                try:
                    response = client.post("/v1/generate", json={"prompt": f"call {call}"})
                except PaymentRequiredError as error:
                    _show_gate(error, out)
                    break
                left = response.headers["x-credits-remaining"]
                print(f"  call {call}: {response.status_code} OK, {left} credits left", file=out)
            else:
                print("the provider never answered 402; the demo is broken", file=out)
                return 1
        return _recover(provider, headers, out)


def _recover(provider: DemoProvider, headers: dict[str, str], out: TextIO) -> int:
    print("\n2. with an upgrade hook, the same call tops up, waits and goes through:", file=out)
    started = time.monotonic()

    def top_up(error: PaymentRequiredError) -> Retry:
        print(f"  hook: {error.payment.reason.value}; buying 200 credits", file=out)
        with httpx.Client(base_url=provider.url) as billing:
            answer = billing.post("/billing/top-up", json={"credits": 200}).json()
        print(
            f"  hook: POST /billing/top-up -> {answer['status']}, spendable in about "
            f"{answer['available_in']:g} s",
            file=out,
        )
        return Retry(within=30)

    def sleep(seconds: float) -> None:
        print(f"  still 402 while the top-up propagates; waiting {seconds:.1f} s", file=out)
        time.sleep(seconds)

    transport = PaymentRequiredTransport(
        httpx.HTTPTransport(),
        on_payment_required={Reason.INSUFFICIENT_CREDITS: top_up},
        sleep=sleep,
    )
    with httpx.Client(transport=transport, base_url=provider.url, headers=headers) as client:
        try:
            response = client.post("/v1/generate", json={"prompt": "again"})
        except PaymentRequiredError as error:
            print(f"  gave up: {error}", file=out)
            return 1
    left = response.headers["x-credits-remaining"]
    print(
        f"  replayed: {response.status_code} OK after {time.monotonic() - started:.1f} s, "
        f"{left} credits left",
        file=out,
    )
    return _know_before(provider, headers, out)


def _know_before(provider: DemoProvider, headers: dict[str, str], out: TextIO) -> int:
    print("\n3. know before you pay:", file=out)
    # Simulated time, so that a spend rate shows within a demo: each call is ten minutes.
    now = [0.0]
    alerts: list[LowBalance] = []
    transport = PaymentRequiredTransport(
        httpx.HTTPTransport(),
        coordinator=LocalCoordinator(clock=lambda: now[0]),
        low_balance=LowBalanceWatch(alerts.append, within=3 * 3600),
        preflight=Preflight(min_balance=provider.price, probe="firecrawl", every=60),
    )
    print(
        f"  preflight: probe GET /v2/team/credit-usage (Firecrawl's documented shape) at most "
        f"once a minute; refuse below {provider.price} credits",
        file=out,
    )
    print("  spending, one call every 10 minutes of simulated time:", file=out)
    with httpx.Client(transport=transport, base_url=provider.url, headers=headers) as client:
        for call in range(1, 10):
            try:
                response = client.post("/v1/generate", json={"prompt": f"call {call}"})
            except PaymentRequiredError as error:
                name, message = type(error).__name__, error.payment.message
                print(f"  call {call}: refused before sending ({name}, ", file=out, end="")
                print(f"attempts={error.attempts}): {message}", file=out)
                break
            left = response.headers["x-credits-remaining"]
            print(f"  call {call}: {response.status_code} OK, {left} credits left", file=out)
            # The alert hook runs off the request, in http402's hook workers: wait for it, so
            # that its line follows the call that crossed the threshold.
            _workers.idle(5.0)
            for alert in alerts:
                hours = (alert.time_left or 0) / 3600
                print(
                    f"    low balance ({alert.trigger}): about {hours:.1f} h of credits left "
                    f"at {alert.rate or 0:.3f} credits/s",
                    file=out,
                )
            alerts.clear()
            now[0] += 600.0
        else:
            print("  preflight never refused; the demo is broken", file=out)
            return 1
    return 0


def _show_gate(error: PaymentRequiredError, out: TextIO) -> None:
    print(f"  next call: {error.response.status_code} Payment Required\n", file=out)
    print(f"  raised {type(error).__name__}:", file=out)
    print(f"    {error}\n", file=out)
    print("  the normalized answer (error.payment):", file=out)
    for name in _FIELDS:
        value = getattr(error.payment, name)
        if isinstance(value, Decimal):
            value = str(value)
        elif hasattr(value, "value"):
            value = value.value
        print(f"    {name:<18} {value}", file=out)
    print(f"    {'is_entitlement':<18} {error.payment.is_entitlement}", file=out)
