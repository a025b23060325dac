"""Know before you pay, through the transports: preflight on a probed balance, polling the
balance probe while a top-up propagates, burn-rate alerts and the billing metrics.

The provider is DeepSeek's documented API shape (`GET /user/balance`, see
`tests/balances/deepseek.json` for the source), served by a mock on DeepSeek's own host.
"""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from typing import Any

import anyio
import httpx
import pytest

import http402

from .fakes import Alerts

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
        assert "known before sending; not sent" in str(error)
        assert error.response.extensions["http402.preflight"] is True
        assert "canary" not in str(error) + repr(error.payment)

    def test_a_refusal_whose_hook_declines_says_it_was_not_sent(self) -> None:
        """Below the minimum with a hook that declines the top-up: the request was never
        sent, and its error says so, however the recovery ended (as `attempts == 0` does)."""
        account = DeepSeek("0.40")
        declined: list[http402.PaymentRequiredError] = []
        client = client_for(
            account,
            preflight=http402.Preflight(min_balance=1),
            on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: declined.append},
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(CHAT, json={})
        assert len(declined) == 1 and account.chats == 0
        assert caught.value.attempts == 0 and str(caught.value).endswith("(not sent)")

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

        fired = Alerts()
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider),
            coordinator=http402.LocalCoordinator(clock=lambda: clock["now"]),
            low_balance=http402.LowBalanceWatch(fired, within=2 * 3600),
        )
        with httpx.Client(transport=transport) as client:
            for _ in range(900):
                client.get("https://api.example.com/v1/generate")
                clock["now"] += 10.0
        alerts = fired.wait(1)
        assert len(alerts) == 1
        alert = alerts[0]
        assert alert.trigger == "time_left"
        assert alert.rate == pytest.approx(1.0, rel=0.01)
        assert alert.time_left is not None and 6800 < alert.time_left < 7200
        assert 2700 < alert.as_of < 3300

    @pytest.mark.anyio
    async def test_the_async_transport_awaits_a_coroutine_alert_hook(self) -> None:
        seen: list[http402.LowBalance] = []
        called = anyio.Event()

        async def alert(low: http402.LowBalance) -> None:
            await anyio.lowlevel.checkpoint()
            seen.append(low)
            called.set()

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(
                lambda request: httpx.Response(200, headers={"x-credits-remaining": "3"})
            ),
            low_balance=http402.LowBalanceWatch(alert, below=5),
        )
        async with httpx.AsyncClient(transport=transport) as client:
            await client.get("https://api.example.com/")
            await client.get("https://api.example.com/")
            await called.wait()
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
        deadline = time.monotonic() + 10  # the hook runs off the request: its log comes after
        while "the low-balance hook raised RuntimeError" not in caplog.text:
            assert time.monotonic() < deadline, caplog.text
            time.sleep(0.01)


# --- The pure parts: what a stand-in says, what counts as seen, when polling is on ----------


class TestStandInBody:
    """A request refused before sending carries the gate's own words in its stand-in body."""

    def _payment(self, raw: Any, **fields: Any) -> http402.PaymentRequired:
        return http402.PaymentRequired(
            reason=http402.Reason.INSUFFICIENT_CREDITS, provider="deepseek", raw=raw, **fields
        )

    def test_the_providers_json_payload_is_the_body_with_exact_amounts(self) -> None:
        """The decoded payload is written back as JSON; an amount keeps every digit."""
        from http402._preflight import stand_in_body
        from http402._redaction import Redactor

        raw = {
            "error": {"message": "Insufficient Balance", "balance": Decimal("0.000000000000000001")}
        }
        body, content_type = stand_in_body(self._payment(raw), Redactor(), 65536)
        assert content_type == "application/json"
        assert body == b'{"error": {"message": "Insufficient Balance", "balance": 1E-18}}'
        assert json.loads(body, parse_float=Decimal)["error"]["balance"] == Decimal("1E-18")

    def test_a_credential_in_the_payload_is_scrubbed(self) -> None:
        """The request's key, echoed in the stored payload, never reaches the stand-in."""
        from http402._preflight import stand_in_body
        from http402._redaction import Redactor

        key = "sk-preflight-canary-0123456789"
        raw = {"error": {"message": f"key {key} has no balance"}}
        body, _ = stand_in_body(self._payment(raw), Redactor([key]), 65536)
        assert key.encode() not in body
        assert json.loads(body)["error"]["message"] == "key [redacted] has no balance"

    def test_a_text_payload_stays_text(self) -> None:
        """A plain-text gate comes back as the same text."""
        from http402._preflight import stand_in_body
        from http402._redaction import Redactor

        body, content_type = stand_in_body(self._payment("Payment required."), Redactor(), 100)
        assert (body, content_type) == (b"Payment required.", "text/plain; charset=utf-8")

    def test_without_a_payload_or_over_the_bound_the_normalized_fields_speak(self) -> None:
        """No payload (a fleet's stored gate, a balance below the minimum), or one larger
        than the bound: an `{"error": ...}` document of the normalized fields, bounded."""
        from http402._preflight import stand_in_body
        from http402._redaction import Redactor

        payment = self._payment(
            {"pad": "x" * 5000}, code="insufficient_balance", message="Insufficient Balance"
        )
        body, content_type = stand_in_body(payment, Redactor(), 1000)
        assert content_type == "application/json"
        assert len(body) <= 1000
        assert json.loads(body) == {
            "error": {
                "type": "insufficient_credits",
                "code": "insufficient_balance",
                "message": "Insufficient Balance",
                "provider": "deepseek",
            }
        }
        long = self._payment(None, message="m" * 5000)
        body, _ = stand_in_body(long, Redactor(), 1000)
        assert len(body) <= 1000
        assert json.loads(body)["error"]["message"].startswith("mmm")


