"""Cloudflare pay per crawl: a 402 names the price in `crawler-price: USD 0.01`; errors come
in `crawler-error`, on 402 (a missing or invalid price offer) and on 403 (`PaymentFailed`).
The site is any Cloudflare zone, so the 403 is claimed by the `crawler-error` header, never
by host.

Docs: developers.cloudflare.com/ai-crawl-control/features/pay-per-crawl/ (crawl pages,
error codes)
"""

from __future__ import annotations

import re

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._redaction import safe_url_for_display
from .._untrusted import as_amount

__all__ = ["PayPerCrawlAdapter", "parse_crawler_price"]

_PRICE = re.compile(r"\s*([A-Z]{3})\s+([0-9]{1,12}(?:\.[0-9]{1,12})?)\s*")
_ERROR = re.compile(r"[A-Za-z]{1,64}")
_CHALLENGE_ERRORS = frozenset(
    {"MissingCrawlerPrice", "InvalidCrawlerExactPrice", "InvalidCrawlerMaxPrice"}
)
_FAILED_ERRORS = frozenset({"PaymentFailed"})


class PayPerCrawlAdapter:
    name = "pay-per-crawl"
    priority = -170
    statuses = (402, 403)
    triggers = (("crawler-error", None),)

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        price = parse_crawler_price(response.header("crawler-price"))
        error = response.header("crawler-error")
        code = error.strip() if error and _ERROR.fullmatch(error.strip()) else None
        if code in _FAILED_ERRORS:
            reason = Reason.PAYMENT_FAILED
        elif price is not None or (code in _CHALLENGE_ERRORS and response.status_code == 402):
            reason = Reason.PAYMENT_CHALLENGE
        else:
            return None
        options: tuple[PaymentOption, ...] = ()
        if price is not None:
            currency, amount = price
            options = (
                PaymentOption(
                    protocol="pay-per-crawl",
                    scheme="crawler-price",
                    amount=as_amount(amount),
                    unit=currency,
                    asset=currency,
                    resource=safe_url_for_display(response.url) if response.url else None,
                ),
            )
        return PaymentRequired(
            reason=reason,
            provider=self.name,
            code=code,
            currency=price[0] if price else None,
            payment_options=options,
        )


def parse_crawler_price(value: str | None) -> tuple[str, str] | None:
    """`("USD", "0.01")` from `crawler-price: USD 0.01`; `None` for anything else."""
    if not value or len(value) > 64:
        return None
    match = _PRICE.fullmatch(value)
    return (match.group(1), match.group(2)) if match else None
