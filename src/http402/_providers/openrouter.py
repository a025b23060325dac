"""OpenRouter: 402 means the account or key has insufficient credits.

Errors: https://openrouter.ai/docs/api-reference/errors
"""

from __future__ import annotations

from .._models import Reason
from ._common import ProviderAdapter

__all__ = ["OpenRouterAdapter"]


class OpenRouterAdapter(ProviderAdapter):
    name = "openrouter"
    hosts = ("openrouter.ai",)
    default_reason = Reason.INSUFFICIENT_CREDITS
