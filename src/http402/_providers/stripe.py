"""Stripe: 402 "Request Failed" carries `card_error`s (`card_declined` with a
`decline_code`, `expired_card`, `incorrect_cvc`, a test card in live mode...).

Errors: https://docs.stripe.com/error-codes and https://docs.stripe.com/declines/codes
"""

from __future__ import annotations

from types import MappingProxyType

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["StripeAdapter"]


class StripeAdapter(ProviderAdapter):
    name = "stripe"
    priority = -100
    hosts = ("api.stripe.com",)
    default_reason = Reason.PAYMENT_FAILED
    # Every Stripe 402 is a failed charge or payment method, whatever its decline code
    # says ("insufficient_funds" here is the card's, not prepaid credits).
    status_reasons = MappingProxyType({402: Reason.PAYMENT_FAILED})
    code_at = ("error", "code")
