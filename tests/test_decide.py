"""`decide`: the one ladder from what a payload states to a reason, rung by rung."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason
from http402._classify.decide import decide
from http402._classify.families import Family
from http402._classify.fields import read_fields


def reason(payload: Any, *, strict: bool = False, **options: Any) -> Reason | None:
    verdict = decide(read_fields(payload), strict=strict, **options)
    return None if verdict is None else verdict.reason


class TestVetoes:
    def test_throttle_wording_vetoes_a_billing_code(self) -> None:
        """A rate limit stays a rate limit whatever code comes with it."""
        body = {"error": {"code": "insufficient_quota", "message": "Too many requests per minute."}}
        assert reason(body) is None

    def test_a_throttle_code_vetoes_billing_wording(self) -> None:
        """A rate-limit code and a plan's words: a throttle."""
        body = {"error": {"code": "rate_limit_exceeded", "message": "Upgrade your plan."}}
        assert reason(body) is None

    def test_a_finer_billing_code_outvotes_a_throttle_category(self) -> None:
        """A category `rate_limit_error` next to a code naming a spend limit, with no throttle
        words, is the spend limit (Anthropic's `error.details.error_code`)."""
        body = {
            "error": {
                "type": "rate_limit_error",
                "message": "You have reached your API usage limits.",
                "details": {"error_code": "credits_required"},
            }
        }
        assert reason(body, strict=True) is Reason.INSUFFICIENT_CREDITS
        body["error"]["message"] = "Rate limit reached for requests per minute."
        assert reason(body, strict=True) is None

    def test_words_that_plainly_state_a_gate_outvote_a_throttle_category(self) -> None:
        """`rate_limit_error` with "you have exceeded your monthly spend limit" is the cap;
        with a bare quota or a remedy alone it stays a throttle."""
        body = {
            "error": {
                "type": "rate_limit_error",
                "message": "You have exceeded your monthly spend limit.",
            }
        }
        assert reason(body, strict=True) is Reason.INSUFFICIENT_CREDITS
        for words in ("You exceeded your current quota.", "Upgrade your plan for more."):
            body["error"]["message"] = words
            assert reason(body, strict=True) is None

    def test_a_daily_window_vetoes_only_a_strict_reading(self) -> None:
        """A daily limit lifts by itself; a 402 may still state one as its reason."""
        body = {"error": {"message": "You have exceeded your daily quota. Upgrade your plan."}}
        assert reason(body, strict=True) is None
        assert reason(body) is Reason.PLAN_LIMIT_EXCEEDED

    def test_throttle_words_elsewhere_in_the_body_veto_a_strict_reading_without_a_code(
        self,
    ) -> None:
        """A per-minute quota id in `details` makes a bare quota a throttle, not a code."""
        body = (
            '{"error": {"message": "Quota."}, "details": ["GenerateRequestsPerMinutePerProject"]}'
        )
        fields = read_fields({"error": {"message": "Insufficient quota."}})
        assert decide(fields, strict=True, context=body.lower()) is None
        coded = read_fields({"error": {"code": "insufficient_quota", "message": "Quota."}})
        verdict = decide(coded, strict=True, context=body.lower())
        assert verdict is not None and verdict.reason is Reason.INSUFFICIENT_CREDITS

    def test_a_refused_transfer_is_no_gate(self) -> None:
        """Issue 23's judgement call: a payout or transfer that lacks funds is the
        application's own money movement, by its words, its code or its URL."""
        words = {"error": {"message": "Insufficient funds in your account for this transfer."}}
        assert reason(words) is None
        assert reason({"error": {"code": "balance_insufficient"}}) is None
        paypal = {"name": "INSUFFICIENT_FUNDS", "message": "An internal service error."}
        assert reason(paypal, moves_money=lambda: True) is None
        # Elsewhere the code alone is a lack of funds, read as a balance that ran out (a card
        # in the words would make it a decline: `vocabulary/payment.py` says why).
        assert reason(paypal, moves_money=lambda: False) is Reason.INSUFFICIENT_CREDITS

    def test_a_payment_products_own_operation_lacking_funds_is_no_gate(self) -> None:
        """A refund, a withdrawal or a transfer of a payment product that lacks funds, in any
        language the balance family is read in, is the product's money, not its bill."""
        for words in (
            "Saldo insuficiente para estorno.",
            "Insufficient balance for this refund.",
            "Fondos insuficientes para el retiro.",
            "余额不足，无法退款",
        ):
            assert reason({"errors": [{"message": words}]}, strict=True) is None, words
        assert reason({"message": "Saldo insuficiente."}, strict=True) is (
            Reason.INSUFFICIENT_CREDITS
        )

    def test_a_refund_endpoint_moves_money(self) -> None:
        """A lack of funds answered on a refund's URL is the refund's, whatever its words."""
        body = json.dumps({"errors": [{"code": "x", "description": "Insufficient balance."}]})
        for url, gate in (
            ("https://api.example.com/v3/payments/p_1/refund", False),
            ("https://api.example.com/v1/refunds", False),
            ("https://api.example.com/v1/orders", True),
        ):
            response = httpx.Response(
                400,
                headers={"content-type": "application/json"},
                content=body.encode(),
                request=httpx.Request("POST", url),
            )
            assert (http402.classify(response) is not None) is gate, url

    def test_a_retry_within_the_hour_vetoes_a_strict_reading(self) -> None:
        """A payload that asks to retry in seconds states a window, whatever ran out
        ("complexity budget exhausted"); a 402 that says so still states its gate."""
        body = {
            "errors": [
                {
                    "message": "Complexity budget exhausted",
                    "extensions": {"code": "COMPLEXITY_BUDGET_EXHAUSTED", "retry_in_seconds": 1},
                }
            ]
        }
        assert reason(body, strict=True) is None
        assert reason(body) is Reason.INSUFFICIENT_CREDITS
        body["errors"][0]["extensions"]["retry_in_seconds"] = 86400
        assert reason(body, strict=True) is Reason.INSUFFICIENT_CREDITS

    def test_a_renewal_within_the_hour_is_a_throttle(self) -> None:
        """A quota replenished in minutes lifts by itself; one replenished in days is the
        plan's allowance."""
        body = {"message": "Out of call volume quota. Quota will be replenished in 00:30:02."}
        assert reason(body, strict=True) is None
        body["message"] = "Out of call volume quota. Quota will be replenished in 2.12 days."
        assert reason(body, strict=True) is Reason.PLAN_LIMIT_EXCEEDED

    @pytest.mark.parametrize(
        "renewal",
        [
            "Quota will be replenished in 07:01:20.",
            "Quota will be replenished in 23:59:59.",
            "Your quota will be replenished in 3 hours.",
            "The quota resets at midnight UTC.",
            "Your quota will be restored tomorrow.",
        ],
    )
    def test_a_renewal_within_a_day_is_a_window_on_a_strict_reading(self, renewal: str) -> None:
        """A countdown under a day is a window to wait out on a status other than 402
        (Blackbaud's 403 'Out of call volume quota ... in 07:01:20'); a 402 that says so
        still states its gate, as a daily limit's does."""
        body = {"message": f"Out of call volume quota. {renewal}"}
        assert reason(body, strict=True) is None
        assert reason(body) is Reason.PLAN_LIMIT_EXCEEDED

    @pytest.mark.parametrize(
        "renewal",
        [
            "Quota will be replenished in 2.12 days.",
            "Your quota resets on the 1st.",
            "Your quota renews with the next billing cycle.",
            "Your quota resets in 12 days.",
            "Quota will be replenished in 30:00:00.",
        ],
    )
    def test_a_monthly_allowances_renewal_is_no_window(self, renewal: str) -> None:
        """A renewal in days, on a date or with the billing cycle is the plan's allowance."""
        body = {"message": f"Out of call volume quota. {renewal}"}
        assert reason(body, strict=True) is Reason.PLAN_LIMIT_EXCEEDED

    def test_a_restated_reason_phrase_is_a_category_not_a_throttle(self) -> None:
        """'Too many requests' beside words that state a monthly allowance is the status
        restated: the allowance decides; alone or beside a bare quota it stays a throttle."""
        body = {"error": "Too many requests", "message": "Your monthly limit has been exceeded"}
        assert reason(body, strict=True) is Reason.PLAN_LIMIT_EXCEEDED
        body["message"] = "You exceeded your current quota."
        assert reason(body, strict=True) is None
        assert reason({"error": "Too many requests"}, strict=True) is None
        worded = {"error": "Too many requests; your monthly limit has been exceeded"}
        assert reason(worded, strict=True) is None

    def test_a_remedy_lets_a_weak_statement_name_the_reason_on_a_strict_reading(self) -> None:
        """A remedy asked plainly makes a message a gate on any status; what happened is then
        read by every rule: an account that is off and asked to subscribe is a lapse. Without
        the remedy the account that is off is no gate on a strict reading."""
        body = {
            "detail": "Your account currently has live mode disabled. Subscribe to a plan in "
            "the dashboard to enable live mode again."
        }
        assert reason(body, strict=True) is Reason.SUBSCRIPTION_EXPIRED
        assert reason(
            {"detail": "Your account currently has live mode disabled."}, strict=True
        ) is (None)
        assert reason({"detail": "Subscribe to a plan to continue."}, strict=True) is (
            Reason.PLAN_LIMIT_EXCEEDED
        )
        locked = {"detail": "Your account is disabled for security reasons. Subscribe to a plan."}
        assert reason(locked, strict=True) is None

    def test_moving_money_leaves_other_gates_alone(self) -> None:
        """On a payout endpoint, a lapsed subscription is still a gate: only a lack of funds
        is the transfer's."""
        body = {"error": {"message": "Your subscription has expired."}}
        assert reason(body, moves_money=lambda: True) is Reason.SUBSCRIPTION_EXPIRED


