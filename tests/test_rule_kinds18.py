"""Kinds of billing gate that two blind sets (`research/payloads18`, `research/payloads19`)
showed, each held both ways: the gate in other providers' words, and the look-alike that
must stay no gate (or a 402's own answer). The kinds of `research/payloads17` are
`tests/test_rule_kinds17.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402 import Reason

from .kinds import CR, C, F, P, S, U, classify, reason_of

# ------------------------- 1. a priced challenge stated by a 402 body's flat fields

#: p2pago's documented 402 (github.com, its README's contract), as printed: the recipient is
#: the docs' placeholder.
_P2PAGO = {
    "paymentRequired": True,
    "recipient": "0x...",
    "chainId": 8453,
    "amountWei": "1000000000000000",
    "amountFormatted": "0.001 ETH",
    "label": "Premium access",
}
#: vyra's 402: it names x402 as its protocol but carries none of x402's fields.
_VYRA = {"protocol": "x402", "chain": "solana", "amount": "0.01", "memo": "article_42"}


@pytest.mark.parametrize("body", [_P2PAGO, _VYRA])
def test_a_flat_price_and_where_to_pay_it_is_a_priced_challenge(body: Any) -> None:
    """A price (a unit in its key too: `amountWei`) beside a payee, the chain it is paid on
    or the payment protocol it is paid by: a challenge with no offer (a placeholder payee,
    a shape no spec defines)."""
    payment = classify(402, body)
    assert payment is not None
    assert payment.reason is C
    assert payment.payment_options == ()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"price_lamports": 5000, "payee": "So1anaAddr"}, C),
        ({"amount_gwei": "20", "chain": "base"}, C),
        ({"amount": "0.01", "network": "eip155:8453"}, C),
        ({"price": 0.02, "payment_protocol": "L402"}, C),
        # No rail: a price alone, or a card's network, or a protocol that is no payment's.
        ({"amount": "0.01", "currency": "USD"}, U),
        ({"amount": 1000, "currency": "usd", "network": "visa"}, U),
        ({"amount": 5, "protocol": "https"}, U),
        # No exact price: a formatted amount is for a person.
        ({"amountFormatted": "0.001 ETH", "recipient": "0xabc"}, U),
        ({"amount": "about a cent", "chain": "solana"}, U),
        # Words that name what happened decide first.
        ({"error": "Insufficient balance.", "amount": "0.01", "chain": "solana"}, CR),
    ],
)
def test_where_to_pay_on_a_402(body: Any, expected: Reason) -> None:
    assert reason_of(402, body) is expected


@pytest.mark.parametrize("status", [400, 403, 429])
def test_a_flat_priced_body_off_a_402_is_no_gate(status: int) -> None:
    assert classify(status, _VYRA) is None
    assert classify(status, _P2PAGO) is None


# ------------------------- 2. a money movement of the product's user, refused (Korean too)

_BITHUMB = {
    "error": {
        "message": "출금 최대 한도가 초과 되었습니다.",
        "name": "withdraw_insufficient_balance",
    }
}


@pytest.mark.parametrize(
    "body",
    [
        _BITHUMB,
        # The code alone, the message alone: each says the withdrawal's.
        {"error": {"name": "withdraw_insufficient_balance"}},
        {"code": "INSUFFICIENT_BALANCE_FOR_PAYOUT"},
        {"code": "refund_credits_insufficient"},
        {"error": {"message": "출금 최대 한도가 초과 되었습니다."}},
        # A balance code beside words that say the movement lacked, or passed its limit, in
        # Korean, Japanese and Chinese.
        {"code": "insufficient_balance", "message": "출금 가능 잔액이 부족합니다."},
        {"code": "insufficient_balance", "message": "잔액이 부족하여 송금할 수 없습니다."},
        {"code": "insufficient_balance", "message": "残高不足のため出金できません。"},
        {"code": "insufficient_balance", "message": "出金上限を超過しました。"},
        {"code": "insufficient_balance", "message": "提现金额超过上限"},
        {"code": "insufficient_balance", "message": "The maximum withdrawal limit was exceeded."},
    ],
)
def test_a_money_movement_refused_is_no_gate(body: Any) -> None:
    assert classify(400, body) is None


def test_a_withdrawal_path_moves_money() -> None:
    """Bithumb's `/v1/withdraws/coin`: a lack of funds there is the withdrawal's."""
    url = "https://api.bithumb.example/v1/withdraws/coin"
    assert classify(400, {"code": "insufficient_balance"}, url=url) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # The API's own balance, in Korean and in a code, stays a gate.
        ({"message": "잔액이 부족합니다. 충전 후 다시 시도해 주세요."}, CR),
        ({"code": "insufficient_balance"}, CR),
        ({"code": "INSUFFICIENT_ACCOUNT_CREDITS"}, CR),
        # A plan's allowance counted in data transferred is no money movement.
        ({"message": "Monthly data transfer limit exceeded. Upgrade your plan."}, P),
    ],
)
def test_the_apis_own_balance_stays_a_gate(body: Any, expected: Reason) -> None:
    assert reason_of(400, body) is expected


# ------------------------- 3. a stored-value card's balance is its holder's, not the API's

_SECUCONNECT = {
    "status": "error",
    "error": "ProductNotEnoughBalanceException",
    "error_details": "Card balance is exceeded",
    "error_user": "Kartenguthaben reicht nicht aus",
    "code": 0,
    "supportId": "af545b27c2d1f0bfd51254a96ffe32c6",
}


@pytest.mark.parametrize(
    "body",
    [
        _SECUCONNECT,
        {"message": "Insufficient gift card balance."},
        {"code": "insufficient_balance", "message": "Saldo de la tarjeta insuficiente."},
    ],
)
def test_a_stored_value_cards_balance_is_no_gate(body: Any) -> None:
    assert (
        classify(400, body, url="https://connect.example/api/v2/Loyalty/Cards/crd_1/charge") is None
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A card declined for its funds while paying the API, the account's own balance.
        ({"error": {"code": "card_declined", "message": "Your card has insufficient funds."}}, F),
        ({"message": "Your credit balance is too low."}, CR),
    ],
)
def test_a_cards_decline_and_the_accounts_balance_stay_gates(body: Any, expected: Reason) -> None:
    assert reason_of(402, body) is expected
    assert reason_of(400, body) is expected


# ------------------------- 4. a plan required may be any active one; an account cancelled


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # hesgoals' 403: no plan at all is a lapse, read by the words the code joins.
        (
            {
                "error": {
                    "code": "PLAN_REQUIRED",
                    "message": "No active plan associated with account.",
                }
            },
            S,
        ),
        # A tier named, or the code alone, stays the plan's.
        ({"error": {"code": "PLAN_REQUIRED", "message": "Pro plan required."}}, P),
        ({"code": "plan_required"}, P),
        ({"code": "paid_plan_required", "message": "No active plan associated with account."}, P),
    ],
)
def test_a_plan_required_joins_the_words(body: Any, expected: Reason) -> None:
    assert reason_of(403, body) is expected


@pytest.mark.parametrize(
    "body",
    [
        {
            "error": {
                "code": "ACCOUNT_SUSPENDED",
                "message": "Account has been suspended or cancelled.",
            }
        },
        {"message": "Your account was cancelled."},
    ],
)
def test_an_account_cancelled_is_a_lapse_on_any_status(body: Any) -> None:
    assert reason_of(403, body) is S
    assert reason_of(402, body) is S


@pytest.mark.parametrize(
    "body",
    [
        # A suspension that names no cause stays weak off a 402 (GitHub's ToS hold, QWeather's
        # and Iron.io's words alike), as do a customer's or a member's block.
        {"message": "Sorry. Your account was suspended."},
        "Your project has been suspended",
        {"error": {"title": "Account Suspension", "detail": "Your account has been suspended."}},
        {"message": "Account deletion was cancelled."},
        {"code": "CUSTOMER_BLOCKED", "title": "Customer temporarily blocked"},
        {
            "error": {
                "message": "Service usage has been restricted in accordance with our "
                "operational policy.",
                "name": "blocked_member_id",
            }
        },
    ],
)
def test_a_suspension_naming_no_cause_is_no_gate_off_a_402(body: Any) -> None:
    assert classify(403, body) is None


def test_a_suspension_naming_no_cause_is_a_lapse_on_a_402() -> None:
    assert reason_of(402, "Your project has been suspended") is S


# ------------------------- 5. money held, a cap the account set, an upgrade of what ran out


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # QWeather's "No Credit": a savings plan is money committed ahead, not a plan.
        (
            403,
            {
                "error": {
                    "type": "https://dev.qweather.com/docs/resource/error-code/#no-credit",
                    "title": "No Credit",
                    "detail": "Your account does not have enough available credit, savings "
                    "plan or other quota; the request was rejected.",
                }
            },
            CR,
        ),
        # Dune's 402: a limit the account configured is its cap, whatever its window.
        (402, {"error": "This request would exceed your configured limits per billing cycle."}, CR),
        (403, {"message": "This request exceeds the limits you have set."}, CR),
        (402, {"error": "You have exceeded your plan's limits for this billing cycle."}, P),
        # moderationapi's 403: an upgrade asked, its object left out, in the quota's clause.
        (403, {"code": "FORBIDDEN", "message": "Your quota is used and you need to upgrade."}, P),
    ],
)
def test_money_held_a_cap_set_and_an_upgrade_of_what_ran_out(
    status: int, body: Any, expected: Reason
) -> None:
    assert reason_of(status, body) is expected


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Your quota upgrade request is pending."},
        {"message": "Your client is outdated, you need to upgrade."},
        {"message": "Quota exceeded."},
    ],
)
def test_no_upgrade_of_what_ran_out_is_no_gate_off_a_402(body: Any) -> None:
    assert classify(403, body) is None


# ------------------------- 6. a cap in money the account set, whatever its window


@pytest.mark.parametrize(
    "body",
    [
        # API Direct's 429s and Meridian's (payloads17).
        {"error": "Daily spending limit reached", "code": "daily_limit_exceeded"},
        {"error": "Monthly spending limit reached", "code": "monthly_limit_exceeded"},
        {"error": "quota_exceeded", "retry_after_ms": 3200, "cap_type": "monthly_spend"},
        {"error": "Weekly budget exceeded."},
        {"code": "limit_exceeded", "limit_type": "daily_spend"},
    ],
)
def test_a_spend_cap_with_a_window_is_money_on_a_429(body: Any) -> None:
    assert reason_of(429, body) is CR


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A count of requests per day or per minute stays a throttle, a month's the plan's.
        ({"error": "Daily request limit reached", "code": "daily_limit_exceeded"}, None),
        ({"error": "You have been throttled: your daily budget is exhausted."}, None),
        ({"error": "Spending limit checks are limited to 10 per minute."}, None),
        ({"error": "Monthly request limit reached", "code": "monthly_limit_exceeded"}, P),
        ({"error": "quota_exceeded", "cap_type": "monthly_spend_report"}, None),
    ],
)
def test_a_window_of_requests_is_no_spend_cap(body: Any, expected: Reason | None) -> None:
    assert reason_of(429, body) is expected


def test_a_trials_cost_allowance_set_by_the_provider_is_the_plans() -> None:
    """Onyx's 429 (payloads18): a trial account's weekly LLM cost allowance, set by the
    provider, whose remedies are the plan's (upgrade, wait for the next billing period)."""
    body = {
        "error_code": "RATE_LIMITED",
        "detail": "LLM usage limit exceeded for trial account. Current cost: $5.00, Limit: "
        "$5.00 per week. Please use your own LLM API key, upgrade your plan, or wait for the "
        "next billing period (1 week).",
    }
    assert reason_of(429, body) is P
