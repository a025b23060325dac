"""Finnhub: a free key that asks for a premium endpoint gets 403 `{"error": "You don't have
access to this resource."}`, words that say nothing of a plan. Finnhub answers every key
problem with 401 ("Invalid API key.", "Please use an API key.") and 403 only for an endpoint
outside the key's plan, so on its own host a 403 is `plan_limit_exceeded` whatever it says.
Its 429 "API limit reached" is a rate limit and is left alone (not a status it gates on).

Seen in public projects' live probes (research/payloads3
finnhub-no-access-to-resource-premium-endpoint-403: "401 is the ONLY status Finnhub uses for a
key problem"); plans: https://finnhub.io/pricing
"""

from __future__ import annotations

from types import MappingProxyType

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["FinnhubAdapter"]


class FinnhubAdapter(ProviderAdapter):
    name = "finnhub"
    priority = -100
    hosts = ("finnhub.io",)
    statuses = (402, 403)
    status_reasons = MappingProxyType({403: Reason.PLAN_LIMIT_EXCEEDED})
