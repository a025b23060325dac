"""httpx2, and the real `openai` and `anthropic` SDKs (which run on httpx2), with http402.

Requests are answered by `httpx2.MockTransport` with real payloads; nothing reaches a network.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

import http402
import http402.httpx2
import http402.testing
from http402._demo import DemoProvider

from .fakes import VirtualClock
from .lazy import LazyModule

anthropic = LazyModule("anthropic")
openai = LazyModule("openai")
PAYLOADS = Path(__file__).parent / "payloads"


def payload(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())


class Recorder:
    """A provider that answers every request with one recorded response, and counts them."""

    def __init__(self, name: str, extra_headers: dict[str, str] | None = None) -> None:
        self.wire = payload(name)["response"]
        self.extra_headers = extra_headers or {}
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        headers = {**self.wire["headers"], **self.extra_headers}
        return httpx2.Response(self.wire["status"], headers=headers, content=self.wire["body"])


class TestHttpx2:
    def test_an_httpx2_client_gets_the_same_typed_errors(self) -> None:
        """A gate through an httpx2 client raises the typed error, with httpx2's objects."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        transport = http402.httpx2.PaymentRequiredTransport(httpx2.MockTransport(recorder))
        with (
            httpx2.Client(transport=transport) as client,
            pytest.raises(http402.InsufficientCreditsError) as caught,
        ):
            client.post("https://openrouter.ai/api/v1/chat/completions", json={})
        assert isinstance(caught.value.response, httpx2.Response)
        assert caught.value.response.json()["error"]["code"] == 402
        assert caught.value.payment.action_url == "https://openrouter.ai/settings/credits"

    def test_non_gates_pass_through_untouched(self) -> None:
        """A 200 from an httpx2 transport is its own object, unread."""
        inner = httpx2.Response(200, json={"ok": True})
        transport = http402.httpx2.PaymentRequiredTransport(httpx2.MockTransport(lambda r: inner))
        assert transport.handle_request(httpx2.Request("GET", "https://a.test/")) is inner

    def test_wrap_an_httpx2_client_and_replay(self) -> None:
        """`http402.wrap` takes an httpx2 client; a hook's Retry replays an httpx2 request."""
        answers = iter([402, 200])

        def handler(request: httpx2.Request) -> httpx2.Response:
            status = next(answers)
            body = {"error": "insufficient_credits"} if status == 402 else {"ok": True}
            return httpx2.Response(status, json=body)

        client = http402.wrap(
            httpx2.Client(transport=httpx2.MockTransport(handler)),
            on_payment_required=lambda error: http402.Retry(),
            sleep=lambda seconds: None,
        )
        assert client.post("https://api.example.com/x", json={"a": 1}).status_code == 200

    @pytest.mark.anyio
    async def test_the_async_httpx2_transport(self) -> None:
        """The async twin works on `httpx2.AsyncClient` too."""
        recorder = Recorder("stripe-card-declined-generic-decline")
        transport = http402.httpx2.AsyncPaymentRequiredTransport(httpx2.MockTransport(recorder))
        async with httpx2.AsyncClient(transport=transport) as client:
            with pytest.raises(http402.PaymentFailedError):
                await client.post("https://api.stripe.com/v1/charges")

    def test_classify_an_httpx2_response(self) -> None:
        """`classify` reads httpx2 responses by their shape."""
        wire = payload("deepseek-insufficient-balance")["response"]
        response = httpx2.Response(
            402,
            content=wire["body"],
            request=httpx2.Request("POST", "https://api.deepseek.com/chat/completions"),
        )
        result = http402.classify(response)
        assert result is not None
        assert result.provider == "deepseek"


class TestOpenAI:
    def client(self, recorder: Recorder, **options: Any) -> Any:
        http_client = httpx2.Client(transport=httpx2.MockTransport(recorder))
        return openai.OpenAI(
            api_key="sk-test-0000000000000000",
            http_client=http402.httpx2.wrap(http_client, mode="annotate"),
            **options,
        )

    def test_insufficient_quota_raises_the_sdk_error_once_with_the_answer(self) -> None:
        """OpenAI's 429 `insufficient_quota` reaches the SDK once: no retries, normalized."""
        recorder = Recorder("openai-insufficient-quota-429")
        with pytest.raises(openai.RateLimitError) as caught:
            self.client(recorder).chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert len(recorder.requests) == 1
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert payment.provider == "openai"
        assert caught.value.response.extensions["http402.payment"] is payment

    def test_without_annotate_mode_the_sdk_would_retry_the_gate(self) -> None:
        """The control: the SDK's own retries send a billing 429 three times."""
        recorder = Recorder("openai-insufficient-quota-429", {"retry-after-ms": "1"})
        plain = openai.OpenAI(
            api_key="sk-test-0000000000000000",
            http_client=httpx2.Client(transport=httpx2.MockTransport(recorder)),
        )
        with pytest.raises(openai.RateLimitError) as caught:
            plain.chat.completions.create(model="gpt-4o-mini", messages=[])
        assert len(recorder.requests) == 3
        assert http402.classify(caught.value) is not None  # classify reads it all the same

    def test_a_plain_rate_limit_is_left_to_the_sdk(self) -> None:
        """A real rate limit is not annotated; the SDK retries it as it always does."""
        recorder = Recorder(
            "openai-rate-limit-rpm-billing-hint-429-negative", {"retry-after-ms": "1"}
        )
        with pytest.raises(openai.RateLimitError) as caught:
            self.client(recorder, max_retries=1).chat.completions.create(
                model="gpt-4o-mini", messages=[]
            )
        assert len(recorder.requests) == 2
        assert http402.classify(caught.value) is None
        assert "http402.payment" not in caught.value.response.extensions

    def test_a_gateway_or_local_mock_on_any_host_is_classified(self) -> None:
        """The SDK pointed at a local gateway that answers `insufficient_quota` 429: the
        SDK's own error classifies, and annotate mode stops its retries."""
        recorder = Recorder("openai-insufficient-quota-429", {"retry-after-ms": "1"})
        plain = openai.OpenAI(
            api_key="sk-test-0000000000000000",
            base_url="http://localhost:4000/v1",
            http_client=httpx2.Client(transport=httpx2.MockTransport(recorder)),
        )
        with pytest.raises(openai.RateLimitError) as caught:
            plain.chat.completions.create(model="gpt-4o-mini", messages=[])
        assert len(recorder.requests) == 3
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert payment.provider == "generic"
        assert payment.code == "insufficient_quota"
        annotated = self.client(recorder, base_url="http://host.docker.internal:4000/v1")
        with pytest.raises(openai.RateLimitError):
            annotated.chat.completions.create(model="gpt-4o-mini", messages=[])
        assert len(recorder.requests) == 4


