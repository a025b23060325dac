"""OpenRouter: 402 means the account or key has insufficient credits.

Errors: https://openrouter.ai/docs/api-reference/errors
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["OpenRouterAdapter"]


class OpenRouterAdapter(ProviderAdapter):
    name = "openrouter"
    priority = -100
    hosts = ("openrouter.ai",)
    default_reason = Reason.INSUFFICIENT_CREDITS
