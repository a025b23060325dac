"""Spend windows: exact amounts for any asset and decimals, offers screened before anything
is reserved, and the fleet's window by default beside a fleet coordinator (a real
redis-server for the shared windows)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

import http402
from http402._amounts import PROTOCOL_UNITS, amount_of, units, why_unpayable
from http402.testing import gate, gate_names

from .conftest import load_payloads
from .test_fleet import RedisServer, running_server

redis = pytest.importorskip("redis")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of its own on a free loopback port."""
    yield from running_server(tmp_path)


DAI = "0x50c5725949A6F0c72E6C4a641F24049A917DB0Cb"  # 18 decimals
ONE = 10**18


def challenge(*offers: tuple[str, str, str]) -> http402.PaymentRequired:
    options = tuple(
        http402.PaymentOption(
            protocol="x402", network="base", asset=asset, amount=Decimal(amount), unit=unit
        )
        for asset, amount, unit in offers
    )
    return http402.PaymentRequired(
        reason=http402.Reason.PAYMENT_CHALLENGE, provider="x402", payment_options=options
    )


@pytest.mark.parametrize(
    ("amount", "exact"),
    [
        ("1", 10**18),
        ("0.000000000000000001", 1),
        ("123456789012345678901234567890.5", 123456789012345678901234567890 * 10**18 + 5 * 10**17),
        (str(2**256), 2**256 * 10**18),
        ("1.50", 15 * 10**17),
    ],
)
def test_amounts_are_counted_as_exact_integers(amount: str, exact: int) -> None:
    assert units(Decimal(amount)) == exact
    assert amount_of(exact) == Decimal(amount)


@pytest.mark.parametrize("amount", ["1E-19", "1" * 79, "NaN", "Infinity", "1E+100000"])
def test_amounts_that_cannot_be_counted_exactly_are_refused(amount: str) -> None:
    with pytest.raises(ValueError):
        units(Decimal(amount))


def offer_of(protocol: str, unit: str | None, amount: str) -> http402.PaymentOption:
    return http402.PaymentOption(
        protocol=protocol, network="base", asset=DAI, amount=Decimal(amount), unit=unit
    )


@pytest.mark.parametrize(
    ("protocol", "unit", "amount", "why"),
    [
        ("x402", "atomic", "-5", "not above zero"),
        ("x402", "atomic", "0", "not above zero"),
        ("x402", "atomic", "0.5", "not a whole number of atomic units"),
        ("x402", "atomic", "1E+80", "cannot be counted exactly"),
        ("x402", "atomic", "NaN", "not a number"),
        ("l402", "msat", "1500.5", "not a whole number of millisatoshis"),
        # The `Payment` scheme's amounts are base units, whatever currency labels them.
        ("payment", "usd", "0.5", "not a whole number of base units"),
        ("payment", DAI, "1.25", "not a whole number of base units"),
        ("payment", "sat", "0.001", "not a whole number of base units"),
        ("payment", "usd", "50", None),
        # Pay per crawl prices a currency in decimals: a cent is a price.
        ("pay-per-crawl", "USD", "0.01", None),
        # A protocol of the application's own is judged by the unit it names.
        ("acme-pay", "atomic", "0.5", "not a whole number of atomic units"),
        ("acme-pay", "base", "0.5", "not a whole number of base units"),
        ("acme-pay", "EUR", "0.5", None),
    ],
)
def test_unpayable_prices_say_why(protocol: str, unit: str, amount: str, why: str | None) -> None:
    """Every offer is screened in the unit its protocol says its amount counts: a fraction
    of an indivisible unit (atomic units, millisatoshis, base units) is never a price."""
    reason = why_unpayable(offer_of(protocol, unit, amount))
    assert reason is None if why is None else (reason is not None and why in reason)


def test_every_parsers_offers_are_screened_in_the_unit_their_protocol_states() -> None:
    """Each offer that any parser makes from the recorded payloads (tests/payloads and the
    testing kit's) has a protocol whose unit `PROTOCOL_UNITS` states, every parser's
    protocol is among them, and the same offer at half a unit more is refused exactly where
    that unit is indivisible."""
    seen: set[str] = set()
    responses = {name: gate(name) for name in gate_names()}
    for payload in load_payloads():
        wire, request = payload["response"], payload["request"]
        responses[payload["id"]] = httpx.Response(
            wire["status"],
            headers=list(wire["headers"].items()),
            content=wire["body"].encode(),
            request=httpx.Request(request["method"], request["url"]),
        )
    for name, response in responses.items():
        payment = http402.classify(response)
        for offer in () if payment is None else payment.payment_options:
            assert offer.protocol in PROTOCOL_UNITS, (name, offer.protocol)
            seen.add(offer.protocol)
            if offer.amount is None:
                continue
            split = attrs.evolve(offer, amount=offer.amount + Decimal("0.5"))
            refused = why_unpayable(split)
            if PROTOCOL_UNITS[offer.protocol] is None:
                assert refused is None or "whole number" not in refused, name
            else:
                assert refused is not None and "whole number" in refused, name
    assert seen == set(PROTOCOL_UNITS)


def test_hostile_offers_are_refused_before_anything_is_reserved() -> None:
    """A negative price is never reserved as a credit, so honest payments cannot pass the
    window on it; zero, fractions of an atomic unit and absurd prices are refused too."""
    policy = http402.SpendPolicy(max_amount={DAI: ONE}, max_per_window={DAI: 2 * ONE})
    hostile = [(DAI, "-5000000000000000000", "atomic"), (DAI, "0", "atomic")]
    hostile += [(DAI, "0.5", "atomic"), (DAI, "1E+80", "atomic")]
    allowed, refusals, reservation = policy.reserve(challenge(*hostile))
    assert (allowed, reservation) == ((), None)
    assert refusals is not None and "not above zero" in refusals
    honest = challenge((DAI, str(ONE), "atomic"))
    for _ in range(2):
        _, _, reservation = policy.reserve(honest)
        assert reservation is not None
        reservation.commit(honest.payment_options[0])
    assert policy.reserve(honest)[2] is None


