"""Gates from a server that misbehaves at the byte level, over a real loopback socket.

The server writes each response by hand: a body dripped a few bytes at a time, a body
shorter than its `Content-Length`, header values that are not ASCII. Each still becomes the
typed error, sync and async, and none of them holds a request for long.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

import http402
from http402._core import TRUNCATED_EXTENSION

#: The time limit the transports get in these tests; a drip must end soon after it.
LIMIT = 0.3
#: How long a test may take at most before the drip counts as pinning the request.
BOUND = 3.0
CREDITS = b'{"error": {"message": "Insufficient credits", "code": "insufficient_credits"}}'

Script = Callable[[socket.socket, threading.Event], None]


class RawServer:
    """A loopback TCP server that answers every connection with `script`."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/v1/run"
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(BOUND)
                _read_head(connection)
                # The client hangs up once it has read enough, as it should.
                with contextlib.suppress(OSError):
                    self.script(connection, self.stop)

    def __enter__(self) -> RawServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=BOUND)
        self.listener.close()


def _read_head(connection: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return
        data += chunk


def drip(connection: socket.socket, stop: threading.Event) -> None:
    """A 402 whose body, after its JSON, goes on 2 bytes at a time for as long as anyone
    listens."""
    connection.sendall(
        b"HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n"
        b"content-length: 100000\r\n\r\n" + CREDITS
    )
    while not stop.wait(0.05):
        connection.sendall(b"  ")


def short_body(connection: socket.socket, stop: threading.Event) -> None:
    """A 402 whose `Content-Length` promises more than is sent before the connection closes."""
    connection.sendall(
        b"HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n"
        b"content-length: 5000\r\n\r\n" + CREDITS
    )


def non_ascii_headers(connection: socket.socket, stop: threading.Event) -> None:
    """A 402 with a UTF-8 header value and a latin-1 `Server` header."""
    connection.sendall(
        b"HTTP/1.1 402 Payment Required\r\ncontent-type: application/json\r\n"
        b"x-error-message: Cr\xc3\xa9dits insuffisants\r\nserver: Caf\xe9\r\n"
        b"content-length: " + str(len(CREDITS)).encode() + b"\r\n\r\n" + CREDITS
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Script], RawServer]]:
    servers: list[RawServer] = []

    def start(script: Script) -> RawServer:
        server = RawServer(script).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__()


def sync_gate(url: str) -> tuple[http402.PaymentRequiredError, float]:
    transport = http402.PaymentRequiredTransport(max_body_seconds=LIMIT)
    started = time.monotonic()
    with (
        httpx.Client(transport=transport, timeout=BOUND) as client,
        pytest.raises(http402.PaymentRequiredError) as caught,
    ):
        client.get(url)
    return caught.value, time.monotonic() - started


async def async_gate(url: str) -> tuple[http402.PaymentRequiredError, float]:
    transport = http402.AsyncPaymentRequiredTransport(max_body_seconds=LIMIT)
    started = time.monotonic()
    async with httpx.AsyncClient(transport=transport, timeout=BOUND) as client:
        with pytest.raises(http402.PaymentRequiredError) as caught:
            await client.get(url)
    return caught.value, time.monotonic() - started


def test_a_dripped_gate_is_read_within_the_time_limit(
    serve: Callable[[Script], RawServer],
) -> None:
    """A body dripped 2 bytes at a time is classified from what came within the limit."""
    error, elapsed = sync_gate(serve(drip).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    assert error.response.extensions[TRUNCATED_EXTENSION] is True
    assert LIMIT <= elapsed < BOUND


@pytest.mark.anyio
async def test_a_dripped_gate_is_read_within_the_time_limit_async(
    serve: Callable[[Script], RawServer],
) -> None:
    """The async transport stops reading a dripped body at the same limit."""
    error, elapsed = await async_gate(serve(drip).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    assert error.response.extensions[TRUNCATED_EXTENSION] is True
    assert LIMIT <= elapsed < BOUND


def test_a_short_body_gives_the_typed_error(serve: Callable[[Script], RawServer]) -> None:
    """A body shorter than its Content-Length is classified from what arrived, truncated."""
    error, _ = sync_gate(serve(short_body).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    assert error.payment.message == "Insufficient credits"
    assert error.response.extensions[TRUNCATED_EXTENSION] is True
    assert error.response.content == CREDITS


@pytest.mark.anyio
async def test_a_short_body_gives_the_typed_error_async(
    serve: Callable[[Script], RawServer],
) -> None:
    """The async transport keeps what a broken body gave, too."""
    error, _ = await async_gate(serve(short_body).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    assert error.response.extensions[TRUNCATED_EXTENSION] is True


def test_non_ascii_header_bytes_give_the_typed_error(
    serve: Callable[[Script], RawServer],
) -> None:
    """Header values that are not ASCII are copied as raw bytes into the error's response."""
    error, _ = sync_gate(serve(non_ascii_headers).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    raw = dict(error.response.headers.raw)
    assert raw[b"x-error-message"] == "Crédits insuffisants".encode()
    assert raw[b"server"] == b"Caf\xe9"


@pytest.mark.anyio
async def test_non_ascii_header_bytes_give_the_typed_error_async(
    serve: Callable[[Script], RawServer],
) -> None:
    """The async transport copies raw header bytes too."""
    error, _ = await async_gate(serve(non_ascii_headers).url)
    assert isinstance(error, http402.InsufficientCreditsError)
    assert dict(error.response.headers.raw)[b"server"] == b"Caf\xe9"


def test_non_ascii_header_bytes_with_httpx2(serve: Callable[[Script], RawServer]) -> None:
    """The httpx2 transports rebuild the gate from raw bytes as well."""
    httpx2 = pytest.importorskip("httpx2")
    import http402.httpx2

    url = serve(non_ascii_headers).url
    with (
        http402.httpx2.wrap(httpx2.Client(timeout=BOUND)) as client,
        pytest.raises(http402.InsufficientCreditsError) as caught,
    ):
        client.get(url)
    assert dict(caught.value.response.headers.raw)[b"server"] == b"Caf\xe9"


def test_a_hook_runs_for_a_gate_with_non_ascii_headers() -> None:
    """The shared repro: a localized header no longer keeps the hook from running."""
    calls: list[http402.PaymentRequiredError] = []

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            402,
            headers=[
                (b"content-type", b"application/json"),
                (b"x-error-message", "Crédits insuffisants".encode()),
            ],
            content=CREDITS,
        )

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required=lambda error: calls.append(error),
    )
    with pytest.raises(http402.InsufficientCreditsError):
        client.get("https://openrouter.ai/api/v1/models")
    assert len(calls) == 1


class _BrokenStream(httpx.SyncByteStream):
    """Some bytes, then the connection breaks."""

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"error": {"message": "Rate limit reached for requests per min'
        raise httpx.RemoteProtocolError("peer closed connection")


def test_a_broken_body_that_is_not_a_gate_fails_as_plain_httpx_would() -> None:
    """A claimed response that is not a gate gives the caller its bytes, then the error."""

    def provider(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, stream=_BrokenStream())

    client = httpx.Client(transport=http402.PaymentRequiredTransport(httpx.MockTransport(provider)))
    with pytest.raises(httpx.RemoteProtocolError):
        client.get("https://api.openai.com/v1/chat/completions")
