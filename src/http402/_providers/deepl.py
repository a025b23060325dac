"""DeepL: its own 456 "Quota exceeded". On DeepL API Free (`api-free.deepl.com`) it is the
plan's monthly character limit (upgrade the plan); on DeepL API Pro (`api.deepl.com`) the
Cost Control limit the account set (raise or remove it). 429 rate limits are left alone.

Errors: https://developers.deepl.com/docs/best-practices/error-handling (HTTP 456)
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter
from .._classify.snapshot import ResponseSnapshot
from .._models import Reason

__all__ = ["DeepLAdapter"]

_FREE_HOST = "api-free.deepl.com"


class DeepLAdapter(ProviderAdapter):
    name = "deepl"
    priority = -100
    hosts = ("api.deepl.com", _FREE_HOST)
    statuses = (402, 456)

    def status_reason(self, response: ResponseSnapshot) -> Reason | None:
        if response.status_code != 456:
            return None
        if response.host == _FREE_HOST:
            return Reason.PLAN_LIMIT_EXCEEDED
        return Reason.INSUFFICIENT_CREDITS