# Offers that must never be paid, screened without a spend policy: recorded challenges of
# each protocol (tests/payloads/, with their sources) with their prices made hostile.

PAYLOADS = Path(__file__).parent / "payloads"
#: bLIP-26's example invoice asks for 1500 nano-bitcoin; `lnbc1` names no amount at all.
_INVOICE = "lnbc1500n1"


def _recorded(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / f"{name}.json").read_text())["response"]  # type: ignore[no-any-return]


def x402_v1(*amounts: str) -> httpx.Response:
    """x402 v1's specification example (`accepts` in the body), one offer per amount."""
    recorded = _recorded("x402-v1-payment-requirements-body")
    body = json.loads(recorded["body"])
    offer = body["accepts"][0]
    body["accepts"] = [{**offer, "maxAmountRequired": amount} for amount in amounts]
    return httpx.Response(402, headers=recorded["headers"], json=body)


def x402_v2(*amounts: str) -> httpx.Response:
    """x402 v2's transport example (base64 JSON in `PAYMENT-REQUIRED`), one offer per amount."""
    recorded = _recorded("x402-v2-payment-required-header")
    payload = json.loads(base64.b64decode(recorded["headers"]["payment-required"]))
    offer = payload["accepts"][0]
    payload["accepts"] = [{**offer, "amount": amount} for amount in amounts]
    header = base64.b64encode(json.dumps(payload).encode()).decode()
    return httpx.Response(402, headers={**recorded["headers"], "payment-required": header}, json={})


def l402(*invoice_prefixes: str) -> httpx.Response:
    """bLIP-26's L402 challenge, once per invoice prefix (`lnbc1`: an invoice with no amount)."""
    recorded = _recorded("l402-blip26-challenge")
    challenge = recorded["headers"]["www-authenticate"]
    assert _INVOICE in challenge
    headers = [("www-authenticate", challenge.replace(_INVOICE, p)) for p in invoice_prefixes]
    return httpx.Response(402, headers=headers)


def payment_scheme(*amounts: str) -> httpx.Response:
    """The `Payment` scheme draft's one-time charge challenge (amount 1000, currency USD, in
    base units: cents), one challenge per amount."""
    recorded = _recorded("paymentauth-one-time-charge-challenge-problem-402")
    challenge = recorded["headers"]["www-authenticate"]
    encoded = challenge.split('request="', 1)[1].split('"', 1)[0]
    request = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    headers = [(k, v) for k, v in recorded["headers"].items() if k != "www-authenticate"]
    for amount in amounts:
        charge = json.dumps({**request, "amount": amount}).encode()
        again = base64.urlsafe_b64encode(charge).decode().rstrip("=")
        headers.append(("www-authenticate", challenge.replace(encoded, again)))
    return httpx.Response(402, headers=headers, content=recorded["body"].encode())


#: Per protocol: a challenge whose every offer must never be paid, and why.
UNPAYABLE = {
    "payment": (payment_scheme("0.5", "1.25"), "not a whole number of base units"),
    "x402 v1": (x402_v1("-10000", "0"), "not above zero"),
    "x402 v2": (x402_v2("0.5", "1E+80"), "not a whole number of atomic units"),
    "l402": (l402("lnbc1"), "states no amount"),
}


class Payer:
    """A pay hook that pays whatever it is shown, and remembers the offers."""

    def __init__(self) -> None:
        self.shown: list[tuple[http402.PaymentOption, ...]] = []

    def __call__(self, error: http402.PaymentRequiredError) -> http402.Retry:
        self.shown.append(error.payment.payment_options)
        return http402.Retry(headers={"PAYMENT-SIGNATURE": "cHJvb2Y="})

    async def paid(self, error: http402.PaymentRequiredError) -> http402.Retry:
        return self(error)


@pytest.mark.parametrize("protocol", sorted(UNPAYABLE))
def test_without_a_spend_policy_an_unpayable_challenge_never_reaches_the_hook(
    protocol: str,
) -> None:
    """No policy, and every offer priced at or below zero, at a fraction of an atomic unit,
    or at no amount: the hook is not called, and the challenge error says why."""
    gate, why = UNPAYABLE[protocol]
    payer = Payer()
    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(lambda request: gate),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: payer},
    )
    with (
        httpx.Client(transport=transport) as client,
        pytest.raises(http402.PaymentChallengeError, match="no offer may be paid") as caught,
    ):
        client.get("https://api.example.com/premium-data")
    assert why in str(caught.value)
    assert payer.shown == []


@pytest.mark.anyio
@pytest.mark.parametrize("protocol", sorted(UNPAYABLE))
async def test_without_a_spend_policy_an_unpayable_challenge_never_reaches_the_async_hook(
    protocol: str,
) -> None:
    gate, why = UNPAYABLE[protocol]
    payer = Payer()
    transport = http402.AsyncPaymentRequiredTransport(
        httpx.MockTransport(lambda request: gate),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: payer.paid},
    )
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(http402.PaymentChallengeError, match="no offer may be paid") as caught:
            await client.get("https://api.example.com/premium-data")
    assert why in str(caught.value)
    assert payer.shown == []


