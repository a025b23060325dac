"""Kinds of billing gate that a blind set (`research/payloads16`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or a
402's own answer). The kinds of `research/payloads14` are `tests/test_rule_kinds14.py`."""

from __future__ import annotations

from typing import Any

import pytest

from .kinds import CR, C, F, P, S, U, classify, reason_of

# ------------------------------- 1. a payment protocol named as a key, with a price and a payee

_STACKIT = {
    "error": "payment_required",
    "x402": {
        "price_usd": 0.02,
        "token": "USDC",
        "chain": "base",
        "facilitator": "operator-configured",
        "payment_target": "0x...",
    },
}


def test_a_protocols_object_with_a_price_and_a_payee_is_a_challenge() -> None:
    """StackIt's 402: `x402` as a key whose object states the price and `payment_target`.
    The shape is the provider's own, so no offer is built from it (docs/reasons.md)."""
    payment = classify(402, _STACKIT)
    assert payment is not None
    assert payment.reason is C
    assert payment.code == "payment_required"
    assert payment.payment_options == ()


@pytest.mark.parametrize("protocol", ["x402", "X402", "l402", "lsat", "lightning", "cashu"])
@pytest.mark.parametrize(
    ("price", "payee"),
    [
        ({"price": "0.25"}, {"pay_to": "0xabc"}),
        ({"amount": 100}, {"invoice": "lnbc1..."}),
        ({"price_usdc": "0.001"}, {"recipient": "So1anaAddr"}),
        ({"price_usd": 0.02}, {"payment_target": "0x1234"}),
    ],
)
def test_every_protocol_key_and_payee_key(protocol: str, price: Any, payee: Any) -> None:
    assert reason_of(402, {"error": "payment_required", protocol: {**price, **payee}}) is C


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # A price with no payee is a cost, not a challenge; a payee with no price the same.
        (402, {"error": "payment_required", "x402": {"price_usd": 0.02}}, U),
        (402, {"error": "payment_required", "x402": {"payment_target": "0x1"}}, U),
        # An amount that is no exact number is no price.
        (402, {"x402": {"price_usd": "about two cents", "payment_target": "0x1"}}, U),
        # A payee as an object is the account's own state, not where to pay.
        (402, {"x402": {"price_usd": "1", "payment_target": {"balance": 0}}}, U),
        # Off a 402, fields are no evidence.
        (403, _STACKIT, None),
        (429, _STACKIT, None),
        # Words that name what happened decide first.
        (
            402,
            {
                "error": "Insufficient balance. Please top up.",
                "x402": {"price_usd": 0.02, "payment_target": "0x1"},
            },
            CR,
        ),
        # A key of no payment protocol is not read as one's envelope.
        (
            402,
            {"error": "payment_required", "shipping": {"price": 5, "payment_target": "0x1"}},
            U,
        ),
    ],
)
def test_a_protocol_key_needs_a_price_and_a_payee(status: int, body: Any, expected: Any) -> None:
    assert reason_of(status, body) is expected


def test_payment_target_is_a_payee_key_in_headers_too() -> None:
    """The keys are declared once for a body and for headers (`header_fields`)."""
    headers = {"x-x402-price": "0.005", "x-payment-target": "0xabc"}
    payment = classify(402, {}, headers)
    assert payment is not None
    assert payment.reason is C
    assert classify(402, {}, {"x-x402-price": "0.005"}).reason is U


# ------------------------------------------------------------- 2. billing never set up

_TSFM = (
    "Free credits are exhausted and billing is not active. Set up billing to continue "
    "programmatic inference after the initial 500 credits."
)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # TSFM's 402: billing never set up ranks before the free credits beside it.
        (402, {"error": _TSFM, "code": "billing_required"}, F),
        (403, {"error": _TSFM, "code": "billing_required"}, F),
        (402, {"error": "Billing is not set up for this account."}, F),
        (400, {"message": "You haven't set up billing yet."}, F),
        # Billing not active alone, or with a remedy to reactivate, is a lapse.
        (402, {"error": "Billing is not active."}, S),
        (402, {"error": "Billing is not active. Please reactivate your subscription."}, S),
        # A free allowance whose remedy is to set up billing stays the plan's (Replicate).
        (
            402,
            {
                "title": "Free time limit reached",
                "detail": "You have reached the free time limit. To continue using Replicate, "
                "set up billing at https://replicate.com/account/billing#billing.",
            },
            P,
        ),
        # Free credits with a remedy alone stay credits: only a statement that billing is
        # not set up ranks first.
        (402, {"error": "Your free credits are used up. Add a payment method to continue."}, CR),
        # A product's billing mode, or alerts, are no account's billing.
        (400, {"error": "Metered billing is not configured for this price."}, None),
        (403, {"error": "Billing alerts are not set up."}, None),
    ],
)
def test_billing_never_set_up(status: int, body: Any, expected: Any) -> None:
    assert reason_of(status, body) is expected


# ------------------------------------------------------------ 3. a bare quota and its window


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # No window stated: a bare quota off a 402 stays no gate. SilentShield's 429 and
        # Vincere's 403 are a plan's quota by their docs only; the same words are Amazon SP-API's
        # 429 `QuotaExceeded` (a rate) and YouTube's 403 `quotaExceeded` (a day).
        (429, {"error": "quota_exceeded"}, None),
        (403, {"error": "Quota exceeded"}, None),
        (429, {"errors": [{"code": "QuotaExceeded", "message": "You exceeded your quota."}]}, None),
        # On a 402 it is a gate: credits, no word saying whose.
        (402, {"error": "quota_exceeded"}, CR),
        # A window of a month or the billing period stated in the words: the plan's.
        (429, {"error": "quota_exceeded", "message": "Quota exceeded for this billing period."}, P),
        (403, {"error": "Quota exceeded", "message": "You have used this month's quota."}, P),
        (403, {"error": "Quota exceeded. You have used this month's quota."}, P),
        (402, {"error": "Quota exceeded for this month."}, P),
        # A window of a minute, an hour or a day: a throttle, whatever else is said.
        (429, {"error": "quota_exceeded", "message": "Quota of 100 requests per minute."}, None),
        (429, {"error": "quota_exceeded", "message": "Daily quota exceeded."}, None),
        (
            429,
            {"error": "quota_exceeded", "message": "Daily quota exceeded; monthly is fine."},
            None,
        ),
        (403, {"error": "Quota exceeded", "message": "Your quota resets in 3 hours."}, None),
    ],
)
def test_a_bare_quota_is_decided_by_its_stated_window(
    status: int, body: Any, expected: Any
) -> None:
    assert reason_of(status, body) is expected