class TestAnthropic:
    def test_credit_balance_too_low_is_normalized(self) -> None:
        """Anthropic's 400 "credit balance is too low" becomes `insufficient_credits`."""
        recorder = Recorder("anthropic-credit-balance-too-low-400")
        client = anthropic.Anthropic(
            api_key="sk-ant-test-0000000000000000",
            http_client=http402.httpx2.wrap(
                httpx2.Client(transport=httpx2.MockTransport(recorder)), mode="annotate"
            ),
        )
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(
                model="claude-sonnet-5-5",
                max_tokens=10,
                messages=[{"role": "user", "content": "hi"}],
            )
        assert len(recorder.requests) == 1
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert payment.request_id == "req_011Cf75wfCXCbniKKrP6wSut"

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDK's async client
    async def test_async_client_with_annotate_mode(self, anyio_backend: str) -> None:
        """`AsyncAnthropic` on a wrapped `httpx2.AsyncClient` behaves the same."""
        recorder = Recorder("anthropic-credit-balance-too-low-400")
        client = anthropic.AsyncAnthropic(
            api_key="sk-ant-test-0000000000000000",
            http_client=http402.httpx2.wrap(
                httpx2.AsyncClient(transport=httpx2.MockTransport(recorder)), mode="annotate"
            ),
        )
        with pytest.raises(anthropic.BadRequestError) as caught:
            await client.messages.create(model="claude-sonnet-5-5", max_tokens=10, messages=[])
        assert len(recorder.requests) == 1
        assert http402.classify(caught.value) is not None


class Loopback:
    """A paid API on 127.0.0.1 over real HTTP (`http402._demo.DemoProvider`): out of credits,
    it answers the common JSON 402; `POST /billing/top-up` adds credits after `propagation`
    seconds. Counts the requests each path gets."""

    def __init__(self, propagation: float) -> None:
        self.demo = DemoProvider(credits=0, price=1, propagation=propagation)
        self.hits: list[str] = []
        answer = self.demo.fake.answer

        def counted(method: str, path: str, body: bytes) -> tuple[int, Any, dict[str, str]]:
            self.hits.append(path)
            return answer(method, path, body)

        self.demo.fake.answer = counted  # type: ignore[method-assign]
        self.url = self.demo.url
        self.hook_calls = 0

    def gated_hits(self) -> int:
        return sum(not path.startswith("/billing") for path in self.hits)

    def top_up(self, error: http402.PaymentRequiredError) -> http402.Retry:
        """The application's top-up hook: buys credits through the billing API."""
        self.hook_calls += 1
        assert isinstance(error, http402.InsufficientCreditsError)
        httpx.post(f"{self.url}/billing/top-up", json={"credits": 10}).raise_for_status()
        return http402.Retry(within=10)

    async def atop_up(self, error: http402.PaymentRequiredError) -> http402.Retry:
        self.hook_calls += 1
        assert isinstance(error, http402.InsufficientCreditsError)
        async with httpx.AsyncClient() as billing:
            answer = await billing.post(f"{self.url}/billing/top-up", json={"credits": 10})
        answer.raise_for_status()
        return http402.Retry(within=10)

    def no_luck(self, error: http402.PaymentRequiredError) -> http402.Retry:
        """A hook whose top-up never shows inside the window it gives."""
        self.hook_calls += 1
        return http402.Retry(within=1)

    async def ano_luck(self, error: http402.PaymentRequiredError) -> http402.Retry:
        return self.no_luck(error)


@pytest.fixture
def loopback(request: pytest.FixtureRequest) -> Iterator[Loopback]:
    server = Loopback(propagation=getattr(request, "param", 0.3))
    server.demo.start()
    try:
        yield server
    finally:
        server.demo.stop()


def openai_client(url: str, http_client: Any) -> Any:
    if isinstance(http_client, httpx2.AsyncClient):
        return openai.AsyncOpenAI(
            api_key="sk-test-0", base_url=f"{url}/v1", http_client=http_client
        )
    return openai.OpenAI(api_key="sk-test-0", base_url=f"{url}/v1", http_client=http_client)