#: Per protocol: a challenge with one hostile offer and one honest one, and the honest price.
MIXED = {
    "payment": (payment_scheme("0.5", "1000"), Decimal(1000)),
    "x402 v1": (x402_v1("-10000", "10000"), Decimal(10000)),
    "x402 v2": (x402_v2("10000", "0.5"), Decimal(10000)),
    "l402": (l402("lnbc1", _INVOICE), Decimal(150_000)),
}


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("protocol", sorted(MIXED))
def test_without_a_spend_policy_the_hook_is_shown_only_payable_offers(
    protocol: str, asynchronous: bool
) -> None:
    """Beside an honest offer, the hostile one is dropped before the hook sees the
    challenge: a wallet that pays the first offer it is shown pays the honest price."""
    gate, price = MIXED[protocol]
    payer = Payer()

    def api(request: httpx.Request) -> httpx.Response:
        return gate if "payment-signature" not in request.headers else httpx.Response(200)

    hooks = {http402.Reason.PAYMENT_CHALLENGE: payer.paid if asynchronous else payer}
    if asynchronous:

        async def send() -> httpx.Response:
            transport = http402.AsyncPaymentRequiredTransport(
                httpx.MockTransport(api), on_payment_required=hooks
            )
            async with httpx.AsyncClient(transport=transport) as client:
                return await client.get("https://api.example.com/premium-data")

        response = anyio.run(send)
    else:
        transport = http402.PaymentRequiredTransport(
            httpx.MockTransport(api), on_payment_required=hooks
        )
        with httpx.Client(transport=transport) as client:
            response = client.get("https://api.example.com/premium-data")
    assert response.status_code == 200
    assert [[offer.amount for offer in shown] for shown in payer.shown] == [[price]]


def test_a_window_past_two_to_the_sixty_third_stays_exact_in_process() -> None:
    """Sums of 18-decimal amounts past 2^63 (and past a Decimal's 28 digits) never round."""
    big = 10**30 + 1
    policy = http402.SpendPolicy(max_amount={DAI: big}, max_per_window={DAI: 2 * big})
    offer = challenge((DAI, str(big), "atomic"))
    assert policy.reserve(offer)[2] is not None
    assert policy.reserve(offer)[2] is not None
    assert policy.reserve(challenge((DAI, "1", "atomic")))[2] is None


def test_a_shared_window_of_an_18_decimal_token_holds_exactly(server: RedisServer) -> None:
    """Case 20's kind: DAI amounts (10^18 atomic units, 10^36 stored units) in Redis's Lua,
    up to the last unit: the window is full at exactly its cap."""
    store = http402.RedisCoordinator.from_url(server.url).spend_store("dai")
    big = 10**30 + 1
    policy = http402.SpendPolicy(max_amount={DAI: big}, max_per_window={DAI: 2 * big}, store=store)
    offer = challenge((DAI, str(big), "atomic"))
    for _ in range(2):
        _, _, reservation = policy.reserve(offer)
        assert reservation is not None
    assert policy.reserve(offer)[2] is None
    allowed, _ = policy.screen(challenge((DAI, "1", "atomic")))
    assert allowed == ()


def test_policies_of_different_windows_in_one_store_never_trim_each_others_spending(
    server: RedisServer,
) -> None:
    """Two policies beside one coordinator share its default store: an hourly USDC cap and a
    2 s DAI cap. The short window's calls keep the hourly window's entries (kept for the
    longest window used), and each policy counts only its own window."""
    usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    clock = [1_800_000_000.0]
    coordinator = http402.RedisCoordinator(redis.Redis.from_url(server.url), wall=lambda: clock[0])
    store = coordinator.spend_store()  # the store both get by default beside the coordinator
    hourly = http402.SpendPolicy(
        max_amount={usdc: 10**6}, max_per_window={usdc: 2 * 10**6}, window=3600, store=store
    )
    short = http402.SpendPolicy(
        max_amount={DAI: ONE}, max_per_window={DAI: 5 * ONE}, window=2, store=store
    )
    dollar, dai = challenge((usdc, str(10**6), "atomic")), challenge((DAI, str(ONE), "atomic"))

    def pay(policy: http402.SpendPolicy, offer: http402.PaymentRequired) -> bool:
        _, _, reservation = policy.reserve(offer)
        if reservation is not None:
            reservation.commit(offer.payment_options[0])
        return reservation is not None

    assert [pay(hourly, dollar) for _ in range(3)] == [True, True, False]
    clock[0] += 3  # past the short window, inside the hour
    assert pay(short, dai)
    assert [pay(hourly, dollar) for _ in range(2)] == [False, False]
    clock[0] += 3600  # the hour has passed
    assert pay(hourly, dollar)


@pytest.mark.parametrize("shared", [False, True], ids=["in process", "fleet window"])
def test_a_payment_exactly_one_window_old_still_counts(shared: bool, tmp_path: Path) -> None:
    """`max_per_window` is the most paid in ANY `window` seconds, ends included: a full cap
    paid at t and another at t + window would be two caps within one closed span of `window`
    seconds, so the first leaves the window only once it is older than that (found by an
    adversary: a payment exactly one window old was dropped, in a process and in Redis)."""
    clock = [1_800_000_000.0]
    servers: Any = contextlib.nullcontext()
    if shared:
        servers = contextlib.contextmanager(running_server)(tmp_path)
    with servers as server:
        store = None
        if server is not None:
            coordinator = http402.RedisCoordinator(
                redis.Redis.from_url(server.url), wall=lambda: clock[0]
            )
            store = coordinator.spend_store()
        policy = http402.SpendPolicy(
            max_amount={DAI: ONE},
            max_per_window={DAI: ONE},
            window=60,
            clock=lambda: clock[0],
            **({"store": store} if store is not None else {}),
        )
        offer = challenge((DAI, str(ONE), "atomic"))

        def pay() -> bool:
            _, _, reservation = policy.reserve(offer)
            if reservation is not None:
                reservation.commit(offer.payment_options[0])
            return reservation is not None

        assert pay()
        clock[0] += 60  # exactly one window later: the first payment is still inside it
        assert not pay()
        clock[0] += 0.01  # now it is older than the window
        assert pay()


