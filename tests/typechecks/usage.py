"""Every call that the README and the docs show, checked by `mypy --strict` in CI.

Not run, only type-checked (`[tool.mypy] files` in `pyproject.toml`), as stamina and attrs
keep theirs: a documented call that stops type-checking fails CI. The examples are the docs'
own, in functions, with the names they take for granted (`my_billing`, `inner`) stubbed.
Misspelt options that must be rejected are in `rejected.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import redis
import respx

import http402
import http402.httpx2
import http402.typing
from http402.testing import FakeProvider, gate


class _Billing:
    def buy_credits(self, amount: int) -> None: ...


class _Wallet:
    def sign_x402(self, offer: http402.PaymentOption) -> str:
        return "proof"


my_billing = _Billing()
my_wallet = _Wallet()
USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
    if error.payment.credits_required and error.payment.credits_required > 1000:
        return None
    my_billing.buy_credits(amount=100)
    return http402.Retry(within=90)


async def atop_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
    return http402.Retry(within=90, expected=30)


def pay(error: http402.PaymentRequiredError) -> http402.Retry | None:
    offer = error.payment.payment_options[0]
    proof = my_wallet.sign_x402(offer)
    return http402.Retry(headers={"PAYMENT-SIGNATURE": proof}, paid=offer)


def readme_quickstart() -> None:
    client = http402.wrap(httpx.Client(base_url="https://openrouter.ai/api/v1"))
    try:
        client.post(
            "/chat/completions",
            headers={"Authorization": "Bearer sk-or-..."},
            json={"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
    except http402.InsufficientCreditsError as error:
        print(error.payment.message, error.payment.action_url, error.attempts, error.waited)
    except http402.PaymentRequiredError as error:
        print(error.payment.reason, error, error.response.status_code)


def readme_hooks() -> httpx.Response:
    client = http402.wrap(
        httpx.Client(base_url="https://openrouter.ai/api/v1"),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        retry=http402.RetryPolicy(within=120, initial_wait=0.25, max_wait=4),
    )
    return client.post("/chat/completions", json={})


def hook_mapping_in_a_variable() -> None:
    """A mapping built before the call (issue 13: `dict` invariance)."""
    hooks = {http402.Reason.INSUFFICIENT_CREDITS: top_up}
    http402.wrap(httpx.Client(), on_payment_required=hooks)
    by_value = {"insufficient_credits": top_up, "plan_limit_exceeded": top_up}
    http402.wrap(httpx.Client(), on_payment_required=by_value)
    http402.PaymentRequiredTransport(on_payment_required=hooks)
    async_hooks = {http402.Reason.INSUFFICIENT_CREDITS: atop_up}
    http402.wrap(httpx.AsyncClient(), on_payment_required=async_hooks)
    http402.AsyncPaymentRequiredTransport(on_payment_required=async_hooks)
    http402.wrap(httpx.AsyncClient(), on_payment_required=hooks)  # plain hooks run in a thread
    annotated: http402.typing.PaymentRequiredHooks = {http402.Reason.INSUFFICIENT_CREDITS: top_up}
    http402.wrap(httpx2.Client(), on_payment_required=annotated)


def options_in_a_variable() -> None:
    options: http402.typing.TransportOptions = {"mode": "annotate", "on_payment_required": top_up}
    http402.wrap(httpx.Client(), **options)
    http402.httpx2.wrap(httpx2.Client(), **options)
    async_options: http402.typing.AsyncTransportOptions = {"on_payment_required": atop_up}
    http402.wrap(httpx.AsyncClient(), **async_options)


def readme_challenges() -> None:
    http402.PaymentRequiredTransport(
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=http402.SpendPolicy(
            max_amount={USDC_BASE: 50_000},
            max_per_window={USDC_BASE: 5_000_000},
            window=3600,
            allowed_networks={"eip155:8453"},
        ),
    )


def readme_fleet() -> None:
    coordinator = http402.RedisCoordinator(
        redis.Redis.from_url("redis://localhost:6379/0", socket_timeout=2),
        lease_ttl=10,
    )
    client = http402.wrap(
        httpx.Client(base_url="https://openrouter.ai/api/v1"),
        on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        coordinator=coordinator,
        preflight=http402.Preflight(gate_ttl=30),
    )
    client.close()


def readme_openai() -> None:
    client = openai.OpenAI(http_client=http402.httpx2.wrap(httpx2.Client(), mode="annotate"))
    try:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    except openai.APIStatusError as error:
        payment = http402.classify(error)
        if payment and payment.reason is http402.Reason.INSUFFICIENT_CREDITS:
            print("OpenAI credits are used up:", payment.message)


def readme_openai_top_up() -> None:
    """Top-up inside the SDK: annotate mode with a hook."""
    client = openai.OpenAI(
        http_client=http402.httpx2.wrap(
            httpx2.Client(),
            mode="annotate",
            on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        ),
    )
    client.chat.completions.create(model="gpt-4o-mini", messages=[])
    also = http402.wrap(httpx2.Client(), mode="annotate", on_payment_required=top_up)
    openai.OpenAI(http_client=also)


def readme_anthropic_top_up() -> None:
    client = anthropic.Anthropic(
        http_client=http402.httpx2.wrap(
            httpx2.Client(),
            mode="annotate",
            on_payment_required={http402.Reason.INSUFFICIENT_CREDITS: top_up},
        ),
    )
    try:
        client.messages.create(
            model="claude-sonnet-5-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.APIStatusError as error:
        http402.classify(error)


async def readme_async_sdks() -> None:
    client = anthropic.AsyncAnthropic(
        http_client=http402.httpx2.wrap(
            httpx2.AsyncClient(), mode="annotate", on_payment_required=atop_up
        ),
    )
    await client.messages.create(model="claude-sonnet-5-5", max_tokens=256, messages=[])
    other = http402.wrap(httpx2.AsyncClient(), mode="annotate", on_payment_required=atop_up)
    openai.AsyncOpenAI(http_client=other)


def readme_anthropic() -> None:
    client = anthropic.Anthropic(http_client=http402.httpx2.wrap(httpx2.Client(), mode="annotate"))
    try:
        client.messages.create(
            model="claude-sonnet-5-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
        )
    except anthropic.BadRequestError as error:
        payment = http402.classify(error)
        if payment is not None:
            print(payment.reason, payment.request_id)


def sdks_openrouter() -> None:
    openai.OpenAI(
        base_url="https://openrouter.ai/api/v1",
        http_client=http402.httpx2.wrap(httpx2.Client(), mode="annotate"),
    )
    http402.wrap(httpx.Client(base_url="https://openrouter.ai/api/v1"), on_payment_required=top_up)


def httpx2_errors() -> None:
    client = http402.wrap(httpx2.Client())
    try:
        client.get("https://openrouter.ai/api/v1/credits")
    except httpx2.HTTPStatusError as error:
        print(error.response.status_code)
    try:
        client.get("https://openrouter.ai/api/v1/credits")
    except http402.InsufficientCreditsError as error:
        print(error.payment.reason)


def forget_a_gate(client: httpx.Client, transport: http402.PaymentRequiredTransport) -> None:
    transport.forget_gate(client.build_request("GET", "/"))
    transport.forget_gate("https://api.example.com/")


async def aforget_a_gate(transport: http402.AsyncPaymentRequiredTransport) -> None:
    await transport.forget_gate("https://api.example.com/")
    client = http402.wrap(httpx.AsyncClient(base_url="https://api.example.com"))
    await http402.aforget_gate(client)
    await http402.aforget_gate(http402.wrap(httpx2.AsyncClient()), "https://api.example.com/")


def forget_a_gate_by_client() -> None:
    client = http402.wrap(httpx.Client(base_url="https://openrouter.ai/api/v1"))
    my_billing.buy_credits(amount=100)
    http402.forget_gate(client)
    http402.forget_gate(http402.wrap(httpx2.Client()), "https://api.example.com/")
    sdk_key = {"Authorization": "Bearer sk-or-v1-..."}
    http402.forget_gate(client, "https://openrouter.ai/api/v1", headers=sdk_key)


def readme_testing(http402_provider: FakeProvider) -> None:
    def hook(error: http402.PaymentRequiredError) -> http402.Retry:
        http402_provider.top_up(100)
        return http402.Retry(within=30)

    transport = http402.PaymentRequiredTransport(
        http402_provider.transport(), on_payment_required=hook, sleep=http402_provider.sleep
    )
    with httpx.Client(transport=transport, base_url=http402_provider.url) as client:
        assert client.post("/v1/generate").status_code == 200
    assert http402_provider.top_ups == 1


class AcmeAdapter:
    name = "acme"
    hosts = ("api.acme.example",)
    statuses = (402, 403)

    def classify(self, response: http402.ResponseSnapshot) -> http402.PaymentRequired | None:
        body = response.json
        if isinstance(body, dict) and body.get("error") == "wallet_empty":
            return http402.PaymentRequired(
                reason=http402.Reason.INSUFFICIENT_CREDITS,
                provider=self.name,
                credits_available=body.get("balance"),
                action_url=body.get("top_up_url"),
            )
        return None


def adapters(response: httpx.Response) -> None:
    registry = http402.default_registry.copy()
    registry.register(AcmeAdapter())
    http402.PaymentRequiredTransport(registry=registry)
    http402.classify(response, registry=registry)


def balance(deepseek_api_key: str) -> None:
    client = httpx.Client(
        base_url="https://api.deepseek.com",
        headers={"Authorization": f"Bearer {deepseek_api_key}"},
    )
    found = http402.check_balance(client)
    if found is not None and found.usable is False:
        raise SystemExit("top up first")
    if found is not None and found.available is not None:
        print(found.available + Decimal(1))


async def getting_started_async() -> None:
    client = http402.wrap(httpx.AsyncClient(base_url="https://openrouter.ai/api/v1"))
    try:
        await client.get("/credits")
    except http402.PaymentRequiredError as error:
        print(error.payment.reason, error.payment.action_url)


def getting_started_transports() -> None:
    httpx.Client(transport=http402.PaymentRequiredTransport(httpx.HTTPTransport(retries=2)))
    httpx.AsyncClient(transport=http402.AsyncPaymentRequiredTransport())
    httpx2.Client(transport=http402.httpx2.PaymentRequiredTransport(mode="annotate"))
    httpx2.AsyncClient(transport=http402.httpx2.AsyncPaymentRequiredTransport())


def getting_started_classify() -> None:
    response = httpx.get("https://openrouter.ai/api/v1/credits")
    payment = http402.classify(response)
    if payment is not None and payment.reason is http402.Reason.INSUFFICIENT_CREDITS:
        print("top up at", payment.action_url)


def hooks_retry_policy() -> None:
    http402.RetryPolicy(
        within=120.0, initial_wait=0.25, multiplier=1.5, max_wait=4.0, jitter=0.1, max_replays=None
    )
    http402.Retry(within=120, expected=30)


def hooks_virtual_time(clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
    http402.PaymentRequiredTransport(coordinator=http402.LocalCoordinator(clock=clock), sleep=sleep)
    http402.AsyncPaymentRequiredTransport(coordinator=http402.AsyncLocalCoordinator(clock=clock))


def hooks_testing(inner: httpx.MockTransport) -> None:
    waits: list[float] = []
    http402.PaymentRequiredTransport(inner, on_payment_required=top_up, sleep=waits.append)
    http402.wrap(httpx.Client(transport=inner), on_payment_required=top_up, sleep=waits.append)

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    http402.AsyncPaymentRequiredTransport(inner, on_payment_required=top_up, sleep=no_wait)
    http402.wrap(httpx.AsyncClient(transport=inner), on_payment_required=top_up, sleep=no_wait)


def testing_respx() -> None:
    router = respx.MockRouter()
    router.post("https://openrouter.ai/api/v1/chat/completions").mock(
        side_effect=[httpx.Response(402, json={}), httpx.Response(200, json={"choices": []})]
    )
    top_ups: list[http402.Reason] = []

    def hook(error: http402.PaymentRequiredError) -> http402.Retry:
        top_ups.append(error.payment.reason)
        return http402.Retry(within=60)

    waits: list[float] = []
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(router.handler)),
        on_payment_required=hook,
        sleep=waits.append,
    )
    client.post("https://openrouter.ai/api/v1/chat/completions", json={"model": "m"})


def testing_payload_transport(path: Path) -> httpx.MockTransport:
    wire: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["response"]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            wire["status"], headers=list(wire["headers"].items()), content=wire["body"].encode()
        )

    return httpx.MockTransport(handler)


def testing_kit() -> None:
    gate("openai.insufficient_quota")
    provider = FakeProvider(credits=0, gate="openrouter.insufficient_credits", propagation=1)
    hook_calls: list[http402.PaymentRequiredError] = []
    transport = http402.PaymentRequiredTransport(
        provider.transport(), on_payment_required=hook_calls.append, sleep=provider.sleep
    )
    httpx.Client(transport=transport, base_url=provider.url)
    FakeProvider(credits=10, features={"/v1/batch": "pro"}, propagation=3)
    openai.OpenAI(
        api_key="sk-test",
        base_url=f"{provider.url}/v1",
        max_retries=0,
        http_client=httpx2.Client(transport=provider.httpx2_transport()),
    )


def preflight_and_low_balance() -> None:
    def warn(alert: http402.LowBalance) -> None:
        print(alert)

    async def awarn(alert: http402.LowBalance) -> None:
        print(alert)

    http402.wrap(
        httpx.Client(base_url="https://api.deepseek.com"),
        mode="annotate",
        on_payment_required=top_up,
        preflight=http402.Preflight(min_balance=1),
        low_balance=http402.LowBalanceWatch(warn, below=100, within=3600),
    )
    http402.wrap(
        httpx2.AsyncClient(), low_balance=http402.LowBalanceWatch(awarn, below=Decimal("5"))
    )
    http402.wrap(httpx.AsyncClient(), low_balance=http402.LowBalanceWatch(warn, within=600))
    http402.PaymentRequiredTransport(peek_streams=False)
