from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PAYLOADS = Path(__file__).parent / "payloads"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def load_payloads() -> Iterator[dict[str, Any]]:
    for path in sorted(PAYLOADS.glob("*.json")):
        yield json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def reader() -> Iterator[Any]:
    """An in-memory OpenTelemetry metric reader that http402's metrics record to, for one
    test (opentelemetry-sdk is in the tests extra)."""
    from opentelemetry.sdk import metrics as metrics_sdk
    from opentelemetry.sdk.metrics import export

    from http402._metrics import use_meter_provider

    reader = export.InMemoryMetricReader()
    provider = metrics_sdk.MeterProvider(metric_readers=[reader])
    use_meter_provider(provider)
    try:
        yield reader
    finally:
        use_meter_provider(None)
        provider.shutdown()
