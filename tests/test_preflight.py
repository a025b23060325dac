"""Know before you pay, through the transports: preflight on a probed balance, polling the
balance probe while a top-up propagates, burn-rate alerts and the billing metrics.

The provider is DeepSeek's documented API shape (`GET /user/balance`, see
`tests/balances/deepseek.json` for the source), served by a mock on DeepSeek's own host.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

import http402

BASE = "https://api.deepseek.com"
CHAT = f"{BASE}/chat/completions"
AUTH = {"Authorization": "Bearer sk-preflight-canary-0123456789"}
# DeepSeek's documented 402 body (tests/payloads/deepseek-insufficient-balance.json).
GATE = {
    "error": {
        "message": "Insufficient Balance",
        "type": "unknown_error",
        "param": None,
        "code": "invalid_request_error",
    }
}


class DeepSeek:
    """A fake DeepSeek account: a balance in CNY, a chat endpoint that costs 1 CNY, and the
    documented balance endpoint. A top-up shows after `propagation` more balance reads or
    chat calls (whichever asks first)."""

    def __init__(self, balance: str = "0.00") -> None:
        self.balance = Decimal(balance)
        self.pending: Decimal | None = None
        self.propagation = 0
        self.chats = 0
        self.probes = 0
        self.lock = threading.Lock()

    def top_up(self, amount: str, propagation: int) -> None:
        with self.lock:
            self.pending, self.propagation = Decimal(amount), propagation

    def _tick(self) -> None:
        if self.pending is not None:
            if self.propagation <= 0:
                self.balance += self.pending
                self.pending = None
            else:
                self.propagation -= 1

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self._tick()
            if request.url.path == "/user/balance":
                self.probes += 1
                body = {
                    "is_available": self.balance > 0,
                    "balance_infos": [
                        {
                            "currency": "CNY",
                            "total_balance": f"{self.balance:.2f}",
                            "granted_balance": "0.00",
                            "topped_up_balance": f"{self.balance:.2f}",
                        }
                    ],
                }
                return httpx.Response(200, json=body)
            self.chats += 1
            if self.balance >= 1:
                self.balance -= 1
                return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=GATE)


def client_for(account: DeepSeek, **options: Any) -> httpx.Client:
    return http402.wrap(
        httpx.Client(transport=httpx.MockTransport(account), headers=AUTH),
        sleep=lambda seconds: None,
        **options,
    )


class TestPreflight:
    def test_a_balance_below_the_minimum_fails_fast_without_sending(self) -> None:
        account = DeepSeek("0.40")
        client = client_for(account, preflight=http402.Preflight(min_balance=1))
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(CHAT, json={})
        error = caught.value
        assert error.attempts == 0 and account.chats == 0 and account.probes == 1
        assert error.payment.credits_available == Decimal("0.40")
        assert error.payment.currency == "CNY"
        assert "known before sending: not sent" in str(error)
        assert error.response.extensions["http402.preflight"] is True
        assert "canary" not in str(error) + repr(error.payment)

    def test_enough_balance_lets_requests_go_and_is_probed_once_per_interval(self) -> None:
        """100 concurrent requests: one probe, 100 chats."""
        account = DeepSeek("500.00")
        client = client_for(account, preflight=http402.Preflight(min_balance=1, every=60))
        barrier = threading.Barrier(100)
        codes: list[int] = []

        def one() -> None:
            barrier.wait()
            codes.append(client.post(CHAT, json={}).status_code)

        threads = [threading.Thread(target=one) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        assert codes == [200] * 100
        assert account.probes == 1 and account.chats == 100

    def test_a_failed_probe_lets_the_request_go(self) -> None:
        def provider(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/user/balance":
                return httpx.Response(500, text="oops")
            return httpx.Response(200, json={"ok": True})

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(provider), headers=AUTH),
            preflight=http402.Preflight(min_balance=1),
        )
        assert client.post(CHAT, json={}).status_code == 200

    def test_a_host_without_a_probe_is_not_probed(self) -> None:
        seen: list[str] = []

        def provider(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.path)
            return httpx.Response(200)

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(provider)),
            preflight=http402.Preflight(min_balance=1),
        )
        client.get("https://api.example.com/v1/x")
        assert seen == ["/v1/x"]

    def test_preflight_ttl_and_preflight_are_one_option(self) -> None:
        with (
            pytest.warns(DeprecationWarning, match="preflight_ttl"),
            pytest.raises(ValueError, match="or preflight_ttl"),
        ):
            http402.PaymentRequiredTransport(
                preflight=http402.Preflight(gate_ttl=5), preflight_ttl=5
            )

    @pytest.mark.anyio
    async def test_async_preflight_fails_fast_too(self) -> None:
        account = DeepSeek("0.10")
        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(account), preflight=http402.Preflight(min_balance=1)
        )
        async with httpx.AsyncClient(transport=transport, headers=AUTH) as client:
            with pytest.raises(http402.InsufficientCreditsError) as caught:
                await client.post(CHAT, json={})
        assert caught.value.attempts == 0 and account.chats == 0


class TestPollingDuringPropagation:
    def test_the_scout_polls_the_balance_probe_instead_of_replaying(self) -> None:
        """The top-up shows after 5 more reads: the paid endpoint sees the gate, one real
        replay (every fourth step is one, in case the probe lags) and the replay that gets
        through; the probe is polled meanwhile."""
        account = DeepSeek("0.00")

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            account.top_up("10.00", propagation=5)
            return http402.Retry(within=60)

        client = client_for(
            account, on_payment_required=top_up, preflight=http402.Preflight(poll=True)
        )
        assert client.post(CHAT, json={}).status_code == 200
        assert account.chats == 3
        assert account.probes >= 4

    def test_without_polling_the_paid_endpoint_takes_every_replay(self) -> None:
        account = DeepSeek("0.00")

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            account.top_up("10.00", propagation=5)
            return http402.Retry(within=60)

        client = client_for(account, on_payment_required=top_up)
        assert client.post(CHAT, json={}).status_code == 200
        assert account.chats == 7 and account.probes == 0


class TestBurnRate:
    def test_the_time_to_empty_alert_fires_once_with_a_sane_estimate(self) -> None:
        """A balance header falling 1 credit a second from 10,000: less than 2 hours left
        after about 2,800 s; one alert, whose rate is about 1/s."""
        clock = {"now": 0.0}
        balance = {"left": 10_000}

        def provider(request: httpx.Request) -> httpx.Response:
            balance["left"] -= 10
            return httpx.Response(200, headers={"x-credits-remaining": str(balance["left"])})

        alerts: list[http402.LowBalance] = []
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider),
            coordinator=http402.LocalCoordinator(clock=lambda: clock["now"]),
            low_balance=http402.LowBalanceWatch(alerts.append, within=2 * 3600),
        )
        with httpx.Client(transport=transport) as client:
            for _ in range(900):
                client.get("https://api.example.com/v1/generate")
                clock["now"] += 10.0
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert.trigger == "time_left"
        assert alert.rate == pytest.approx(1.0, rel=0.01)
        assert alert.time_left is not None and 6800 < alert.time_left < 7200
        assert 2700 < alert.as_of < 3300

    @pytest.mark.anyio
    async def test_the_async_transport_awaits_a_coroutine_alert_hook(self) -> None:
        seen: list[http402.LowBalance] = []

        async def alert(low: http402.LowBalance) -> None:
            await anyio.lowlevel.checkpoint()
            seen.append(low)

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(
                lambda request: httpx.Response(200, headers={"x-credits-remaining": "3"})
            ),
            low_balance=http402.LowBalanceWatch(alert, below=5),
        )
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("https://api.example.com/")
            await client.get("https://api.example.com/")
        assert [a.balance for a in seen] == [Decimal(3)]


def test_a_recovery_is_counted_in_the_billing_metrics(reader: Any) -> None:
    """Every gate response (the first and two replays' while billing propagates), one hook
    call, three replays and one propagation time, with the gate's reason, kind and
    provider, and no credential in any attribute."""
    account = DeepSeek("0.00")

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        account.top_up("10.00", propagation=2)
        return http402.Retry(within=60)

    client_for(account, on_payment_required=top_up).post(CHAT, json={})
    found: dict[str, list[Any]] = {}
    for resource in reader.get_metrics_data().resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    assert sum(p.value for p in found["http402.gates"]) == 3
    gate = found["http402.gates"][0].attributes
    assert gate["billing_gate_reason"] == "insufficient_credits"
    assert gate["billing_gate_kind"] == "payment"
    assert gate["provider"] == "deepseek"
    assert sum(p.value for p in found["http402.hook.calls"]) == 1
    assert sum(p.value for p in found["http402.replays"]) == 3
    assert found["http402.propagation.duration"][0].count == 1
    everything = json.dumps([dict(p.attributes) for ps in found.values() for p in ps])
    assert "canary" not in everything


class TestPreflightWithAHook:
    def test_a_balance_below_the_minimum_calls_the_top_up_hook_before_sending(self) -> None:
        """With a top-up hook, a preflight that finds the balance too low tops up first,
        then sends the request once the credits show: nothing is refused."""
        account = DeepSeek("0.40")
        calls: list[http402.PaymentRequiredError] = []

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            calls.append(error)
            account.top_up("10.00", propagation=2)
            return http402.Retry(within=60)

        client = client_for(
            account,
            on_payment_required=top_up,
            preflight=http402.Preflight(min_balance=1, every=0.001),
        )
        assert client.post(CHAT, json={}).status_code == 200
        assert len(calls) == 1 and calls[0].attempts == 0
        assert account.chats == 1  # sent once, after the balance showed

    def test_a_failing_low_balance_hook_never_costs_the_response(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        """The server answered (and charged); the alert hook's exception is only logged."""

        def pager(alert: http402.LowBalance) -> None:
            raise RuntimeError("pager down")

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(
                lambda request: httpx.Response(200, headers={"x-credits-remaining": "3"})
            ),
            low_balance=http402.LowBalanceWatch(pager, below=5),
        )
        with httpx.Client(transport=transport) as client:
            assert client.get("https://api.example.com/").status_code == 200
        assert "the low-balance hook raised RuntimeError" in caplog.text
