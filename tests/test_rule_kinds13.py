"""Kinds of billing gate that a blind set (`research/payloads13`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or a
402's own answer). The kinds of `research/payloads12` are `tests/test_rule_kinds.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402 import Reason
from http402._classify.fields import read_fields

from .kinds import classify, reason_of

P, S, C, F = (
    Reason.PLAN_LIMIT_EXCEEDED,
    Reason.SUBSCRIPTION_EXPIRED,
    Reason.INSUFFICIENT_CREDITS,
    Reason.PAYMENT_FAILED,
)


# ---------------------------------------------------------------- 1. a remedy field's words

_INACTIVE = "Your account is inactive."
_CARD = (
    "Make sure you have verified your email address and have a valid payment method. "
    "Contact Support if problems continue."
)


@pytest.mark.parametrize("key", ["suggestion", "hint", "fix", "resolution", "remedy", "action"])
def test_a_remedy_field_is_the_errors_words_never_its_message(key: str) -> None:
    """Lambda Cloud's 403: an account off whose remedy names a payment method is a lapse on
    any status; the message shown stays the error's own."""
    payment = classify(
        403, {"error": {"code": "global/account-inactive", "message": _INACTIVE, key: _CARD}}
    )
    assert payment is not None
    assert payment.reason is S
    assert payment.message == _INACTIVE
    assert payment.code == "global/account-inactive"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # An account off, said without why, is weak: a deactivated user says the same.
        (403, {"error": {"code": "global/account-inactive", "message": _INACTIVE}}, None),
        (403, {"error": {"message": _INACTIVE, "suggestion": "Verify your email address."}}, None),
        (
            403,
            {"error": {"message": "This account is disabled.", "hint": "Contact support."}},
            None,
        ),
        # ... and a gate on a 402, as before.
        (402, {"error": {"code": "global/account-inactive", "message": _INACTIVE}}, S),
        (402, {"error": {"message": _INACTIVE, "suggestion": _CARD}}, S),
        # The same words in one message.
        (403, {"error": {"message": f"{_INACTIVE} {_CARD}"}}, S),
        (
            403,
            {
                "message": "Your account has been deactivated.",
                "fix": "Update your billing details.",
            },
            S,
        ),
    ],
)
def test_an_account_off_is_a_lapse_when_its_remedy_names_billing(
    status: int, body: Any, expected: Any
) -> None:
    assert reason_of(status, body) is expected


def test_a_remedy_alone_is_read_as_before() -> None:
    """A remedy field with no message beside it is still what the error says to do."""
    assert reason_of(402, {"hint": "Add a payment method to continue."}) is F
    fields = read_fields({"message": "Access denied.", "suggestion": "Upgrade your plan."})
    assert fields.message == "Access denied."
    assert [m.remedy for m in fields.messages] == [False, True]


# --------------------------------------------------- 2. billing information the account lacks


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            403,
            {
                "error": {
                    "message": "In order to create a live mail piece, your account needs to "
                    "have a billing address.",
                    "status_code": 403,
                    "code": "billing_address_required",
                }
            },
            F,
        ),
        (403, {"error": "Your account does not have billing information."}, F),
        (400, {"message": "There are no billing details on file."}, F),
        (422, {"message": "Please add a billing address to your account to go live."}, F),
        (402, {"code": "billing_info_required"}, F),
        # A form's address, or a payment request's customer address, is no gate.
        (422, {"error": {"message": "address_line1 is required", "code": "invalid"}}, None),
        (400, {"error": {"message": "Billing address is required."}}, None),
        (
            400,
            {
                "error": {
                    "code": "billing_address_required",
                    "message": "Billing address is required.",
                }
            },
            None,
        ),
        (
            422,
            {"errors": [{"code": "billing_address_invalid", "field": "billing.address.zip"}]},
            None,
        ),
    ],
)
def test_billing_information_the_account_lacks_is_a_payment_method_missing(
    status: int, body: Any, expected: Any
) -> None:
    """Lob's 403 `billing_address_required`, and its look-alikes."""
    assert reason_of(status, body) is expected


