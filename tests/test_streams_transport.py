"""The stream look-ahead in the sync, async and httpx2 transports: a billing error event in a
200 stream's opening is a gate like a 4xx's; everything else comes back byte for byte, still
streaming; nothing but a 200 `text/event-stream` is read."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest

import http402
import http402.httpx2
from http402._exceptions import error_class_for
from http402._streams import PEEK_LIMIT

from .sse_server import Script, serving

STREAMS = Path(__file__).parent / "payloads" / "streams"
TRANSCRIPTS = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(STREAMS.glob("*.json"))]
GATES = [t for t in TRANSCRIPTS if t["expected"]["is_payment_gate"]]
LOOK_ALIKES = [t for t in TRANSCRIPTS if not t["expected"]["is_payment_gate"]]
LIBRARIES = ["httpx", "httpx2"]


def named(name: str) -> dict[str, Any]:
    return next(t for t in TRANSCRIPTS if t["id"] == name)


def body_of(transcript: dict[str, Any]) -> bytes:
    return str(transcript["response"]["body"]).encode("utf-8")


class Chunks(
    httpx.SyncByteStream, httpx.AsyncByteStream, httpx2.SyncByteStream, httpx2.AsyncByteStream
):
    """A response body sent in the given chunks (then, optionally, an error), which counts
    what was read and whether it was closed."""

    def __init__(self, chunks: list[bytes], error: Exception | None = None) -> None:
        self.chunks = chunks
        self.error = error
        self.taken = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.taken += 1
            yield chunk
        if self.error is not None:
            raise self.error

    def __aiter__(self) -> AsyncIterator[bytes]:
        # An iterator, not an async generator: one left suspended at a gate would make
        # trio warn when it is collected, and that would be the test's doing.
        return _AsyncChunks(self)

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


class _AsyncChunks:
    def __init__(self, stream: Chunks) -> None:
        self.stream = stream
        self.chunks = iter(stream.chunks)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = next(self.chunks, None)
        if chunk is None:
            if self.stream.error is not None:
                raise self.stream.error
            raise StopAsyncIteration
        self.stream.taken += 1
        return chunk


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


class Provider:
    """Answers each request with the next of its recorded streams (the last one again once
    they run out), chunked, and keeps every request and stream."""

    def __init__(
        self, *transcripts: dict[str, Any], size: int = 64, library: str = "httpx"
    ) -> None:
        self.transcripts = transcripts
        self.size = size
        self.http: Any = httpx if library == "httpx" else httpx2
        self.requests: list[Any] = []
        self.streams: list[Chunks] = []
        self._lock = threading.Lock()

    def __call__(self, request: Any) -> Any:
        with self._lock:
            self.requests.append(request)
            transcript = self.transcripts[min(len(self.requests), len(self.transcripts)) - 1]
            stream = Chunks(chunked(body_of(transcript), self.size))
            self.streams.append(stream)
        return self.http.Response(200, headers=transcript["response"]["headers"], stream=stream)


def sync_client(provider: Provider, library: str, **options: Any) -> Any:
    if library == "httpx":
        transport: Any = http402.PaymentRequiredTransport(httpx.MockTransport(provider), **options)
        return httpx.Client(transport=transport)
    transport = http402.httpx2.PaymentRequiredTransport(httpx2.MockTransport(provider), **options)
    return httpx2.Client(transport=transport)


def async_client(provider: Provider, library: str, **options: Any) -> Any:
    if library == "httpx":
        transport: Any = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(provider), **options
        )
        return httpx.AsyncClient(transport=transport)
    transport = http402.httpx2.AsyncPaymentRequiredTransport(
        httpx2.MockTransport(provider), **options
    )
    return httpx2.AsyncClient(transport=transport)


def url_of(transcript: dict[str, Any]) -> str:
    return str(transcript["request"]["url"])


class TestGates:
    """A billing error event before any output raises the typed error of its reason."""

    @pytest.mark.parametrize("library", LIBRARIES)
    @pytest.mark.parametrize("transcript", GATES, ids=[t["id"] for t in GATES])
    def test_sync(self, transcript: dict[str, Any], library: str) -> None:
        """The sync transports raise it, with the 200 and the bytes read on `.response`,
        and close the stream."""
        provider = Provider(transcript, library=library)
        with (
            sync_client(provider, library) as client,
            pytest.raises(http402.PaymentRequiredError) as caught,
        ):
            client.post(url_of(transcript), json={})
        assert_gate(caught.value, transcript, provider)

    @pytest.mark.anyio
    @pytest.mark.parametrize("library", LIBRARIES)
    @pytest.mark.parametrize("transcript", GATES, ids=[t["id"] for t in GATES])
    async def test_async(self, transcript: dict[str, Any], library: str) -> None:
        """The async transports raise it too, under asyncio and trio."""
        provider = Provider(transcript, library=library)
        async with async_client(provider, library) as client:
            with pytest.raises(http402.PaymentRequiredError) as caught:
                await client.post(url_of(transcript), json={})
        assert_gate(caught.value, transcript, provider)


def assert_gate(
    error: http402.PaymentRequiredError, transcript: dict[str, Any], provider: Provider
) -> None:
    expected = transcript["expected"]
    assert error.payment.reason.value == expected["reason"]
    assert isinstance(error, error_class_for(error.payment.reason))
    assert error.response.status_code == 200
    assert error.payment.status_code == 200
    assert isinstance(error.response, provider.http.Response)
    assert body_of(transcript).startswith(error.response.content)
    # The read stopped at the error event, or at a first chunk that the provider ended.
    assert b'"error"' in error.response.content or b'"finish_reason"' in error.response.content
    (stream,) = provider.streams
    assert stream.closed
    assert len(error.response.content) <= PEEK_LIMIT


class TestLookAlikes:
    """Everything that is not a billing gate comes back byte for byte."""

    @pytest.mark.parametrize("size", [1, 7, 4096])
    @pytest.mark.parametrize("library", LIBRARIES)
    @pytest.mark.parametrize("transcript", LOOK_ALIKES, ids=[t["id"] for t in LOOK_ALIKES])
    def test_sync(self, transcript: dict[str, Any], library: str, size: int) -> None:
        """Normal streams, rate limits, overloads and server errors pass whole, however the
        stream is chunked."""
        provider = Provider(transcript, size=size, library=library)
        with sync_client(provider, library) as client:
            response = client.post(url_of(transcript), json={})
        assert response.status_code == 200
        assert response.content == body_of(transcript)
        assert "http402.payment" not in response.extensions

    @pytest.mark.anyio
    @pytest.mark.parametrize("library", LIBRARIES)
    @pytest.mark.parametrize("transcript", LOOK_ALIKES, ids=[t["id"] for t in LOOK_ALIKES])
    async def test_async(self, transcript: dict[str, Any], library: str) -> None:
        """The async transports hand them back whole too."""
        provider = Provider(transcript, size=13, library=library)
        async with async_client(provider, library) as client:
            response = await client.post(url_of(transcript), json={})
        assert response.content == body_of(transcript)

    def test_past_the_bound_the_stream_is_handed_back(self) -> None:
        """More than 8 KiB of keep-alives before output: reading stops at the bound, and
        the caller still gets every byte."""
        data = b": keep-alive\n\n" * 700 + body_of(named("openai-chat-normal-200-negative"))
        provider = Provider(
            {"response": {"headers": {"content-type": "text/event-stream"}, "body": data.decode()}}
        )
        with sync_client(provider, "httpx") as client:
            assert client.post("https://api.openai.com/v1/chat/completions").content == data

    def test_a_stream_that_breaks_during_the_look_ahead(self) -> None:
        """A stream that breaks before output: the caller reads the bytes that came, then
        gets the same error, as without http402."""
        head = b'event: response.created\ndata: {"type":"response.created"}\n\n'
        stream = Chunks([head], httpx.ReadError("connection reset"))
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(
                lambda r: httpx.Response(
                    200, headers={"content-type": "text/event-stream"}, stream=stream
                )
            )
        )
        with (
            httpx.Client(transport=transport) as client,
            client.stream("POST", "https://api.openai.com/v1/responses") as response,
        ):
            chunks = response.iter_raw()
            assert next(chunks) == head
            with pytest.raises(httpx.ReadError):
                next(chunks)


class TestNothingElseIsRead:
    """Only a 200 `text/event-stream` is read ahead; every other response is untouched."""

    @pytest.mark.parametrize(
        ("status", "content_type", "options"),
        [
            (200, "application/json", {}),
            (200, "text/plain", {}),
            (201, "text/event-stream", {}),
            (206, "text/event-stream", {}),
            (200, "text/event-stream", {"peek_streams": False}),
        ],
    )
    def test_untouched(self, status: int, content_type: str, options: dict[str, Any]) -> None:
        """The inner response is returned as it is, not one byte of it read."""
        stream = Chunks([body_of(GATES[0])])
        inner = httpx.Response(status, headers={"content-type": content_type}, stream=stream)
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(lambda r: inner), **options
        )
        assert (
            transport.handle_request(httpx.Request("POST", "https://api.openai.com/v1/responses"))
            is inner
        )
        assert stream.taken == 0

    @pytest.mark.anyio
    async def test_untouched_async(self) -> None:
        """The async transport leaves a JSON 200 alone too."""
        stream = Chunks([b"{}"])
        inner = httpx.Response(200, headers={"content-type": "application/json"}, stream=stream)
        transport = http402.AsyncPaymentRequiredTransport(httpx.MockTransport(lambda r: inner))
        request = httpx.Request("POST", "https://api.openai.com/v1/responses")
        assert await transport.handle_async_request(request) is inner
        assert stream.taken == 0

    def test_a_stream_is_read_only_to_its_first_output(self) -> None:
        """A normal stream is read ahead only up to its first output event; the rest stays
        in the stream until the caller reads it."""
        transcript = named("openai-responses-normal-200-negative")
        provider = Provider(transcript, size=200)
        with (
            sync_client(provider, "httpx") as client,
            client.stream("POST", url_of(transcript)) as response,
        ):
            (stream,) = provider.streams
            assert stream.taken < len(stream.chunks)
            assert response.read() == body_of(transcript)


class TestAsA4xxGate:
    """A gate in a stream goes through the same recovery as a 4xx gate."""

    def test_annotate_mode_hands_the_stream_back_annotated(self) -> None:
        """Without hooks, annotate mode returns the stream whole, marked `x-should-retry:
        false`, with the answer in its extensions (and from `http402.classify`)."""
        transcript = named("openai-responses-insufficient-quota-event-named-200")
        provider = Provider(transcript)
        with sync_client(provider, "httpx", mode="annotate") as client:
            response = client.post(url_of(transcript), json={})
        assert response.content == body_of(transcript)
        assert response.headers["x-should-retry"] == "false"
        payment = http402.classify(response)
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        assert len(provider.requests) == 1

    @pytest.mark.parametrize("library", LIBRARIES)
    @pytest.mark.parametrize("mode", ["raise", "annotate"])
    def test_a_hook_tops_up_once_and_the_replay_streams(self, library: str, mode: str) -> None:
        """One hook call, one replay; the caller gets the replay's normal stream."""
        gate = named("openai-responses-insufficient-quota-data-only-200")
        normal = named("openai-responses-normal-200-negative")
        provider = Provider(gate, normal, library=library)
        calls: list[http402.PaymentRequiredError] = []

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            calls.append(error)
            return http402.Retry(within=10)

        client = sync_client(
            provider, library, mode=mode, on_payment_required=top_up, sleep=lambda s: None
        )
        with client:
            response = client.post(url_of(gate), json={"input": "hi"})
        assert response.content == body_of(normal)
        assert len(calls) == 1 and calls[0].reason is http402.Reason.INSUFFICIENT_CREDITS
        assert len(provider.requests) == 2
        assert provider.requests[1].content == provider.requests[0].content

    @pytest.mark.anyio
    async def test_async_hook_tops_up_once(self) -> None:
        """The async transport: one hook call, one replay, the replay's stream."""
        gate = named("openai-compatible-chat-insufficient-quota-chunk-200")
        normal = named("openai-chat-normal-200-negative")
        provider = Provider(gate, normal)
        calls = 0

        async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            nonlocal calls
            calls += 1
            return http402.Retry(within=10)

        async def no_sleep(seconds: float) -> None:
            return None

        async with async_client(
            provider, "httpx", on_payment_required=top_up, sleep=no_sleep
        ) as client:
            response = await client.post(url_of(gate), json={})
        assert response.content == body_of(normal)
        assert calls == 1 and len(provider.requests) == 2

    def test_one_hook_call_for_a_burst(self) -> None:
        """Eight requests that meet the same stream gate at once share one hook call."""
        gate = named("openai-responses-insufficient-quota-event-named-200")
        normal = named("openai-responses-normal-200-negative")
        topped_up = threading.Event()
        arrived = threading.Barrier(8)
        requests: list[httpx.Request] = []
        lock = threading.Lock()

        def provider(request: httpx.Request) -> httpx.Response:
            with lock:
                requests.append(request)
            answer = normal if topped_up.is_set() else gate
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, content=body_of(answer)
            )

        calls = 0

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            nonlocal calls
            calls += 1
            topped_up.set()
            return http402.Retry(within=10)

        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(provider), on_payment_required=top_up, sleep=lambda s: None
        )
        results: list[bytes] = []

        def one() -> None:
            arrived.wait()
            with httpx.Client(transport=transport) as client:
                results.append(
                    client.post(url_of(gate), headers={"authorization": "Bearer sk-1"}).content
                )

        threads = [threading.Thread(target=one) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert calls == 1
        assert results == [body_of(normal)] * 8

    def test_gates_are_counted(self, reader: Any) -> None:
        """A stream gate is counted in `http402.gates` with its reason and provider."""
        transcript = named("openai-responses-insufficient-quota-data-only-200")
        with (
            sync_client(Provider(transcript), "httpx") as client,
            pytest.raises(http402.InsufficientCreditsError),
        ):
            client.post(url_of(transcript))
        (point,) = gate_points(reader)
        assert dict(point.attributes) == {
            "billing_gate_reason": "insufficient_credits",
            "billing_gate_kind": "payment",
            "provider": "openai",
        }


class TestAfterOutput:
    """A billing error after output began is not replayed: the caller has the output. It is
    counted, and the SDK's error classifies."""

    def mid_stream(self) -> bytes:
        """openai-python's recorded chat stream up to its first output, then the gateway's
        `insufficient_quota` chunk."""
        normal = body_of(named("openai-chat-normal-200-negative")).split(b"\n\n")
        gate = body_of(named("openai-compatible-chat-insufficient-quota-chunk-200"))
        return b"\n\n".join(normal[:2]) + b"\n\n" + gate

    @pytest.mark.parametrize("size", [50, 1 << 20])
    def test_counted_never_replayed(self, reader: Any, size: int) -> None:
        """The stream reaches the caller whole, the hook is not called, and the gate is
        counted with `outcome="after_output"`."""
        data = self.mid_stream()
        calls = 0

        def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
            nonlocal calls
            calls += 1
            return http402.Retry()

        provider = Provider(
            {"response": {"headers": {"content-type": "text/event-stream"}, "body": data.decode()}},
            size=size,
        )
        with sync_client(provider, "httpx", on_payment_required=top_up) as client:
            assert client.post("https://api.openai.com/v1/chat/completions").content == data
        assert calls == 0 and len(provider.requests) == 1
        (point,) = gate_points(reader)
        assert point.attributes["outcome"] == "after_output"
        assert point.attributes["billing_gate_reason"] == "insufficient_credits"

    @pytest.mark.anyio
    async def test_counted_async(self, reader: Any) -> None:
        """The async transports follow the rest of the stream the same way."""
        data = self.mid_stream()
        provider = Provider(
            {"response": {"headers": {"content-type": "text/event-stream"}, "body": data.decode()}},
            size=50,
            library="httpx2",
        )
        async with async_client(provider, "httpx2") as client:
            assert (await client.post("https://api.openai.com/v1/chat/completions")).content == data
        (point,) = gate_points(reader)
        assert point.attributes["outcome"] == "after_output"

    def test_nothing_is_followed_without_metrics(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without the OpenTelemetry API there is nothing to count: the rest of the stream is
        passed on with no look at its events."""
        from http402 import _metrics
        from http402._streams import LookAhead

        watches = 0
        original = LookAhead.watch

        def counted(self: LookAhead) -> Any:
            nonlocal watches
            watches += 1
            return original(self)

        monkeypatch.setattr(LookAhead, "watch", counted)
        data = self.mid_stream()
        answer = {
            "response": {"headers": {"content-type": "text/event-stream"}, "body": data.decode()}
        }
        with sync_client(Provider(answer, size=50), "httpx") as client:
            assert client.post("https://api.openai.com/v1/chat/completions").content == data
            assert watches == 1
            monkeypatch.setattr(_metrics, "available", lambda: False)
            assert client.post("https://api.openai.com/v1/chat/completions").content == data
            assert watches == 1

    def test_a_server_error_after_output_is_not_counted(self, reader: Any) -> None:
        """A server error after output is no gate: nothing is counted."""
        transcript = named("openai-chat-server-error-after-output-200-negative")
        with sync_client(Provider(transcript, size=40), "httpx") as client:
            assert client.post(url_of(transcript)).content == body_of(transcript)
        assert gate_points(reader) == []


def gate_points(reader: Any) -> list[Any]:
    data = reader.get_metrics_data()
    points: list[Any] = []
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "http402.gates":
                    points.extend(metric.data.data_points)
    return points


class TestFirstEventIsNotHeldBack:
    """Over a real loopback server that holds the stream after its first output event until
    the test has seen it: the event reaches the caller before the next is sent."""

    def script(self, lifecycle: bool) -> tuple[Script, threading.Event, bytes, bytes]:
        normal = body_of(named("openai-responses-normal-200-negative")).split(b"\n\n")
        # response.created and response.in_progress (no output), then the first output event.
        head = b"\n\n".join(normal[:3] if lifecycle else normal[2:3]) + b"\n\n"
        tail = b"\n\n".join(normal[3:])
        go = threading.Event()
        return Script([head, go, tail]), go, head, tail

    @pytest.mark.parametrize("lifecycle", [False, True])
    @pytest.mark.parametrize("library", LIBRARIES)
    def test_sync(self, library: str, lifecycle: bool) -> None:
        """The sync transports hand the stream back as soon as its first output arrives."""
        script, go, head, tail = self.script(lifecycle)
        http: Any = httpx if library == "httpx" else httpx2
        wrapper: Any = http402 if library == "httpx" else http402.httpx2
        with (
            serving(script) as server,
            http.Client(transport=wrapper.PaymentRequiredTransport()) as client,
            client.stream("POST", f"{server.url}/v1/responses") as response,
        ):
            seen = b""
            chunks = response.iter_raw()
            while seen.count(b"\n\n") < head.count(b"\n\n"):
                seen += next(chunks)
            assert seen == head
            assert not script.done.is_set()
            go.set()
            assert seen + b"".join(chunks) == head + tail

    @pytest.mark.anyio
    @pytest.mark.parametrize("library", LIBRARIES)
    async def test_async(self, library: str) -> None:
        """So do the async transports."""
        script, go, head, tail = self.script(True)
        http: Any = httpx if library == "httpx" else httpx2
        wrapper: Any = http402 if library == "httpx" else http402.httpx2
        with serving(script) as server:
            async with (
                http.AsyncClient(transport=wrapper.AsyncPaymentRequiredTransport()) as client,
                client.stream("POST", f"{server.url}/v1/responses") as response,
            ):
                seen = b""
                chunks = response.aiter_raw()
                while seen.count(b"\n\n") < head.count(b"\n\n"):
                    seen += await anext(chunks)
                assert seen == head
                go.set()
                async for chunk in chunks:
                    seen += chunk
        assert seen == head + tail


class TestOverTheNetwork:
    """A gate over a real loopback connection, with the server still holding the stream open:
    the typed error comes at the error event, without waiting for the stream's end."""

    def script(self) -> tuple[Script, threading.Event]:
        events = body_of(named("openai-responses-insufficient-quota-event-named-200")).split(
            b"\n\n"
        )
        hold = threading.Event()
        return Script([b"\n\n".join(events[:3]) + b"\n\n", hold, b"\n\n".join(events[3:])]), hold

    @pytest.mark.parametrize("library", LIBRARIES)
    def test_sync(self, library: str) -> None:
        """The sync transports raise while the server waits to send `response.failed`."""
        script, hold = self.script()
        http: Any = httpx if library == "httpx" else httpx2
        wrapper: Any = http402 if library == "httpx" else http402.httpx2
        with (
            serving(script) as server,
            http.Client(transport=wrapper.PaymentRequiredTransport()) as client,
        ):
            with pytest.raises(http402.InsufficientCreditsError):
                client.post(f"{server.url}/v1/responses", json={})
            hold.set()

    @pytest.mark.anyio
    @pytest.mark.parametrize("library", LIBRARIES)
    # Under trio, httpx's and httpcore's own async generators of a response left before its
    # end are found by the garbage collector, and trio warns: a plain httpx stream that the
    # caller leaves early does the same (docs/streams.md). None of them is http402's.
    @pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <async_generator object "
        "(AsyncResponseStream|PoolByteStream|HTTP11ConnectionByteStream)"
        ":pytest.PytestUnraisableExceptionWarning"
    )
    async def test_async(self, library: str) -> None:
        """So do the async transports, under asyncio and trio."""
        script, hold = self.script()
        http: Any = httpx if library == "httpx" else httpx2
        wrapper: Any = http402 if library == "httpx" else http402.httpx2
        with serving(script) as server:
            async with http.AsyncClient(
                transport=wrapper.AsyncPaymentRequiredTransport()
            ) as client:
                with pytest.raises(http402.InsufficientCreditsError):
                    await client.post(f"{server.url}/v1/responses", json={})
                hold.set()
