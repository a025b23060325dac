"""`http402.testing`: recorded gates, the fake provider, and the pytest fixture."""

from __future__ import annotations

import httpx
import pytest
import respx

import http402
from http402.testing import FakeProvider, gate, gate_names, gate_source


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
