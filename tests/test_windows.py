"""The time window each piece of evidence states (`_classify/windows.py`), and the one place
where `decide` weighs them: each window held both ways, by its words and by a field."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason
from http402._classify.decide import read_words
from http402._classify.families import Family
from http402._classify.rules import Strength, WordRule
from http402._classify.vocabulary import WORDING
from http402._classify.vocabulary.throttle import PERIOD_WINDOW
from http402._classify.windows import RENEWAL_WINDOW, RETRY_SOON, Window, window_of_seconds

CR, P = Reason.INSUFFICIENT_CREDITS, Reason.PLAN_LIMIT_EXCEEDED


def reason_of(status: int, body: Any) -> Reason | None:
    response = httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        request=httpx.Request("GET", "https://api.unknown-provider.test/v1/things"),
    )
    payment = http402.classify(response)
    return None if payment is None else payment.reason


def test_every_throttle_rule_and_only_one_declares_its_window() -> None:
    for rule in WORDING:
        assert (rule.window is None) is (rule.family is not Family.THROTTLE), rule.name
    assert PERIOD_WINDOW.window is Window.PERIOD
    with pytest.raises(ValueError, match="states a window"):
        WordRule("x", Family.THROTTLE, Strength.STRONG, "x", "x", examples="x", source="s")
    with pytest.raises(ValueError, match="states a window"):
        WordRule(
            "y",
            Family.BALANCE_EXHAUSTED,
            Strength.STRONG,
            "y",
            "y",
            examples="y",
            source="s",
            window=Window.RATE,
        )


@pytest.mark.parametrize(
    ("text", "window"),
    [
        # A limit named with no window of its own.
        ("Rate limit exceeded", Window.NAMED),
        ("Limit exceeded.", Window.NAMED),
        # The most precise window a text's rules state.
        ("Rate limit exceeded: 10 requests per minute.", Window.RATE),
        ("Rate limit exceeded. Daily limit of 100 requests reached.", Window.DAY),
        ("Too many concurrent requests.", Window.RATE),
        ("Your quota resets in 45 seconds.", Window.RATE),
        ("Daily sending limit of 5000 messages has been reached.", Window.DAY),
        ("Your free requests will be restored tomorrow.", Window.DAY),
        # The status restated, "throttled" alone: no window, no cause.
        ("Too many requests", Window.NONE),
        ("Requests are throttled.", Window.NONE),
        # "Throttled" beside a window names its cause.
        ("Requests are throttled: your daily limit is reached.", Window.DAY),
        # No throttle at all.
        ("Your monthly quota is used up.", None),
        ("Insufficient balance.", None),
    ],
)
def test_the_window_a_text_states(text: str, window: Window | None) -> None:
    assert read_words(text).window is window


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("You have used this month's quota.", True),
        ("Monthly request limit reached.", True),
        ("Your allowance renews with the next billing cycle.", True),
        ("Quota exceeded. Upgrade to a monthly plan.", False),
        ("Daily limit reached.", False),
        ("Quota exceeded", False),
    ],
)
def test_a_period_stated_in_words(text: str, period: bool) -> None:
    assert read_words(text).period is period


@pytest.mark.parametrize(
    ("seconds", "window"),
    [
        (1.0, Window.RATE),
        (RETRY_SOON - 1, Window.RATE),
        (RETRY_SOON, Window.DAY),
        (RENEWAL_WINDOW - 1, Window.DAY),
        (RENEWAL_WINDOW, Window.PERIOD),
        (16 * RENEWAL_WINDOW, Window.PERIOD),
    ],
)
def test_the_window_of_a_fields_duration(seconds: float, window: Window) -> None:
    assert window_of_seconds(seconds) is window


_MONTHLY = "You have exceeded the monthly limit of 1000 requests. Try again next month."


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # NONE: a category, outranked by a gate the error's own words state plainly.
        (429, {"error": "Too many requests", "message": "Insufficient balance."}, CR),
        (429, {"error": "Too many requests"}, None),
        (429, {"message": "Requests are throttled. Insufficient balance."}, CR),
        (429, {"message": "Requests are throttled."}, None),
        # NAMED: outranked by a period stated with a gate in another text only.
        (429, {"error": "Rate limit exceeded", "message": _MONTHLY}, P),
        (429, {"error": "Limit exceeded.", "message": _MONTHLY}, P),
        (429, {"error": "Rate limit exceeded", "message": "Insufficient balance."}, None),
        (429, {"message": "Rate limit exceeded. " + _MONTHLY}, None),
        # RATE and DAY: a throttle whatever else is said.
        (429, {"error": "Too many requests per minute", "message": _MONTHLY}, None),
        (429, {"error": "Rate limit exceeded", "message": _MONTHLY, "hint": "Daily cap."}, None),
        # On a 402 a window vetoes only what states it: a balance stated plainly beside it
        # keeps the 402 a gate (rung 7 of `decide`; docs/reasons.md: "Any billing word or
        # code keeps it a gate").
        (402, {"error": "Too many requests per minute.", "message": "Insufficient balance."}, CR),
        (402, {"error": "Too many requests per minute."}, None),
        # A field's window: under a day a throttle off a 402, in days the plan's allowance.
        (429, {"error": "Quota exceeded", "resetInSeconds": 1800}, None),
        (429, {"error": "Quota exceeded", "hours_until_reset": 5}, None),
        (429, {"error": "Quota exceeded", "daysUntilReset": 16}, P),
        (403, {"error": "Budget exhausted", "retry_in_seconds": 1}, None),
        # A period in words makes a bare quota the plan's, on any status.
        (403, {"error": "Quota exceeded", "message": "You have used this month's quota."}, P),
        (403, {"error": "Quota exceeded"}, None),
    ],
)
def test_windows_are_weighed_in_one_place(status: int, body: Any, expected: Any) -> None:
    assert reason_of(status, body) is expected
