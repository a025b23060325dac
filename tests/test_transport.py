"""Both transports: gates become typed errors, everything else passes untouched.

Each behaviour runs through the sync and the async transport alike (`client` fixture).
"""

from __future__ import annotations

import functools
import gc
import struct
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx

import http402
from http402 import Reason

pytestmark = pytest.mark.anyio
URL = "https://api.example.com/v1/run"


class Client:
    """One interface over a sync or an async client wrapped by http402."""

    def __init__(self, mode: str, inner: Any, **options: Any) -> None:
        self.mode = mode
        if mode == "sync":
            self.transport: Any = http402.PaymentRequiredTransport(inner, **options)
            self.client: Any = httpx.Client(transport=self.transport)
        else:
            self.transport = http402.AsyncPaymentRequiredTransport(inner, **options)
            self.client = httpx.AsyncClient(transport=self.transport)

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.mode == "sync":
            return self.client.request(method, url, **kwargs)  # type: ignore[no-any-return]
        return await self.client.request(method, url, **kwargs)  # type: ignore[no-any-return]

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if self.mode == "sync":
            return self.transport.handle_request(request)  # type: ignore[no-any-return]
        return await self.transport.handle_async_request(request)  # type: ignore[no-any-return]

    async def read(self, response: httpx.Response) -> bytes:
        if self.mode == "sync":
            return response.read()
        return await response.aread()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make(mode: str, handler: Any, **options: Any) -> Client:
    return Client(mode, httpx.MockTransport(handler), **options)


class Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A raw body stream that records how much of it was read, and whether it was closed."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self.read = 0
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.read += 1
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.read += 1
            yield chunk

    def close(self) -> None:
        self.closed = True

    async def aclose(self) -> None:
        self.closed = True


async def test_a_402_raises_the_class_of_its_reason(mode: str) -> None:
    """An OpenRouter-style 402 raises `InsufficientCreditsError` with everything kept."""
    router = respx.Router()
    router.post(URL).respond(
        402,
        json={"error": {"message": "Insufficient credits", "code": "insufficient_credits"}},
        headers={"x-request-id": "req_9"},
    )
    client = make(mode, router.handler)
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        await client.request("POST", URL, json={"prompt": "hi"})
    error = caught.value
    assert isinstance(error, httpx.HTTPStatusError)
    assert error.payment.reason is Reason.INSUFFICIENT_CREDITS
    assert error.request.url == URL
    assert error.request_id == "req_9"
    assert error.attempts == 1
    assert error.response.status_code == 402
    assert error.response.json() == {
        "error": {"message": "Insufficient credits", "code": "insufficient_credits"}
    }


async def test_a_200_is_returned_untouched_and_unread(mode: str) -> None:
    """A non-gate response is the inner transport's own object, its stream never iterated."""
    stream = Chunks(iter([b'{"ok": true}']))
    inner_response = httpx.Response(200, stream=stream)
    client = make(mode, lambda request: inner_response)
    response = await client.handle(httpx.Request("GET", URL))
    assert response is inner_response
    assert stream.read == 0
    assert await client.read(response) == b'{"ok": true}'


async def test_a_streamed_200_stays_streamed(mode: str) -> None:
    """`stream=True` still streams: nothing is read before the caller reads."""
    stream = Chunks(iter([b"a" * 10, b"b" * 10]))
    client = make(mode, lambda request: httpx.Response(200, stream=stream))
    request = client.client.build_request("GET", URL)
    if mode == "sync":
        response = client.client.send(request, stream=True)
    else:
        response = await client.client.send(request, stream=True)
    assert stream.read == 0
    assert await client.read(response) == b"a" * 10 + b"b" * 10


