"""Kinds of billing gate that a blind set (`research/payloads14`) showed, each held both
ways: the gate in other providers' words, and the look-alike that must stay no gate (or a
402's own answer). The kinds of `research/payloads13` are `tests/test_rule_kinds13.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402._classify.vocabulary.throttle import PERIOD_WINDOW

from .kinds import P, S, U, classify, reason_of

# ------------------------------------------- 1. an action the current plan does not allow

_ACTION = "The requested action cannot be performed with your current plan."


def test_errmsg_is_a_message_field() -> None:
    """Market Data's `{"s": "error", "errmsg": ...}`: `errmsg` is read and shown."""
    payment = classify(402, {"s": "error", "errmsg": _ACTION})
    assert payment is not None
    assert payment.reason is P
    assert payment.message == _ACTION


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (402, _ACTION, P),
        (403, _ACTION, P),
        (403, "This request can't be completed on your current plan.", P),
        (400, "You cannot use this endpoint with your current subscription.", P),
        # "Cannot be performed" of a resource or a state names no plan.
        (402, "The requested action cannot be performed on this resource.", U),
        (403, "The requested action cannot be performed in the current state.", None),
        # A rate limit that names the current plan stays a rate limit.
        (429, "You cannot make more than 10 requests per minute on your current plan.", None),
        (402, "You cannot make more than 10 requests per minute on your current plan.", None),
    ],
)
def test_an_action_the_plan_does_not_allow(status: int, text: str, expected: Any) -> None:
    assert reason_of(status, {"s": "error", "errmsg": text}) is expected


# ------------------------------------------------------------------- 2. no active plan


def test_no_active_billing_plan_is_a_lapse() -> None:
    """Particle's 402 `no_active_plan`: nothing subscribed, as "no active subscription"."""
    body = {
        "title": "Payment Required",
        "status": 402,
        "detail": "No active billing plan.",
        "error_code": "no_active_plan",
        "resolve": {"message": "Select a billing plan to continue.", "action": "select_plan"},
    }
    assert reason_of(402, body) is S
    assert reason_of(403, {"detail": "Your organization does not have an active plan."}) is S


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        (402, "Your plan does not include this endpoint.", P),
        (403, "Your plan does not include this endpoint.", P),
        (400, "No active maintenance plan.", None),
        (400, "No active execution plan found for this query.", None),
    ],
)
def test_a_plan_that_lacks_something_stays_the_plans(status: int, text: str, expected: Any) -> None:
    assert reason_of(status, {"detail": text}) is expected


# ------------------------------------------- 3. a window in months outranks "rate limit"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "error": "Rate limit exceeded",
                "message": "You have exceeded the monthly rate limit of 1000 requests. "
                "Please try again next month.",
            },
            P,
        ),
        ({"error": "Rate limit exceeded", "message": "Monthly request limit reached."}, P),
        (
            {
                "message": "Rate limit exceeded. You have used your monthly quota of 1000 "
                "requests; try again next month."
            },
            None,  # one text that states both stays a throttle (test_decide)
        ),
        # A window under a day stays a throttle.
        (
            {
                "error": "Rate limit exceeded",
                "message": "You have exceeded the hourly rate limit of 100 requests. "
                "Please try again next hour.",
            },
            None,
        ),
        (
            {
                "error": "Rate limit exceeded",
                "message": "You have exceeded the daily limit of 100 requests. "
                "Please try again tomorrow.",
            },
            None,
        ),
        ({"error": "Rate limit exceeded"}, None),
        (
            {
                "error": "Rate limit exceeded",
                "message": "Too many requests per minute. Your monthly quota is fine.",
            },
            None,
        ),
        (
            {"error": "Too many concurrent requests", "message": "Monthly request limit reached."},
            None,
        ),
    ],
)
def test_a_window_in_months_outranks_a_throttles_name(body: Any, expected: Any) -> None:
    """Proofio's 429: the time window decides, not the name (docs/reasons.md)."""
    assert reason_of(429, body) is expected


def test_the_period_window_record() -> None:
    """`PERIOD_WINDOW` is no `WORDING` rule: its examples and look-alikes are held here."""
    for example in PERIOD_WINDOW.examples:
        lowered = example.lower()
        assert any(needle in lowered for needle in PERIOD_WINDOW.needles), example
        assert PERIOD_WINDOW.matches(lowered), example
    for look_alike in PERIOD_WINDOW.look_alikes:
        assert not PERIOD_WINDOW.matches(look_alike.lower()), look_alike
