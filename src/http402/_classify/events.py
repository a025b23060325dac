"""A billing gate inside a stream: the JSON payload of one server-sent `error` event.

Some providers answer 200 and start a `text/event-stream`, then send the refusal as an event
(`event: error` / `data: {"error": {...}}`). The event is read with the same fields and the
same decision as a body, strictly, as a status other than 402 is: only strong evidence (a
billing code, or billing wording with no rate-limit marker) makes it a gate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .._models import PaymentRequired
from .snapshot import ResponseSnapshot

if TYPE_CHECKING:
    from .._adapters import AdapterRegistry

__all__ = ["MAX_EVENT_BYTES", "classify_event"]

#: The largest event payload that is read; a longer one is no gate (a gate's event is short).
MAX_EVENT_BYTES = 64 * 1024
#: The status a stream's gate is reported with: the stream itself came as a 200.
_STREAM_STATUS = 200


def classify_event(
    data: bytes,
    *,
    host: str,
    registry: AdapterRegistry | None = None,
    secrets: tuple[str, ...] | Callable[[], tuple[str, ...]] = (),
) -> PaymentRequired | None:
    """The gate that an SSE event's JSON payload states, read strictly; else `None`.

    Never raises. The answer's `provider` is the name of the adapter scoped to `host` when
    there is one (`"openai"` for `api.openai.com`), else `"generic"`; its `status_code` is
    200, the stream's own status.

    Args:
        data: The event's `data` field: JSON text, at most `MAX_EVENT_BYTES`.
        host: The request's host, to name the provider.
        registry: The adapters whose host scopes name the provider (default:
            `http402.default_registry`).
        secrets: The request's credentials (or a function that collects them), scrubbed from
            the message and code like a body's.

    Example:
        ```python
        event = b'{"error": {"code": "insufficient_quota", "message": "You exceeded ..."}}'
        payment = classify_event(event, host="api.openai.com")
        assert payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS
        ```
    """
    if not data or len(data) > MAX_EVENT_BYTES:
        return None
    from .._core import classify_payload, provider_for_host

    try:
        snapshot = ResponseSnapshot(
            status_code=_STREAM_STATUS,
            headers=(("content-type", "application/json"),),
            body=bytes(data),
            host=host,
            secrets=secrets,
        )
        return classify_payload(snapshot, provider_for_host(host, registry), strict=True)
    except Exception:  # never raises: a stream must keep streaming
        return None