@pytest.mark.parametrize("status", [200, 201, 204, 301, 404, 500])
async def test_other_statuses_from_any_host_are_never_read(mode: str, status: int) -> None:
    """Only a 402, or a status an adapter scoped to that host claims, is read."""
    stream = Chunks(iter([b'{"error": "insufficient_credits"}']))
    client = make(mode, lambda request: httpx.Response(status, stream=stream))
    response = await client.handle(httpx.Request("GET", "https://api.openai.com/v1/models"))
    assert response.status_code == status
    assert stream.read == 0


async def test_a_429_that_is_a_rate_limit_comes_back_whole(mode: str) -> None:
    """A provider's 429 that is read and found to be a rate limit keeps its whole body."""
    body = (
        b'{"error": {"message": "Rate limit reached for requests per min (RPM).", '
        b'"type": "requests", "code": "rate_limit_exceeded"}}' + b" " * 5000
    )
    chunks = [body[i : i + 100] for i in range(0, len(body), 100)]
    stream = Chunks(iter(chunks))
    client = make(
        mode,
        lambda request: httpx.Response(429, headers={"retry-after": "1"}, stream=stream),
        max_body_bytes=300,
    )
    response = await client.handle(httpx.Request("POST", "https://api.openai.com/v1/x"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert await client.read(response) == body


@functools.cache
def gzip_bomb_chunks() -> list[bytes]:
    """1 GiB of zeros, gzip-compressed to about 1 MiB, in 64 KiB network chunks.

    Each MiB is compressed once: after a full flush the compressor starts afresh, so every
    further MiB compresses to the same bytes; the trailer holds the whole GiB's CRC and size,
    so the stream inflates to 1 GiB and checks out (compressing it all took ~3 s of CPU)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    end = compressor.flush(zlib.Z_FINISH)[:-8]  # the last block, without its trailer
    crc = functools.reduce(lambda crc, _: zlib.crc32(zeros, crc), range(1024), 0)
    bomb = first + again * 1023 + end + struct.pack("<II", crc, (1 << 30) & 0xFFFFFFFF)
    return [bomb[i : i + 65536] for i in range(0, len(bomb), 65536)]


async def test_a_gzip_bomb_402_stays_small_in_memory(mode: str) -> None:
    """A 1 GiB gzip bomb is read in well under 2 MiB, and the error body is bounded."""
    chunks = gzip_bomb_chunks()
    gc.collect()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402, headers={"content-encoding": "gzip"}, stream=Chunks(iter(chunks))
        )

    client = make(mode, handler)
    tracemalloc.start()
    try:
        with pytest.raises(http402.PaymentRequiredError) as caught:
            await client.handle(httpx.Request("GET", URL))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024
    assert len(caught.value.response.content) == 64 * 1024
    assert caught.value.response.extensions["http402.truncated"] is True
    assert "content-encoding" not in caught.value.response.headers


async def test_an_endless_402_body_is_read_only_to_the_bound(mode: str) -> None:
    """A body that never ends is cut at `max_body_bytes`, and the stream is closed."""

    def forever() -> Iterator[bytes]:
        while True:
            yield b"x" * 1024

    stream = Chunks(forever())
    client = make(mode, lambda request: httpx.Response(402, stream=stream), max_body_bytes=8192)
    with pytest.raises(http402.PaymentRequiredError) as caught:
        await client.handle(httpx.Request("GET", URL))
    assert stream.read <= 9
    assert stream.closed
    assert caught.value.payment.reason is Reason.UNKNOWN
    assert len(caught.value.response.content) == 8192


async def test_a_read_gate_is_closed(mode: str) -> None:
    """The 402's stream is closed before the error is raised (no connection leak)."""
    stream = Chunks(iter([b'{"error": "insufficient_credits"}']))
    client = make(mode, lambda request: httpx.Response(402, stream=stream))
    with pytest.raises(http402.InsufficientCreditsError):
        await client.handle(httpx.Request("GET", URL))
    assert stream.closed


async def test_credentials_never_reach_str_repr_or_logs(
    mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Auth headers, API-key headers, URL userinfo and secret query values stay secret."""
    key = "sk-live-0123456789abcdefSECRET"
    router = respx.Router()
    router.route().respond(
        402,
        json={"error": {"code": "insufficient_credits", "message": f"Key {key} has no credits"}},
    )
    client = make(mode, router.handler)
    caplog.set_level("DEBUG")
    with pytest.raises(http402.PaymentRequiredError) as caught:
        await client.request(
            "POST",
            "https://user:hunter2hunter2@api.example.com/v1?api_key=query-secret-123",
            headers={
                "Authorization": f"Bearer {key}",
                "X-Api-Key": "header-secret-456",
                "Cookie": "session=cookie-secret-789",
            },
        )
    error = caught.value
    shown = " ".join([str(error), repr(error), repr(error.payment), caplog.text])
    for secret in (key, "hunter2hunter2", "query-secret-123", "header-secret-456", "cookie-secret"):
        assert secret not in shown
    assert "[redacted]" in str(error)
    assert "insufficient credits" in str(error)


async def test_close_is_delegated(mode: str) -> None:
    """Closing the client closes the wrapped transport."""
    closed: list[bool] = []

    class Inner(httpx.MockTransport):
        def close(self) -> None:
            closed.append(True)

        async def aclose(self) -> None:
            closed.append(True)

    client = Client(mode, Inner(lambda request: httpx.Response(200)))
    if mode == "sync":
        with client.client:
            pass
    else:
        async with client.client:
            pass
    assert closed == [True]


async def test_max_body_bytes_must_be_positive(mode: str) -> None:
    """A bound of zero is a configuration error."""
    with pytest.raises(ValueError, match="max_body_bytes"):
        make(mode, lambda request: httpx.Response(200), max_body_bytes=0)


async def test_a_custom_registry_is_used(mode: str) -> None:
    """`registry=` replaces the default adapters for that transport only."""
    registry = http402.AdapterRegistry()
    client = make(
        mode,
        lambda request: httpx.Response(402, json={"error": "insufficient_credits"}),
        registry=registry,
    )
    with pytest.raises(http402.PaymentRequiredError) as caught:
        await client.request("GET", URL)
    assert caught.value.payment.reason is Reason.UNKNOWN


class TestWrap:
    def test_wraps_the_transport_and_every_mount(self) -> None:
        """Requests through the default transport and through mounts are all covered."""
        gate = httpx.MockTransport(
            lambda request: httpx.Response(402, json={"error": "insufficient_credits"})
        )
        client = httpx.Client(
            transport=gate,
            mounts={"https://billing.example.com": gate, "http://proxy.test": None},
        )
        assert http402.wrap(client) is client
        for url in ("https://api.example.com/x", "https://billing.example.com/y"):
            with pytest.raises(http402.InsufficientCreditsError):
                client.get(url)
        mounted = list(client._mounts.values())
        assert None in mounted
        assert all(m is None or isinstance(m, http402.PaymentRequiredTransport) for m in mounted)

    def test_wrapping_twice_does_not_stack(self) -> None:
        """A second `wrap` replaces the options instead of adding a layer."""
        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
        )
        http402.wrap(client, max_body_bytes=10)
        transport = client._transport
        assert isinstance(transport, http402.PaymentRequiredTransport)
        assert isinstance(transport.transport, httpx.MockTransport)

    async def test_async_client(self) -> None:
        """An `AsyncClient` gets the async transport."""
        gate = httpx.MockTransport(
            lambda request: httpx.Response(402, json={"error": {"code": "card_declined"}})
        )
        client = http402.wrap(httpx.AsyncClient(transport=gate, mounts={"all://": gate}))
        assert isinstance(client._transport, http402.AsyncPaymentRequiredTransport)
        with pytest.raises(http402.PaymentFailedError):
            await client.get("https://api.example.com/")

    def test_anything_else_is_a_type_error(self) -> None:
        """Only httpx clients can be wrapped."""
        with pytest.raises(TypeError, match=r"httpx\.Client"):
            http402.wrap(object())  # type: ignore[type-var]


BAD_BODIES = {
    "malformed": b'{"error": ',
    "deep": b"[" * 50_000 + b"]" * 50_000,
    "huge-number": b'{"credits_required": 1' + b"0" * 6000 + b"}",
    "nan": b'{"balance": NaN}',
    "invalid-utf8": b"\xff\xfe\x00{\x80\x81",
    "html": b"<html><body><h1>Error</h1></body></html>",
    "empty": b"",
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bad_bodies_raise_unknown_through_the_transport(mode: str, body: bytes) -> None:
    """Garbage on a 402 is the base `PaymentRequiredError`, its body readable up to the bound."""
    client = make(mode, lambda request: httpx.Response(402, content=body))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        await client.request("GET", URL)
    assert type(caught.value) is http402.PaymentRequiredError
    assert caught.value.payment.reason is Reason.UNKNOWN
    assert caught.value.response.content == body[: 64 * 1024]


SEED_SHAPES = [
    (
        {
            "error": {
                "code": "insufficient_credits",
                "credits_required": 120,
                "credits_available": 20,
                "top_up_url": "https://billing.example.com/top-up",
            }
        },
        http402.InsufficientCreditsError,
        {"credits_required": 120, "credits_available": 20},
    ),
    (
        {
            "error": "plan_limit_exceeded",
            "current_plan": "free",
            "required_plan": "pro",
            "upgrade_url": "https://example.com/pricing",
        },
        http402.PlanLimitExceededError,
        {"current_plan": "free", "required_plan": "pro"},
    ),
]


@pytest.mark.parametrize(("body", "error_class", "fields"), SEED_SHAPES, ids=["credits", "plan"])
async def test_seed_shapes_through_the_transport(
    mode: str, body: dict[str, Any], error_class: type[Exception], fields: dict[str, Any]
) -> None:
    """The two common shapes give their typed errors and fields, sync and async alike."""
    client = make(mode, lambda request: httpx.Response(402, json=body))
    with pytest.raises(error_class) as caught:
        await client.request("GET", URL)
    payment = caught.value.payment  # type: ignore[attr-defined]
    for name, value in fields.items():
        assert getattr(payment, name) == value
    assert payment.action_url is not None


async def test_problem_json_through_the_transport(mode: str) -> None:
    """RFC 9457 problem details, sync and async alike."""
    problem = {
        "type": "https://example.com/probs/out-of-credit",
        "title": "You do not have enough credit.",
        "detail": "Your current balance is 30, but that costs 50.",
    }
    client = make(
        mode,
        lambda request: httpx.Response(
            402, json=problem, headers={"content-type": "application/problem+json"}
        ),
    )
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        await client.request("GET", URL)
    assert caught.value.payment.provider == "rfc9457"


@pytest.mark.parametrize("value", ["soon", "-5", "1e3", "Fri, 31 Feb 2027 00:00:00 GMT"])
async def test_garbage_retry_after_through_the_transport(mode: str, value: str) -> None:
    """A `Retry-After` outside RFC 9110's grammar is ignored, not an error."""
    client = make(
        mode,
        lambda request: httpx.Response(
            402, json={"error": "insufficient_credits"}, headers={"retry-after": value}
        ),
    )
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        await client.request("GET", URL)
    assert caught.value.payment.retry_after is None


async def test_unsafe_action_url_through_the_transport(mode: str) -> None:
    """A `javascript:` or plain-http link from a gate never becomes `action_url`."""
    for url in ("javascript:alert(1)", "http://evil.example/top-up", "https://u:p@x.test/"):
        client = make(
            mode,
            lambda request, url=url: httpx.Response(
                402, json={"error": "insufficient_credits", "top_up_url": url}
            ),
        )
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            await client.request("GET", URL)
        assert caught.value.payment.action_url is None
        assert url not in str(caught.value)
