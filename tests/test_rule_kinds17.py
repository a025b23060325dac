"""Kinds of billing gate that a blind set (`research/payloads17`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or a
402's own answer). The kinds of `research/payloads16` are `tests/test_rule_kinds16.py`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason
from http402._classify.decide import read_code, read_words
from http402._classify.families import Family
from http402._providers.payment_request import REQUEST_FORMATS

from .kinds import CR, C, F, P, S, U, classify, reason_of

# ------------------------------- 1. a priced challenge's parts, named for what they hold

#: ASG Agent Cloud's documented 402 (docs.asgcompute.com/payment-contract), as printed: its
#: pay_to is the docs' placeholder.
_ASG = {
    "code": "PAYMENT_REQUIRED",
    "message": "Payment required to execute tool",
    "request_id": "req_abc123",
    "quote": {
        "quote_id": "qt_xyz789",
        "tool": "inference_chat",
        "price_usdc_microusd": 2400,
        "price_display": "$0.0024",
        "ttl_seconds": 300,
        "expires_at": "2026-02-08T10:05:00Z",
    },
    "payment_instructions": {
        "network": "solana-mainnet",
        "asset": "USDC",
        "pay_to": "ATA_ADDRESS_HERE",
        "methods": ["transfer", "solana_pay"],
    },
}


def test_a_quote_and_payment_instructions_are_a_priced_challenge() -> None:
    """ASG's 402: a `quote` with its price and `payment_instructions` with the payee are the
    parts of a challenge, read as a protocol's object is; no offer is built from them."""
    payment = classify(402, _ASG)
    assert payment is not None
    assert payment.reason is C
    assert payment.message == "Payment required to execute tool"
    assert payment.code == "PAYMENT_REQUIRED"
    assert payment.request_id == "req_abc123"
    assert payment.payment_options == ()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A price named by its unit: satoshis, millisatoshis, a fraction of a dollar.
        ({"error": "Payment Required", "offer": {"amount_sats": 10, "invoice": "lnbc1..."}}, C),
        ({"code": "PAYMENT_REQUIRED", "offer": {"price_msat": 10000, "pay_to": "lnbc1..."}}, C),
        (
            {
                "code": "PAYMENT_REQUIRED",
                "payment_requirements": {"amount_usdc": "0.01", "recipient": "0xabc"},
            },
            C,
        ),
        # A price in a token's atomic units beside its recipient (p2pago's 402 contract,
        # github.com/keyneom/p2pago CONTRACTS.md), a money object beside a receiver
        # (x402-devex-gateway's docs/first-paid-request.md), cents beside a merchant.
        (
            {
                "paymentRequired": True,
                "recipient": "0xabc",
                "chainId": 8453,
                "amountWei": "1000000000000000",
                "amountFormatted": "0.001 ETH",
            },
            C,
        ),
        (
            {
                "error": {
                    "code": "PAYMENT_REQUIRED",
                    "message": "Payment required for this resource.",
                    "x402": {
                        "amount": {"currency": "USD", "value": "0.01"},
                        "receiver": "demo-receiver-address",
                    },
                }
            },
            C,
        ),
        ({"error": "Payment Required", "price_cents": 5, "merchant_address": "acct_1"}, C),
        # A money object with no payee is a cost, no challenge.
        ({"error": "Payment Required", "amount": {"currency_code": "USD", "value": "10.00"}}, U),
        # The quote's expiry is the offer's, not a lapse of the account.
        (
            {
                "code": "PAYMENT_REQUIRED",
                "quote": {"price_usdc_microusd": 2400, "expires_at": "2026-02-08T10:05:00Z"},
                "payment_instructions": {"pay_to": "So1anaAddr"},
            },
            C,
        ),
        # A quote with no payee, instructions with no price: no challenge is stated.
        ({"code": "PAYMENT_REQUIRED", "quote": {"price_usdc_microusd": 2400}}, U),
        ({"code": "PAYMENT_REQUIRED", "payment_instructions": {"pay_to": "So1anaAddr"}}, U),
        # Words that name what happened decide before the fields.
        (
            {
                "message": "Insufficient credits.",
                "quote": {"price": 5},
                "payment_instructions": {"pay_to": "So1anaAddr"},
            },
            CR,
        ),
    ],
)
def test_a_challenges_parts_on_a_402(body: Any, expected: Reason) -> None:
    assert reason_of(402, body) is expected


@pytest.mark.parametrize("status", [400, 403, 409, 422, 429])
def test_a_challenges_parts_are_no_evidence_off_a_402(status: int) -> None:
    """A price and a payee are a 402's evidence only (rung 6 is not read strictly)."""
    body = {**_ASG, "message": "Tool call rejected"}
    assert reason_of(status, body) is None


# ----------------------------------- 2. a Lightning invoice is this request's, not a bill

#: Lightning Enable's documented 402 (docs.lightningenable.com/api-reference/l402), as
#: printed: the macaroon and the invoice are truncated in the docs.
_LIGHTNING_ENABLE = {
    "error": "Payment Required",
    "message": "Pay the Lightning invoice to access this resource",
    "l402": {
        "macaroon": "AgELbGlnaHRuaW5nLWVuYWJsZQJCMDAwMDAwMD...",
        "invoice": "lnbc100n1pnxyz...",
        "amount_sats": 10,
        "payment_hash": "abc123def456...",
        "expires_at": "2024-12-29T13:00:00Z",
    },
}


