"""ElevenLabs: `detail.status` `quota_exceeded` arrives as 401 (next to `invalid_api_key`,
which is left alone), and `paid_plan_required` as 402.

Errors: https://elevenlabs.io/docs/api-reference/errors
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["ElevenLabsAdapter"]


class ElevenLabsAdapter(ProviderAdapter):
    name = "elevenlabs"
    priority = -100
    hosts = ("api.elevenlabs.io", "*.elevenlabs.io")
    statuses = (401, 402, 403)