# ------------------------------------------------------------------ 3. a feature unavailable


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # Judgement: a feature unavailable or not included is what a plan says: strong.
        (403, {"code": "feature_unavailable", "details": []}, P),
        (403, {"error": {"code": "FEATURE_NOT_AVAILABLE"}}, P),
        (400, {"error_code": "feature_not_included"}, P),
        # A feature not enabled is a flag or a setting the account turns on itself.
        (403, {"code": "feature_not_enabled", "details": []}, None),
        (403, {"error": {"code": "feature_disabled"}}, None),
        (403, {"error": {"code": "feature_flag_disabled"}}, None),
        # Words that say a flag is off outvote the code: a setting, not the plan.
        (403, {"error": {"code": "feature_not_available", "message": "Flag is off."}}, None),
        (403, {"code": "feature_unavailable", "message": "The feature flag is disabled."}, None),
        # Lago's 403 covers a key's permissions too: words that say so outvote the code.
        (
            403,
            {"code": "feature_unavailable", "message": "Insufficient API key permissions."},
            None,
        ),
    ],
)
def test_a_feature_unavailable_is_the_plans_a_feature_not_enabled_no_gate(
    status: int, body: Any, expected: Any
) -> None:
    """Lago's bare 403 `feature_unavailable`."""
    assert reason_of(status, body) is expected


# ----------------------------------------------------------- 4. a reset stated by a field

_QUOTA = {"error": "Quota exceeded", "code": "QUOTA_EXCEEDED", "used": 50, "max": 50}


@pytest.mark.parametrize(
    ("status", "extra", "headers", "expected"),
    [
        # A reset in days is a period's allowance, the plan's, even on a 429.
        (429, {"daysUntilReset": 16, "tier": "registered"}, {}, P),
        (429, {"reset_in_days": 3}, {}, P),
        (403, {"hours_until_reset": 72}, {}, P),
        (429, {"seconds_until_reset": 86400 * 20}, {}, P),
        (402, {"daysUntilReset": 16}, {}, P),
        # Within a day it is a window: no gate off a 402.
        (429, {"resetInSeconds": 1800}, {}, None),
        (429, {"hours_until_reset": 5}, {}, None),
        (429, {"daysUntilReset": 0}, {}, None),
        (429, {"retry_after": 30}, {}, None),
        # A header's reset, a timestamp, a tier alone: not read; a bare quota stays as it was.
        (429, {}, {"X-RateLimit-Reset": "1733400000"}, None),
        (429, {"resetDate": "2026-10-17T00:00:00.000Z", "tier": "registered"}, {}, None),
        (402, {"resetInSeconds": 1800}, {}, C),
        (402, {}, {}, C),
    ],
)
def test_a_reset_stated_by_a_field_decides_the_window(
    status: int, extra: dict[str, Any], headers: dict[str, str], expected: Any
) -> None:
    """Pull That Up Jamie's 429 `QUOTA_EXCEEDED` with `daysUntilReset`, and its look-alikes."""
    assert reason_of(status, {**_QUOTA, **extra}, headers) is expected


def test_a_reset_in_days_does_not_outvote_a_throttle() -> None:
    assert reason_of(429, {"error": "Too many requests per minute", "daysUntilReset": 3}) is None
    assert reason_of(429, {"code": "rate_limit_exceeded", "daysUntilReset": 3}) is None


def test_a_reset_in_days_keeps_the_remedys_reason() -> None:
    body = {"error": "Quota exceeded. Top up credits to continue.", "daysUntilReset": 16}
    assert reason_of(429, body) is C


# ----------------------------------------------------- 5. a count of resources (payloads12)


def test_a_count_of_resources_in_words_is_the_plans_on_a_402_only() -> None:
    """AgentMail's 403 "Inbox limit exceeded" (`limit_exceeded`) is the kind payloads12's
    record reads: the plan's on a 402, no gate on another status from a host with no
    adapter (docs/reasons.md: a cloud's service quota says the same)."""
    body = {"name": "ForbiddenError", "code": "limit_exceeded", "message": "Inbox limit exceeded"}
    assert reason_of(402, body) is P
    assert reason_of(403, body) is None
