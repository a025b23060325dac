"""OpenAI: billing gates come as 429 `insufficient_quota`, 429 `billing_not_active` and 400
`billing_hard_limit_reached`; plain 429 rate limits (`rate_limit_exceeded`) are left alone.

Codes: https://platform.openai.com/docs/guides/error-codes/api-errors
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["OpenAIAdapter"]


class OpenAIAdapter(ProviderAdapter):
    name = "openai"
    priority = -100
    hosts = ("api.openai.com",)
    statuses = (400, 402, 403, 429)