def anthropic_client(url: str, http_client: Any) -> Any:
    if isinstance(http_client, httpx2.AsyncClient):
        return anthropic.AsyncAnthropic(api_key="sk-ant-0", base_url=url, http_client=http_client)
    return anthropic.Anthropic(api_key="sk-ant-0", base_url=url, http_client=http_client)


def ask_openai(client: Any) -> Any:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


def ask_anthropic(client: Any) -> Any:
    return client.messages.create(
        model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
    )


SDKS = [
    pytest.param(openai_client, ask_openai, lambda: openai.APIStatusError, id="openai"),
    pytest.param(anthropic_client, ask_anthropic, lambda: anthropic.APIStatusError, id="anthropic"),
]


class TestTopUpInsideTheSDK:
    """Annotate mode with a hook, under the real SDKs, against a provider on loopback."""

    @pytest.mark.parametrize(("make", "ask", "status_error"), SDKS)
    def test_the_hook_tops_up_once_and_the_call_succeeds(
        self, loopback: Loopback, make: Any, ask: Any, status_error: Any
    ) -> None:
        """Out of credits: one hook call, one top-up, and the SDK call returns."""
        http_client = http402.httpx2.wrap(
            httpx2.Client(), mode="annotate", on_payment_required=loopback.top_up
        )
        with http_client:
            ask(make(loopback.url, http_client))
        assert loopback.hook_calls == 1
        assert loopback.demo.top_ups == 1
        assert loopback.demo.credits == 9

    @pytest.mark.parametrize(("make", "ask", "status_error"), SDKS)
    def test_a_gate_that_never_lifts_reaches_the_caller_once(
        self, loopback: Loopback, make: Any, ask: Any, status_error: Any
    ) -> None:
        """The window closes: one hook call, the SDK raises its own status error without
        retrying, and `classify` reads the reason from it."""
        sleeps: list[float] = []
        http_client = http402.httpx2.wrap(
            httpx2.Client(),
            mode="annotate",
            on_payment_required=loopback.no_luck,
            sleep=sleeps.append,
        )
        with http_client, pytest.raises(status_error()) as caught:
            ask(make(loopback.url, http_client))
        assert loopback.hook_calls == 1
        assert sleeps, "replays were tried inside the window"
        assert loopback.gated_hits() == 2 + len(sleeps)  # the send, one replay at once, the rest
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        response = caught.value.response
        assert response.status_code == 402
        assert response.headers["x-should-retry"] == "false"
        assert response.json()["error"]["code"] == "insufficient_credits"
        assert response.extensions["http402.replay"] == {"attempt": len(sleeps) + 2}

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
    @pytest.mark.parametrize(("make", "ask", "status_error"), SDKS)
    async def test_async_the_hook_tops_up_once_and_the_call_succeeds(
        self, loopback: Loopback, make: Any, ask: Any, status_error: Any, anyio_backend: str
    ) -> None:
        """The same with the SDK's async client and a coroutine hook."""
        http_client = http402.httpx2.wrap(
            httpx2.AsyncClient(), mode="annotate", on_payment_required=loopback.atop_up
        )
        async with http_client:
            await ask(make(loopback.url, http_client))
        assert loopback.hook_calls == 1
        assert loopback.demo.top_ups == 1

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])
    @pytest.mark.parametrize(("make", "ask", "status_error"), SDKS)
    async def test_async_a_gate_that_never_lifts_reaches_the_caller_once(
        self, loopback: Loopback, make: Any, ask: Any, status_error: Any, anyio_backend: str
    ) -> None:
        """The same with the SDK's async client: one hook call, no SDK retry, classified."""
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        http_client = http402.httpx2.wrap(
            httpx2.AsyncClient(),
            mode="annotate",
            on_payment_required=loopback.ano_luck,
            sleep=sleep,
        )
        async with http_client:
            with pytest.raises(status_error()) as caught:
                await ask(make(loopback.url, http_client))
        assert loopback.hook_calls == 1
        assert loopback.gated_hits() == 2 + len(sleeps)
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS

    @pytest.mark.parametrize(("make", "ask", "status_error"), SDKS)
    def test_concurrent_calls_share_one_top_up(
        self, loopback: Loopback, make: Any, ask: Any, status_error: Any
    ) -> None:
        """Eight threads through one SDK client out of credits: one hook call in all."""
        from concurrent.futures import ThreadPoolExecutor

        http_client = http402.httpx2.wrap(
            httpx2.Client(), mode="annotate", on_payment_required=loopback.top_up
        )
        client = make(loopback.url, http_client)
        with http_client, ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: ask(client), range(8)))
        assert loopback.hook_calls == 1
        assert loopback.demo.top_ups == 1


