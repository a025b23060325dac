"""The typed errors speak the SDKs' language: `status_code`, `code`, `message`, `body`.

openai-python's `APIStatusError` and stripe-python's `StripeError` users reach for these
names first; they read the same answer as `.payment` and `.response`, bounded and scrubbed.
"""

from __future__ import annotations

import pickle

import httpx
import httpx2
import pytest

import http402
import http402.httpx2

KEY = "sk-or-v1-0123456789abcdef0123456789abcdef"
OPENROUTER = {
    "error": {
        "code": 402,
        "message": "Insufficient credits. Add more using https://openrouter.ai/settings/credits",
    }
}


def _raised(client: httpx.Client | httpx2.Client, url: str, **kwargs: object) -> BaseException:
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.post(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_the_sdk_names_read_the_response_and_the_normalized_answer() -> None:
    """`status_code` is the response's, `code` and `message` the provider's, `body` its text."""
    quota = {
        "error": {
            "message": "You exceeded your current quota, please check your plan and billing.",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        }
    }
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(429, json=quota)))
    )
    error = _raised(client, "https://api.openai.com/v1/chat/completions", json={})
    assert isinstance(error, http402.InsufficientCreditsError)
    assert error.status_code == 429
    assert error.code == "insufficient_quota"
    assert error.message == quota["error"]["message"]
    assert error.body == httpx.Response(429, json=quota).text


def test_body_is_scrubbed_of_the_request_credentials_the_server_echoes() -> None:
    """A server that echoes the caller's key in its body does not leak it through `.body`."""
    echoed = {"error": {"code": 402, "message": f"Insufficient credits for key {KEY}"}}
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402, json=echoed)))
    )
    error = _raised(
        client, "https://openrouter.ai/api/v1/chat/completions", headers={"Authorization": KEY}
    )
    assert isinstance(error, http402.PaymentRequiredError)
    assert KEY not in error.body
    assert KEY[:12] not in error.body
    assert "[redacted]" in error.body
    assert "Insufficient credits for key" in error.body


def test_body_is_bounded() -> None:
    """`.body` holds at most the bounded copy the transport read, never the whole stream."""
    huge = b'{"error": {"code": 402, "message": "' + b"x" * 500_000 + b'"}}'
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402, content=huge))),
        max_body_bytes=4096,
    )
    error = _raised(client, "https://openrouter.ai/api/v1/chat/completions")
    assert isinstance(error, http402.PaymentRequiredError)
    assert 0 < len(error.body) <= 4096


def test_the_names_are_read_only_and_survive_pickling() -> None:
    """They are views of the error's answer: not settable, and the same after a round trip."""
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402, json=OPENROUTER)))
    )
    error = _raised(client, "https://openrouter.ai/api/v1/chat/completions")
    assert isinstance(error, http402.PaymentRequiredError)
    for name in ("status_code", "code", "message", "body"):
        with pytest.raises(AttributeError):
            setattr(error, name, None)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.status_code, copy.code, copy.message, copy.body) == (
        error.status_code,
        error.code,
        error.message,
        error.body,
    )


def test_httpx2_errors_carry_httpx2_objects_and_the_same_names() -> None:
    """An httpx2 client's error has httpx2's `.response`, and the same conveniences."""
    client = http402.httpx2.wrap(
        httpx2.Client(
            transport=httpx2.MockTransport(lambda r: httpx2.Response(402, json=OPENROUTER))
        )
    )
    error = _raised(client, "https://openrouter.ai/api/v1/chat/completions")
    assert isinstance(error, http402.httpx2.InsufficientCreditsError)
    assert isinstance(error.response, httpx2.Response)
    assert isinstance(error.request, httpx2.Request)
    assert error.status_code == 402
    assert error.message == OPENROUTER["error"]["message"]
    assert error.body == httpx2.Response(402, json=OPENROUTER).text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://api.example.com/v1/run?402", "https://api.example.com/v1/run?402"),
        (
            "https://api.example.com/v1/run?q=a%20b&x=1",
            "https://api.example.com/v1/run?q=a%20b&x=1",
        ),
        (
            "https://api.example.com/v1/run?api_key=sk-secret-value-123&flag",
            "https://api.example.com/v1/run?api_key=[redacted]&flag",
        ),
    ],
)
def test_str_shows_the_url_as_sent_with_only_credentials_replaced(url: str, shown: str) -> None:
    """`?402` stays `?402` (not `?402=`), escapes stay as sent, a key's value is replaced."""
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402)))
    )
    error = _raised(client, url)
    assert f"for POST {shown} - to resolve" in str(error)
    assert "sk-secret" not in str(error)


# --- A general-purpose client: what may raise besides 402 (README, next to `wrap`) --------

QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "code": "insufficient_quota",
    }
}


def _gateway(status: int, body: dict[str, object]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


def test_a_gateways_billing_4xx_on_any_host_raises_by_default() -> None:
    """A 429 whose body is a billing error from a gateway on any host is a gate."""
    client = http402.wrap(httpx.Client(transport=_gateway(429, QUOTA)))
    with pytest.raises(http402.InsufficientCreditsError) as caught:
        client.post("https://llm.corp.example/v1/chat/completions")
    assert caught.value.status_code == 429


def test_read_errors_false_keeps_the_generic_rules_to_402s() -> None:
    """With `default_registry.copy(read_errors=False)` the same 429 comes back untouched,
    while a 402 still raises."""
    registry = http402.default_registry.copy(read_errors=False)
    client = http402.wrap(httpx.Client(transport=_gateway(429, QUOTA)), registry=registry)
    response = client.post("https://llm.corp.example/v1/chat/completions")
    assert response.status_code == 429
    assert response.json() == QUOTA
    paid = http402.wrap(httpx.Client(transport=_gateway(402, OPENROUTER)), registry=registry)
    with pytest.raises(http402.PaymentRequiredError):
        paid.post("https://llm.corp.example/v1/chat/completions")


def test_a_plain_4xx_and_a_5xx_come_back_whole() -> None:
    """A 4xx error that is no gate is handed back with its body as sent; a 5xx too."""
    invalid = {"error": {"message": "Invalid value for 'temperature'", "code": "invalid_value"}}
    for status, body in ((400, invalid), (503, QUOTA)):
        client = http402.wrap(httpx.Client(transport=_gateway(status, body)))
        response = client.post("https://llm.corp.example/v1/chat/completions")
        assert (response.status_code, response.json()) == (status, body)


def test_a_gate_the_hook_just_declined_says_why_no_hook_ran() -> None:
    """A hook that answers `None` declines the gate; for a while it is not asked again (an
    SDK's retries would ask it once each). The gate that meets that hold says so in
    `not_replayed`, where the first one, which asked the hook, says nothing."""
    calls: list[object] = []
    now = [1000.0]

    def top_up(error: http402.PaymentRequiredError) -> None:
        calls.append(error)

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(402, json=OPENROUTER))),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=http402.LocalCoordinator(clock=lambda: now[0]),
    )
    url = "https://openrouter.ai/api/v1/chat/completions"
    first = _raised(client, url)
    assert len(calls) == 1 and first.not_replayed is None
    now[0] += 2.5
    second = _raised(client, url)
    assert len(calls) == 1
    assert second.not_replayed is not None and "declined" in second.not_replayed
    assert "2.5 s ago" in second.not_replayed
    assert second.not_replayed in str(second)
