"""The sync transport: a thin I/O shell over the decisions in `_core`."""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import cast

import httpx

from ._adapters import AdapterRegistry
from ._core import classify_read, gate_response_extensions, gate_response_headers
from ._exceptions import error_for
from ._registry import resolve_registry
from ._untrusted import DEFAULT_MAX_BODY_BYTES, BodyReader

__all__ = ["PaymentRequiredTransport"]


class PaymentRequiredTransport(httpx.BaseTransport):
    """An httpx transport that turns payment-gate responses into typed errors.

    A response that is not a payment gate is returned untouched: its body is not read and a
    streamed response stays streamed. A 402 (or a status that a provider's adapter claims
    for its own hosts) is read up to `max_body_bytes`, classified, closed, and raised as the
    `PaymentRequiredError` subclass of its reason, with `.response` still readable.

    Args:
        transport: The transport to wrap (default: `httpx.HTTPTransport()`).
        registry: The adapters to classify with (default: `http402.default_registry`).
        max_body_bytes: How much of a gate's body to read, counted after decoding.

    Example:
        ```python
        client = httpx.Client(transport=http402.PaymentRequiredTransport())
        try:
            client.post("https://openrouter.ai/api/v1/chat/completions", json=payload)
        except http402.InsufficientCreditsError as error:
            print("top up at", error.payment.action_url)
        ```
    """

    def __init__(
        self,
        transport: httpx.BaseTransport | None = None,
        *,
        registry: AdapterRegistry | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self._transport = transport if transport is not None else httpx.HTTPTransport()
        self._registry = resolve_registry(registry)
        self._max_body_bytes = max_body_bytes

    @property
    def transport(self) -> httpx.BaseTransport:
        """The wrapped transport."""
        return self._transport

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._transport.handle_request(request)
        status = response.status_code
        if status != 402 and status not in self._registry.interest:
            return response
        return self._inspect(request, response)

    def _inspect(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        host = request.url.host
        if not self._registry.claims(response.status_code, host, response.headers.get):
            return response
        reader = BodyReader(response.headers.get("content-encoding"), self._max_body_bytes)
        chunks = iter(cast(httpx.SyncByteStream, response.stream))
        try:
            for chunk in chunks:
                if reader.feed(chunk):
                    break
            else:
                reader.finish()
            payment = classify_read(
                method=request.method,
                url=str(request.url),
                host=host,
                request_headers=request.headers.multi_items(),
                status_code=response.status_code,
                response_headers=response.headers.multi_items(),
                reader=reader,
                registry=self._registry,
            )
        except BaseException:
            response.close()
            raise
        if payment is None:
            return _resumed(request, response, reader, chunks)
        response.close()
        gate = httpx.Response(
            response.status_code,
            headers=gate_response_headers(response.headers.multi_items()),
            content=reader.body,
            request=request,
            extensions=gate_response_extensions(response.extensions, reader),
        )
        raise error_for(payment, request=request, response=gate)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> PaymentRequiredTransport:
        self._transport.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._transport.__exit__(exc_type, exc_value, traceback)


def _resumed(
    request: httpx.Request,
    response: httpx.Response,
    reader: BodyReader,
    rest: Iterator[bytes],
) -> httpx.Response:
    """The response again, with the bytes already read put back in front of the rest."""
    if reader.complete:
        response.close()
        stream: httpx.SyncByteStream = httpx.ByteStream(b"".join(reader.raw_chunks))
    else:
        stream = _ResumedStream(reader.raw_chunks, rest, response)
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=stream,
        request=request,
        extensions=response.extensions,
    )


class _ResumedStream(httpx.SyncByteStream):
    def __init__(self, head: list[bytes], rest: Iterator[bytes], original: httpx.Response):
        self._head = head
        self._rest = rest
        self._original = original

    def __iter__(self) -> Iterator[bytes]:
        yield from self._head
        yield from self._rest

    def close(self) -> None:
        self._original.close()
