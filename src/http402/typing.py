"""Types for annotating the callables and options you give http402.

```python
def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None: ...

hooks: http402.typing.PaymentRequiredHooks = {http402.Reason.INSUFFICIENT_CREDITS: top_up}
options: http402.typing.TransportOptions = {"on_payment_required": hooks, "mode": "annotate"}
client = http402.wrap(httpx.Client(), **options)
```
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol, TypedDict

import httpx

from ._exceptions import PaymentRequiredError
from ._models import PaymentRequired, Reason, Retry

if TYPE_CHECKING:
    from ._adapters import AdapterRegistry
    from ._burn import LowBalance, LowBalanceWatch
    from ._episodes import BalanceCache, EpisodeBook, Mark
    from ._policies import RetryPolicy, SpendPolicy
    from ._preflight import Preflight

__all__ = [
    "AsyncCoordinator",
    "AsyncLowBalanceHook",
    "AsyncPaymentRequiredHook",
    "AsyncPaymentRequiredHooks",
    "AsyncTransportOptions",
    "Coordinator",
    "LowBalanceHook",
    "PaymentRequiredHook",
    "PaymentRequiredHooks",
    "ScopeFunction",
    "TransportOptions",
]

#: Called with the typed error; returns `Retry(...)` to replay the request, `None` to raise.
PaymentRequiredHook = Callable[[PaymentRequiredError], Retry | None]
#: The async transport also takes coroutine functions.
AsyncPaymentRequiredHook = Callable[[PaymentRequiredError], Awaitable[Retry | None]]
#: One hook for every reason, or a hook per reason (reasons without one raise as usual),
#: keyed by `Reason` or by its value. A mapping's key type is invariant, hence one `Mapping`
#: per key type: a `dict[Reason, ...]` built before the call fits the first.
PaymentRequiredHooks = (
    PaymentRequiredHook | Mapping[Reason, PaymentRequiredHook] | Mapping[str, PaymentRequiredHook]
)
#: The async transport's hooks: coroutine functions or plain ones, alone or per reason.
AsyncPaymentRequiredHooks = (
    PaymentRequiredHook
    | AsyncPaymentRequiredHook
    | Mapping[Reason, PaymentRequiredHook | AsyncPaymentRequiredHook]
    | Mapping[str, PaymentRequiredHook | AsyncPaymentRequiredHook]
)
#: Called with an `http402.LowBalance` once per crossing of a balance or time-to-empty threshold;
#: returns `None` (it warned), or `http402.Retry` when it bought (a top-up: a gate met while it
#: propagates, within `Retry.within`, follows it instead of buying again).
LowBalanceHook = Callable[["LowBalance"], Retry | None]
#: The async transport's low-balance hook: a coroutine function or a plain one.
AsyncLowBalanceHook = Callable[["LowBalance"], Awaitable[Retry | None] | Retry | None]
#: Maps a request to its billing scope.
ScopeFunction = Callable[[httpx.Request], str]


class Coordinator(Protocol):
    """Shares episodes and known gates among the users of a sync transport.

    `http402.LocalCoordinator` shares them within one process; `http402.RedisCoordinator`
    across processes. `book` is the in-process state the recovery flow decides on; the
    methods are the coordinator's I/O.
    """

    book: EpisodeBook

    @property
    def balances(self) -> BalanceCache:
        """The balances probed per scope in this process, for `Preflight`."""

    def mark(self) -> Mark:
        """A marker taken as a request is sent, to tell a late gate from a new burst: the
        book's (`book.mark()`), whose sequence also orders the balances read."""

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

    def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope`, after a top-up made outside a hook."""

    def hold(self, scope: str, key: str, record: str) -> None:
        """Holds `scope` and `key`: no hook pays for them until `release`. `record` is JSON
        text (`http402.PaymentHold.encode()`); the first one stays. A hold never expires
        and is never evicted; a store that cannot keep it raises (fail closed)."""

    def held(self, scope: str, key: str) -> str | None:
        """The record of the hold on `scope` and `key`, or `None`. A store that cannot
        answer raises, or answers a record saying so: either counts as held (fail closed)."""

    def release(self, scope: str, key: str | None = None) -> None:
        """Ends the hold on `scope` and `key` (every hold of `scope` for `None`): the
        application's reconcile."""


class AsyncCoordinator(Protocol):
    """The async counterpart of `Coordinator`."""

    book: EpisodeBook

    @property
    def balances(self) -> BalanceCache:
        """The balances probed per scope in this process, for `Preflight`."""

    def mark(self) -> Mark:
        """A marker taken as a request is sent, to tell a late gate from a new burst: the
        book's (`book.mark()`), whose sequence also orders the balances read."""

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

    async def forget_gate(self, scope: str) -> None:
        """Forgets the known gate of `scope`, after a top-up made outside a hook."""

    async def hold(self, scope: str, key: str, record: str) -> None:
        """Holds `scope` and `key` (see `Coordinator.hold`)."""

    async def held(self, scope: str, key: str) -> str | None:
        """The record of the hold on `scope` and `key`, or `None`."""

    async def release(self, scope: str, key: str | None = None) -> None:
        """Ends the hold on `scope` and `key` (every hold of `scope` for `None`)."""


class _SharedOptions(TypedDict, total=False):
    """The options that the sync and async transports take alike."""

    registry: AdapterRegistry | None
    max_body_bytes: int
    max_body_seconds: float | None
    retry: RetryPolicy | None
    spend_policy: SpendPolicy | None
    max_payments: int
    scope: ScopeFunction | None
    preflight: Preflight | None
    mode: Literal["raise", "annotate"]
    hook_timeout: float | None
    peek_streams: bool
    #: Deprecated: `preflight=Preflight(gate_ttl=...)`.
    preflight_ttl: float | None
    #: Deprecated: `low_balance=LowBalanceWatch(hook, below=...)`.
    low_balance_below: Decimal | int | str | None
    #: Deprecated: `low_balance=LowBalanceWatch(hook, within=...)`.
    low_balance_within: float | None
    #: Deprecated: `low_balance=LowBalanceWatch(hook, headers=...)`.
    balance_headers: tuple[str, ...]


class TransportOptions(_SharedOptions, total=False):
    """The options of `PaymentRequiredTransport`, and of `http402.wrap` for a sync client
    (`httpx.Client` or `httpx2.Client`); each is described on the transport."""

    on_payment_required: PaymentRequiredHooks | None
    coordinator: Coordinator | None
    low_balance: LowBalanceWatch[LowBalanceHook] | None
    sleep: Callable[[float], None] | None
    #: Deprecated: `low_balance=LowBalanceWatch(hook, ...)`.
    on_low_balance: LowBalanceHook | None


class AsyncTransportOptions(_SharedOptions, total=False):
    """The options of `AsyncPaymentRequiredTransport`, and of `http402.wrap` for an async
    client (`httpx.AsyncClient` or `httpx2.AsyncClient`): coroutine functions are welcome as
    hooks and `sleep`."""

    on_payment_required: AsyncPaymentRequiredHooks | None
    coordinator: AsyncCoordinator | None
    low_balance: LowBalanceWatch[AsyncLowBalanceHook] | None
    sleep: Callable[[float], Awaitable[None]] | None
    #: Deprecated: `low_balance=LowBalanceWatch(hook, ...)`.
    on_low_balance: AsyncLowBalanceHook | None
