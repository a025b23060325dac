"""fal.ai: an exhausted balance locks the user, with 403 "User is locked. Reason: Exhausted
balance"; other locks (an admin lock) are left alone.

Seen in fal-ai/fal issues #1112, #1147, #1163 and #1168.
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["FalAdapter"]


class FalAdapter(ProviderAdapter):
    name = "fal"
    priority = -100
    hosts = ("fal.run", "*.fal.run", "fal.ai", "*.fal.ai", "fal.media", "*.fal.media")
    statuses = (402, 403)