class TestAnnotateMode:
    def test_preflight_hands_back_a_stand_in_the_sdk_does_not_retry(self) -> None:
        """With `Preflight(gate_ttl=...)`, a request refused before sending comes back as an
        annotated stand-in response of the client's own library, never sent."""
        recorder = Recorder("openai-insufficient-quota-429")
        transport = http402.httpx2.PaymentRequiredTransport(
            httpx2.MockTransport(recorder),
            mode="annotate",
            preflight=http402.Preflight(gate_ttl=60),
        )
        url = "https://api.openai.com/v1/chat/completions"
        first = transport.handle_request(httpx2.Request("POST", url))
        second = transport.handle_request(httpx2.Request("POST", url))
        assert len(recorder.requests) == 1
        assert isinstance(second, httpx2.Response)
        assert second.status_code == 429
        assert second.headers["x-should-retry"] == "false"
        assert second.extensions["http402.preflight"] is True
        assert http402.classify(second) == http402.classify(first)

    def test_a_hook_that_declines_hands_the_gate_back(self) -> None:
        """A hook that returns `None`: the gate response comes back annotated, not raised."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        calls: list[http402.PaymentRequiredError] = []

        def decline(error: http402.PaymentRequiredError) -> None:
            calls.append(error)

        transport = http402.httpx2.PaymentRequiredTransport(
            httpx2.MockTransport(recorder), mode="annotate", on_payment_required=decline
        )
        with httpx2.Client(transport=transport) as client:
            response = client.post("https://openrouter.ai/api/v1/chat/completions", json={})
        assert len(calls) == 1
        assert response.status_code == 402
        assert response.json()["error"]["code"] == 402
        assert response.extensions["http402.payment"].reason is http402.Reason.INSUFFICIENT_CREDITS

    def test_a_hooks_own_exception_still_propagates(self) -> None:
        """An exception the hook raises is not turned into a response, even a typed one
        raised for another request."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        other = http402.testing.gate("stripe.card_declined")
        foreign = http402.PaymentFailedError(
            request=other.request,
            response=other,
            payment=http402.classify(other),  # type: ignore[arg-type]
        )

        def hook(error: http402.PaymentRequiredError) -> None:
            raise foreign

        transport = http402.httpx2.PaymentRequiredTransport(
            httpx2.MockTransport(recorder), mode="annotate", on_payment_required=hook
        )
        with (
            httpx2.Client(transport=transport) as client,
            pytest.raises(http402.PaymentFailedError) as caught,
        ):
            client.post("https://openrouter.ai/api/v1/chat/completions", json={})
        assert caught.value is foreign


class TestHttpx2Errors:
    def test_httpx2_except_clauses_catch_the_typed_error(self) -> None:
        """From an httpx2 client, the typed error is an `httpx2.HTTPStatusError` and an
        `httpx2.HTTPError`, and still the http402 class of its reason."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        transport = http402.httpx2.PaymentRequiredTransport(httpx2.MockTransport(recorder))
        with httpx2.Client(transport=transport) as client:
            for catch in (
                httpx2.HTTPStatusError,
                httpx2.HTTPError,
                http402.InsufficientCreditsError,
            ):
                with pytest.raises(catch) as caught:
                    client.post("https://openrouter.ai/api/v1/chat/completions", json={})
                assert isinstance(caught.value, http402.httpx2.InsufficientCreditsError)
                assert isinstance(caught.value.response, httpx2.Response)

    def test_the_httpx2_error_pickles_whole(self) -> None:
        """The httpx2 twin survives pickling, class and fields."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        transport = http402.httpx2.PaymentRequiredTransport(httpx2.MockTransport(recorder))
        with pytest.raises(http402.PaymentRequiredError) as caught:
            transport.handle_request(
                httpx2.Request("POST", "https://openrouter.ai/api/v1/chat/completions")
            )
        copy = pickle.loads(pickle.dumps(caught.value))
        assert type(copy) is http402.httpx2.InsufficientCreditsError
        assert str(copy) == str(caught.value)
        assert copy.payment == caught.value.payment

    def test_httpx_clients_keep_httpx_errors(self) -> None:
        """An httpx client's typed error is not an httpx2 error."""
        error = http402._exceptions.error_for(
            http402.classify(http402.testing.gate("stripe.card_declined")),  # type: ignore[arg-type]
            request=httpx.Request("GET", "https://api.stripe.com/"),
            response=http402.testing.gate("stripe.card_declined"),
        )
        assert type(error) is http402.PaymentFailedError
        assert not isinstance(error, httpx2.HTTPError)

    def test_preflight_builds_only_httpx2_objects(self) -> None:
        """A request refused by preflight on an httpx2 transport gets an httpx2 stand-in
        response and an httpx2 error."""
        recorder = Recorder("openrouter-insufficient-credits-metadata")
        transport = http402.httpx2.PaymentRequiredTransport(
            httpx2.MockTransport(recorder), preflight=http402.Preflight(gate_ttl=60)
        )
        url = "https://openrouter.ai/api/v1/chat/completions"
        with pytest.raises(httpx2.HTTPStatusError):
            transport.handle_request(httpx2.Request("POST", url))
        with pytest.raises(httpx2.HTTPStatusError) as caught:
            transport.handle_request(httpx2.Request("POST", url))
        assert len(recorder.requests) == 1
        assert isinstance(caught.value, http402.InsufficientCreditsError)
        assert caught.value.attempts == 0
        assert isinstance(caught.value.response, httpx2.Response)

    def test_a_paid_replay_refused_raises_the_httpx2_challenge_error(self) -> None:
        """A challenge still refused after paying raises httpx2's `PaymentChallengeError`."""
        recorder = Recorder("x402-v1-payment-requirements-body")
        transport = http402.httpx2.PaymentRequiredTransport(
            httpx2.MockTransport(recorder),
            on_payment_required=lambda error: http402.Retry(headers={"x-payment": "proof"}),
        )
        with pytest.raises(http402.PaymentChallengeError) as caught:
            transport.handle_request(httpx2.Request("GET", "https://api.example.com/paid"))
        assert isinstance(caught.value, httpx2.HTTPStatusError)


