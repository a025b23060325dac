"""http402: recognise *402 Payment Required* (and its disguises) from any paid API.

Wrap an httpx transport or client, and every payment gate (credits used up, a lapsed
subscription, a plan limit, a declined card, an x402 or L402 price) arrives as one typed,
normalized exception instead of a provider-specific body to string-match.
"""

from __future__ import annotations

import importlib.metadata as _metadata

from ._adapters import Adapter, AdapterRegistry, Registration, ResponseSnapshot
from ._async_transport import AsyncPaymentRequiredTransport
from ._balance import Balance, BalanceProbeError, acheck_balance, check_balance
from ._burn import LowBalance
from ._core import classify
from ._exceptions import (
    InsufficientCreditsError,
    PaymentChallengeError,
    PaymentFailedError,
    PaymentRequiredError,
    PlanLimitExceededError,
    SubscriptionExpiredError,
)
from ._models import PaymentOption, PaymentRequired, Reason, Retry
from ._policies import RetryPolicy, SpendPolicy
from ._redis import AsyncRedisCoordinator, RedisCoordinator
from ._registry import default_registry
from ._transport import PaymentRequiredTransport
from ._wrap import wrap

try:
    __version__ = _metadata.version("http402")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "Adapter",
    "AdapterRegistry",
    "AsyncPaymentRequiredTransport",
    "AsyncRedisCoordinator",
    "Balance",
    "BalanceProbeError",
    "InsufficientCreditsError",
    "LowBalance",
    "PaymentChallengeError",
    "PaymentFailedError",
    "PaymentOption",
    "PaymentRequired",
    "PaymentRequiredError",
    "PaymentRequiredTransport",
    "PlanLimitExceededError",
    "Reason",
    "RedisCoordinator",
    "Registration",
    "ResponseSnapshot",
    "Retry",
    "RetryPolicy",
    "SpendPolicy",
    "SubscriptionExpiredError",
    "__version__",
    "acheck_balance",
    "check_balance",
    "classify",
    "default_registry",
    "wrap",
]
