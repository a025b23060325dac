"""Stripe: 402 "Request Failed" carries `card_error`s (`card_declined` with a
`decline_code`, `expired_card`, `incorrect_cvc`, a test card in live mode...).

Errors: https://docs.stripe.com/error-codes and https://docs.stripe.com/declines/codes
"""

from __future__ import annotations

from typing import Any

from .._adapters import ResponseSnapshot
from .._models import Reason
from ._common import Evidence, ProviderAdapter, error_object

__all__ = ["StripeAdapter"]


class StripeAdapter(ProviderAdapter):
    name = "stripe"
    hosts = ("api.stripe.com",)
    default_reason = Reason.PAYMENT_FAILED

    def reason(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> Reason | None:
        # Every Stripe 402 is a failed charge or payment method, whatever its decline code
        # says ("insufficient_funds" here is the card's, not prepaid credits).
        return Reason.PAYMENT_FAILED

    def code(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> str | None:
        code = error_object(payload, response).get("code")
        return code if isinstance(code, str) else evidence.code