class TestAnotherRefusal:
    def test_a_security_lock_outvotes_a_quota_code(self) -> None:
        """A code does not outvote a message that plainly says something else."""
        body = {
            "error": {
                "code": "insufficient_quota",
                "message": "Your account has been locked for security reasons.",
            }
        }
        assert reason(body) is None

    def test_strong_billing_words_still_count_next_to_another_refusal(self) -> None:
        """A bad-key sentence next to a plain balance statement: the balance."""
        body = {"error": {"message": "Your credit balance is too low. Invalid API key header."}}
        assert reason(body) is Reason.INSUFFICIENT_CREDITS


class TestWhatHappened:
    def test_a_specific_code_comes_before_wording(self) -> None:
        """`insufficient_balance` decides, whatever plan the message mentions."""
        body = {"error": {"code": "insufficient_balance", "message": "Upgrade your plan."}}
        verdict = decide(read_fields(body), strict=True)
        assert verdict is not None
        assert (verdict.reason, verdict.by, verdict.code) == (
            Reason.INSUFFICIENT_CREDITS,
            "code",
            "insufficient_balance",
        )

    def test_specific_wording_refines_a_vague_code(self) -> None:
        """A quota code with a balance sentence is the balance's."""
        body = {"error": {"code": "insufficient_quota", "message": "Your balance is too low."}}
        verdict = decide(read_fields(body), strict=True)
        assert verdict is not None
        assert verdict.family is Family.BALANCE_EXHAUSTED
        assert verdict.code == "insufficient_quota"

    @pytest.mark.parametrize(
        ("message", "family"),
        [
            # A balance outranks the suspension it caused.
            (
                "Your account is suspended due to insufficient balance, please recharge.",
                Family.BALANCE_EXHAUSTED,
            ),
            # An allowance outranks the credits it is counted in.
            (
                "You have exceeded your monthly included credits. Subscribe to PRO.",
                Family.FREE_ALLOWANCE_USED,
            ),
            # A failed card outranks everything.
            ("Your card was declined and your balance is too low.", Family.INSTRUMENT_DECLINED),
            # A spend cap outranks the suspension it caused, as a balance does: raising the
            # cap lifts it (the same on a 402 and off one).
            (
                "Account is suspended after reaching the monthly spending limit.",
                Family.SPEND_CAP_REACHED,
            ),
            ("Your subscription was suspended: budget exceeded.", Family.SPEND_CAP_REACHED),
            # A debt the account owes outranks the suspension and the spend cap it names.
            (
                "Account is suspended after reaching the monthly spending limit or failure to "
                "pay past invoices.",
                Family.ACCOUNT_IN_ARREARS,
            ),
            # A debt outranks a balance in the same words (Huawei OBS's 403).
            ("In arrear or insufficient balance.", Family.ACCOUNT_IN_ARREARS),
            ("Your account is overdue and its balance is insufficient.", Family.ACCOUNT_IN_ARREARS),
        ],
    )
    def test_the_family_of_lowest_rank_wins(self, message: str, family: Family) -> None:
        """When a message states several families, the rank decides, not the word order."""
        verdict = decide(read_fields({"message": message}), strict=True)
        assert verdict is not None and verdict.family is family

    @pytest.mark.parametrize(
        ("message", "expected"),
        [
            ("Quota exceeded. Change your plan to get more.", Reason.PLAN_LIMIT_EXCEEDED),
            ("Quota exceeded. Please top up your balance.", Reason.INSUFFICIENT_CREDITS),
            ("You exceeded your current quota.", Reason.INSUFFICIENT_CREDITS),
            ("The free tier of the model has been exhausted.", Reason.PLAN_LIMIT_EXCEEDED),
            ("Your free tier usage is used up. Purchase credits.", Reason.INSUFFICIENT_CREDITS),
            ("Monthly request limit reached.", Reason.PLAN_LIMIT_EXCEEDED),
        ],
    )
    def test_a_vague_family_takes_the_remedys_reason(self, message: str, expected: Reason) -> None:
        """A quota or an allowance says something ran out, not whose: the remedy says."""
        assert reason({"message": message}) is expected

    def test_a_remedy_alone_decides(self) -> None:
        """ "Upgrade your plan" on its own is a plan limit; "top up" a balance."""
        assert reason({"message": "Please upgrade your plan."}) is Reason.PLAN_LIMIT_EXCEEDED
        assert reason({"message": "Please top up."}) is Reason.INSUFFICIENT_CREDITS


