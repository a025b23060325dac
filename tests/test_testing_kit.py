"""`http402.testing`: recorded gates, the fake provider, and the pytest fixture."""

from __future__ import annotations

import importlib.metadata

import httpx
import pytest
import respx

import http402
from http402 import _exceptions
from http402.testing import (
    FakeProvider,
    gate,
    gate_names,
    gate_source,
    look_alike,
    look_alike_names,
    look_alike_source,
)


def test_my_app_tops_up_and_recovers(http402_provider: FakeProvider) -> None:
    """The example from the docs: a full top-up flow in a few lines, with no real waiting."""

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        http402_provider.top_up(100)
        return http402.Retry(within=30)

    transport = http402.PaymentRequiredTransport(
        http402_provider.transport(), on_payment_required=top_up, sleep=http402_provider.sleep
    )
    with httpx.Client(transport=transport, base_url=http402_provider.url) as client:
        assert client.post("/v1/generate").status_code == 200
    assert http402_provider.top_ups == 1
    assert 5 <= http402_provider.now() <= 30  # it waited, virtually, for the top-up to show


def test_pytest_finds_the_fixture_where_users_get_it() -> None:
    """Installing http402 gives pytest the `http402_provider` fixture: its distribution
    names the plugin as a `pytest11` entry point, which pytest loads by itself. This suite
    names its plugins instead (`-p` in pyproject.toml's addopts, autoloading off), so the
    test above would pass without the entry point: this one checks it."""
    plugins = [
        entry
        for entry in importlib.metadata.distribution("http402").entry_points
        if entry.group == "pytest11"
    ]
    assert [(entry.name, entry.value) for entry in plugins] == [
        ("http402", "http402.testing.plugin")
    ]
    assert plugins[0].load().http402_provider is not None


@pytest.mark.parametrize("name", gate_names())
def test_every_recorded_gate_classifies_as_recorded(name: str) -> None:
    """Each builder gives the real payload, which classifies to its recorded reason."""
    response = gate(name)
    payment = http402.classify(response)
    assert payment is not None
    assert payment.reason.value == http402.testing._payload(name)["reason"]
    assert gate_source(name)


def test_a_recorded_gate_through_respx() -> None:
    """Gates mock a route the way a user's respx test would."""
    with respx.mock(assert_all_called=True) as router:
        router.post("https://api.openai.com/v1/chat/completions").mock(
            return_value=gate("openai.insufficient_quota")
        )
        client = http402.wrap(httpx.Client())
        with pytest.raises(http402.InsufficientCreditsError):
            client.post("https://api.openai.com/v1/chat/completions", json={})


def test_an_unknown_gate_name_lists_the_known_ones() -> None:
    """A typo gets the list of names."""
    with pytest.raises(KeyError, match=r"openai\.insufficient_quota"):
        gate("openai.no_such_thing")


def test_plans_gate_features_until_an_upgrade_propagates() -> None:
    """A feature above the plan is a plan-limit gate; an upgrade shows after propagation."""
    provider = FakeProvider(credits=10, features={"/v1/batch": "pro"}, propagation=3)

    def upgrade(error: http402.PaymentRequiredError) -> http402.Retry:
        assert error.payment.required_plan == "pro"
        provider.upgrade("pro")
        return http402.Retry()

    transport = http402.PaymentRequiredTransport(
        provider.transport(),
        on_payment_required={http402.Reason.PLAN_LIMIT_EXCEEDED: upgrade},
        sleep=provider.sleep,
    )
    with httpx.Client(transport=transport, base_url=provider.url) as client:
        assert client.post("/v1/batch").status_code == 200
        assert client.get("/billing").json() == {"credits": 9, "plan": "pro"}
    assert provider.upgrades == 1


def test_the_billing_api_over_http_and_a_recorded_gate_style() -> None:
    """Top-ups through `POST /billing/top-up`; `gate=` answers like a real provider."""
    provider = FakeProvider(gate="openrouter.insufficient_credits", propagation=1)
    with respx.mock(base_url=provider.url) as router:
        router.route().mock(side_effect=provider)
        client = httpx.Client(transport=http402.PaymentRequiredTransport(httpx.HTTPTransport()))
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            client.post(f"{provider.url}/v1/generate")
        assert "openrouter.ai/settings/credits" in str(caught.value)
        assert client.post(f"{provider.url}/billing/top-up", json={"credits": 5}).status_code == 202
        provider.sleep(1)
        assert client.post(f"{provider.url}/v1/generate").status_code == 200


@pytest.mark.anyio
async def test_the_async_flow() -> None:
    """`asleep` is the async transport's `sleep=`."""
    provider = FakeProvider()

    async def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        provider.top_up(3)
        return http402.Retry()

    transport = http402.AsyncPaymentRequiredTransport(
        provider.transport(), on_payment_required=top_up, sleep=provider.asleep
    )
    async with httpx.AsyncClient(transport=transport, base_url=provider.url) as client:
        assert (await client.post("/v1/generate")).status_code == 200


@pytest.mark.parametrize("name", gate_names())
def test_every_recorded_gate_is_recognised_on_the_kit_default_url(name: str) -> None:
    """`FakeProvider(gate=name)` serves the gate where its adapter recognises it, so even a
    429 or 400 gate raises its typed error instead of passing through."""
    provider = FakeProvider(gate=name)
    reason = http402.Reason(http402.testing._payload(name)["reason"])
    client = http402.wrap(httpx.Client(transport=provider.transport(), base_url=provider.url))
    with pytest.raises(http402.PaymentRequiredError) as caught:
        client.post("/v1/generate")
    assert caught.value.payment.reason is reason
    assert type(caught.value) is _exceptions.error_class_for(reason)


