"""DeepSeek: 402 "Insufficient Balance" (its `code` is the generic `invalid_request_error`).

Errors: https://api-docs.deepseek.com/quick_start/error_codes
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["DeepSeekAdapter"]


class DeepSeekAdapter(ProviderAdapter):
    name = "deepseek"
    priority = -100
    hosts = ("api.deepseek.com",)
    default_reason = Reason.INSUFFICIENT_CREDITS
