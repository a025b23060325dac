"""The `Payment` HTTP authentication scheme: `WWW-Authenticate: Payment id=..., method=...,
intent=..., request=<base64url JSON>`, with problem types under
`https://paymentauth.org/problems/` for what went wrong with a payment.

Specs: draft-ryan-httpauth-payment (tempoxyz/mpp-specs specs/core/draft-httpauth-payment-01.md
and draft-payment-errors-00.md)
"""

from __future__ import annotations

import datetime
from typing import Any

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._untrusted import as_amount, bounded_text, decode_base64url_json

__all__ = ["PaymentAuthAdapter"]

_PROBLEMS = "https://paymentauth.org/problems/"
# Problem types that mean the offered payment was attempted and did not go through.
_FAILED = frozenset(
    {
        "payment-insufficient",
        "insufficient-balance",
        "verification-failed",
        "invalid-signature",
        "malformed-credential",
        "invalid-payload",
        "amount-mismatch",
        "settlement-failed",
        "payment-action-required",
        "method-unsupported",
        "unsupported-method",
    }
)
# A fresh challenge is the remedy for these: pay the new price.
_CHALLENGE = frozenset(
    {"payment-required", "payment-expired", "expired-challenge", "invalid-challenge"}
)


class PaymentAuthAdapter:
    name = "paymentauth"
    priority = -140

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        options = tuple(
            _option(params) for scheme, params in response.challenges if scheme.lower() == "payment"
        )
        body = response.json
        problem = body if isinstance(body, dict) else {}
        problem_type = problem.get("type")
        slug = (
            problem_type[len(_PROBLEMS) :].strip("/")
            if isinstance(problem_type, str) and problem_type.startswith(_PROBLEMS)
            else None
        )
        if not options and slug is None:
            return None
        if slug in _FAILED:
            reason = Reason.PAYMENT_FAILED
        elif slug is None or slug in _CHALLENGE or options:
            reason = Reason.PAYMENT_CHALLENGE
        else:
            reason = Reason.UNKNOWN
        code = problem.get("code")
        return PaymentRequired(
            reason=reason,
            provider=self.name,
            code=code if isinstance(code, str) else slug,
            message=bounded_text(problem.get("detail")) or bounded_text(problem.get("title")),
            currency=next((o.asset for o in options if o.asset), None),
            payment_options=options,
        )


def _option(params: dict[str, str]) -> PaymentOption:
    request: Any = decode_base64url_json(params.get("request", ""))
    request = request if isinstance(request, dict) else {}
    amount = as_amount(request.get("amount"))
    currency = bounded_text(request.get("currency"), 64)
    return PaymentOption(
        protocol="payment",
        scheme=bounded_text(params.get("intent"), 100),
        network=bounded_text(params.get("method"), 100),
        amount=amount,
        unit=currency if amount is not None else None,
        asset=currency,
        pay_to=bounded_text(request.get("recipient"), 200),
        description=bounded_text(params.get("description"), 500),
        expires_at=_timestamp(params.get("expires")),
        raw={**params, "request": request},
    )


def _timestamp(value: str | None) -> datetime.datetime | None:
    if not value or len(value) > 40:
        return None
    try:
        when = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
