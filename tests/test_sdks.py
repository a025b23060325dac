"""httpx2, and the real `openai` and `anthropic` SDKs (which run on httpx2), with http402.

Requests are answered by `httpx2.MockTransport` with real payloads; nothing reaches a network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

import http402
import http402.httpx2

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")
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


def test_annotate_mode_refuses_hooks() -> None:
    """Annotate mode hands gates to the caller, so it cannot also recover from them."""
    with pytest.raises(ValueError, match="annotate"):
        http402.PaymentRequiredTransport(mode="annotate", on_payment_required=lambda e: None)
