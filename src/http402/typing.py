"""Types for annotating the callables you give http402.

```python
def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None: ...

hooks: http402.typing.PaymentRequiredHooks = {http402.Reason.INSUFFICIENT_CREDITS: top_up}
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal

import httpx

from ._exceptions import PaymentRequiredError
from ._models import Reason, Retry

__all__ = [
    "AsyncLowBalanceHook",
    "AsyncPaymentRequiredHook",
    "AsyncPaymentRequiredHooks",
    "LowBalanceHook",
    "PaymentRequiredHook",
    "PaymentRequiredHooks",
    "ScopeFunction",
]

#: Called with the typed error; returns `Retry(...)` to replay the request, `None` to raise.
PaymentRequiredHook = Callable[[PaymentRequiredError], Retry | None]
#: The async transport also takes coroutine functions.
AsyncPaymentRequiredHook = Callable[[PaymentRequiredError], Awaitable[Retry | None]]
#: One hook for every reason, or a hook per reason (reasons without one raise as usual).
PaymentRequiredHooks = PaymentRequiredHook | Mapping[Reason | str, PaymentRequiredHook]
AsyncPaymentRequiredHooks = (
    PaymentRequiredHook
    | AsyncPaymentRequiredHook
    | Mapping[Reason | str, PaymentRequiredHook | AsyncPaymentRequiredHook]
)
#: Called with the balance a successful response reported, once it drops below the threshold.
LowBalanceHook = Callable[[Decimal, httpx.Response], None]
AsyncLowBalanceHook = Callable[[Decimal, httpx.Response], Awaitable[None] | None]
#: Maps a request to its billing scope.
ScopeFunction = Callable[[httpx.Request], str]