class TestForgetGate:
    def test_forget_gate_lets_requests_through_again(self) -> None:
        """After a top-up made by hand, `forget_gate` ends preflight's fast failures."""
        answers = iter([402, 200])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(answers)
            return httpx.Response(
                status, json={"error": "insufficient_credits"} if status == 402 else {}
            )

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(handler), preflight=http402.Preflight(gate_ttl=60)
        )
        with httpx.Client(transport=transport, headers={"authorization": "Bearer k"}) as client:
            with pytest.raises(http402.InsufficientCreditsError):
                client.get("https://api.example.com/a")
            with pytest.raises(http402.InsufficientCreditsError) as caught:
                client.get("https://api.example.com/a")
            assert caught.value.attempts == 0
            transport.forget_gate(client.build_request("GET", "https://api.example.com/"))
            assert client.get("https://api.example.com/a").status_code == 200

    def test_forget_gate_takes_the_key_an_sdk_adds_per_request(self) -> None:
        """An SDK sends its key per request, not on the client: `headers=` names the scope."""
        answers = iter([402, 200])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(answers)
            return httpx.Response(
                status, json={"error": "insufficient_credits"} if status == 402 else {}
            )

        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(handler)),
            preflight=http402.Preflight(gate_ttl=60),
        )
        key = {"Authorization": "Bearer sk-per-request"}
        with pytest.raises(http402.InsufficientCreditsError):
            client.get("https://api.example.com/a", headers=key)
        http402.forget_gate(client, "https://api.example.com/")  # the keyless scope: no effect
        with pytest.raises(http402.InsufficientCreditsError):
            client.get("https://api.example.com/a", headers=key)
        http402.forget_gate(client, "https://api.example.com/", headers=key)
        assert client.get("https://api.example.com/a", headers=key).status_code == 200

    @pytest.mark.anyio
    async def test_the_async_forget_gate(self) -> None:
        """The async transport's `forget_gate` is awaited."""
        answers = iter([402, 200])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(answers)
            return httpx.Response(
                status, json={"error": "insufficient_credits"} if status == 402 else {}
            )

        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(handler), preflight=http402.Preflight(gate_ttl=60)
        )
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(http402.InsufficientCreditsError):
                await client.get("https://api.example.com/a")
            await transport.forget_gate("https://api.example.com/")
            assert (await client.get("https://api.example.com/a")).status_code == 200


class TestProviderGatesInsideTheSDK:
    """Annotate mode with a hook on the providers' own non-402 gates, served by the test kit
    from the providers' real origins."""

    def test_openai_insufficient_quota_429_tops_up_and_is_not_retried(self) -> None:
        """OpenAI's billing 429 reaches the hook once; the SDK's retries of 429s stay out of
        it, and the replay after the top-up succeeds."""
        provider = http402.testing.FakeProvider(gate="openai.insufficient_quota", propagation=1)
        calls: list[http402.PaymentRequiredError] = []

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            calls.append(error)
            provider.top_up(5)
            return http402.Retry(within=30)

        http_client = http402.httpx2.wrap(
            httpx2.Client(transport=provider.httpx2_transport()),
            mode="annotate",
            on_payment_required=top_up,
            sleep=provider.sleep,
        )
        client = openai.OpenAI(
            api_key="sk-test-0", base_url=f"{provider.url}/v1", http_client=http_client
        )
        ask_openai(client)
        assert len(calls) == 1
        assert isinstance(calls[0], httpx2.HTTPStatusError)
        assert calls[0].response.status_code == 429
        assert provider.top_ups == 1
        retries = {r.headers.get("x-stainless-retry-count") for r in provider.requests}
        assert retries == {"0"}  # the first send and the replay: the SDK retried nothing

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])
    async def test_anthropic_credit_balance_400_never_lifting_is_raised_once(
        self, anyio_backend: str
    ) -> None:
        """Anthropic's billing 400 with a top-up that never shows: one hook call, then the
        SDK's `BadRequestError`, sent by the SDK once, classified."""
        provider = http402.testing.FakeProvider(
            gate="anthropic.credit_balance_too_low", propagation=3600
        )
        calls: list[http402.PaymentRequiredError] = []

        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            calls.append(error)
            provider.top_up(5)
            return http402.Retry(within=5)

        http_client = http402.httpx2.wrap(
            httpx2.AsyncClient(transport=provider.httpx2_transport()),
            mode="annotate",
            on_payment_required=top_up,
            sleep=provider.asleep,
        )
        client = anthropic.AsyncAnthropic(
            api_key="sk-ant-0", base_url=provider.url, http_client=http_client
        )
        with pytest.raises(anthropic.BadRequestError) as caught:
            await ask_anthropic(client)
        assert len(calls) == 1
        retries = {r.headers.get("x-stainless-retry-count") for r in provider.requests}
        assert retries == {"0"}
        assert len(provider.requests) > 1  # the first send and the replays, all of attempt 0
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS


class TestForgetGateOnClients:
    def test_forget_gate_on_a_wrapped_client(self) -> None:
        """`http402.forget_gate(client)` finds the wrapped transport and the client's own
        scope (its credentials included)."""
        answers = iter([402, 200])

        def handler(request: httpx2.Request) -> httpx2.Response:
            status = next(answers)
            body = {"error": "insufficient_credits"} if status == 402 else {}
            return httpx2.Response(status, json=body)

        client = http402.wrap(
            httpx2.Client(
                transport=httpx2.MockTransport(handler),
                base_url="https://api.example.com/v1",
                headers={"authorization": "Bearer k"},
            ),
            preflight=http402.Preflight(gate_ttl=60),
        )
        with pytest.raises(http402.InsufficientCreditsError):
            client.get("/a")
        with pytest.raises(http402.InsufficientCreditsError):
            client.get("/a")  # refused by preflight, not sent
        http402.forget_gate(client)
        assert client.get("/a").status_code == 200

    @pytest.mark.anyio
    async def test_aforget_gate_on_a_wrapped_async_client(self) -> None:
        """The async twin, awaited."""
        answers = iter([402, 200])

        def handler(request: httpx.Request) -> httpx.Response:
            status = next(answers)
            body = {"error": "insufficient_credits"} if status == 402 else {}
            return httpx.Response(status, json=body)

        client = http402.wrap(
            httpx.AsyncClient(transport=httpx.MockTransport(handler)),
            preflight=http402.Preflight(gate_ttl=60),
        )
        with pytest.raises(http402.InsufficientCreditsError):
            await client.get("https://api.example.com/a")
        await http402.aforget_gate(client, "https://api.example.com/")
        assert (await client.get("https://api.example.com/a")).status_code == 200

    def test_forget_gate_needs_a_wrapped_client(self) -> None:
        """A client that was never wrapped is refused with a clear error."""
        with pytest.raises(TypeError, match=r"http402\.wrap"):
            http402.forget_gate(httpx.Client())


def test_a_hooks_own_exception_reaches_the_sdk_as_a_connection_error() -> None:
    """A hook that raises leaves the transport with its exception, which the SDK wraps as
    `APIConnectionError` (the hook's exception is its `__cause__`) and retries: the retry
    joins the failed episode (its short failure hold) and never calls the hook again."""
    provider = http402.testing.FakeProvider(gate="anthropic.credit_balance_too_low")
    calls: list[http402.PaymentRequiredError] = []
    max_retries = 1

    class BillingDown(Exception):
        pass

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        calls.append(error)
        raise BillingDown

    http_client = http402.httpx2.wrap(
        httpx2.Client(transport=provider.httpx2_transport()),
        mode="annotate",
        on_payment_required=top_up,
    )
    client = anthropic.Anthropic(
        api_key="sk-ant-0", base_url=provider.url, http_client=http_client, max_retries=max_retries
    )
    with pytest.raises(anthropic.APIConnectionError) as caught:
        ask_anthropic(client)
    assert isinstance(caught.value.__cause__, BillingDown)
    assert len(calls) == 1


# --- One need, one purchase, inside the SDKs ---------------------------------------------


class _Broken(httpx2.SyncByteStream, httpx2.AsyncByteStream):
    """A body that breaks after its first bytes: the connection reset after the headers."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"id": '
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete body")

    async def __aiter__(self) -> Any:
        yield b'{"id": '
        raise httpx2.RemoteProtocolError("peer closed connection without sending complete body")


#: What the paid API does to the replay after a top-up, by fault.
_REPLAY_FAULTS: dict[str, Any] = {
    "replay 503": lambda request: httpx2.Response(503, json={"error": "overloaded"}),
    "replay times out": lambda request: (_ for _ in ()).throw(httpx2.ReadTimeout("timed out")),
    "replay reset after headers": lambda request: httpx2.Response(200, stream=_Broken()),
}
#: Every way one need for credits used to buy more than once inside an SDK.
NEEDS = ["hook raises", "hook declines", "top-up never shows", *_REPLAY_FAULTS]


class Purchases:
    """The application's top-up hook, counting purchases; how it ends is set by `need`."""

    def __init__(self, need: str) -> None:
        self.need = need
        self.count = 0

    def __call__(self, error: http402.PaymentRequiredError) -> http402.Retry | None:
        self.count += 1
        if self.need == "hook raises":
            raise RuntimeError("bought, then the billing API timed out")
        if self.need == "hook declines":
            return None
        return http402.Retry(within=2, receipt=f"inv_{self.count}")


def _paid_api(sdk: str, need: str) -> Any:
    """The provider's recorded gate (from its own origin) to a first send; to a replay, what
    `need` says (a gate that never lifts, or a fault)."""
    name = (
        "anthropic-credit-balance-too-low-400"
        if sdk == "anthropic"
        else "openai-insufficient-quota-429"
    )
    wire = payload(name)["response"]
    fault = _REPLAY_FAULTS.get(need)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if fault is not None and "http402.replay" in request.extensions:
            return fault(request)  # type: ignore[no-any-return]
        return httpx2.Response(wire["status"], headers=wire["headers"], content=wire["body"])

    return handler


#: The SDKs' longest backoff between two retries (`MAX_RETRY_DELAY` in openai's and
#: anthropic's `_constants.py`), and a `max_retries` whose retries outlast the failure hold.
SDK_MAX_RETRY_DELAY = 8.0
MAX_RETRIES = 5


def _sdk_client(
    sdk: str, http_client: Any, clock: VirtualClock | None = None, base_url: str | None = None
) -> Any:
    """The SDK with five retries of its own; each backoff is its longest, 8 s, on `clock`
    (no real time passes): the last retry comes 40 s after the call's first attempt."""
    asynchronous = isinstance(http_client, httpx2.AsyncClient)
    if sdk == "anthropic":
        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        key = "sk-ant-test-0000000000000000"
    else:
        cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
        key = "sk-test-0000000000000000"
    client = cls(api_key=key, http_client=http_client, max_retries=MAX_RETRIES, base_url=base_url)

    def backoff(*args: Any, **kwargs: Any) -> float:
        if clock is not None:
            clock.now += SDK_MAX_RETRY_DELAY
        return 0.0

    client._calculate_retry_timeout = backoff
    return client


