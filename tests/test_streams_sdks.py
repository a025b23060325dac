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
import http402.httpx2

from .lazy import LazyModule

anthropic = LazyModule("anthropic")
openai = LazyModule("openai")

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


class Gate:
    """One SDK call that meets a stream gate: the recorded gate, the stream the replay gets,
    how the SDK is made and asked, and the error it raises for the gate."""

    def __init__(self, sdk: str, gate: str, normal: str, read: Any, aread: Any) -> None:
        self.sdk = sdk
        self.gate = gate
        self.normal = normal
        self.read = read
        self.aread = aread

    def client(self, http_client: Any) -> Any:
        is_async = isinstance(http_client, httpx2.AsyncClient)
        if self.sdk == "anthropic":
            cls = anthropic.AsyncAnthropic if is_async else anthropic.Anthropic
            return cls(api_key="sk-ant-test-0000", http_client=http_client, max_retries=2)
        cls = openai.AsyncOpenAI if is_async else openai.OpenAI
        return cls(api_key="sk-test-0000", http_client=http_client, max_retries=2)

    def error(self) -> type[Exception]:
        return anthropic.APIError if self.sdk == "anthropic" else openai.APIError  # type: ignore[no-any-return]


async def aread_responses(client: Any) -> list[Any]:
    return [
        event
        async for event in await client.responses.create(model="gpt-5", input="hi", stream=True)
    ]


async def aread_chat(client: Any) -> list[Any]:
    stream = await client.chat.completions.create(model="gpt-5", messages=[], stream=True)
    return [chunk async for chunk in stream]


async def aread_messages(client: Any) -> list[Any]:
    async with client.messages.stream(
        model="claude-sonnet-5-5", max_tokens=10, messages=[]
    ) as stream:
        return [event async for event in stream]


CALLS = [
    pytest.param(
        Gate(
            "openai",
            "openai-responses-insufficient-quota-data-only-200",
            "openai-responses-normal-200-negative",
            read_responses,
            aread_responses,
        ),
        id="openai-responses-data-only",
    ),
    pytest.param(
        Gate(
            "openai",
            "openai-responses-insufficient-quota-event-named-200",
            "openai-responses-normal-200-negative",
            read_responses,
            aread_responses,
        ),
        id="openai-responses-event-named",
    ),
    pytest.param(
        Gate(
            "openai",
            "openai-compatible-chat-insufficient-quota-chunk-200",
            "openai-chat-normal-200-negative",
            read_chat,
            aread_chat,
        ),
        id="openai-chat",
    ),
    pytest.param(
        Gate(
            "anthropic",
            "anthropic-credit-balance-too-low-event-200",
            "anthropic-messages-normal-200-negative",
            read_messages,
            aread_messages,
        ),
        id="anthropic-messages",
    ),
]

WRAPS = [
    pytest.param(http402.wrap, id="http402.wrap"),
    pytest.param(http402.httpx2.wrap, id="http402.httpx2.wrap"),
]


class TestInsideTheSDKs:
    """A gate on a stream's first event, inside the real SDKs, through `http402.wrap` and
    `http402.httpx2.wrap`, sync and async."""

    @pytest.mark.parametrize("wrap", WRAPS)
    @pytest.mark.parametrize("call", CALLS)
    def test_annotate_mode_costs_one_request(self, call: Gate, wrap: Any) -> None:
        """Annotate mode: exactly one HTTP request, and the SDK's own error classifies to
        the gate's reason."""
        recorded = Recorded(call.gate)
        client = call.client(
            wrap(httpx2.Client(transport=httpx2.MockTransport(recorded)), mode="annotate")
        )
        with pytest.raises(call.error()) as caught:
            call.read(client)
        assert len(recorded.requests) == 1
        payment = http402.classify(caught.value)
        assert payment is not None
        assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS

    @pytest.mark.parametrize("mode", ["raise", "annotate"])
    @pytest.mark.parametrize("wrap", WRAPS)
    @pytest.mark.parametrize("call", CALLS)
    def test_a_hook_tops_up_once_and_the_replay_streams(
        self, call: Gate, wrap: Any, mode: str
    ) -> None:
        """With a hook: one top-up, one replay, and the caller reads the replay's normal
        stream, as if nothing had happened."""
        recorded = Recorded(call.gate, call.normal)
        top_ups: list[http402.PaymentRequiredError] = []

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            top_ups.append(error)
            return http402.Retry(within=10)

        http_client = wrap(
            httpx2.Client(transport=httpx2.MockTransport(recorded)),
            mode=mode,
            on_payment_required=top_up,
            sleep=lambda seconds: None,
        )
        events = call.read(call.client(http_client))
        assert len(top_ups) == 1
        assert isinstance(top_ups[0], http402.InsufficientCreditsError)
        assert len(recorded.requests) == 2
        plain = call.client(httpx2.Client(transport=httpx2.MockTransport(Recorded(call.normal))))
        assert [e.model_dump() for e in events] == [e.model_dump() for e in call.read(plain)]

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])  # the SDKs' async clients
    @pytest.mark.parametrize("wrap", WRAPS)
    @pytest.mark.parametrize("call", CALLS)
    async def test_async_annotate_mode_costs_one_request(
        self, call: Gate, wrap: Any, anyio_backend: str
    ) -> None:
        """The async clients: one request, and the error classifies."""
        recorded = Recorded(call.gate)
        client = call.client(
            wrap(httpx2.AsyncClient(transport=httpx2.MockTransport(recorded)), mode="annotate")
        )
        with pytest.raises(call.error()) as caught:
            await call.aread(client)
        assert len(recorded.requests) == 1
        payment = http402.classify(caught.value)
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS

    @pytest.mark.anyio
    @pytest.mark.parametrize("anyio_backend", ["asyncio"])
    @pytest.mark.parametrize("mode", ["raise", "annotate"])
    @pytest.mark.parametrize("call", CALLS)
    async def test_async_hook_tops_up_once(self, call: Gate, mode: str, anyio_backend: str) -> None:
        """The async clients: one top-up, one replay, the replay's stream."""
        recorded = Recorded(call.gate, call.normal)
        top_ups = 0

        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            nonlocal top_ups
            top_ups += 1
            return http402.Retry(within=10)

        async def no_sleep(seconds: float) -> None:
            return None

        http_client = http402.httpx2.wrap(
            httpx2.AsyncClient(transport=httpx2.MockTransport(recorded)),
            mode=mode,
            on_payment_required=top_up,
            sleep=no_sleep,
        )
        events = await call.aread(call.client(http_client))
        assert top_ups == 1 and len(recorded.requests) == 2
        assert events

    @pytest.mark.parametrize("call", CALLS)
    def test_without_http402_the_gate_reaches_the_caller_as_a_broken_stream(
        self, call: Gate
    ) -> None:
        """The control: with a plain client the same stream costs one request and ends in
        the SDK's error, with no top-up possible."""
        recorded = Recorded(call.gate, call.normal)
        client = call.client(httpx2.Client(transport=httpx2.MockTransport(recorded)))
        with pytest.raises(call.error()):
            call.read(client)
        assert len(recorded.requests) == 1
