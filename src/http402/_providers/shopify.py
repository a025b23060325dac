"""Shopify: a 402 from a shop's Admin API means the shop is frozen for an unpaid balance
(`{"errors": "Unavailable Shop"}`); 429 call limits and 403 scope errors are left alone.

Status codes: https://shopify.dev/docs/api/usage/response-codes
"""

from __future__ import annotations

from .._models import Reason
from ._common import ProviderAdapter

__all__ = ["ShopifyAdapter"]


class ShopifyAdapter(ProviderAdapter):
    name = "shopify"
    hosts = ("*.myshopify.com",)
    default_reason = Reason.SUBSCRIPTION_EXPIRED
