"""Billing metrics through the OpenTelemetry metrics API, when it is installed.

Nothing here imports `opentelemetry` until the first metric is recorded, and without it every
`record_*` function does nothing. The instruments are created once, from the global meter
provider (or the one given to `use_meter_provider`), under the meter name `http402`:

- `http402.gates` (counter, `{gate}`): payment gates seen;
- `http402.hook.calls` (counter, `{call}`): `on_payment_required` calls, with `outcome`;
- `http402.replays` (counter, `{replay}`): replays of gated requests, with `outcome`;
- `http402.propagation.duration` (histogram, `s`): how long billing changes took to propagate;
- `http402.balance` (gauge): the last balance seen, with `provider`, `currency` and
  `scope_digest`.

The first four carry `billing_gate_reason`, `billing_gate_kind` and `provider`; a gate seen
inside a stream after its output began is counted with `outcome="after_output"`.
`billing_gate_kind` is `"entitlement"` for `plan_limit_exceeded` and `"payment"` for the
other reasons, so a dashboard can split payment failures from plan limits. No attribute ever
holds a credential or a raw billing scope: scopes appear only as `scope_digest`.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ._burn import scope_digest
from ._models import PaymentRequired
from ._untrusted import bounded_text

__all__ = [
    "available",
    "record_balance",
    "record_gate",
    "record_hook_call",
    "record_propagation",
    "record_replay",
    "use_meter_provider",
]

_METER_NAME = "http402"
# Propagation is documented as "a couple of minutes"; the window defaults to 120 s.
_PROPAGATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 90.0, 120.0, 300.0)
# Where the API has no synchronous gauge (before 1.23), the last values are observed instead;
# this many attribute sets are kept, the least recently set forgotten first.
_MAX_GAUGE_SERIES = 1024
_ATTRIBUTE_LIMIT = 64

_lock = threading.Lock()
_provider: Any = None
_instruments: _Instruments | None = None
_unavailable = False


def use_meter_provider(meter_provider: Any | None) -> None:
    """Records through `meter_provider` from now on (`None`: the global one again).

    The global provider is right for most applications; this is for tests and for programs
    that keep their `MeterProvider` to themselves.
    """
    global _provider, _instruments, _unavailable
    with _lock:
        _provider = meter_provider
        _instruments = None
        _unavailable = False


def available() -> bool:
    """`True` when the OpenTelemetry API is installed, so that metrics may be recorded; found
    without importing it."""
    return _find_api()


@functools.cache
def _find_api() -> bool:
    return importlib.util.find_spec("opentelemetry") is not None


def record_gate(payment: PaymentRequired, *, outcome: str | None = None) -> None:
    """Counts one payment gate seen (`http402.gates`); `outcome="after_output"` marks a gate
    inside a stream whose output had begun, which is never replayed."""
    instruments = _get()
    if instruments is not None:
        instruments.gates.add(1, _gate_attributes(payment, outcome))


def record_hook_call(payment: PaymentRequired, *, outcome: str) -> None:
    """Counts one `on_payment_required` hook call (`http402.hook.calls`).

    Args:
        payment: The gate the hook was called for.
        outcome: What the hook did: `"retry"` (returned `Retry`), `"declined"` (returned
            `None`) or `"error"` (raised).
    """
    instruments = _get()
    if instruments is not None:
        instruments.hook_calls.add(1, _gate_attributes(payment, outcome))


def record_replay(payment: PaymentRequired, *, outcome: str) -> None:
    """Counts one replay of a gated request (`http402.replays`).

    Args:
        payment: The gate that was replayed past.
        outcome: What the replay met: `"passed"` (the gate lifted) or `"gated"` (still gated).
    """
    instruments = _get()
    if instruments is not None:
        instruments.replays.add(1, _gate_attributes(payment, outcome))


def record_propagation(seconds: float, payment: PaymentRequired, *, outcome: str) -> None:
    """Records how long a billing change took to propagate (`http402.propagation.duration`).

    Args:
        seconds: From the hook's answer to the replay that got through (or the window closing).
        payment: The gate that was waited out.
        outcome: `"passed"` (the gate lifted) or `"expired"` (the window closed first).
    """
    instruments = _get()
    if instruments is not None:
        instruments.propagation.record(max(float(seconds), 0.0), _gate_attributes(payment, outcome))


def record_balance(
    balance: Decimal | int | float,
    *,
    provider: str,
    currency: str | None = None,
    scope: str | None = None,
) -> None:
    """Sets the last balance seen for a provider and scope (`http402.balance`).

    Args:
        balance: The balance, in `currency`.
        provider: The provider's adapter name.
        currency: The unit of `balance` (`"USD"`, `"credits"`).
        scope: The billing scope; only its digest (`scope_digest`) becomes an attribute.
    """
    instruments = _get()
    if instruments is None:
        return
    attributes = {"provider": _text(provider)}
    if currency is not None:
        attributes["currency"] = _text(currency)
    if scope is not None:
        attributes["scope_digest"] = scope_digest(scope)
    instruments.set_balance(float(balance), attributes)


def _gate_attributes(payment: PaymentRequired, outcome: str | None = None) -> dict[str, str]:
    attributes = {
        "billing_gate_reason": payment.reason.value,
        "billing_gate_kind": "entitlement" if payment.is_entitlement else "payment",
        "provider": _text(payment.provider),
    }
    if outcome is not None:
        attributes["outcome"] = _text(outcome)
    return attributes


def _text(value: str) -> str:
    return bounded_text(value, _ATTRIBUTE_LIMIT) or "unknown"


def _get() -> _Instruments | None:
    global _instruments, _unavailable
    instruments = _instruments
    if instruments is not None or _unavailable:
        return instruments
    with _lock:
        if _instruments is None and not _unavailable:
            try:
                metrics = importlib.import_module("opentelemetry.metrics")
            except ImportError:
                _unavailable = True
                return None
            provider = _provider if _provider is not None else metrics.get_meter_provider()
            _instruments = _Instruments(provider.get_meter(_METER_NAME), metrics)
        return _instruments


class _Instruments:
    """The instruments, created once per meter provider."""

    def __init__(self, meter: Any, metrics: Any) -> None:
        self.gates = meter.create_counter(
            "http402.gates", unit="{gate}", description="Payment gates seen, by reason and kind."
        )
        self.hook_calls = meter.create_counter(
            "http402.hook.calls",
            unit="{call}",
            description="on_payment_required hook calls, by outcome.",
        )
        self.replays = meter.create_counter(
            "http402.replays", unit="{replay}", description="Replays of gated requests."
        )
        description = "Seconds from a hook's answer until the gate lifted or the window closed."
        try:
            self.propagation = meter.create_histogram(
                "http402.propagation.duration",
                unit="s",
                description=description,
                explicit_bucket_boundaries_advisory=_PROPAGATION_BUCKETS,
            )
        except TypeError:  # API before 1.23: no bucket advice
            self.propagation = meter.create_histogram(
                "http402.propagation.duration", unit="s", description=description
            )
        self._metrics = metrics
        self._gauge: Any = None
        self._last: OrderedDict[tuple[tuple[str, str], ...], float] = OrderedDict()
        self._last_lock = threading.Lock()
        balance_description = "The last balance seen, in the provider's unit."
        if hasattr(meter, "create_gauge"):
            self._gauge = meter.create_gauge(
                "http402.balance", unit="", description=balance_description
            )
        else:  # pragma: no cover - API before 1.23
            meter.create_observable_gauge(
                "http402.balance",
                callbacks=[self._observe],
                unit="",
                description=balance_description,
            )

    def set_balance(self, value: float, attributes: dict[str, str]) -> None:
        if self._gauge is not None:
            self._gauge.set(value, attributes)
            return
        key = tuple(sorted(attributes.items()))  # pragma: no cover - API before 1.23
        with self._last_lock:  # pragma: no cover
            self._last.pop(key, None)
            self._last[key] = value
            while len(self._last) > _MAX_GAUGE_SERIES:
                self._last.popitem(last=False)

    def _observe(self, options: Any) -> Iterator[Any]:  # pragma: no cover - API before 1.23
        with self._last_lock:
            items = list(self._last.items())
        for key, value in items:
            yield self._metrics.Observation(value, dict(key))
