"""The async transport: the sync one line for line, with `await`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType
from typing import cast

import httpx

from ._adapters import AdapterRegistry
from ._core import classify_read, gate_response_extensions, gate_response_headers
from ._exceptions import error_for
from ._registry import resolve_registry
from ._untrusted import DEFAULT_MAX_BODY_BYTES, BodyReader

__all__ = ["AsyncPaymentRequiredTransport"]


class AsyncPaymentRequiredTransport(httpx.AsyncBaseTransport):
    """The async twin of `PaymentRequiredTransport`, for `httpx.AsyncClient`.

    Args:
        transport: The transport to wrap (default: `httpx.AsyncHTTPTransport()`).
        registry: The adapters to classify with (default: `http402.default_registry`).
        max_body_bytes: How much of a gate's body to read, counted after decoding.

    Example:
        ```python
        client = httpx.AsyncClient(transport=http402.AsyncPaymentRequiredTransport())
        try:
            await client.post("https://api.deepseek.com/chat/completions", json=payload)
        except http402.InsufficientCreditsError as error:
            print(error.payment.message)
        ```
    """

    def __init__(
        self,
        transport: httpx.AsyncBaseTransport | None = None,
        *,
        registry: AdapterRegistry | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self._transport = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._registry = resolve_registry(registry)
        self._max_body_bytes = max_body_bytes

    @property
    def transport(self) -> httpx.AsyncBaseTransport:
        """The wrapped transport."""
        return self._transport

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._transport.handle_async_request(request)
        status = response.status_code
        if status != 402 and status not in self._registry.interest:
            return response
        return await self._inspect(request, response)

    async def _inspect(self, request: httpx.Request, response: httpx.Response) -> httpx.Response:
        host = request.url.host
        if not self._registry.claims(response.status_code, host, response.headers.get):
            return response
        reader = BodyReader(response.headers.get("content-encoding"), self._max_body_bytes)
        chunks = aiter(cast(httpx.AsyncByteStream, response.stream))
        try:
            async for chunk in chunks:
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
            await response.aclose()
            raise
        if payment is None:
            return await _resumed(request, response, reader, chunks)
        await response.aclose()
        gate = httpx.Response(
            response.status_code,
            headers=gate_response_headers(response.headers.multi_items()),
            content=reader.body,
            request=request,
            extensions=gate_response_extensions(response.extensions, reader),
        )
        raise error_for(payment, request=request, response=gate)

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> AsyncPaymentRequiredTransport:
        await self._transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self._transport.__aexit__(exc_type, exc_value, traceback)


async def _resumed(
    request: httpx.Request,
    response: httpx.Response,
    reader: BodyReader,
    rest: AsyncIterator[bytes],
) -> httpx.Response:
    """The response again, with the bytes already read put back in front of the rest."""
    if reader.complete:
        await response.aclose()
        stream: httpx.AsyncByteStream = httpx.ByteStream(b"".join(reader.raw_chunks))
    else:
        stream = _ResumedStream(reader.raw_chunks, rest, response)
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=stream,
        request=request,
        extensions=response.extensions,
    )


class _ResumedStream(httpx.AsyncByteStream):
    def __init__(self, head: list[bytes], rest: AsyncIterator[bytes], original: httpx.Response):
        self._head = head
        self._rest = rest
        self._original = original

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._head:
            yield chunk
        async for chunk in self._rest:
            yield chunk

    async def aclose(self) -> None:
        await self._original.aclose()