def test_after_a_loss_each_window_of_a_shared_store_pays_nothing_for_a_whole_window_of_its_own(
    server: RedisServer,
) -> None:
    """Redis loses the store shared by a short and an hourly window: the short window's
    refusal ends after its own length, the hourly one's does not (what it spent in the hour
    before the loss cannot be counted)."""
    usdc = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
    store = http402.RedisCoordinator(redis.Redis.from_url(server.url)).spend_store()
    hourly = http402.SpendPolicy(
        max_amount={usdc: 10**6}, max_per_window={usdc: 2 * 10**6}, window=3600, store=store
    )
    short = http402.SpendPolicy(
        max_amount={DAI: ONE}, max_per_window={DAI: 5 * ONE}, window=0.3, store=store
    )
    dollar, dai = challenge((usdc, str(10**6), "atomic")), challenge((DAI, str(ONE), "atomic"))
    redis.Redis.from_url(server.url).flushdb()
    assert short.reserve(dai)[2] is None  # the loss is noticed: nothing is paid
    time.sleep(0.4)  # the short window's length passes
    assert short.reserve(dai)[2] is not None
    assert hourly.reserve(dollar)[2] is None


def test_a_fleet_pays_an_18_decimal_challenge_within_its_window(server: RedisServer) -> None:
    """Ten sequential DAI challenges, a pay hook that does not say `paid=`: two are paid."""
    paid = []

    def provider(request: httpx.Request) -> httpx.Response:
        if request.headers.get("payment-signature"):
            return httpx.Response(200)
        offer = {"scheme": "exact", "network": "base", "maxAmountRequired": str(ONE)}
        offer |= {"asset": DAI, "payTo": "0xabc"}
        return httpx.Response(402, json={"x402Version": 1, "accepts": [offer]})

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        paid.append(error.payment.payment_options[0].amount)
        return http402.Retry(headers={"PAYMENT-SIGNATURE": "signed-proof-0123456789"})

    coordinator = http402.RedisCoordinator.from_url(server.url)
    policy = http402.SpendPolicy(max_amount={DAI: ONE}, max_per_window={DAI: 2 * ONE})
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=policy,
        coordinator=coordinator,
    )
    for _ in range(10):
        with contextlib.suppress(http402.PaymentChallengeError):
            client.get("https://api.example.com/data")
    assert paid == [ONE, ONE]


USDC = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"


@pytest.mark.parametrize(
    ("version", "prices", "screened"),
    [
        (1, {"maxAmountRequired": "5000000"}, Decimal(5_000_000)),
        (2, {"amount": "5000000"}, Decimal(5_000_000)),
        (1, {"maxAmountRequired": "5000000", "amount": "5000000"}, Decimal(5_000_000)),
        # A decoy beside the signed field, either way round: no price, never paid.
        (1, {"maxAmountRequired": "5000000", "amount": "1"}, None),
        (2, {"amount": "5000000", "maxAmountRequired": "1"}, None),
        # The version's own field missing: its signer has nothing to sign at that price.
        (1, {"amount": "1"}, None),
        (2, {"maxAmountRequired": "1"}, None),
        (None, {"maxAmountRequired": "5000000", "amount": "1"}, None),
    ],
)
def test_an_x402_offer_is_screened_at_the_price_its_version_signs(
    version: int | None, prices: dict[str, str], screened: Decimal | None
) -> None:
    """An x402 v1 wallet signs `maxAmountRequired`, a v2 wallet `amount` (coinbase/x402's
    `PaymentRequirementsV1` and `PaymentRequirements`): the spend policy screens that price,
    and an offer whose two price fields disagree is never paid, however small the decoy."""
    signed: list[str] = []

    def provider(request: httpx.Request) -> httpx.Response:
        if request.headers.get("x-payment"):
            return httpx.Response(200, json={"ok": True})
        offer = {"scheme": "exact", "network": "base", "asset": USDC, "payTo": "0xabc", **prices}
        body: dict[str, Any] = {"accepts": [offer]}
        if version is not None:
            body["x402Version"] = version
        return httpx.Response(402, json=body)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        offer = error.payment.payment_options[0]
        signed.append(offer.raw.get("maxAmountRequired", offer.raw.get("amount")))
        return http402.Retry(headers={"X-PAYMENT": "signed-proof-0123456789"}, paid=offer)

    policy = http402.SpendPolicy(max_amount={USDC: 10_000_000}, max_per_window={USDC: 10**9})
    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(provider)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=policy,
    )
    url = "https://api.example.com/data"
    assert http402.classify(provider(httpx.Request("GET", url))).payment_options[0].amount == (
        screened
    )
    if screened is None:
        with pytest.raises(http402.PaymentChallengeError, match="no amount"):
            client.get(url)
        assert signed == []
    else:
        assert client.get(url).status_code == 200
        assert signed == ["5000000"]


def limits(**extra: Any) -> dict[str, Any]:
    return {"max_amount": {DAI: ONE}, "max_per_window": {DAI: ONE}, **extra}


def transport_with(coordinator: Any, policy: http402.SpendPolicy) -> Any:
    return http402.PaymentRequiredTransport(
        httpx.MockTransport(lambda request: httpx.Response(200)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: lambda error: None},
        spend_policy=policy,
        coordinator=coordinator,
    )


def test_a_policy_beside_a_fleet_coordinator_shares_the_fleets_window(
    server: RedisServer,
) -> None:
    """Two processes (two coordinators), each with its own policy and no `store=`: one
    window, as docs/fleet.md says; `per_process=True` keeps each its own."""
    offer = challenge((DAI, str(ONE), "atomic"))
    shared = [
        transport_with(
            http402.RedisCoordinator.from_url(server.url), http402.SpendPolicy(**limits())
        )
        for _ in range(2)
    ]
    policies = [transport._options.spend_policy for transport in shared]
    assert policies[0].reserve(offer)[2] is not None
    assert policies[1].reserve(offer)[2] is None
    apart = [
        transport_with(
            http402.RedisCoordinator.from_url(server.url, namespace="apart"),
            http402.SpendPolicy(**limits(per_process=True)),
        )
        for _ in range(2)
    ]
    for transport in apart:
        assert transport._options.spend_policy.store is None
        assert transport._options.spend_policy.reserve(offer)[2] is not None


