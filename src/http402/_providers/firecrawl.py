"""Firecrawl: 402 `{"success": false, "error": "Insufficient credits ..."}`; its 429 rate
limits say "Upgrade your plan" and are left alone.

Source: firecrawl/firecrawl apps/api/src/routes/shared.ts (checkCreditsMiddleware).
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter

__all__ = ["FirecrawlAdapter"]


class FirecrawlAdapter(ProviderAdapter):
    name = "firecrawl"
    priority = -100
    hosts = ("api.firecrawl.dev",)