def test_paying_a_lightning_invoice_is_a_challenge_not_a_bill() -> None:
    """Lightning Enable's 402 was `subscription_expired`: "Pay the ... invoice" was read as
    the account's bill ("pay your invoice"), not its `expires_at`. A Lightning invoice is
    the price of this one request; its truncated invoice gives no offer."""
    payment = classify(402, _LIGHTNING_ENABLE)
    assert payment is not None
    assert payment.reason is C
    assert payment.message == "Pay the Lightning invoice to access this resource"
    assert payment.payment_options == ()


#: A BOLT 11 invoice with its checksum, for 30 nanobitcoin (3000 msat).
_INVOICE = next(f for f in REQUEST_FORMATS if f.name == "bolt11").examples[0]


def test_an_l402_body_with_a_whole_invoice_is_an_offer() -> None:
    """The same body with an invoice that *is* one, checksum and all, and whose stated
    `amount_sats` agrees: one L402 offer in millisatoshis, its macaroon kept in `raw` for
    the `Authorization: L402 <macaroon>:<preimage>` a hook replays with."""
    challenge = {"macaroon": "AgEL", "invoice": _INVOICE, "amount_sats": 3}
    payment = classify(402, {**_LIGHTNING_ENABLE, "l402": challenge})
    assert payment is not None
    assert payment.reason is C
    assert payment.provider == "l402"
    assert payment.message == "Pay the Lightning invoice to access this resource"
    (offer,) = payment.payment_options
    assert (offer.protocol, offer.scheme, offer.network) == ("l402", "L402", "lightning")
    assert (offer.amount, offer.unit, offer.asset) == (Decimal(3000), "msat", "BTC")
    assert offer.pay_to == _INVOICE
    assert offer.raw == {"macaroon": "AgEL", "invoice": _INVOICE}


@pytest.mark.parametrize(
    "challenge",
    [
        {"macaroon": "AgEL", "invoice": "lnbc100n1pnxyz...", "amount_sats": 10},  # truncated
        {"macaroon": "AgEL", "invoice": _INVOICE[:-1] + "q"},  # a checksum that fails
        {"macaroon": "AgEL", "invoice": _INVOICE, "amount_sats": 10},  # disagrees: 3 sats
        {"macaroon": "AgEL", "invoice": _INVOICE, "amount_msat": "3001"},
        {"invoice": _INVOICE},  # no macaroon to replay with
    ],
)
def test_an_l402_body_builds_no_offer_it_cannot_state_exactly(challenge: Any) -> None:
    """A truncated or placeholder invoice, a failed checksum, an amount beside it that
    disagrees, no macaroon: no offer, so nothing is paid; Lightning Enable's words still
    make it a challenge, and a bare body is what its other fields say."""
    payment = classify(402, {**_LIGHTNING_ENABLE, "l402": challenge})
    assert payment is not None
    assert payment.reason is C
    assert payment.payment_options == ()
    bare = classify(402, {"error": "Payment Required", **challenge})
    assert bare is not None
    assert bare.payment_options == ()


def test_an_l402_body_is_read_on_a_402_only() -> None:
    """Lightning-toll's body at the top level is an offer on a 402; a 403 is not claimed."""
    body = {"macaroon": "AgEL", "invoice": _INVOICE, "amountSats": 3}
    payment = classify(402, body)
    assert payment is not None
    assert [o.amount for o in payment.payment_options] == [3000]
    assert classify(403, body) is None


def test_a_pay_hook_is_shown_the_body_offer() -> None:
    """Through the transport, a challenge hook gets the offer and replays with its proof."""
    body = {**_LIGHTNING_ENABLE, "l402": {"macaroon": "AgEL", "invoice": _INVOICE}}
    seen: list[tuple[http402.PaymentOption, ...]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") == "L402 AgEL:00ff":
            return httpx.Response(200, json={"ok": True})
        return httpx.Response(402, json=body)

    def pay(error: http402.PaymentRequiredError) -> http402.Retry:
        seen.append(error.payment.payment_options)
        macaroon = error.payment.payment_options[0].raw["macaroon"]
        return http402.Retry(headers={"Authorization": f"L402 {macaroon}:00ff"})

    transport = http402.PaymentRequiredTransport(
        httpx.MockTransport(handler), on_payment_required={C: pay}
    )
    with httpx.Client(transport=transport) as client:
        assert client.get("https://api.lightningenable.com/l402/proxy/p/x").json() == {"ok": True}
    assert [offer.amount for (offer,) in seen] == [3000]


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (402, "Pay the Lightning invoice to access this resource", C),
        (402, "Pay this Lightning Network invoice, then retry with the preimage.", C),
        (402, "Settle the BOLT11 invoice to continue.", C),
        # An invoice's expiry is a new price to pay, not a lapse.
        (402, "The Lightning invoice has expired.", C),
        # The account's own invoice stays the bill.
        (402, "Pay your invoice to restore access.", S),
        (403, "Pay your outstanding invoices to restore access.", S),
        # The protocol's words are weak: off a 402 they are documentation.
        (403, "Pay the Lightning invoice to access this resource", None),
    ],
)
def test_whose_invoice_it_is(status: int, text: str, expected: Reason | None) -> None:
    assert reason_of(status, {"message": text}) is expected