def test_a_provider_gate_on_the_generic_default_url_is_refused() -> None:
    """SendGrid's 401 gate served from a host SendGrid's adapter does not know would silently
    pass through (a 401 from any other host asks for credentials); the kit says so at once.
    An OpenAI-compatible 429 `insufficient_quota` is a gate from any host, as a gateway's."""
    assert FakeProvider(gate="sendgrid.credits_exceeded").url == "https://api.sendgrid.com"
    with pytest.raises(ValueError, match=r"api\.sendgrid\.com"):
        FakeProvider(gate="sendgrid.credits_exceeded", url="https://api.fake-provider.test")
    gateway = FakeProvider(gate="openai.insufficient_quota", url="http://localhost:4000")
    assert gateway.url == "http://localhost:4000"
    # A 402 is recognised from any host.
    assert FakeProvider(gate="x402.v2", url="http://127.0.0.1:8000").url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("name", look_alike_names())
def test_every_look_alike_is_not_a_gate_and_passes_through(name: str) -> None:
    """Each recorded look-alike classifies as no gate, on its own host and any other, and a
    wrapped client hands it back untouched."""
    response = look_alike(name)
    assert look_alike_source(name)
    assert http402.classify(response) is None
    assert http402.classify(look_alike(name, url="https://api.fake-provider.test/v1")) is None
    provider = FakeProvider()
    provider.answer_next(name)
    client = http402.wrap(httpx.Client(transport=provider.transport(), base_url=provider.url))
    answered = client.post("/v1/generate")
    assert (answered.status_code, answered.content) == (response.status_code, response.content)


def test_look_alikes_are_not_gates_and_gates_are_not_look_alikes() -> None:
    """The two lists do not overlap, and an unknown look-alike name lists the known ones."""
    assert not set(gate_names()) & set(look_alike_names())
    assert {"openai.rate_limit", "anthropic.invalid_api_key"} <= set(look_alike_names())
    with pytest.raises(KeyError, match=r"openai\.rate_limit"):
        look_alike("openai.no_such_thing")


def test_a_scripted_rate_limit_never_calls_the_hook() -> None:
    """`answer_next` serves a plain 429 first: it passes through, no top-up is bought, and
    the next request is answered as usual."""
    provider = FakeProvider(credits=1, gate="openai.insufficient_quota")
    calls: list[http402.PaymentRequiredError] = []
    transport = http402.PaymentRequiredTransport(
        provider.transport(), on_payment_required=calls.append, sleep=provider.sleep
    )
    with httpx.Client(transport=transport, base_url=provider.url) as client:
        provider.answer_next("openai.rate_limit")
        assert client.post("/v1/chat/completions").status_code == 429
        assert client.post("/v1/chat/completions").status_code == 200
        with pytest.raises(http402.InsufficientCreditsError):
            client.post("/v1/chat/completions")
    assert len(calls) == 1
    with pytest.raises(KeyError):
        provider.answer_next("no.such_response")


def test_an_httpx2_client_tops_up_through_the_kit() -> None:
    """`httpx2_transport()` drives an `httpx2.Client`: the same top-up flow, no real wait."""
    httpx2 = pytest.importorskip("httpx2")
    import http402.httpx2

    provider = FakeProvider(gate="anthropic.credit_balance_too_low")

    def top_up(error: http402.PaymentRequiredError) -> http402.Retry:
        provider.top_up(10)
        return http402.Retry(within=30)

    transport = http402.httpx2.PaymentRequiredTransport(
        provider.httpx2_transport(), on_payment_required=top_up, sleep=provider.sleep
    )
    with httpx2.Client(transport=transport, base_url=provider.url) as client:
        response = client.post("/v1/messages")
    assert isinstance(response, httpx2.Response)
    assert response.status_code == 200
    assert provider.top_ups == 1
    assert all(isinstance(request, httpx2.Request) for request in provider.requests)


@pytest.mark.anyio
async def test_an_httpx2_async_client_gets_the_typed_error() -> None:
    """An `httpx2.AsyncClient` over the kit gets Anthropic's 400 gate as a typed error."""
    httpx2 = pytest.importorskip("httpx2")
    import http402.httpx2

    provider = FakeProvider(gate="anthropic.credit_balance_too_low")
    client = http402.httpx2.wrap(
        httpx2.AsyncClient(transport=provider.httpx2_transport(), base_url=provider.url)
    )
    async with client:
        with pytest.raises(http402.InsufficientCreditsError) as caught:
            await client.post("/v1/messages")
        provider.answer_next("anthropic.overloaded")
        assert (await client.post("/v1/messages")).status_code == 529
    assert caught.value.payment.provider == "anthropic"


def test_the_openai_sdk_over_the_kit_gets_a_classifiable_error() -> None:
    """The real openai SDK, with the kit as its httpx2 transport, raises its own status
    error for the 429 gate, and `classify` on that error gives the reason."""
    openai = pytest.importorskip("openai")
    httpx2 = pytest.importorskip("httpx2")

    provider = FakeProvider(gate="openai.insufficient_quota")
    client = openai.OpenAI(
        api_key="sk-test",
        base_url=f"{provider.url}/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=provider.httpx2_transport()),
    )
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    payment = http402.classify(caught.value)
    assert payment is not None
    assert payment.reason is http402.Reason.INSUFFICIENT_CREDITS
