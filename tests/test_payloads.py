"""Every real payload in `tests/payloads/` classifies to its expected reason and fields,
through `classify` and through both transports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

import http402
from http402._exceptions import error_class_for

from .conftest import load_payloads

PAYLOADS = list(load_payloads())
GATES = [p for p in PAYLOADS if p["expected"]["is_payment_gate"]]


def build_response(payload: dict[str, Any]) -> httpx.Response:
    wire = payload["response"]
    request = httpx.Request(payload["request"]["method"], payload["request"]["url"])
    return httpx.Response(
        wire["status"],
        headers=list(wire["headers"].items()),
        content=wire["body"].encode("utf-8"),
        request=request,
    )


def mock_transport(payload: dict[str, Any]) -> httpx.MockTransport:
    wire = payload["response"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            wire["status"], headers=list(wire["headers"].items()), content=wire["body"].encode()
        )

    return httpx.MockTransport(handler)


def assert_fields(payment: http402.PaymentRequired, fields: dict[str, Any]) -> None:
    for name, expected in fields.items():
        actual = getattr(payment, name)
        if name == "payment_options":
            assert len(actual) >= len(expected), actual
            for option, wanted in zip(actual, expected, strict=False):
                for key, value in wanted.items():
                    got = getattr(option, key)
                    if key == "amount":
                        assert got == Decimal(value), (key, got, value)
                    else:
                        assert got == value, (key, got, value)
        elif name.startswith("credits_"):
            assert actual == Decimal(str(expected)), (name, actual, expected)
        else:
            assert actual == expected, (name, actual, expected)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p["id"] for p in PAYLOADS])
def test_classify(payload: dict[str, Any]) -> None:
    """`classify` gives the expected reason and fields, and `None` for look-alikes."""
    payment = http402.classify(build_response(payload))
    expected = payload["expected"]
    if not expected["is_payment_gate"]:
        assert payment is None
        return
    assert payment is not None
    assert payment.reason.value == expected["reason"]
    assert payment.status_code == payload["response"]["status"]
    assert_fields(payment, expected["fields"])


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p["id"] for p in PAYLOADS])
def test_sync_transport(payload: dict[str, Any]) -> None:
    """The sync transport raises the class of the reason, or returns the response intact."""
    client = httpx.Client(transport=http402.PaymentRequiredTransport(mock_transport(payload)))
    expected = payload["expected"]
    request = payload["request"]
    if not expected["is_payment_gate"]:
        response = client.request(request["method"], request["url"])
        assert response.status_code == payload["response"]["status"]
        assert response.text == payload["response"]["body"]
        return
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.request(request["method"], request["url"])
    assert type(caught.value) is error_class_for(http402.Reason(expected["reason"]))
    assert_fields(caught.value.payment, expected["fields"])
    assert caught.value.response.text == payload["response"]["body"]


@pytest.mark.anyio
@pytest.mark.parametrize("payload", PAYLOADS, ids=[p["id"] for p in PAYLOADS])
async def test_async_transport(payload: dict[str, Any]) -> None:
    """The async transport gives exactly what the sync one gives."""
    transport = http402.AsyncPaymentRequiredTransport(mock_transport(payload))
    expected = payload["expected"]
    request = payload["request"]
    async with httpx.AsyncClient(transport=transport) as client:
        if not expected["is_payment_gate"]:
            response = await client.request(request["method"], request["url"])
            assert response.text == payload["response"]["body"]
            return
        with pytest.raises(http402.PaymentRequiredError) as caught:
            await client.request(request["method"], request["url"])
    assert type(caught.value) is error_class_for(http402.Reason(expected["reason"]))
    assert_fields(caught.value.payment, expected["fields"])


def test_the_collection_is_large_and_balanced() -> None:
    """The payload set has both gates and look-alikes for the built-in adapters to face."""
    assert len(GATES) >= 40
    assert len(PAYLOADS) - len(GATES) >= 15
    for payload in PAYLOADS:
        assert payload["source"], payload["id"]
        assert payload["evidence"], payload["id"]