def test_the_expiry_of_an_offer_is_read_as_no_lapse() -> None:
    """An offer's, a quote's, an invoice's or a challenge's expiry states no lapse."""
    for text in (
        "The quote has expired. Request a new quote.",
        "Invoice expires at 2024-12-29T13:00:00Z",
        "The payment request has expired.",
        "This offer has expired.",
        "Payment challenge expired, request a new one.",
    ):
        said = read_words(text)
        assert Family.SUBSCRIPTION_INACTIVE not in said.strong | said.weak, text
        assert Family.BILLING_ASKED not in said.strong | said.weak, text


# ------------------------------------ 3. a payment the account creates that lacks funds

_RAPYD = {
    "status": {
        "error_code": "ERROR_CREATE_PAYMENT_INSUFFICIENT_FUNDS",
        "status": "ERROR",
        "message": "The request tried to create a payment, but there were insufficient funds "
        "for the transaction. The request was rejected. Corrective action: None. Contact the "
        "customer.",
        "response_code": "ERROR_CREATE_PAYMENT_INSUFFICIENT_FUNDS",
        "operation_id": "c9ef7f0c-07e0-4c85-9491-5d517920fb04",
    }
}


def test_a_payment_the_request_creates_that_lacks_funds_is_no_gate() -> None:
    """Rapyd's create-payment error: the payment the application makes (or collects) lacks
    funds, by its words and by its code; the API is not asking to be paid."""
    assert classify(400, _RAPYD, url="https://sandboxapi.rapyd.net/v1/payments") is None
    code_only = {"status": {"error_code": "ERROR_CREATE_PAYMENT_INSUFFICIENT_FUNDS"}}
    assert classify(400, code_only) is None
    assert Family.TRANSFER_REFUSED in read_code("error_create_payment_insufficient_funds").strong


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (400, "Cannot execute this payment: not enough funds in the wallet.", None),
        (400, "Não foi possível criar o pagamento: saldo insuficiente.", None),
        (400, "Impossible de créer ce paiement : solde insuffisant.", None),
        (400, "Saldo insuficiente para crear este pago.", None),
        # A card's funds, a payment for the API's own service, a bare lack: gates.
        (402, "Could not make the payment: your card has insufficient funds.", F),
        (
            402,
            "We tried to make the payment for your subscription, but there were insufficient "
            "funds.",
            CR,
        ),
        (402, "Insufficient funds for the transaction.", CR),
        (400, "Insufficient balance to create this request.", CR),
    ],
)
def test_a_payment_made_lacking_funds_both_ways(
    status: int, text: str, expected: Reason | None
) -> None:
    assert reason_of(status, {"message": text}) is expected


# ------------------------------------------------------------ 4. the judgement cases


def test_a_count_of_resources_with_an_upgrade_asked_plainly_is_the_plans() -> None:
    """Auriko's 403: "API key limit reached (2). Upgrade to Pro for unlimited keys." A count
    of resources alone stays weak off a 402 (AgentMail's 403); the upgrade to a named paid
    tier, asked plainly, makes it a gate (docs/reasons.md), `feature_disabled` or not."""
    error = {
        "message": "API key limit reached (2). Upgrade to Pro for unlimited keys.",
        "type": "permission_error",
        "param": None,
        "code": "feature_disabled",
    }
    payment = classify(403, {"error": error})
    assert payment is not None
    assert payment.reason is P
    assert payment.message == error["message"]
    count_only = {"error": {"message": "Inbox limit exceeded", "code": "limit_exceeded"}}
    assert reason_of(403, count_only) is None


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (403, "Upgrade to Premium for more projects.", P),
        (400, "Project limit reached. Upgrade to Business for additional seats.", P),
        (403, "Upgrade to v2 of the API for more features.", None),
        (403, "Upgrade to Enterprise Server 3.12 for the fix.", None),
        # A throttle stays a throttle, whatever it asks.
        (429, "Rate limit exceeded. Upgrade to Pro for higher limits.", None),
    ],
)
def test_upgrade_to_a_tier_for_what_it_grants(
    status: int, text: str, expected: Reason | None
) -> None:
    assert reason_of(status, {"message": text}) is expected


def test_check_your_purchase_status_states_no_failure() -> None:
    """Univa's 400 `CheckPurchaseStatus`, "Cannot use api now. Check your purchase status.":
    only its docs say a previous payment is not complete; the words state no failure, so it
    is no gate off a 402 and `unknown` on one (docs/reasons.md)."""
    body = {
        "code": "CheckPurchaseStatus",
        "message": "Cannot use api now. Check your purchase status.",
    }
    assert reason_of(400, body) is None
    assert reason_of(402, body) is U
