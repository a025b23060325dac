"""Types for annotating the callables you give http402.

```python
def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None: ...

hooks: http402.typing.PaymentRequiredHooks = {http402.Reason.INSUFFICIENT_CREDITS: top_up}
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import httpx

from ._burn import LowBalance
from ._episodes import EpisodeBook, Mark
from ._exceptions import PaymentRequiredError
from ._models import PaymentRequired, Reason, Retry
from ._preflight import BalanceCache

__all__ = [
    "AsyncCoordinator",
    "AsyncLowBalanceHook",
    "AsyncPaymentRequiredHook",
    "AsyncPaymentRequiredHooks",
    "Coordinator",
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
#: The async transport's hooks: coroutine functions or plain ones, alone or per reason.
AsyncPaymentRequiredHooks = (
    PaymentRequiredHook
    | AsyncPaymentRequiredHook
    | Mapping[Reason | str, PaymentRequiredHook | AsyncPaymentRequiredHook]
)
#: Called with an `http402.LowBalance` once per crossing of a balance or time-to-empty threshold.
LowBalanceHook = Callable[[LowBalance], None]
#: The async transport's low-balance hook: a coroutine function or a plain one.
AsyncLowBalanceHook = Callable[[LowBalance], Awaitable[None] | None]
#: Maps a request to its billing scope.
ScopeFunction = Callable[[httpx.Request], str]


class Coordinator(Protocol):
    """Shares episodes and known gates among the users of a sync transport.

    `http402.LocalCoordinator` shares them within one process; `http402.RedisCoordinator`
    across processes. `book` is the in-process state the recovery flow decides on; the
    methods are the coordinator's I/O.
    """

    book: EpisodeBook
    balances: BalanceCache

    def mark(self) -> Mark:
        """A marker taken as a request is sent, to tell a late gate from a new burst."""

    def run_episode(
        self, scope: str, sent: Mark, run_hook: Callable[[], Retry | None], window: float
    ) -> Retry | None:
        """Runs `run_hook` for this process's episode of `scope`, or returns the answer of
        the fleet's episode that covers it; re-raises the hook's exception unchanged. A
        `Retry` without `within` keeps the episode open for `window` seconds."""

    def lifted(self, scope: str) -> None:
        """A replay of `scope` got through: its known gate is forgotten."""

    def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        """Remembers that `scope` is behind this gate for `ttl` seconds."""

    def gated(self, scope: str) -> PaymentRequired | None:
        """The gate of `scope`, while it is believed to hold."""


class AsyncCoordinator(Protocol):
    """The async counterpart of `Coordinator`."""

    book: EpisodeBook
    balances: BalanceCache

    def mark(self) -> Mark:
        """A marker taken as a request is sent, to tell a late gate from a new burst."""

    async def run_episode(
        self,
        scope: str,
        sent: Mark,
        run_hook: Callable[[], Awaitable[Retry | None]],
        window: float,
    ) -> Retry | None:
        """Runs `run_hook` for this process's episode of `scope`, or returns the covering
        answer of the fleet."""

    async def lifted(self, scope: str) -> None:
        """A replay of `scope` got through: its known gate is forgotten."""

    async def mark_gated(self, scope: str, payment: PaymentRequired, ttl: float) -> None:
        """Remembers that `scope` is behind this gate for `ttl` seconds."""

    async def gated(self, scope: str) -> PaymentRequired | None:
        """The gate of `scope`, while it is believed to hold."""
