"""The prefilter of the generic rules, derived from the rule table, never changes an answer."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

import http402
from http402._classify import readers
from http402._providers import problem

PAYLOADS = Path(__file__).parent / "payloads"
GATEWAY = "http://localhost:4000/v1/chat/completions"

# Bodies whose evidence is spelled so that a careless filter would miss it.
SPELLED: list[tuple[str, str]] = [
    ("application/json", '{"error": {"code": "InsufficientCredits"}}'),
    ("application/json", '{"error": {"code": "budget-exceeded"}}'),
    ("application/json", '{"error": {"code": "QUOTA_LIMITED", "message": "no"}}'),
    ("application/json", '{"err_code": "MonthlyRequestCount", "err_msg": "Try later"}'),
    ("application/json", '{"error": {"message": "Your credit balance is too low"}}'),
    ("application/json", '{"error": {"message": "You are out\\nof credits."}}'),
    ("application/json", '{"error": {"message": "Please sign\\tup for a paid plan."}}'),
    ("application/json", '{"error": {"message": "\\u0042illing has been disabled."}}'),
    ("application/json", '{"error": {"code": "\\u0062udget_exceeded"}}'),
    ("application/json", '{"errors": ["Add a payment method to continue."]}'),
    (
        "application/problem+json",
        '{"type": "https://example.com/probs/out-of-credit", "title": "Out of credit"}',
    ),
    (
        "application/json",
        '{"type": "https://example.com/probs/card_declined", "detail": "Declined"}',
    ),
    ("application/json", '{"\\u0074ype": "https://example.com/probs/trial-expired", "title": "x"}'),
    # A problem's shape spelled with escapes, or with the type after the title.
    (
        "application/json",
        '{"type": "https:\\/\\/example.com\\/probs\\/out-of-credit", "title": "Out of credit"}',
    ),
    ("application/json", '{"type": "x\\"y/probs/trial-expired", "detail": "x"}'),
    ("application/json", '{"title": "x", "type" :\n "https://example.com/probs/out-of-credit"}'),
    ("application/json", '{"detail": "x", "type": "https://example.com/probs/card-declined"}'),
    # An upstream error kept as JSON text, and words only a rule of this round knows.
    (
        "application/json",
        '{"error": {"message": "Provider returned error", "metadata": '
        '{"raw": "{\\"error\\": {\\"message\\": \\"insufficient balance\\"}}"}}}',
    ),
    ("application/json", '{"error": {"code": "1113", "message": "\u4f59\u989d\u4e0d\u8db3"}}'),
    ("application/json", '{"error": {"message": "A valid payment instrument must be provided."}}'),
    ("text/plain", "Your account has been suspended for failure to pay."),
    ("text/plain", "Not found"),
    ("application/json", '{"error": {"message": "Not found", "code": "not_found"}}'),
]


def _recorded() -> list[tuple[str, str]]:
    bodies = []
    for path in sorted(PAYLOADS.glob("*.json")):
        response = json.loads(path.read_text(encoding="utf-8"))["response"]
        content_type = next(
            (v for k, v in response["headers"].items() if k.lower() == "content-type"),
            "application/json",
        )
        bodies.append((content_type, response["body"]))
    return bodies


@pytest.mark.parametrize("status", [400, 403, 429, 432])
@pytest.mark.parametrize(("content_type", "body"), SPELLED + _recorded())
def test_the_prefilter_changes_no_answer(
    status: int, content_type: str, body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 4xx from a host with no adapter gets the same answer with the prefilter as without."""
    response = httpx.Response(
        status,
        headers={"content-type": content_type},
        content=body.encode(),
        request=httpx.Request("POST", GATEWAY),
    )
    looked = http402.classify(response)
    monkeypatch.setattr(readers, "text_may_hold_evidence", lambda text: True)
    monkeypatch.setattr(problem, "_may_be_problem", lambda text: True)
    read = http402.classify(response)
    assert looked == read
    assert (looked is None) == (read is None)