def _call(sdk: str, client: Any) -> Any:
    if sdk == "anthropic":
        return client.messages.create(
            model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "hi"}]
        )
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("mode", ["raise", "annotate"])
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_one_need_costs_at_most_one_purchase_inside_the_sdk(sdk: str, mode: str, need: str) -> None:
    """The real SDK, its own retries on (anthropic re-sends what the transport raises, and a
    failure after the headers; five retries, 8 s apart, outlast the 10 s failure hold): a
    hook that raises, a gate raised after the hook declined or its window closed, and a
    topped-up replay whose outcome is unknown each cost one purchase at most."""
    purchases, clock = Purchases(need), VirtualClock()
    http_client = http402.httpx2.wrap(
        httpx2.Client(transport=httpx2.MockTransport(_paid_api(sdk, need))),
        mode=mode,
        on_payment_required=purchases,
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with http_client, pytest.raises(Exception) as caught:  # the SDK's error, or ours
        _call(sdk, _sdk_client(sdk, http_client, clock))
    assert purchases.count == 1, caught.value
    if need in _REPLAY_FAULTS:
        cause = (
            caught.value
            if isinstance(caught.value, http402.PaymentOutcomeUnknownError)
            else caught.value.__cause__
        )
        assert isinstance(cause, http402.PaymentOutcomeUnknownError), caught.value
        assert isinstance(cause, httpx2.TransportError)  # httpx2's twin, from an httpx2 client


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("mode", ["raise", "annotate"])
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
async def test_one_need_costs_at_most_one_purchase_inside_the_async_sdk(
    sdk: str, mode: str, need: str, anyio_backend: str
) -> None:
    """The same with the SDKs' async clients."""
    purchases, clock = Purchases(need), VirtualClock()
    http_client = http402.httpx2.wrap(
        httpx2.AsyncClient(transport=httpx2.MockTransport(_paid_api(sdk, need))),
        mode=mode,
        on_payment_required=purchases,
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
    )
    async with http_client:
        with pytest.raises(Exception) as caught:
            await _call(sdk, _sdk_client(sdk, http_client, clock))
    assert purchases.count == 1, caught.value


@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_a_rate_limit_after_a_top_up_is_retried_by_the_sdk_as_usual(sdk: str) -> None:
    """The topped-up replay meets a plain 429 rate limit (not a billing gate): it is the
    server's answer to the request, not to the top-up, so it keeps the SDK's own retry
    rules (no `x-should-retry: false`): the SDK retries it, and nothing is bought again."""
    purchases, clock = Purchases("top-up shows"), VirtualClock()
    gate = payload(
        "anthropic-credit-balance-too-low-400"
        if sdk == "anthropic"
        else "openai-insufficient-quota-429"
    )["response"]
    limit = payload(
        "anthropic-rate-limit-429-negative"
        if sdk == "anthropic"
        else "openai-rate-limit-rpm-billing-hint-429-negative"
    )["response"]
    answers: list[int] = []

    def api(request: httpx2.Request) -> httpx2.Response:
        wire = gate if purchases.count == 0 else limit if len(answers) == 1 else None
        answers.append(200 if wire is None else wire["status"])
        if wire is None:
            return httpx2.Response(200, json=_SUCCESS[sdk])
        return httpx2.Response(wire["status"], headers=wire["headers"], content=wire["body"])

    http_client = http402.httpx2.wrap(
        httpx2.Client(transport=httpx2.MockTransport(api)),
        mode="annotate",
        on_payment_required=purchases,
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with http_client:
        _call(sdk, _sdk_client(sdk, http_client, clock))
    assert answers[:2] == [gate["status"], 429] and answers[-1] == 200
    assert purchases.count == 1


#: A successful answer each SDK parses (its documented response shape, minimal).
_SUCCESS: dict[str, Any] = {
    "anthropic": {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-5-5",
        "content": [{"type": "text", "text": "hi"}],
        "stop_reason": "end_turn",
        "usage": {"input_tokens": 1, "output_tokens": 1},
    },
    "openai": {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "gpt-4o-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "hi"},
                "finish_reason": "stop",
            }
        ],
    },
}


# --- One priced call, one payment, inside the SDKs -----------------------------------------

#: Every way one priced call used to pay more than once inside an SDK.
PRICED_NEEDS = [
    "pay hook raises",
    "paid replay refused",
    "paid replay 503",
    "paid replay times out",
]
#: An API that prices each call (not the SDK's own provider, whose adapter reads its host).
PRICED_API = "https://api.example.com/v1"
#: 1,000 sat per call, in a window of 10,000 sat: room for every retry to pay again.
L402_POLICY = {"max_amount": {"BTC": 10_000_000}, "max_per_window": {"BTC": 10_000_000}}


