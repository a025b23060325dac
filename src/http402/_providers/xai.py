"""xAI: a team without credits gets 403 (or 429) with the words in `error` and a gRPC status
text in `code`.

Seen in griptape-ai/griptape-nodes-engine#1079 and Wei-Shaw/sub2api#4069.
"""

from __future__ import annotations

from typing import Any

from .._adapters import ResponseSnapshot
from .._untrusted import bounded_text
from ._common import Evidence, ProviderAdapter

__all__ = ["XAIAdapter"]


class XAIAdapter(ProviderAdapter):
    name = "xai"
    hosts = ("api.x.ai",)
    statuses = (402, 403, 429)

    def code(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> str | None:
        # xAI's `code` is a sentence (the gRPC status text), still the provider's own code.
        code = payload.get("code") if isinstance(payload, dict) else None
        return bounded_text(code, 300) or evidence.code