class TestFieldsAlone:
    def test_fields_count_only_on_a_reading_that_is_not_strict(self) -> None:
        """A required plan, or an amount, names the reason of a 402; never of a 400."""
        assert reason({"required_plan": "pro"}) is Reason.PLAN_LIMIT_EXCEEDED
        assert reason({"balance": 0, "cost": 3}) is Reason.INSUFFICIENT_CREDITS
        assert reason({"balance": 0, "cost": 3}, strict=True) is None

    def test_a_limit_with_nothing_remaining_says_what_ran_out(self) -> None:
        """`limit: {"remaining": 0}` under a name: a monthly volume is the plan's; a bare
        one is money used up."""
        monthly = {
            "error": "limit",
            "limit": {"name": "Monthly requests", "limit": 100, "remaining": 0},
        }
        verdict = decide(read_fields(monthly), strict=False)
        assert verdict is not None and verdict.family is Family.PLAN_VOLUME_USED
        bare = {"limit": {"limit": 100, "remaining": 0}}
        assert reason(bare) is Reason.INSUFFICIENT_CREDITS
        assert reason(monthly, strict=True) is None


class TestWhichWordsCount:
    def test_a_form_fields_message_is_not_the_errors_reason(self) -> None:
        """Under a validation error, a field's message names no gate."""
        body = {
            "message": "Unprocessable Entity",
            "errors": [{"field": "coupon", "message": "Coupon only available on paid plans"}],
        }
        assert reason(body) is None

    def test_an_upstream_errors_message_counts(self) -> None:
        """A gateway's upstream error, kept as JSON text, says why."""
        upstream = '{"error": {"message": "Your credit balance is too low."}}'
        body = {"error": {"message": "Provider returned error", "metadata": {"raw": upstream}}}
        verdict = decide(read_fields(body), strict=True)
        assert verdict is not None
        assert verdict.message == "Your credit balance is too low."

    def test_a_remedy_hint_counts(self) -> None:
        """OpenRouter's `metadata.remedy_hint` is the error's own words."""
        body = {
            "error": {
                "message": "Request failed.",
                "metadata": {
                    "remedy_hint": "Add credits at https://openrouter.ai/settings/credits"
                },
            }
        }
        assert reason(body, strict=True) is Reason.INSUFFICIENT_CREDITS