def test_a_window_whose_store_lost_its_data_pays_nothing_until_reset(
    server: RedisServer,
) -> None:
    """FLUSHDB between payments: the process that paid finds the window's marker gone, adds
    its own entries back, and the whole fleet's window refuses for a window (what others
    spent cannot be counted: fail closed), saying why and how to resume; `reset()` resumes."""
    store = http402.RedisCoordinator.from_url(server.url).spend_store("wallet")
    policy = http402.SpendPolicy(**limits(max_per_window={DAI: 2 * ONE}), store=store)
    offer = challenge((DAI, str(ONE), "atomic"))
    assert policy.reserve(offer)[2] is not None
    redis.Redis.from_url(server.url).flushdb()
    _, refusals, reservation = policy.reserve(offer)
    assert reservation is None
    assert refusals is not None and "lost its records" in refusals and "reset()" in refusals
    other = http402.RedisCoordinator.from_url(server.url).spend_store("wallet")
    late = http402.SpendPolicy(**limits(max_per_window={DAI: 2 * ONE}), store=other)
    assert late.reserve(offer)[2] is None  # the whole fleet waits out the window
    store.reset()
    assert policy.reserve(offer)[2] is not None
    assert policy.reserve(offer)[2] is None  # the re-added entry still counts


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])  # redis.asyncio runs on asyncio only
async def test_an_async_fleet_shares_its_window_too(
    server: RedisServer, anyio_backend: str
) -> None:
    """`AsyncRedisCoordinator` gives async transports the fleet's window: reserving awaits the
    store, and a declined hook's reservation is given back."""
    client = redis.asyncio.Redis.from_url(server.url)
    try:
        coordinator = http402.AsyncRedisCoordinator(client)
        transport = http402.AsyncPaymentRequiredTransport(
            httpx.MockTransport(lambda request: httpx.Response(200)),
            on_payment_required={http402.Reason.PAYMENT_CHALLENGE: lambda error: None},
            spend_policy=http402.SpendPolicy(**limits()),
            coordinator=coordinator,
        )
        policy = transport._options.spend_policy
        offer = challenge((DAI, str(ONE), "atomic"))
        _, _, reservation = await policy.areserve(offer)
        assert reservation is not None
        assert (await policy.areserve(offer))[2] is None
        await reservation.arelease()
        assert (await policy.areserve(offer))[2] is not None
    finally:
        await client.aclose()


def pay_per_crawl(price: str) -> httpx.Response:
    """Cloudflare's pay-per-crawl 402 as recorded (`crawler-price: USD 0.01`), at `price`."""
    recorded = _recorded("cloudflare-pay-per-crawl-price")
    headers = {**recorded["headers"], "crawler-price": price}
    return httpx.Response(402, headers=headers, content=recorded["body"].encode())


def priced_offer(response: httpx.Response) -> http402.PaymentOption:
    response.request = httpx.Request("GET", "https://api.example.com/v1/report")
    payment = http402.classify(response)
    assert payment is not None
    return payment.payment_options[0]


@pytest.mark.parametrize(
    ("response", "key", "amount"),
    [
        # The `Payment` scheme states base units (its draft: 1000 USD is $10): as they are.
        (lambda: payment_scheme("1000"), "USD", "1000"),
        # Pay per crawl states a decimal amount of the currency: in base units too.
        (lambda: pay_per_crawl("USD 900.00"), "USD", "90000"),
        (lambda: pay_per_crawl("USD 0.01"), "USD", "1"),
        (lambda: pay_per_crawl("USD 10"), "USD", "1000"),
        (lambda: pay_per_crawl("JPY 100"), "JPY", "100"),  # no minor unit
        (lambda: pay_per_crawl("KWD 1.5"), "KWD", "1500"),  # fils: three decimals
        (lambda: pay_per_crawl("EUR 0.001"), "EUR", "0.1"),  # a tenth of a cent: exact
    ],
)
def test_one_currency_is_counted_in_one_unit_whatever_protocol_states_it(
    response: Any, key: str, amount: str
) -> None:
    """A spend policy counts an ISO 4217 currency in its minor unit (cents, by the currency's
    exponent) under its upper-case code, exactly: the `Payment` scheme's base units as they
    are, pay per crawl's decimal amount shifted (case 91: both were keyed `"USD"`, one in
    cents, one in dollars, so one cap meant two amounts)."""
    from http402._amounts import counted

    offer = priced_offer(response())
    assert counted(offer) == (key, Decimal(amount))
    assert offer.amount is not None  # the hook still sees the price as the protocol states it


def _both_protocols(request: httpx.Request) -> httpx.Response:
    """A `Payment`-scheme API ($10 a call, in cents) and pay-per-crawl sites priced by path."""
    proof = request.headers.get("authorization", "") + request.headers.get(
        "crawler-exact-price", ""
    )
    if proof:
        return httpx.Response(200, json={"ok": True})
    if request.url.host == "api.example.com":
        return payment_scheme("1000")
    return pay_per_crawl("USD " + request.url.path.rsplit("/", 1)[1])


