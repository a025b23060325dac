"""Billing metrics: they reach an OpenTelemetry reader with the right names and attributes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from http402 import PaymentRequired, Reason
from http402._burn import scope_digest
from http402._metrics import (
    record_balance,
    record_gate,
    record_hook_call,
    record_propagation,
    record_replay,
    use_meter_provider,
)

CREDITS = PaymentRequired(reason=Reason.INSUFFICIENT_CREDITS, provider="openrouter")
PLAN = PaymentRequired(reason=Reason.PLAN_LIMIT_EXCEEDED, provider="firecrawl")
SCOPE = "https://openrouter.ai|authorization:sk-or-v1-canary0123456789"


def _points(reader: Any) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "http402"
            for metric in scope.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


def _by_attributes(points: list[Any]) -> dict[frozenset[tuple[str, Any]], Any]:
    return {frozenset(point.attributes.items()): point for point in points}


def test_gates_are_counted_by_reason_kind_and_provider(reader: Any) -> None:
    """`http402.gates` counts each gate with its reason, its kind and its provider."""
    record_gate(CREDITS)
    record_gate(CREDITS)
    record_gate(PLAN)
    points = _by_attributes(_points(reader)["http402.gates"])
    credits = frozenset(
        {
            ("billing_gate_reason", "insufficient_credits"),
            ("billing_gate_kind", "payment"),
            ("provider", "openrouter"),
        }
    )
    plan = frozenset(
        {
            ("billing_gate_reason", "plan_limit_exceeded"),
            ("billing_gate_kind", "entitlement"),
            ("provider", "firecrawl"),
        }
    )
    assert points[credits].value == 2
    assert points[plan].value == 1


def test_hook_calls_and_replays_are_counted_by_outcome(reader: Any) -> None:
    """`http402.hook.calls` and `http402.replays` count with the gate's attributes and outcome."""
    record_hook_call(CREDITS, outcome="retry")
    record_replay(CREDITS, outcome="gated")
    record_replay(CREDITS, outcome="passed")
    found = _points(reader)
    (hook,) = found["http402.hook.calls"]
    assert dict(hook.attributes)["outcome"] == "retry" and hook.value == 1
    outcomes = {
        dict(point.attributes)["outcome"]: point.value for point in found["http402.replays"]
    }
    assert outcomes == {"gated": 1, "passed": 1}


def test_propagation_is_a_histogram_in_seconds(reader: Any) -> None:
    """`http402.propagation.duration` records seconds, in buckets up to the 120 s window."""
    record_propagation(3.5, CREDITS, outcome="passed")
    record_propagation(-1, CREDITS, outcome="passed")  # a clock step never records below zero
    data = reader.get_metrics_data()
    metric = next(
        m
        for r in data.resource_metrics
        for s in r.scope_metrics
        for m in s.metrics
        if m.name == "http402.propagation.duration"
    )
    assert metric.unit == "s"
    (point,) = metric.data.data_points
    assert (point.count, point.sum, point.min) == (2, 3.5, 0.0)
    assert 120.0 in point.explicit_bounds


def test_the_balance_gauge_has_a_scope_digest_never_the_scope(reader: Any) -> None:
    """`http402.balance` keeps the last value per provider and scope digest, never the scope."""
    record_balance(12, provider="openrouter", currency="USD", scope=SCOPE)
    record_balance(7.5, provider="openrouter", currency="USD", scope=SCOPE)
    (point,) = _points(reader)["http402.balance"]
    assert point.value == 7.5
    assert dict(point.attributes) == {
        "provider": "openrouter",
        "currency": "USD",
        "scope_digest": scope_digest(SCOPE),
    }
    assert "canary" not in repr(reader.get_metrics_data().to_json())


def test_without_a_provider_set_the_global_one_is_used() -> None:
    """With no provider given, recording goes to the global provider and does not raise."""
    use_meter_provider(None)
    record_gate(CREDITS)
    record_balance(1, provider="openrouter")


def test_without_opentelemetry_recording_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """When `opentelemetry` cannot be imported, every `record_*` is a silent no-op."""
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    use_meter_provider(None)
    try:
        record_gate(CREDITS)
        record_hook_call(CREDITS, outcome="retry")
        record_replay(CREDITS, outcome="passed")
        record_propagation(1.0, CREDITS, outcome="passed")
        record_balance(1, provider="openrouter", scope=SCOPE)
    finally:
        monkeypatch.undo()
        use_meter_provider(None)


def test_importing_http402_does_not_import_opentelemetry() -> None:
    """`import http402` leaves `opentelemetry` unimported until a metric is recorded."""
    code = "import sys, http402; print(any(m.startswith('opentelemetry') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_balance_gauge_records_header_balances_without_a_low_balance_watch(
    reader: Any,
) -> None:
    """A wrapped client with no `low_balance=` still records each balance header it reads,
    sync and async alike, as the metrics table says."""
    import anyio
    import httpx

    import http402

    left = iter(["41.50", "40.25"])

    def api(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"X-Credits-Remaining": next(left)}, json={})

    with http402.wrap(httpx.Client(transport=httpx.MockTransport(api))) as client:
        client.get("https://api.example.com/v1/run")
    assert [p.value for p in _points(reader)["http402.balance"]] == [41.5]

    async def main() -> None:
        async with http402.wrap(httpx.AsyncClient(transport=httpx.MockTransport(api))) as client:
            await client.get("https://api.example.com/v1/run")

    anyio.run(main)
    assert [p.value for p in _points(reader)["http402.balance"]] == [40.25]
