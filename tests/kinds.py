"""How the rule-kind tests (`test_rule_kinds*.py`) read a response: from a host no adapter
knows, so only the generic rules and the families answer."""

from __future__ import annotations

import json
from typing import Any

import httpx

import http402
from http402 import Reason

#: The reasons, as the newer rule-kind files write them in their tables.
C, F, CR, P, S, U = (
    Reason.PAYMENT_CHALLENGE,
    Reason.PAYMENT_FAILED,
    Reason.INSUFFICIENT_CREDITS,
    Reason.PLAN_LIMIT_EXCEEDED,
    Reason.SUBSCRIPTION_EXPIRED,
    Reason.UNKNOWN,
)
#: A host no adapter knows.
UNKNOWN_HOST = "https://api.unknown-provider.test/v1/things"


def classify(
    status: int,
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    url: str = UNKNOWN_HOST,
    method: str = "POST",
    content_type: str | None = None,
) -> http402.PaymentRequired | None:
    """`classify` of a response to `method url`: `body` as JSON, or as plain text when it is
    a string and no `content_type` says otherwise."""
    text = isinstance(body, str) and content_type is None
    kind = content_type or ("text/plain" if text else "application/json")
    content = body.encode() if text else json.dumps(body).encode()
    response = httpx.Response(
        status,
        headers={"content-type": kind, **(headers or {})},
        content=content,
        request=httpx.Request(method, url),
    )
    return http402.classify(response)


def reason_of(
    status: int, body: Any, headers: dict[str, str] | None = None, **options: Any
) -> Reason | None:
    """The reason `classify` gives (same arguments), or `None` for no gate."""
    payment = classify(status, body, headers, **options)
    return None if payment is None else payment.reason