class Wallet:
    """One wallet for both protocols: pays the first offer shown, and counts dollars paid."""

    def __init__(self) -> None:
        self.dollars: list[Decimal] = []

    def __call__(self, error: http402.PaymentRequiredError) -> http402.Retry:
        offer = error.payment.payment_options[0]
        assert offer.amount is not None
        if offer.protocol == "pay-per-crawl":
            self.dollars.append(offer.amount)
            price = f"{offer.asset} {offer.amount}"
            return http402.Retry(headers={"crawler-exact-price": price}, paid=offer)
        self.dollars.append(offer.amount / 100)  # the `Payment` scheme's cents
        return http402.Retry(headers={"authorization": "Payment cHJvb2Y="}, paid=offer)

    async def paid(self, error: http402.PaymentRequiredError) -> http402.Retry:
        return self(error)


#: What one agent asks for, in order: a `Payment`-scheme call ($10), a page at $900, a page
#: at $10.00, three more calls ($30), then a page at one cent, past the $50 window.
ASKED = ["api", "900.00", "10.00", "api", "api", "api", "0.01"]


def _url(asked: str) -> str:
    if asked == "api":
        return "https://api.example.com/v1/report"
    return f"https://blog.example.com/article/{asked}"


@pytest.mark.parametrize("shared", [False, True], ids=["in process", "fleet window"])
def test_one_cap_means_one_amount_of_money_across_protocols(shared: bool, tmp_path: Path) -> None:
    """One pay hook, one policy written as the `Payment` scheme counts ($10 a request, $50 a
    window, in cents): the $900 page is refused by `max_amount`, the $10.00 page is paid,
    and a cent more than the $50 window is refused, in a process and in the fleet's window."""
    coordinator: Any = None
    servers: Any = contextlib.nullcontext()
    if shared:
        servers = contextlib.contextmanager(running_server)(tmp_path)
    with servers as server:
        if server is not None:
            coordinator = http402.RedisCoordinator.from_url(server.url)
        wallet = Wallet()
        client = http402.wrap(
            httpx.Client(transport=httpx.MockTransport(_both_protocols)),
            on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet},
            spend_policy=http402.SpendPolicy(
                max_amount={"USD": 1000}, max_per_window={"usd": 5000}
            ),
            **({"coordinator": coordinator} if coordinator is not None else {}),
        )
        answers: list[Any] = []
        for asked in ASKED:
            try:
                answers.append(client.get(_url(asked)).status_code)
            except http402.PaymentChallengeError as exc:
                answers.append(exc.not_replayed)
    assert answers[0] == 200 and answers[2:6] == [200, 200, 200, 200]
    assert "exceeds max_amount 1000 for 'USD'" in answers[1]
    assert "over max_per_window 5000 for 'USD'" in answers[6]
    assert wallet.dollars == [10, Decimal("10.00"), 10, 10, 10]
    assert sum(wallet.dollars) == 50


@pytest.mark.anyio
async def test_one_cap_means_one_amount_of_money_across_protocols_async() -> None:
    """The async twin (asyncio and trio), in process."""
    wallet = Wallet()
    client = http402.wrap(
        httpx.AsyncClient(transport=httpx.MockTransport(_both_protocols)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: wallet.paid},
        spend_policy=http402.SpendPolicy(max_amount={"USD": 1000}, max_per_window={"USD": 5000}),
    )
    paid = 0
    for asked in ASKED:
        with contextlib.suppress(http402.PaymentChallengeError):
            paid += (await client.get(_url(asked))).status_code == 200
    assert paid == 5
    assert sum(wallet.dollars) == 50


def _offer(protocol: str, unit: str | None, asset: str, amount: str) -> http402.PaymentOption:
    return http402.PaymentOption(protocol=protocol, amount=Decimal(amount), unit=unit, asset=asset)


@pytest.mark.parametrize(
    ("offer", "key", "amount"),
    [
        (_offer("l402", "msat", "BTC", "1000"), "BTC", "1000"),  # BOLT 11: millisatoshis
        (_offer("payment", "sat", "sat", "5"), "BTC", "5000"),  # the `Payment` scheme: sats
        (_offer("payment", "BTC", "BTC", "5"), "BTC", "5000"),  # its base unit of BTC: sats
        (_offer("pay-per-crawl", "BTC", "BTC", "0.00000001"), "BTC", "1000"),  # one sat
        (_offer("x402", "atomic", DAI, "7"), DAI.lower(), "7"),  # a token: its atomic units
    ],
)
def test_bitcoin_is_counted_in_millisatoshis_however_an_offer_names_it(
    offer: http402.PaymentOption, key: str, amount: str
) -> None:
    """The same kind for bitcoin: L402's `"BTC"` counts millisatoshis, the `Payment`
    scheme's `"sat"` (or `"BTC"`) satoshis; one key, `"BTC"`, one unit, millisatoshis. A
    limit written under `"sat"` is read in satoshis, as it was written."""
    from http402._amounts import counted

    assert counted(offer) == (key, Decimal(amount))
    policy = http402.SpendPolicy(max_amount={"sat": 5}, max_per_window={"BTC": 5000})
    assert policy.max_amount == {"BTC": Decimal(5000)} == policy.max_per_window


def test_a_currency_named_twice_in_one_policy_is_refused() -> None:
    """`"usd"` and `"USD"` are one currency: two limits for it would be two caps."""
    with pytest.raises(ValueError, match="twice"):
        http402.SpendPolicy(max_amount={"usd": 1000, "USD": 500})
    policy = http402.SpendPolicy(max_amount={"usd": 1000}, allowed_assets={"usd"})
    assert policy.max_amount == {"USD": Decimal(1000)}
    assert policy.allowed_assets == frozenset({"USD"})
    with pytest.raises(ValueError, match="twice"):
        http402.SpendPolicy(max_amount={"sat": 5, "BTC": 5000})
    token = http402.SpendPolicy(max_amount={DAI: 1})
    assert set(token.max_amount) == {DAI.lower()}  # an EVM address: in any case, one token
    with pytest.raises(ValueError, match="twice"):
        http402.SpendPolicy(max_amount={DAI: 1, DAI.lower(): 2})


