"""A 402's own reading (rung 7 of `_classify/decide.py`), as two blind sets showed it
(`research/payloads20`, `research/payloads21`): a 402 is no gate only when its words plainly
say something else and name no billing at all, so a window vetoes the clause it is stated
in, never the billing beside it, and a 402 that no rule reads takes its reason from the
concepts it names. Each kind is held both ways: the gate, and the look-alike that stays no
gate (or `unknown`)."""

from __future__ import annotations

from typing import Any

import pytest

from http402._classify.clauses import SET_ASIDE_ON_A_402, read_on_a_402
from http402._classify.concepts import Concept
from http402._classify.decide import decide, lifts_by_itself, read_a_402
from http402._classify.fields import Fields, Message
from http402._classify.vocabulary.combinations import NAMED_ON_A_402

from .kinds import CR, F, P, U, classify, reason_of

# ------------------------------- 1. a window vetoes its own clause, not the billing beside it

#: ngrok AI Gateway's ERR_NGROK_6033, as its error page words it (typo and all): a balance,
#: then a retry asked while a purchase propagates.
_BALANCE_THEN_RETRY = (
    "Insuffiucient AI Gateway Credits - Your credit balance is too low to use AI Gateway. You "
    "can purchase credits from the dashboard. If you've already upgraded, the change may take "
    "a few minutes to propagate, please try again in a little bit."
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"msg": _BALANCE_THEN_RETRY}, CR),
        ({"message": "Your account balance is exhausted. Try again in 5 minutes."}, CR),
        ({"error": "Too many requests per minute.", "message": "Insufficient balance."}, CR),
        # A code that names what happened is billing stated plainly too.
        ({"code": "insufficient_balance", "message": "Too many requests per minute."}, CR),
        # Look-alikes: only a throttle, or a throttle that merely mentions a plan, a quota or
        # an upgrade, stays no gate on a 402.
        ({"message": "You cannot make more than 10 requests per minute on your plan."}, None),
        ({"message": "Rate limit exceeded. Upgrade your plan for higher limits."}, None),
        (
            {
                "message": "Rate limit exceeded: 10 requests per minute. "
                "This limit applies to your current plan."
            },
            None,
        ),
        ({"message": "Too many requests per minute. You exceeded your current quota."}, None),
        ({"message": "Invalid API key. Please try again in a minute."}, None),
        ({"error": "Too many requests per minute."}, None),
    ],
)
def test_a_window_vetoes_its_clause_not_the_billing_beside_it(body: Any, expected: Any) -> None:
    assert reason_of(402, body) is expected


def test_the_message_shown_is_the_errors_whole_text() -> None:
    """The clause that decided is shown as the message it was read in."""
    payment = classify(402, {"msg": _BALANCE_THEN_RETRY})
    assert payment is not None
    assert payment.message == _BALANCE_THEN_RETRY


def test_the_rung_is_a_402s_only() -> None:
    """Off a 402 the window still vetoes, as rung 1 says (statuses are rules18's to read)."""
    throttled = {"message": "Too many requests per minute. Insufficient balance."}
    assert reason_of(429, throttled) is None
    assert reason_of(429, {"msg": _BALANCE_THEN_RETRY}) is None


def test_a_refused_transfer_stays_no_bill_on_a_402() -> None:
    """Issue 23 holds on a 402 too: a payout that lacks funds, beside a window or not."""
    body = {"message": "Insufficient funds for this payout. Try again in 5 minutes."}
    assert reason_of(402, body) is not CR
    fields = Fields()
    fields.messages.append(Message(body["message"], False))
    assert read_a_402(fields) is None


def test_a_money_cap_states_its_amount_in_cents() -> None:
    """A decimal point inside the cap's amount ends no sentence (Curate-Me's 402); a daily
    window in the cap's own words is the cap's period (the DAY rule of `_throttle_gives_way`)."""
    text = "Daily spend limit of $25.00 reached for organization org_1. Resets at 00:00 UTC."
    assert reason_of(402, {"error": {"code": "daily_limit_exceeded", "message": text}}) is CR
    assert reason_of(402, {"error": {"code": "daily_limit_exceeded"}}) is U
    assert reason_of(402, {"message": "Daily limit reached."}) is None


