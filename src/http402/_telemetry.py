"""Log records and OpenTelemetry span events for payment gates, with no credential in them.

Every record on the `http402` logger carries the structured fields `billing_gate_reason`,
`billing_gate_kind` (`"payment"` or `"entitlement"`), `provider`, `scope` (origin and a
digest of the credentials), `attempt` and `waited`; the `lifted` event also carries
`propagation`, the seconds billing took to show after the hook answered. When
`opentelemetry-api` is installed, the same attributes go on an event of the current span.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ._logs import logger
from ._models import PaymentRequired

__all__ = ["hook_failed", "report"]


_trace: Any = None
_looked_for_trace = False


def report(
    event: str,
    text: str,
    payment: PaymentRequired | None,
    *,
    scope: str | None = None,
    attempt: int = 1,
    waited: float = 0.0,
    propagation: float | None = None,
    level: int = logging.INFO,
) -> None:
    """Emits one telemetry event about `payment` (`None` for an event before any gate, such
    as a failed balance probe)."""
    fields = {
        "http402_event": event,
        "billing_gate_reason": None if payment is None else payment.reason.value,
        "billing_gate_kind": None
        if payment is None
        else "entitlement"
        if payment.is_entitlement
        else "payment",
        "provider": None if payment is None else payment.provider,
        "scope": scope,
        "attempt": attempt,
        "waited": round(waited, 3),
    }
    if propagation is not None:
        fields["propagation"] = round(propagation, 3)
    if logger.isEnabledFor(level):
        if payment is None:
            # No gate to name (a probe, a store, a hold): the event and its words alone.
            logger.log(level, "http402 %s: %s", event, text, extra=fields)
        else:
            logger.log(
                level,
                "http402 %s: %s (%s, provider %s, attempt %d, waited %.1f s)",
                event,
                text,
                fields["billing_gate_reason"],
                fields["provider"],
                attempt,
                waited,
                extra=fields,
            )
    trace = _opentelemetry_trace()
    if trace is not None:
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(f"http402.{event}", {k: v for k, v in fields.items() if v is not None})


def hook_failed(exc: Exception) -> None:
    """Logs that the low-balance hook raised: a warning hook must never cost a request."""
    logger.warning(
        "http402: the low-balance hook raised %s; the response is returned all the same",
        type(exc).__name__,
        exc_info=exc,
    )


def top_up_under_way(where: str) -> None:
    """Logs that a crossing calls no low-balance hook: a top-up of its scope is at work
    (`where`), and a second purchase beside it would pay twice for one fall."""
    logger.info(
        "http402: the balance ran low while a top-up of this scope is at work %s: the "
        "low-balance hook is not called beside it",
        where,
    )


def hook_timed_out(seconds: float | None) -> None:
    """Logs that the low-balance hook was still running after `hook_timeout`."""
    logger.warning(
        "http402: the low-balance hook did not finish within hook_timeout (%s s): an async "
        "hook is cancelled, a plain one is no longer waited for",
        seconds,
    )


def _opentelemetry_trace() -> Any:
    global _trace, _looked_for_trace
    if not _looked_for_trace:
        _looked_for_trace = True
        try:
            _trace = importlib.import_module("opentelemetry.trace")
        except ImportError:
            _trace = None
    return _trace