def test_a_balance_seen_outside_a_probe_is_fresh_for_every_seconds() -> None:
    """`seen` records a header's or a gate's balance; `fresh` returns it within `every`
    seconds, and the newest reading replaces an older one (a top-up that shows)."""
    from http402._episodes import BalanceCache, EpisodeBook

    now = [100.0]
    book = EpisodeBook(clock=lambda: now[0])
    cache = BalanceCache(book)
    assert cache.fresh("scope", 60) is None
    cache.seen(
        "scope", http402.Balance(provider="deepseek", available=Decimal("0.5")), book.sequence
    )
    assert cache.fresh("scope", 60) == http402.Balance(
        provider="deepseek", available=Decimal("0.5")
    )
    # A balance seen from a header spares the probe.
    assert cache.join("scope", 60) == ("fresh", cache.fresh("scope", 60))
    now[0] += 30
    cache.seen(
        "scope", http402.Balance(provider="deepseek", available=Decimal("20")), book.sequence
    )
    assert cache.fresh("scope", 60).available == Decimal("20")  # type: ignore[union-attr]
    now[0] += 60
    assert cache.fresh("scope", 60) is None


def test_only_a_small_payload_is_kept_with_a_known_gate() -> None:
    """A known gate keeps its payload up to 4 KiB encoded (a real gate is well under 1 KiB),
    so that 10,000 remembered scopes stay small; a larger one is dropped."""
    from http402._preflight import kept_payload

    small = {"error": {"message": "Insufficient Balance", "balance": Decimal("0.5")}}
    assert kept_payload(small) is small
    assert kept_payload("Payment required.") == "Payment required."
    assert kept_payload({"pad": "x" * 5000}) is None
    assert kept_payload("x" * 5000) is None
    assert kept_payload(None) is None


@pytest.mark.parametrize(
    ("preflight", "polls"),
    [
        (http402.Preflight(gate_ttl=30), False),
        (http402.Preflight(min_balance=1), True),
        (http402.Preflight(min_balance=1, poll=False), False),
        (http402.Preflight(gate_ttl=30, poll=True), True),
    ],
)
def test_only_a_balance_minimum_or_poll_true_starts_polling(
    preflight: http402.Preflight, polls: bool
) -> None:
    """`Preflight(gate_ttl=...)` alone never polls the balance probe; `min_balance` does
    unless `poll=False`, and `poll=True` asks for it outright."""
    assert preflight.polls is polls


