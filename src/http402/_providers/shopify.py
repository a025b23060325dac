"""Shopify: a 402 from a shop's Admin API means the shop is frozen for an unpaid balance
(`{"errors": "Unavailable Shop"}`); 429 call limits and 403 scope errors are left alone.

Status codes: https://shopify.dev/docs/api/usage/response-codes
"""

from __future__ import annotations

from .._classify.provider import ProviderAdapter
from .._models import Reason

__all__ = ["ShopifyAdapter"]


class ShopifyAdapter(ProviderAdapter):
    name = "shopify"
    priority = -100
    hosts = ("*.myshopify.com",)
    default_reason = Reason.SUBSCRIPTION_EXPIRED