@pytest.mark.parametrize("seed", range(200))
def test_no_seed_of_mixed_protocols_spends_past_one_cap(seed: int) -> None:
    """Seeded runs: one policy ($2.50 a request, $20 a window, in cents) and one wallet meet a
    random mix of `Payment`-scheme prices (cents, `"USD"` or `"usd"`) and pay-per-crawl prices
    (dollars), some of them dear, on a clock that moves at random. Counted in money by the
    test's own reading of each protocol, no request pays more than $2.50 and no window of
    3600 s more than $20; and every offer that fits both is paid (the cap means one amount,
    not a stricter one either)."""
    import random

    rng = random.Random(seed)
    now = [0.0]
    policy = http402.SpendPolicy(
        max_amount={"USD": 250}, max_per_window={"usd": 2000}, window=3600, clock=lambda: now[0]
    )
    paid: list[tuple[float, Decimal]] = []
    for _ in range(40):
        now[0] += rng.choice([1.0, 60.0, 600.0, 1800.0])
        cents = rng.choice([1, 99, 100, 250, 251, 1000, 90000])
        if rng.random() < 0.5:
            offer = http402.PaymentOption(
                protocol="payment",
                amount=Decimal(cents),
                unit="usd",
                asset=rng.choice(["USD", "usd"]),
            )
        else:
            dollars = Decimal(cents).scaleb(-2)
            offer = http402.PaymentOption(
                protocol="pay-per-crawl", amount=dollars, unit="USD", asset="USD"
            )
        money = Decimal(cents).scaleb(-2)  # what this offer costs, in dollars
        window_spent = sum(m for at, m in paid if at > now[0] - 3600)
        fits = money <= Decimal("2.50") and window_spent + money <= 20
        payment = http402.PaymentRequired(
            reason=http402.Reason.PAYMENT_CHALLENGE, provider="mixed", payment_options=(offer,)
        )
        allowed, _, reservation = policy.reserve(payment)
        assert bool(allowed) is fits, (seed, offer, window_spent)
        if reservation is not None:
            reservation.commit(offer)
            paid.append((now[0], money))
    for at, _ in paid:
        assert sum(m for when, m in paid if at - 3600 < when <= at) <= 20


USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
PAYEE = "0x209693Bc6afc0C5328bA36FaF03C514EF312287C"
#: USDC's mint on Solana (coinbase/x402 python/x402/mechanisms/svm/constants.py): base58,
#: whose case is part of the address.
USDC_SOLANA = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def _x402(network: str, asset: str, pay_to: str = PAYEE, amount: str = "10000") -> Any:
    return http402.PaymentOption(
        protocol="x402",
        scheme="exact",
        network=network,
        amount=Decimal(amount),
        unit="atomic",
        asset=asset,
        pay_to=pay_to,
        resource="https://api.example.com/report",
    )


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        (_x402("base", USDC_BASE), _x402("base", USDC_BASE.lower()), True),
        (_x402("base", USDC_BASE), _x402("base", USDC_BASE.upper().replace("0X", "0x")), True),
        (_x402("base", USDC_BASE), _x402("eip155:8453", USDC_BASE), True),
        (_x402("base-sepolia", USDC_BASE), _x402("eip155:84532", USDC_BASE.lower()), True),
        (_x402("avalanche", USDC_BASE), _x402("eip155:43114", USDC_BASE), True),
        (_x402("Base", USDC_BASE), _x402("eip155:8453", USDC_BASE), True),
        (_x402("base", USDC_BASE, PAYEE), _x402("base", USDC_BASE, PAYEE.lower()), True),
        (
            _x402("solana", USDC_SOLANA),
            _x402("solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp", USDC_SOLANA),
            True,
        ),
        # Not one offer: another chain, a Solana mint in another case, another price.
        (_x402("base", USDC_BASE), _x402("base-sepolia", USDC_BASE), False),
        (_x402("solana", USDC_SOLANA), _x402("solana", USDC_SOLANA.lower()), False),
        (_x402("base", USDC_BASE), _x402("base", USDC_BASE, amount="10001"), False),
        (_x402("base", USDC_BASE), _x402("base", USDC_BASE[:-1] + "4"), False),
    ],
)
def test_one_offer_is_one_identity_however_a_replica_spells_it(
    one: Any, other: Any, same: bool
) -> None:
    """Case 114's kind: an EVM address is compared in any case (its letters' case is only
    EIP-55's checksum), x402 v1's network names are their CAIP-2 ids (coinbase/x402's
    tables), and a Solana mint stays case-sensitive: one canonicalisation
    (`_amounts.canonical_offer`) for the hold key, the spend policy's keys and its allowed
    networks, assets and payees."""
    from http402._amounts import canonical_offer
    from http402._holds import offer_keys

    # One resource, one hold, however the offer is spelt or priced (case 176): a payment
    # whose outcome is unknown holds the thing it bought.
    keys = offer_keys([one], "GET", "https://api.example.com/report")
    assert keys == offer_keys([other], "GET", "https://api.example.com/report")
    assert (canonical_offer(one) == canonical_offer(other)) is same
    policy = http402.SpendPolicy(
        max_amount={one.asset: 10_000},
        allowed_networks={one.network},
        allowed_payees={one.pay_to},
        allowed_assets={one.asset},
    )
    challenge = http402.PaymentRequired(
        reason=http402.Reason.PAYMENT_CHALLENGE, provider="x402", payment_options=(other,)
    )
    allowed, why = policy.screen(challenge)
    if same:
        assert allowed == (other,), why  # the offer as the server wrote it, for the hook
    elif other.amount == one.amount:
        assert not allowed  # another chain, or another token: not this policy's


