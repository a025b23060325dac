"""DeepSeek: 402 "Insufficient Balance" (its `code` is the generic `invalid_request_error`).

Errors: https://api-docs.deepseek.com/quick_start/error_codes
"""

from __future__ import annotations

from .._models import Reason
from ._common import ProviderAdapter

__all__ = ["DeepSeekAdapter"]


class DeepSeekAdapter(ProviderAdapter):
    name = "deepseek"
    hosts = ("api.deepseek.com",)
    default_reason = Reason.INSUFFICIENT_CREDITS