class Invoices:
    """An L402 API (`WWW-Authenticate: L402 macaroon=..., invoice=...`, the form of
    lightninglabs/L402's protocol spec): a fresh invoice for each challenge, and what the
    paid replay meets by `need`."""

    def __init__(self, need: str) -> None:
        self.need = need
        self.issued = 0

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        if request.headers.get("authorization", "").startswith("L402 "):
            if self.need == "paid replay 503":
                return httpx2.Response(503, json={"error": "overloaded"})
            if self.need == "paid replay times out":
                raise httpx2.ReadTimeout("timed out")
            if self.need != "paid replay refused":
                return httpx2.Response(200, json={})
        self.issued += 1
        challenge = (
            f'L402 macaroon="AgEEbHNhdAo{self.issued:04d}", invoice="lnbc10u1pinv{self.issued:04d}"'
        )
        return httpx2.Response(402, headers={"www-authenticate": challenge}, json={})


class Wallet:
    """The application's pay hook: pays each invoice it is shown (money leaves), and then
    ends as `need` says."""

    def __init__(self, need: str) -> None:
        self.need = need
        self.paid: list[str] = []

    def __call__(self, error: http402.PaymentRequiredError) -> http402.Retry:
        offer = error.payment.payment_options[0]
        self.paid.append(offer.pay_to or "")
        if self.need == "pay hook raises":
            raise ConnectionError("wallet: paid, then the preimage lookup failed")
        proof = f"L402 {offer.raw['macaroon']}:{'ab' * 32}"
        return http402.Retry(headers={"Authorization": proof}, paid=offer)


def _l402_policy() -> http402.SpendPolicy:
    return http402.SpendPolicy(**L402_POLICY)  # type: ignore[arg-type]


def _window_counts_one_payment(policy: http402.SpendPolicy) -> bool:
    """The window counts the payment made (or that may have been): 9,000,001 msat more do
    not fit."""
    offer = http402.PaymentOption(protocol="l402", asset="BTC", amount=9_000_001, unit="msat")
    payment = http402.PaymentRequired(
        reason="payment_challenge", provider="l402", payment_options=(offer,)
    )
    return policy.screen(payment)[0] == ()


@pytest.mark.parametrize("need", PRICED_NEEDS)
@pytest.mark.parametrize("mode", ["raise", "annotate"])
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_one_priced_call_pays_at_most_once_inside_the_sdk(sdk: str, mode: str, need: str) -> None:
    """The real SDK, five retries of its own, a fresh invoice at each: a pay hook that
    raises after paying, and a paid replay that is refused or whose outcome is unknown,
    each pay one invoice, which the spend window counts."""
    wallet, clock, policy = Wallet(need), VirtualClock(), _l402_policy()
    http_client = http402.httpx2.wrap(
        httpx2.Client(transport=httpx2.MockTransport(Invoices(need))),
        mode=mode,
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
        spend_policy=policy,
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with http_client, pytest.raises(Exception) as caught:
        _call(sdk, _sdk_client(sdk, http_client, clock, PRICED_API))
    assert len(wallet.paid) == 1, caught.value
    assert _window_counts_one_payment(policy)


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
@pytest.mark.parametrize("need", PRICED_NEEDS)
@pytest.mark.parametrize("mode", ["raise", "annotate"])
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
async def test_one_priced_call_pays_at_most_once_inside_the_async_sdk(
    sdk: str, mode: str, need: str, anyio_backend: str
) -> None:
    """The same with the SDKs' async clients."""
    wallet, clock, policy = Wallet(need), VirtualClock(), _l402_policy()
    http_client = http402.httpx2.wrap(
        httpx2.AsyncClient(transport=httpx2.MockTransport(Invoices(need))),
        mode=mode,
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
        spend_policy=policy,
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
    )
    async with http_client:
        with pytest.raises(Exception) as caught:
            await _call(sdk, _sdk_client(sdk, http_client, clock, PRICED_API))
    assert len(wallet.paid) == 1, caught.value
    assert _window_counts_one_payment(policy)


def _upload(sdk: str, client: Any) -> Any:
    """A file upload: the SDK sends a multipart body, built again with a fresh random
    boundary at each of its retries."""
    upload = ("notes.txt", b"hello world", "text/plain")
    if sdk == "anthropic":
        return client.beta.files.upload(file=upload)
    return client.files.create(file=upload, purpose="batch")


@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_one_need_costs_at_most_one_purchase_for_an_upload_inside_the_sdk(
    sdk: str, need: str
) -> None:
    """The same for a file upload (case 60): every retry's multipart body has another
    boundary, and is still the call's."""
    purchases, clock = Purchases(need), VirtualClock()
    http_client = http402.httpx2.wrap(
        httpx2.Client(transport=httpx2.MockTransport(_paid_api(sdk, need))),
        mode="annotate",
        on_payment_required=purchases,
        coordinator=http402.LocalCoordinator(clock=clock),
        sleep=clock.sleep,
    )
    with http_client, pytest.raises(Exception) as caught:
        _upload(sdk, _sdk_client(sdk, http_client, clock))
    assert purchases.count == 1, caught.value


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
async def test_one_need_costs_at_most_one_purchase_for_an_upload_inside_the_async_sdk(
    sdk: str, need: str, anyio_backend: str
) -> None:
    """The same with the SDKs' async clients."""
    purchases, clock = Purchases(need), VirtualClock()
    http_client = http402.httpx2.wrap(
        httpx2.AsyncClient(transport=httpx2.MockTransport(_paid_api(sdk, need))),
        mode="annotate",
        on_payment_required=purchases,
        coordinator=http402.AsyncLocalCoordinator(clock=clock),
        sleep=clock.asleep,
    )
    async with http_client:
        with pytest.raises(Exception) as caught:
            await _upload(sdk, _sdk_client(sdk, http_client, clock))
    assert purchases.count == 1, caught.value