class TestWhatPreflightHasSeen:
    """`Preflight(min_balance=...)` refuses on any balance it saw, not only a probe's."""

    URL = "https://api.example.com/v1/run"  # a host with no balance probe

    def test_a_balance_header_below_the_minimum_refuses_and_a_top_up_lets_requests_go(
        self,
    ) -> None:
        """A response saying 3 credits left makes the next request fail fast (nothing sent);
        once the reading is `every` seconds old the request goes, and a header showing the
        top-up keeps it going."""
        now = [0.0]
        balances = iter(["3", "500", "499"])
        sent: list[httpx.Request] = []

        def api(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(200, headers={"X-Credits-Remaining": next(balances)})

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(api)),
            preflight=http402.Preflight(min_balance=10, every=60),
            coordinator=http402.LocalCoordinator(clock=lambda: now[0]),
        )
        assert client.get(self.URL).status_code == 200
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.get(self.URL)
        assert caught.value.attempts == 0
        assert "the balance is 3, below the preflight minimum 10" in str(caught.value)
        assert len(sent) == 1
        now[0] += 61  # the reading is stale: the request is sent, and sees the top-up
        assert client.get(self.URL).status_code == 200
        assert client.get(self.URL).status_code == 200
        assert len(sent) == 3

    def test_a_gate_stating_the_balance_refuses_the_next_request(self) -> None:
        """A 402 saying `credits_available: 20` is a balance seen: with a minimum of 40 the
        next request fails fast, and its stand-in body carries the provider's payload."""
        gate = {
            "error": {
                "code": "insufficient_credits",
                "message": "This request costs 40 credits; the balance is 20.",
                "credits_required": 40,
                "credits_available": 20,
            }
        }
        sent: list[httpx.Request] = []

        def api(request: httpx.Request) -> httpx.Response:
            sent.append(request)
            return httpx.Response(402, json=gate)

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(api)),
            preflight=http402.Preflight(min_balance=40),
        )
        with pytest.raises(http402.InsufficientCreditsError):
            client.post(self.URL)
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(self.URL)
        assert len(sent) == 1
        assert caught.value.attempts == 0
        assert caught.value.response.extensions["http402.preflight"] is True
        assert "below the preflight minimum 40" in caught.value.body

    def test_a_balance_seen_on_a_response_spares_the_probe(self) -> None:
        """On a host with a balance probe, a balance header read less than `every` seconds
        ago answers preflight: no probe is sent."""
        account = DeepSeek(balance="50.00")
        probes: list[str] = []

        def api(request: httpx.Request) -> httpx.Response:
            if request.url.path == "/user/balance":
                probes.append(request.url.path)
                return account(request)
            return httpx.Response(200, headers={"X-Credits-Remaining": "50"}, json={})

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(api), headers=AUTH),
            preflight=http402.Preflight(min_balance=1, every=60),
        )
        for _ in range(3):
            assert client.post(CHAT).status_code == 200
        assert probes == ["/user/balance"]  # the first request's; the headers did after

    def test_gate_ttl_alone_never_probes_the_balance(self) -> None:
        """`Preflight(gate_ttl=...)` with a top-up hook replays the request while credits
        propagate and never asks the balance probe, which it was not asked to use."""
        account = DeepSeek(balance="0.00")
        paths: list[str] = []

        def api(request: httpx.Request) -> httpx.Response:
            paths.append(request.url.path)
            return account(request)

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            account.top_up("10.00", propagation=2)
            return http402.Retry(within=60)

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(api), headers=AUTH),
            on_payment_required=top_up,
            preflight=http402.Preflight(gate_ttl=30),
            sleep=lambda seconds: None,
        )
        assert client.post(CHAT).status_code == 200
        assert "/user/balance" not in paths


def test_an_sdk_refused_by_preflight_says_what_the_provider_said() -> None:
    """In annotate mode, the openai SDK's error for a request refused by a known gate (never
    sent) carries the provider's own payload in `e.body` and its message, not "no body"."""
    import httpx2
    import openai

    import http402.httpx2

    quota = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and billing.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }
    }
    sent: list[httpx2.Request] = []

    def api(request: httpx2.Request) -> httpx2.Response:
        sent.append(request)
        return httpx2.Response(429, json=quota)

    client = openai.OpenAI(
        api_key="sk-proj-preflight-canary-0123456789",
        max_retries=0,
        http_client=http402.httpx2.wrap(
            httpx2.Client(transport=httpx2.MockTransport(api)),
            mode="annotate",
            preflight=http402.Preflight(gate_ttl=60),
        ),
    )
    errors = []
    for _ in range(2):
        with pytest.raises(openai.RateLimitError) as caught:
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        errors.append(caught.value)
    assert len(sent) == 1  # the second never left
    first, refused = errors
    assert refused.response.extensions["http402.preflight"] is True
    assert refused.body == first.body == quota["error"]
    assert "You exceeded your current quota" in refused.message
    assert refused.code == "insufficient_quota"


