"""Tavily: its own 432 ("Key limit or Plan Limit exceeded") and 433 (the pay-as-you-go limit),
with the words in `{"detail": {"error": ...}}`; its 429 rate limits are left alone.

Statuses: https://docs.tavily.com/documentation/api-reference/endpoint/search (responses 432
and 433); the 432 body is in `tests/payloads/tavily-plan-usage-limit-432.json`.
"""

from __future__ import annotations

from types import MappingProxyType

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["TavilyAdapter"]


class TavilyAdapter(ProviderAdapter):
    name = "tavily"
    priority = -100
    hosts = ("api.tavily.com",)
    statuses = (402, 432, 433)
    # 432 and 433 exist only to name these two limits: the status says which.
    status_reasons = MappingProxyType(
        {432: Reason.PLAN_LIMIT_EXCEEDED, 433: Reason.INSUFFICIENT_CREDITS}
    )
