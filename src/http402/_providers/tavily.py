"""Tavily: its own 432 ("Key limit or Plan Limit exceeded") and 433 (the pay-as-you-go limit),
with the words in `{"detail": {"error": ...}}`; its 429 rate limits are left alone.

Statuses: https://docs.tavily.com/documentation/api-reference/endpoint/search (responses 432
and 433); the 432 body is in `tests/payloads/tavily-plan-usage-limit-432.json`.
"""

from __future__ import annotations

from typing import Any

from .._adapters import ResponseSnapshot
from .._models import Reason
from ._common import Evidence, ProviderAdapter

__all__ = ["TavilyAdapter"]

#: What each of Tavily's own statuses means, whatever its words.
_STATUS_REASONS = {
    432: Reason.PLAN_LIMIT_EXCEEDED,
    433: Reason.INSUFFICIENT_CREDITS,
}


class TavilyAdapter(ProviderAdapter):
    name = "tavily"
    hosts = ("api.tavily.com",)
    statuses = (402, 432, 433)

    def reason(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> Reason | None:
        # 432 and 433 exist only to name these two limits: the status says which.
        return _STATUS_REASONS.get(response.status_code) or evidence.reason()