# ------------------------ 2. the concepts a 402 names, with the vetoes that lift nothing aside


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        # Unifonic's WhatsApp API: a lookup's "with ID" vetoes the clause off a 402 only.
        (
            402,
            "Application with ID: 3f1c2b7e-9a10-4d52-8d8e-0c6a7b5e1f21 belongs to an account "
            "which has no balance available.",
            CR,
        ),
        (403, "Application with ID: 3f1c2b7e belongs to an account which has no balance.", None),
        # A sandbox's allocation used up: an allowance (docs/reasons.md), the plan's.
        (402, "You have consumed the allocated Sandbox usage, please contact the team.", P),
        # The vetoes that name a refusal no payment lifts stay vetoes.
        (402, "Insufficient permissions to view the credits of this workspace.", U),
        (402, "Your account was locked for suspicious activity; your balance is safe.", U),
        (402, "Request failed.", U),
    ],
)
def test_the_concepts_a_402_names(status: int, text: str, expected: Any) -> None:
    assert reason_of(status, {"message": text}) is expected


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (402, "You must upgrade to make additional requests.", P),
        (402, "Upgrade required", P),
        # Off a 402 an upgrade named alone is a software's as often as a plan's.
        (403, "You must upgrade to make additional requests.", None),
        (400, "Please upgrade your SDK.", None),
    ],
)
def test_an_upgrade_named_on_a_402_is_the_plans(status: int, text: str, expected: Any) -> None:
    assert reason_of(status, {"error": {"error_msg": text, "error_name": "payment_required"}}) is (
        expected
    )


def test_an_upgrade_named_on_a_providers_host_is_not_read() -> None:
    """`NAMED_ON_A_402` is read by a 402's own reading only, never by a provider's adapter on
    another status (OpenAI's 400 is read with weak rules on its own host)."""
    body = {"error": {"message": "Please upgrade your SDK.", "type": "invalid_request_error"}}
    assert reason_of(400, body, url="https://api.openai.com/v1/chat/completions") is None


@pytest.mark.parametrize("rule", NAMED_ON_A_402, ids=lambda r: r.name)
def test_named_on_a_402_records_hold_to_their_examples(rule: Any) -> None:
    for example in rule.examples:
        assert rule.family in read_on_a_402(example.lower()), example
        assert reason_of(402, {"message": example}) is rule.family.reason, example
    for look_alike in rule.look_alikes:
        assert rule.family not in read_on_a_402(look_alike.lower()), look_alike


def test_the_vetoes_set_aside_lift_nothing() -> None:
    """Only the vetoes that lift nothing are set aside: a window, a retry, a resource and a
    bad key still make a 402 that names no billing no gate."""
    assert not any(concept in SET_ASIDE_ON_A_402 for concept in (Concept.WINDOW, Concept.KEY))
    for text in ("Too many requests in the sandbox per minute.", "Invalid API key with id 7."):
        fields = Fields()
        fields.messages.append(Message(text, False))
        assert decide(fields, strict=False) is None
        assert read_a_402(fields) is None
        assert lifts_by_itself(fields), text


# ------------------------ 3. a charge of the account that failed, what failed named by its remedy


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        # DataForSEO's documented 402 (a typographic apostrophe in "account’s").
        (
            402,
            "We had a problem billing your account. Please, check your account\u2019s balance.",
            CR,
        ),
        (403, "Billing your account failed. Please top up your balance.", CR),
        # Alone, or beside a card's or a payment method's words, it is the failed payment.
        (402, "We had a problem billing your account.", F),
        (402, "We had a problem billing your account. Please update your payment method.", F),
        (
            402,
            "We had a problem billing your account: your card was declined. Check your balance.",
            F,
        ),
        # No account named: a payment that failed is the payer's, whatever the remedy.
        (402, "Payment failed. Please check your balance.", F),
    ],
)
def test_a_charge_that_names_no_instrument_is_named_by_its_remedy(
    status: int, text: str, expected: Any
) -> None:
    assert reason_of(status, {"status_message": text}) is expected