def _priced(currency: str, amount: str, protocol: str = "payment") -> Any:
    return http402.PaymentOption(
        protocol=protocol,
        scheme="charge",
        network="stripe",
        amount=Decimal(amount),
        unit=currency,
        asset=currency,
        resource="https://api.example.com/report",
    )


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (_priced("usd", "500"), _priced("USD", "500")),  # case 121: one price, two spellings
        (_priced("Usd", "500"), _priced("USD", "500.0")),
        (_priced("sat", "500"), _priced("BTC", "500")),  # the scheme's base units
        (_priced("sat", "500"), _priced("SAT", "500")),
        # Case 176: the same resource quoted anew (another amount, another currency, another
        # protocol's reading) is the same thing bought: held while a payment's outcome is
        # unknown, not paid a second time.
        (_priced("usd", "500"), _priced("USD", "501")),
        (_priced("usd", "500"), _priced("eur", "500")),
        (_priced("usd", "500"), _priced("usd", "500", protocol="pay-per-crawl")),
    ],
)
def test_one_resource_is_one_hold_however_its_price_is_spelt_or_quoted(
    one: Any, other: Any
) -> None:
    """Cases 121 and 176: an offer's hold key is what it sells (its resource), so "usd" from
    one replica and "USD" from another, or a quote of 501 after 500, are one held offer."""
    from http402._holds import offer_keys

    keys = offer_keys([one], "GET", "https://api.example.com/report")
    assert keys == offer_keys([other], "GET", "https://api.example.com/report")


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        # Case 189: replicas that build the resource from the request they received.
        ("https://api.example.com/v1/report", "http://api.example.com/v1/report", True),
        ("https://api.example.com/v1/report", "https://API.Example.com:443/v1/report", True),
        ("http://api.example.com:80/v1/report", "https://api.example.com/v1/report", True),
        (
            "https://api.example.com/v1/report?timestamp=1&signature=a",
            "https://api.example.com/v1/report?timestamp=2&signature=b",
            True,
        ),
        # Another resource is another thing: a path, a path's case, a query that stays.
        ("https://api.example.com/v1/report", "https://api.example.com/v1/other", False),
        ("https://api.example.com/v1/Report", "https://api.example.com/v1/report", False),
        ("https://api.example.com/v1/report?id=1", "https://api.example.com/v1/report?id=2", False),
        ("https://api.example.com/v1/report", "https://api.example.com:8443/v1/report", False),
    ],
)
def test_one_resource_however_a_replica_spells_its_url(one: str, other: str, same: bool) -> None:
    """Case 189's kind: the resource is keyed without its scheme, its host's case, a
    default port or a per-request query (`_holds.resource_identity`)."""
    from http402._holds import offer_keys

    def key(resource: str) -> tuple[str, ...]:
        return offer_keys([attrs.evolve(_priced("usd", "500"), resource=resource)], "GET", "/")

    assert (key(one) == key(other)) is same


def test_a_window_counts_one_token_however_its_address_is_cased() -> None:
    """`max_per_window` keyed by the checksummed address counts offers written in lower case
    under the same key: two payments of 6000 atomic USDC, one spelt each way, do not both
    fit in a 10000 window."""
    policy = http402.SpendPolicy(
        max_amount={USDC_BASE: 10_000}, max_per_window={USDC_BASE: 10_000}, window=60
    )

    def challenge(asset: str, network: str) -> http402.PaymentRequired:
        return http402.PaymentRequired(
            reason=http402.Reason.PAYMENT_CHALLENGE,
            provider="x402",
            payment_options=(_x402(network, asset, amount="6000"),),
        )

    allowed, _, reservation = policy.reserve(challenge(USDC_BASE, "eip155:8453"))
    assert allowed and reservation is not None
    reservation.commit(allowed[0])
    allowed, why, reservation = policy.reserve(challenge(USDC_BASE.lower(), "base"))
    assert not allowed and reservation is None
    assert "max_per_window" in (why or "")


def test_a_held_x402_offer_is_held_in_any_spelling_of_its_token_and_network() -> None:
    """Case 114 end to end: the paid replay gets a 503 (the outcome is unknown and the offer
    held); the application sends again and meets the same offer from another replica,
    which writes the token's address in lower case and the network by its v2 id. The hold
    stands: `PaymentOutcomeUnknownError` with `held`, one payment. A spend policy keyed by
    the checksummed address and the v1 network name allows both spellings."""
    payments, challenges = [], [0]

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        offer = error.payment.payment_options[0]
        payments.append(offer.asset)
        return http402.Retry(
            headers={"X-PAYMENT": f"signed-proof-number-{len(payments)}"}, paid=offer
        )

    def api(request: httpx.Request) -> httpx.Response:
        if "x-payment" in request.headers:
            return httpx.Response(503)
        challenges[0] += 1
        first = challenges[0] == 1
        accepts = {
            "scheme": "exact",
            "network": "base" if first else "eip155:8453",
            "maxAmountRequired": "10000",
            "asset": USDC_BASE if first else USDC_BASE.lower(),
            "payTo": PAYEE if first else PAYEE.lower(),
            "resource": "https://api.example.com/report",
            "maxTimeoutSeconds": 60,
        }
        return httpx.Response(402, json={"x402Version": 1, "error": "pay", "accepts": [accepts]})

    client = http402.wrap(
        httpx.Client(transport=httpx.MockTransport(api)),
        on_payment_required={http402.Reason.PAYMENT_CHALLENGE: pay},
        spend_policy=http402.SpendPolicy(
            max_amount={USDC_BASE: 10_000}, allowed_networks={"base"}, allowed_payees={PAYEE}
        ),
    )
    held = []
    for _ in range(2):
        with pytest.raises(http402.PaymentOutcomeUnknownError) as caught:
            client.get("https://api.example.com/report")
        held.append(caught.value.held)
    assert held == [False, True]
    assert payments == [USDC_BASE]
