"""Kinds of billing gate that two blind sets (`research/payloads20`, `research/payloads21`)
showed on statuses other than 402, each held both ways: the gate in other providers' words,
and the look-alike that must stay no gate. The kinds of `research/payloads18` and
`research/payloads19` are `tests/test_rule_kinds18.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402 import Reason
from http402._classify.decide import read_code

from .kinds import CR, F, P, S, U, classify, reason_of

# ------------------------- 1. a platform's own currency, not money, held as credits are

#: AI Horde's 403 (`horde/exceptions.py` KudosUpfront, a werkzeug Forbidden; the message as a
#: user pasted it in Haidra-Org/AI-Horde issue 76).
_KUDOS = {
    "message": "For requests over 1024x1024 or over 100 steps, the client needs to already "
    "have the required kudos. This request requires 857.4 kudos to fulfil",
    "rc": "KudosUpfront",
}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, _KUDOS),
        # NovelAI's 402 and the same words off a 402; Civitai's orchestrator.
        (402, {"statusCode": 402, "message": "Not enough Anlas"}),
        (400, {"message": "Not enough Anlas"}),
        (400, {"error": "Insufficient Buzz to run this generation."}),
        (429, {"error": "This request requires 12 kudos upfront."}),
    ],
)
def test_a_platforms_currency_lacking_is_a_balance(status: int, body: Any) -> None:
    assert reason_of(status, body) is CR


@pytest.mark.parametrize(
    "body",
    [
        {"message": "Kudos to the team for the release!"},
        {"message": "The buzzer is not enough."},
        # Kudos sent to another user: the user's own money moving, by its path.
        {"message": "Not enough kudos."},
    ],
)
def test_a_platforms_currency_named_otherwise_is_no_gate(body: Any) -> None:
    url = "https://aihorde.example/api/v2/kudos/transfer"
    assert classify(400, body, url=url) is None


def test_a_currency_named_nowhere_near_a_lack_is_no_gate() -> None:
    assert classify(400, {"message": "Kudos to the team for the release!"}) is None


# ------------------------- 2. a payment method missing, said with "have", in other languages

#: Clever Cloud's sentence (CleverCloud/clever-tools issue 401, "This was in the API."); the
#: status and the envelope are the research's assumption.
_CLEVER = {
    "id": 4000,
    "message": "I won't provision this add-on: you don't have selected a default payment method.",
    "type": "error",
}


@pytest.mark.parametrize(
    "body",
    [
        _CLEVER,
        {"message": "You do not have a payment method on file."},
        {"message": "This organisation hasn't selected a payment method yet."},
        {"message": "Sie haben keine Zahlungsmethode hinterlegt."},
        {"message": "Vous n'avez aucun moyen de paiement enregistré."},
        {"message": "Você não tem um método de pagamento cadastrado."},
        {"message": "Cuenta sin método de pago."},
    ],
)
def test_a_payment_method_the_account_does_not_have_is_payment_failed(body: Any) -> None:
    assert reason_of(400, body) is F


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # A lack stays a lack, a permission a permission.
        ({"message": "Your account does not have enough balance for this request."}, CR),
        ({"message": "You don't have permission to do this."}, None),
        ({"message": "You do not have access to this model."}, None),
        ({"message": "The payment method id does not have a customer."}, None),
    ],
)
def test_have_not_beside_other_words(body: Any, expected: Reason | None) -> None:
    assert reason_of(400, body) is expected


# ------------------------- 3. a license is what a subscription sells

#: Comm100's two 403s (github.com/Comm100/APIDesign v3/Comm100-Restful-API-Common.md).
_NO_LICENSES = {
    "code": 403005,
    "message": "There are no licenses in your account. Please contact your account manager "
    "to purchase new licenses.",
}
_EXPIRED_LICENSES = {
    "code": 403004,
    "message": "You have license(s) expired, or your current agent count has exceeded the "
    "total valid licenses. Please add new licenses to avoid any service interruption.",
}
#: Zoho Sign's 8026 (zoho.com/sign/api/error-codes.html), as a developer pasted it.
_ZOHO_SIGN = {"code": 8026, "message": "Upgrade your Zoho Sign license.", "status": "failure"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (403, _NO_LICENSES, S),
        (403, _EXPIRED_LICENSES, S),
        (400, _ZOHO_SIGN, P),
        # Kibana's detection-engine 403; a node count and an upgrade of the license.
        (
            403,
            {
                "message": "Your license does not support machine learning. Please upgrade "
                "your license.",
                "status_code": 403,
            },
            P,
        ),
        (403, {"error": "Node limit reached (3/3). Remove a node or upgrade your license."}, P),
        (400, {"message": "Your licences have expired."}, S),
        (400, {"message": "Die Lizenz ist abgelaufen."}, S),
        (400, {"message": "This workspace has no active license. Buy licenses to continue."}, S),
    ],
)
def test_a_license_lapsed_missing_or_to_upgrade_is_a_gate(
    status: int, body: Any, expected: Reason
) -> None:
    assert reason_of(status, body) is expected


@pytest.mark.parametrize(
    "body",
    [
        {"error": "No license key provided."},
        {"error": "There are no available seats for this license."},
        {"message": "You need to accept the license agreement to access this model."},
        {"message": "A license agreement is required."},
        {"message": "License not found."},
        {"message": "Please add your license key in the settings."},
        {"message": "The license field is required."},
        # A user without a license is an administrator's assignment (weak off a 402).
        {"message": "Este usuario no tiene licencia asignada."},
        {"message": "All licenses of this user are used up."},
    ],
)
def test_a_license_named_otherwise_is_no_gate(body: Any) -> None:
    assert classify(403, body) is None


def test_licenses_used_up_on_a_402_are_the_plans() -> None:
    assert reason_of(402, {"message": "All licenses are used up."}) is P


# ------------------------- 4. a limit counted in the current window lifts by itself

#: CSGHub's AI gateway 429 (aigateway/handler/openai.go, handleUsageLimitExceeded).
_CSGHUB = {
    "error": {
        "code": "rate_limit_exceeded",
        "message": "Usage quota exceeded for current window",
        "type": "rate_limit_error",
    }
}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, _CSGHUB),
        (429, {"error": "Usage quota exceeded for current window"}),
        (
            429,
            {
                "code": "quota_exceeded",
                "message": "Guest message quota exceeded for the current window.",
            },
        ),
        (403, {"detail": "Quota exceeded for the current window. Please try again later."}),
        (400, {"message": "You have used all credits in this rolling window."}),
        # On a 402, as a day's window: its code says it lifts by itself.
        (402, _CSGHUB),
    ],
)
def test_a_limit_of_the_current_window_is_no_gate(status: int, body: Any) -> None:
    assert classify(status, body) is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # A window of the billing period is no throttle's.
        (429, {"error": "Quota exceeded for the current billing period."}, P),
        # The window a 402 states as its reason, as a day's: its quota is read.
        (402, {"error": "Usage quota exceeded for current window"}, CR),
        (
            400,
            {"error": "Your prompt exceeds the context window. Your credit balance is too low."},
            CR,
        ),
    ],
)
def test_other_windows(status: int, body: Any, expected: Reason) -> None:
    assert reason_of(status, body) is expected


# ------------------------- 5. a count of requests named as the limit, no period: a throttle

#: Crypto APIs' 429 (its documented envelope; the code and message as catalogued).
_CRYPTO_APIS = {
    "apiVersion": "2024-12-12",
    "requestId": "601c1710034ed6d407996b30",
    "context": "yourExampleString",
    "error": {
        "code": "request_limit_reached",
        "message": "The request limit has been reached. Please contact the team or upgrade "
        "your plan.",
    },
}


@pytest.mark.parametrize(
    "body",
    [
        _CRYPTO_APIS,
        {"message": "Your API request limit was exceeded. Upgrade your plan for more."},
        {"error": "The call limit has been hit. Please upgrade."},
    ],
)
def test_a_request_limit_with_no_period_is_a_throttle_off_a_402(body: Any) -> None:
    assert classify(429, body) is None
    assert classify(403, body) is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # The plan or a period stated: the plan's allowance.
        (429, {"message": "The request limit of your plan has been reached. Upgrade."}, P),
        (403, {"message": "Your monthly request limit has been reached. Upgrade your plan."}, P),
        # On a 402 the same words are the plan's (the remedy says so).
        (402, _CRYPTO_APIS, P),
    ],
)
def test_a_request_limit_of_a_plan_or_a_period(status: int, body: Any, expected: Reason) -> None:
    assert reason_of(status, body) is expected


# ------------------------- 6. a trade the request creates lacks the trader's own funds

#: Upbit's 400 (docs.upbit.com's error table: the envelope, the name, the Korean text).
_UPBIT = {
    "error": {"message": "매수/매도 가능 잔고가 부족합니다.", "name": "insufficient_funds_bid"}
}
_UPBIT_ORDERS = "https://api.upbit.example/v1/orders"


@pytest.mark.parametrize(
    "body",
    [
        _UPBIT,
        # The code alone, the message alone, the English twin a client's test pastes.
        {"error": {"name": "insufficient_funds_ask"}},
        {"error": {"message": "매수/매도 가능 잔고가 부족합니다."}},
        {"error": {"message": "Insufficient bid balance", "name": "insufficient_funds_bid"}},
        {"error": {"message": "매수 가능 금액이 부족합니다."}},
        # A broker's buying power, an exchange's margin, a buy order's funds.
        {"code": 40310000, "message": "insufficient buying power"},
        {"code": "INSUFFICIENT_BUYING_POWER"},
        {"message": "Order has insufficient margin."},
        {"message": "Insufficient funds to place this buy order."},
        {"msg": "买入可用余额不足"},
        {"msg": "売り注文の残高が不足しています。"},
    ],
)
def test_a_trade_lacking_funds_is_no_gate(body: Any) -> None:
    assert classify(400, body, url=_UPBIT_ORDERS) is None
    assert classify(403, body) is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # The API's own balance, on an orders path too (a telecom's number order).
        ({"message": "잔액이 부족합니다."}, CR),
        ({"errors": [{"title": "Insufficient Funds.", "detail": "Insufficient Funds."}]}, CR),
        ({"message": "Please ask your administrator to add credits: insufficient balance."}, CR),
        ({"code": "insufficient_funds"}, CR),
    ],
)
def test_a_lack_of_the_apis_own_balance_stays_a_gate(body: Any, expected: Reason | None) -> None:
    assert reason_of(400, body, url=_UPBIT_ORDERS) is expected


def test_a_trades_code_states_a_refused_movement() -> None:
    said = read_code("insufficient_funds_bid")
    assert said.transfer
    assert not read_code("insufficient_credits").transfer


# ------------------------- 7. judgements kept (docs/reasons.md)


def test_a_daily_spend_cap_in_money_stays_a_gate_on_a_429() -> None:
    """Hack Club AI's 429 text (`src/middleware/limits.ts`): a cap in money with a day's
    window is the account's cap whatever its window, as API Direct's 429 is; no word tells
    a free service's cap from a paid one's."""
    text = "Daily spending limit of $8 reached. Need a higher limit? hey@mahadk.com"
    assert reason_of(429, text) is CR


@pytest.mark.parametrize("status", [400, 403, 429])
def test_a_disablement_that_names_no_cause_is_weak_off_a_402(status: int) -> None:
    """360dialog's 400 `meta.developer_message` "Your WhatsApp for Business API has been
    disabled": no cause, no account or subscription named; a policy or quality hold says the
    same. No gate off a 402; on a 402 it is `unknown` (nothing names billing)."""
    body = {
        "meta": {
            "success": False,
            "http_code": status,
            "developer_message": "Your WhatsApp for Business API has been disabled",
            "360dialog_trace_id": "TOZFYLoh3xrUq2FsREQ",
        }
    }
    assert classify(status, body) is None
    assert reason_of(402, body) is U
