"""Billing gates inside 200 streams, through the real `openai` and `anthropic` SDKs.

The recorded streams of `tests/payloads/streams/` are served by `httpx2.MockTransport` or by
a real loopback server (`tests/sse_server.py`); nothing reaches a network.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2
import pytest

import http402

anthropic = pytest.importorskip("anthropic")
openai = pytest.importorskip("openai")

STREAMS = Path(__file__).parent / "payloads" / "streams"


def transcript(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((STREAMS / f"{name}.json").read_text(encoding="utf-8"))
    return loaded


class Recorded:
    """Answers every request with one recorded stream, and counts the requests."""

    def __init__(self, *names: str) -> None:
        self.answers = [transcript(name)["response"] for name in names]
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        wire = self.answers[min(len(self.requests), len(self.answers)) - 1]
        return httpx2.Response(
            wire["status"], headers=wire["headers"], content=wire["body"].encode("utf-8")
        )


def read_responses(client: Any) -> list[Any]:
    return list(client.responses.create(model="gpt-5", input="hi", stream=True))


def read_chat(client: Any) -> list[Any]:
    return list(client.chat.completions.create(model="gpt-5", messages=[], stream=True))


def read_messages(client: Any) -> list[Any]:
    with client.messages.stream(model="claude-sonnet-5-5", max_tokens=10, messages=[]) as stream:
        return list(stream)


RESPONSES_GATES = [
    "openai-responses-insufficient-quota-data-only-200",
    "openai-responses-insufficient-quota-event-named-200",
    "openai-responses-credit-balance-exhausted-200",
]


class TestClassifyWhatTheSDKRaises:
    """`http402.classify(error)` reads the error event an SDK raises from a stream, with no
    transport: the answer for a gate after output began, which is never replayed."""

    @pytest.mark.parametrize("name", RESPONSES_GATES)
    def test_openai_responses_gate(self, name: str) -> None:
        """openai's `APIError` from a Responses `error` event classifies to its reason."""
        client = openai.OpenAI(
            api_key="sk-test-1",
            http_client=httpx2.Client(transport=httpx2.MockTransport(Recorded(name))),
        )
        with pytest.raises(openai.APIError) as caught:
            read_responses(client)
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert payment.status_code == 200

    def test_openai_chat_gate_on_a_gateway(self) -> None:
        """A chat chunk carrying OpenAI's `insufficient_quota`, from a gateway on any host."""
        recorded = Recorded("openai-compatible-chat-insufficient-quota-chunk-200")
        client = openai.OpenAI(
            api_key="sk-test-1",
            base_url="http://127.0.0.1:4000/v1",
            http_client=httpx2.Client(transport=httpx2.MockTransport(recorded)),
        )
        with pytest.raises(openai.APIError) as caught:
            read_chat(client)
        payment = http402.classify(caught.value)
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert payment.provider == "generic"

    @pytest.mark.parametrize(
        ("name", "read", "sdk"),
        [
            ("openai-responses-server-error-before-output-200-negative", read_responses, "openai"),
            ("openai-chat-server-error-first-chunk-200-negative", read_chat, "openai"),
            ("openai-chat-server-error-after-output-200-negative", read_chat, "openai"),
            ("anthropic-overloaded-before-output-200-negative", read_messages, "anthropic"),
            ("anthropic-overloaded-after-output-200-negative", read_messages, "anthropic"),
        ],
    )
    def test_look_alikes_stay_what_they_are(self, name: str, read: Any, sdk: str) -> None:
        """Server errors and overloads that an SDK raises from a stream are no gate."""
        transport = httpx2.MockTransport(Recorded(name))
        if sdk == "openai":
            client: Any = openai.OpenAI(
                api_key="sk-test-1", http_client=httpx2.Client(transport=transport)
            )
        else:
            client = anthropic.Anthropic(
                api_key="sk-ant-1", http_client=httpx2.Client(transport=transport)
            )
        with pytest.raises((openai.APIError, anthropic.APIError)) as caught:
            read(client)
        assert http402.classify(caught.value) is None

    def test_a_4xx_status_error_is_still_read_from_its_body(self) -> None:
        """An SDK's status error with a 4xx response is classified from that response, as
        before; its `.body` is not read as a stream's event."""
        request = httpx2.Request("POST", "https://api.openai.com/v1/responses")
        response = httpx2.Response(
            400,
            json={"error": {"message": "bad model", "type": "invalid_request_error"}},
            request=request,
        )
        error = openai.BadRequestError(
            "bad",
            response=response,
            body={"code": "insufficient_quota", "message": "You exceeded your current quota"},
        )
        assert http402.classify(error) is None

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
    async def test_async_clients(self, anyio_backend: str) -> None:
        """`AsyncOpenAI` raises the same error, and it classifies the same."""
        recorded = Recorded(RESPONSES_GATES[0])
        client = openai.AsyncOpenAI(
            api_key="sk-test-1",
            http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(recorded)),
        )
        with pytest.raises(openai.APIError) as caught:
            async for _ in await client.responses.create(model="gpt-5", input="hi", stream=True):
                pass
        payment = http402.classify(caught.value)
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS
