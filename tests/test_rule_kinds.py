"""Kinds of billing gate that a blind set (`research/payloads12`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or stay
a 402's `unknown`). A 402 header's payment request is `tests/test_payment_request.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402 import Reason

from .kinds import reason_of

P, S, C, F = (
    Reason.PLAN_LIMIT_EXCEEDED,
    Reason.SUBSCRIPTION_EXPIRED,
    Reason.INSUFFICIENT_CREDITS,
    Reason.PAYMENT_FAILED,
)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # An add-on is what a provider sells beside a plan: a feature not bought.
        (403, {"success": False, "error": "Developer API add-on required."}, P),
        (403, {"error": "This endpoint requires the Reporting add-on."}, P),
        (400, {"message": "The SMS add-on is not active on this account."}, P),
        (403, {"error": {"code": "addon_required"}}, P),
        # An add-on's id asked of a form, or an operation on one, is no gate.
        (403, {"error": "Add-on not found."}, None),
        (422, {"error": "Add-on already installed."}, None),
        (400, {"error": "The add-on id is required."}, None),
    ],
)
def test_an_add_on_required_is_a_plan_feature(status: int, body: Any, expected: Any) -> None:
    """CustomTradesCRM's 403 "Developer API add-on required.", and its look-alikes."""
    assert reason_of(status, body) is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (402, {"error": "no_subscription"}, S),
        (402, {"code": "NoActiveSubscription"}, S),
        (402, {"error": "missing_subscription"}, S),
        # Weak: off a 402 the code is also a feed's or a topic's; a key's missing is a
        # request's error, on any status.
        (403, {"error": "no_subscription"}, None),
        (402, {"error": "missing_subscription_key"}, None),
        (402, {"error": "no_subscription_found"}, Reason.UNKNOWN),
    ],
)
def test_a_code_that_says_no_subscription_is_a_lapse_on_a_402(
    status: int, body: Any, expected: Any
) -> None:
    """Xquik's 402 `{"error": "no_subscription"}`: renewing lifts it."""
    assert reason_of(status, body) is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # The decision (docs/reasons.md): a count of the account's resources is the plan's
        # allowance on a 402 ...
        (402, {"error": "monitor_limit_reached", "limit": 1}, P),
        (402, {"code": "ProjectLimitExceeded"}, P),
        # ... and no gate on a non-402 from a host with no adapter: a cloud's service quota,
        # a page size and a file size say the same.
        (403, {"error": "monitor_limit_reached", "limit": 1}, None),
        (400, {"Code": "VpcLimitExceeded", "Message": "The maximum number of VPCs."}, None),
        (402, {"error": "file_size_limit_exceeded", "limit": 10485760}, Reason.UNKNOWN),
        (402, {"error": "page_limit_exceeded", "limit": 100}, Reason.UNKNOWN),
        # A limit the account set stays the account's cap, money.
        (402, {"error": {"code": "SetLimitExceeded"}}, C),
    ],
)
def test_a_count_of_resources_reached_is_the_plans_on_a_402_only(
    status: int, body: Any, expected: Any
) -> None:
    """Xquik's 403 `monitor_limit_reached` with `"limit": 1` (the plan allows one monitor)
    is weak evidence: `plan_limit_exceeded` where the status or the host says "pay"."""
    assert reason_of(status, body) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": {
                    "code": "subscription_required",
                    "message": "Subscription required. Re-subscribe to continue.",
                }
            },
            S,
        ),
        ({"error": {"code": "subscription_required", "message": "Pro subscription required."}}, P),
        (
            {
                "__type": "SubscriptionRequiredException",
                "message": "AWS Premium Support Subscription is required to use this service.",
            },
            P,
        ),
        ({"error": {"code": "subscription_required"}}, P),
        ({"error": "Please resubscribe to keep using the API."}, S),
        ({"error": "Re-subscribe to the channel to receive events."}, None),
    ],
)
def test_subscription_required_is_decided_by_its_words(body: Any, expected: Any) -> None:
    """Autohost's 403 `subscription_required` "Re-subscribe to continue." is a lapse; a tier
    named, or no words, is the plan's (AWS's Premium Support)."""
    assert reason_of(403, body) is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # A relative problem type is a code, read by its last segment.
        (402, {"status": 402, "type": "/auth/account-suspended"}, S),
        (403, {"status": 403, "type": "/billing/insufficient-credits"}, C),
        # A suspension that names no cause is weak: off a 402 from a host with no adapter it
        # is no gate (GitHub's 403 "Your account was suspended" says the same).
        (403, {"status": 403, "type": "/auth/account-suspended"}, None),
        (401, {"status": 401, "type": "/auth/key-not-found"}, None),
        (403, {"status": 403, "type": "about:blank"}, None),
    ],
)
def test_a_problems_relative_type_is_a_code(status: int, body: Any, expected: Any) -> None:
    """Zyte's `{"status": 403, "type": "/auth/account-suspended"}`: RFC 9457 allows a
    relative `type`, and its last segment is read as an absolute one's is."""
    assert reason_of(status, body, content_type="application/problem+json") is expected


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            402,
            {
                "error": "Please verify your account to install this add-on\nFor more "
                "information, see http://devcenter.heroku.com/categories/billing\nVerify now "
                "at https://heroku.com/verify"
            },
            F,
        ),
        (
            403,
            {
                "error": "Please verify your account to install this add-on plan (please "
                "enter a credit card) For more information, see https://devcenter.heroku.com/"
                "categories/billing Verify now at https://heroku.com/verify"
            },
            F,
        ),
        # The billing link alone is weak: off a 402 it is no gate.
        (
            403,
            {
                "error": "Please verify your account to install this add-on\nFor more "
                "information, see http://devcenter.heroku.com/categories/billing"
            },
            None,
        ),
        # An e-mail's or an identity's verification is no payment method: a 402 that says
        # only that is `unknown`.
        (
            402,
            {"error": "Please verify your account. We sent a link to your e-mail."},
            Reason.UNKNOWN,
        ),
        (403, {"error": "Please verify your account by clicking the link in your email."}, None),
    ],
)
def test_an_account_verified_by_a_card_lacks_a_payment_method(
    status: int, body: Any, expected: Any
) -> None:
    """Heroku's add-on 402 "Please verify your account" meant a credit card on file:
    `payment_failed` (the `instrument_missing` family), lifted by adding one."""
    assert reason_of(status, body) is expected