#: A gate of each reason on one account's first request, and whether preflight keeps it as
#: the scope's known gate (refusing the next, different request unsent).
KNOWN_GATES = [
    ({"error": {"code": "insufficient_credits", "message": "Out of credits."}}, True),
    ({"error": {"code": "subscription_expired", "message": "Subscription expired."}}, True),
    ({"error": {"code": "card_declined", "message": "Your card was declined."}}, True),
    (
        {
            "error": {
                "code": "plan_feature_not_included",
                "message": "Image generation is not included in your current plan.",
            }
        },
        False,
    ),
    (
        {
            "error": {
                "code": "model_not_in_plan",
                "message": "The model `o1-pro` is not available on your plan.",
            }
        },
        False,
    ),
]


@pytest.mark.parametrize(("body", "kept"), KNOWN_GATES)
def test_a_known_gate_refuses_only_what_it_is_known_to_gate(body: Any, kept: bool) -> None:
    """Case 132's kind, decided in the core (`known_scope_wide`), on a fake clock: a gate
    that is a state of the account (credits, a lapsed subscription, a failed card) is the
    scope's known gate, and the account's next request, another endpoint, is refused unsent
    (`attempts == 0`); a plan's gate about one feature or model is not, and the next request,
    which the plan includes, is sent and gets its 200."""
    from http402._actions import Gated, Sent
    from http402._exceptions import error_for

    from .test_flow import Driver, recovery

    def respond(request: httpx.Request, now: float) -> Any:
        if request.url.path == "/v1/images/generations":
            response = httpx.Response(402, json=body, request=request)
            payment = http402.classify(response)
            assert payment is not None and payment.reason.is_account_level
            return Gated(error_for(payment, request=request, response=response))
        return Sent(httpx.Response(200, json={}, request=request))

    driver = Driver(recovery(None, preflight=http402.Preflight(gate_ttl=30)), respond)
    with pytest.raises(http402.PaymentRequiredError):
        driver.run("https://api.example.com/v1/images/generations")
    driver.clock.now += 1
    if kept:
        with pytest.raises(http402.PaymentRequiredError) as refused:
            driver.run("https://api.example.com/v1/chat/completions")
        assert refused.value.attempts == 0
    else:
        assert driver.run("https://api.example.com/v1/chat/completions").status_code == 200


@pytest.mark.parametrize(
    ("library", "asynchronous"),
    [("httpx", False), ("httpx", True), ("httpx2", False), ("httpx2", True)],
)
def test_a_plan_gate_about_one_model_refuses_no_other_request(
    library: str, asynchronous: bool
) -> None:
    """Case 132 end to end, httpx and httpx2, sync and async: with `Preflight(gate_ttl=30)`,
    a model the plan does not include gets its 402 each time it is asked for (sent, not
    refused from memory), and a call for a model the plan includes, to the same endpoint,
    gets its 200; an empty balance afterwards is still known scope-wide."""
    import asyncio

    http = pytest.importorskip(library)
    sent: list[str] = []
    broke = [False]

    def api(request: Any) -> Any:
        body = request.read()
        sent.append(body.decode())
        if broke[0]:
            return http.Response(402, json={"error": {"code": "insufficient_credits"}})
        if b"o1-pro" in body:
            return http.Response(
                402,
                json={
                    "error": {
                        "code": "model_not_in_plan",
                        "message": "The model `o1-pro` is not available on your plan.",
                    }
                },
            )
        return http.Response(200, json={"ok": True})

    async def call(client: Any, model: str) -> Any:
        try:
            answer = client.post("/v1/chat/completions", json={"model": model})
            response = await answer if asynchronous else answer
        except http402.PaymentRequiredError as error:
            return error
        return response.status_code

    async def main() -> None:
        make = http.AsyncClient if asynchronous else http.Client
        client = http402.wrap(
            make(transport=http.MockTransport(api), base_url="https://api.example.com"),
            preflight=http402.Preflight(gate_ttl=30),
        )
        for _ in range(2):
            gate = await call(client, "o1-pro")
            assert isinstance(gate, http402.PlanLimitExceededError) and gate.attempts == 1
        assert await call(client, "gpt-4o-mini") == 200
        assert len(sent) == 3
        broke[0] = True
        assert isinstance(await call(client, "gpt-4o-mini"), http402.InsufficientCreditsError)
        refused = await call(client, "gpt-4o-mini")
        assert isinstance(refused, http402.InsufficientCreditsError) and refused.attempts == 0
        assert len(sent) == 4

    asyncio.run(main())
