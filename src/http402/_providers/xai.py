"""xAI: a team without credits gets 403 (or 429) with the words in `error` and a gRPC status
text in `code`.

Seen in griptape-ai/griptape-nodes-engine#1079 and Wei-Shaw/sub2api#4069.
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["XAIAdapter"]


class XAIAdapter(ProviderAdapter):
    name = "xai"
    priority = -100
    hosts = ("api.x.ai",)
    statuses = (402, 403, 429)
    # xAI's `code` is a sentence (the gRPC status text), still the provider's own code.
    code_at = ("code",)