C, S, P, F = (
    Reason.INSUFFICIENT_CREDITS,
    Reason.SUBSCRIPTION_EXPIRED,
    Reason.PLAN_LIMIT_EXCEEDED,
    Reason.PAYMENT_FAILED,
)
N = None
#: Each family as other providers word it (paraphrases, not recorded payloads: a rule that
#: fits one payload but not its family fails here), and look-alikes worded as hard.
PARAPHRASES = [
    ("Your account balance is insufficient for this request.", C),
    ("You don't have enough credits to complete this request.", C),
    ("Your credits have run out.", C),
    ("Out of credits. Please purchase more.", C),
    ("Credit balance is zero.", C),
    ("Your wallet balance is too low.", C),
    ("Please add funds to your account to continue.", C),
    ("Your prepaid balance has been exhausted.", C),
    ("You have 0 credits remaining.", C),
    ("Account has no credits.", C),
    ("Insufficient funds in account.", C),
    ("You have used all of your credits.", C),
    ("余额不足，请充值后重试", C),
    ("账户余额不足", C),
    ("积分不足", C),
    ("额度不足，请联系管理员", C),
    ("Your subscription has expired.", S),
    ("Your plan has expired. Please renew.", S),
    ("Your account has been suspended due to non-payment.", S),
    ("Payment overdue. Service suspended.", S),
    ("Your trial has ended. Subscribe to continue.", S),
    ("No active subscription found for this account.", S),
    ("API access has been disabled due to an unpaid invoice.", S),
    ("Billing is not enabled for this project.", S),
    ("您的账户已欠费", S),
    # "Paid" names no tier of a subscription: every subscription is paid (issue 19,
    # payloads11's Datalab); "a paid plan" or "a paid account" is the plan's.
    ("Requires a paid subscription.", S),
    ("You need an active, paid subscription to use this API.", S),
    ("Your organization's billing has been suspended under its contract.", S),
    ("This feature is not available on your current plan.", P),
    ("This model is only available to Pro users.", P),
    ("Your plan does not support this model.", P),
    ("A paid plan is required to use this model.", P),
    ("Please upgrade your account to continue.", P),
    ("You have reached your monthly limit. Upgrade to get more.", P),
    ("Monthly quota exceeded.", P),
    ("You've used all your searches for this month.", P),
    ("You have exceeded the number of requests allowed by your plan.", P),
    ("Page limit reached for your plan.", P),
    ("Your free tier quota has been exhausted.", P),
    ("Free plan limit reached. Upgrade to continue.", P),
    ("Trial accounts can only call this endpoint 10 times.", P),
    ("当前套餐不支持该功能", P),
    ("You have reached your spending limit.", C),
    ("Budget limit reached for this key.", C),
    ("Your organization has reached its monthly spend cap.", C),
    ("Your request has been throttled. API credit budget reached.", C),
    ("Your payment method was declined.", F),
    ("Payment declined.", F),
    ("We couldn't charge your card.", F),
    ("Your card has expired.", F),
    ("No payment method on file.", F),
    ("Declined for CVV failure.", F),
    ("The transaction was declined due to an AVS mismatch.", F),
    # look-alikes
    ("Too many requests, please slow down.", N),
    ("You have exceeded the rate limit.", N),
    ("Concurrent request limit exceeded. Upgrade your plan for more.", N),
    ("Quota exceeded for quota metric 'Requests' and limit 'Requests per minute'.", N),
    ("请求过于频繁", N),
    ("QPS超限", N),
    ("Invalid API key.", N),
    ("The API key provided has expired.", N),
    ("Payment amount must be greater than zero.", N),
    ("Insufficient permissions.", N),
    ("Insufficient storage space.", N),
    ("Your daily quota has been exceeded. Try again tomorrow.", N),
    ("Your account has been locked for security reasons.", N),
    ("Subscription not found.", N),
    ("This subscription is already canceled.", N),
    ("The plan id is invalid.", N),
    ("Upgrade your client to the latest version.", N),
    ("Insufficient funds for this payout.", N),
    ("You do not have enough balance to make this payment.", N),
    ("Saldo insuficiente para realizar este pago.", N),
    ("Requests are throttled. Upgrade your plan for higher limits.", N),
    ("The CVV field is required.", N),
    ("User location is not supported for the API use.", N),
    ("Model not found.", N),
    ("You do not have access to this model.", N),
    ("Free tier users are limited to 10 requests per minute.", N),
]


def _classify(status: int, text: str) -> Reason | None:
    body = json.dumps({"error": {"message": text}}).encode()
    response = httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=body,
        request=httpx.Request("POST", "http://gateway.example/v1/chat/completions"),
    )
    payment = http402.classify(response)
    return None if payment is None else payment.reason


GATES = [(text, reason) for text, reason in PARAPHRASES if reason is not None]
LOOK_ALIKES = [text for text, reason in PARAPHRASES if reason is None]


@pytest.mark.parametrize(("text", "expected"), GATES, ids=[t for t, _ in GATES])
@pytest.mark.parametrize("status", [403, 429, 402])
def test_a_family_is_recognised_however_a_provider_words_it(
    text: str, expected: Reason, status: int
) -> None:
    """A gateway's 403 or 429, and any 402, give each wording its family's reason."""
    assert _classify(status, text) is expected


@pytest.mark.parametrize("text", LOOK_ALIKES)
@pytest.mark.parametrize("status", [400, 403, 429])
def test_a_look_alike_worded_as_hard_is_no_gate(text: str, status: int) -> None:
    """A throttle, a bad key, a validation error, a lock, a payout: no gate on a 4xx."""
    assert _classify(status, text) is None
