"""Anthropic: "Your credit balance is too low" arrives as 400 `invalid_request_error`, and
the documented `billing_error` type as 402; 429 rate limits and 529 overloads are left alone.

Errors: https://docs.anthropic.com/en/api/errors
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["AnthropicAdapter"]


class AnthropicAdapter(ProviderAdapter):
    name = "anthropic"
    priority = -100
    hosts = ("api.anthropic.com",)
    statuses = (400, 402, 403)
