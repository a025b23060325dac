"""http402: recognise *402 Payment Required* (and its disguises) from any paid API.

Wrap an httpx transport or client, and every payment gate (credits used up, a lapsed
subscription, a plan limit, a declined card, an x402 or L402 price) arrives as one typed,
normalized exception instead of a provider-specific body to string-match.
"""

from __future__ import annotations

import logging as _logging
import typing as _typing

from ._exceptions import (
    InsufficientCreditsError,
    PaymentChallengeError,
    PaymentFailedError,
    PaymentOutcomeUnknownError,
    PaymentRequiredError,
    PlanLimitExceededError,
    SubscriptionExpiredError,
)
from ._models import PaymentOption, PaymentRequired, Reason, Retry

# A library's logger: its records reach the handlers the application configured, and an
# application that configured none sees nothing on stderr (no "last resort" output).
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

if _typing.TYPE_CHECKING:
    from ._adapters import Adapter, AdapterRegistry, Registration, ResponseSnapshot
    from ._async_transport import AsyncPaymentRequiredTransport
    from ._balance import Balance, BalanceProbeError, acheck_balance, check_balance
    from ._burn import LowBalance, LowBalanceWatch
    from ._classify.provider import ProviderAdapter
    from ._core import classify
    from ._episodes import AsyncLocalCoordinator, LocalCoordinator
    from ._holds import PaymentHold
    from ._policies import RetryPolicy, SpendPolicy
    from ._preflight import Preflight
    from ._redis import AsyncRedisCoordinator, RedisCoordinator
    from ._registry import default_registry
    from ._transport import PaymentRequiredTransport
    from ._wrap import aforget_gate, areconcile, forget_gate, reconcile, wrap

    __version__: str

# Loaded on first use, to keep `import http402` near `import httpx`
# (benchmarks/import_time.py): `classify` and the adapter registry load the classification
# modules (the rule table, the event and status tables); the transports and `wrap` load
# the recovery flow, its
# coordinators and policies (and anyio for the async one); the Redis coordinators pull in
# their client library's glue; the built-in adapters are a dozen modules of compiled
# patterns that the first transport (or `classify` call) loads; and `importlib.metadata`
# alone costs about a third of `import httpx`.
_LAZY = {
    "Adapter": "._adapters",
    "AdapterRegistry": "._adapters",
    "AsyncLocalCoordinator": "._episodes",
    "AsyncPaymentRequiredTransport": "._async_transport",
    "AsyncRedisCoordinator": "._redis",
    "Balance": "._balance",
    "BalanceProbeError": "._balance",
    "LocalCoordinator": "._episodes",
    "LowBalance": "._burn",
    "LowBalanceWatch": "._burn",
    "PaymentHold": "._holds",
    "PaymentRequiredTransport": "._transport",
    "Preflight": "._preflight",
    "ProviderAdapter": "._classify.provider",
    "RedisCoordinator": "._redis",
    "Registration": "._adapters",
    "ResponseSnapshot": "._adapters",
    "RetryPolicy": "._policies",
    "SpendPolicy": "._policies",
    "acheck_balance": "._balance",
    "aforget_gate": "._wrap",
    "areconcile": "._wrap",
    "check_balance": "._balance",
    "classify": "._core",
    "default_registry": "._registry",
    "forget_gate": "._wrap",
    "reconcile": "._wrap",
    "wrap": "._wrap",
}

__all__ = [
    "Adapter",
    "AdapterRegistry",
    "AsyncLocalCoordinator",
    "AsyncPaymentRequiredTransport",
    "AsyncRedisCoordinator",
    "Balance",
    "BalanceProbeError",
    "InsufficientCreditsError",
    "LocalCoordinator",
    "LowBalance",
    "LowBalanceWatch",
    "PaymentChallengeError",
    "PaymentFailedError",
    "PaymentHold",
    "PaymentOption",
    "PaymentOutcomeUnknownError",
    "PaymentRequired",
    "PaymentRequiredError",
    "PaymentRequiredTransport",
    "PlanLimitExceededError",
    "Preflight",
    "ProviderAdapter",
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
    "aforget_gate",
    "areconcile",
    "check_balance",
    "classify",
    "default_registry",
    "forget_gate",
    "reconcile",
    "wrap",
]


def __getattr__(name: str) -> _typing.Any:
    if name == "__version__":
        value: _typing.Any = _version()
    elif name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def _version() -> str:
    import importlib.metadata

    try:
        return importlib.metadata.version("http402")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - a source tree
        return "0.0.0"
