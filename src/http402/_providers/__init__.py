"""Built-in adapters: one module per provider or protocol, listed here in the order tried.

Provider adapters (scoped to their own API hosts) come first, then payment protocols, then
the generic rules for 402s from providers that have no adapter.
"""

from __future__ import annotations

from .._adapters import Adapter
from .anthropic import AnthropicAdapter
from .deepl import DeepLAdapter
from .deepseek import DeepSeekAdapter
from .elevenlabs import ElevenLabsAdapter
from .fal import FalAdapter
from .finnhub import FinnhubAdapter
from .firecrawl import FirecrawlAdapter
from .generic import JSONAdapter, TextAdapter
from .github_copilot import GitHubCopilotAdapter
from .l402 import L402Adapter
from .openai import OpenAIAdapter
from .openrouter import OpenRouterAdapter
from .payment_request import PaymentRequestAdapter
from .paymentauth import PaymentAuthAdapter
from .paypercrawl import PayPerCrawlAdapter
from .problem import ProblemDetailsAdapter
from .sendgrid import SendGridAdapter
from .shopify import ShopifyAdapter
from .stripe import StripeAdapter
from .tavily import TavilyAdapter
from .x402 import X402Adapter
from .xai import XAIAdapter

__all__ = ["builtin_adapters"]


def builtin_adapters() -> list[Adapter]:
    """Fresh instances of every built-in adapter (each carries its own priority)."""
    return [
        # Providers, on their own API hosts.
        AnthropicAdapter(),
        DeepLAdapter(),
        DeepSeekAdapter(),
        ElevenLabsAdapter(),
        FalAdapter(),
        FinnhubAdapter(),
        FirecrawlAdapter(),
        GitHubCopilotAdapter(),
        OpenAIAdapter(),
        OpenRouterAdapter(),
        SendGridAdapter(),
        ShopifyAdapter(),
        StripeAdapter(),
        TavilyAdapter(),
        XAIAdapter(),
        # Payment protocols, on any host.
        PaymentAuthAdapter(),
        X402Adapter(),
        L402Adapter(),
        PayPerCrawlAdapter(),
        PaymentRequestAdapter(),
        ProblemDetailsAdapter(),
        # Everything else that came as a 402.
        JSONAdapter(),
        TextAdapter(),
    ]
