"""Kinds of billing gate that a blind set (`research/payloads17`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or a
402's own answer). The kinds of `research/payloads16` are `tests/test_rule_kinds16.py`."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason
from http402._classify.decide import read_code, read_words
from http402._classify.families import Family

C, F, CR, P, S, U = (
    Reason.PAYMENT_CHALLENGE,
    Reason.PAYMENT_FAILED,
    Reason.INSUFFICIENT_CREDITS,
    Reason.PLAN_LIMIT_EXCEEDED,
    Reason.SUBSCRIPTION_EXPIRED,
    Reason.UNKNOWN,
)


def classify(
    status: int, body: Any, url: str = "https://api.unknown-provider.test/v1/things"
) -> http402.PaymentRequired | None:
    """`classify` of a JSON response from a host with no adapter."""
    response = httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        request=httpx.Request("POST", url),
    )
    return http402.classify(response)


def reason_of(status: int, body: Any) -> Reason | None:
    payment = classify(status, body)
    return None if payment is None else payment.reason


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
    assert classify(400, _RAPYD, "https://sandboxapi.rapyd.net/v1/payments") is None
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
