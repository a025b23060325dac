"""Burn rate: how fast a billing scope spends its balance, and when to warn that it runs low.

Both parts are pure (no I/O, no clock of their own: every call takes `now`) and bounded:

- `BurnRateEstimator` keeps, per scope, at most `max_samples` balance readings from the last
  `window` seconds, and at most `max_scopes` scopes, forgetting the least recently seen one
  first. From them it estimates the spend rate (a least-squares slope, in units per second)
  and the time left at that rate. A rising balance (a top-up, a refund, a new period) starts
  a new run of samples: spending before it says nothing about spending after it.
- `LowBalanceWatch` is the `low_balance=` option of the transports and `wrap()`: the hook,
  its thresholds, and the response headers a balance is read from. `LowBalanceAlarm` is what
  a transport keeps for it: one estimator and one detector, fed from balance headers and
  balance probes.
- `LowBalanceDetector` says "fire" once per crossing of a time-to-empty threshold ("less than
  two hours left") and once per crossing of a fixed balance threshold, and re-arms when the
  balance rises back (a top-up) or the estimate moves well clear of the threshold. It keeps one
  small record per scope, at most `max_scopes`, least recently seen evicted first (an evicted
  scope is armed again, so it may warn once more).

Scopes are kept and reported only as digests (`scope_digest`), never as the scope itself,
which holds an origin and credential digests the user may not want in logs or metrics.

Feed one scope from one clock: `time.monotonic()` in a process, or the `as_of` of
`http402.Balance` (seconds since the epoch) for balances read by probes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from ._models import DEFAULT_BALANCE_HEADERS, _optional_decimal
from ._untrusted import as_amount

if TYPE_CHECKING:
    from ._balance import Balance

__all__ = [
    "BurnRate",
    "BurnRateEstimator",
    "Crossings",
    "LowBalance",
    "LowBalanceAlarm",
    "LowBalanceDetector",
    "LowBalanceWatch",
    "crossing_of",
    "scope_digest",
]

_DEFAULT_MAX_SCOPES = 1024
#: The hook of a `LowBalanceWatch`: a plain function, or (for the async transport) a
#: coroutine function.
_Hook = TypeVar("_Hook", bound=Callable[..., Any], covariant=True)


def scope_digest(scope: str) -> str:
    """A short, stable digest of a billing scope: safe for logs, metrics and alerts."""
    return hashlib.sha256(scope.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _decimal(value: object) -> Decimal:
    amount = _optional_decimal(value)
    if amount is None or not amount.is_finite():
        raise ValueError(f"expected a finite amount, got {value!r}")
    return amount


@attrs.frozen(kw_only=True)
class BurnRate:
    """The spend estimate for one scope after a balance reading."""

    #: The digest of the billing scope (`scope_digest`).
    scope_digest: str
    #: The balance just read, in `currency`.
    balance: Decimal = attrs.field(converter=_decimal)
    #: Units spent per second (positive while spending, `0.0` when flat); `None` until the
    #: samples span `min_span` seconds.
    rate: float | None
    #: Seconds until the balance reaches zero at `rate`; `None` while not spending or unknown.
    time_left: float | None
    #: When the balance was read, on the caller's clock, in seconds.
    as_of: float
    #: How many readings the estimate rests on.
    samples: int
    #: The provider's adapter name, where known.
    provider: str | None = None
    #: The unit of `balance` (`"USD"`, `"credits"`), where known.
    currency: str | None = None


@attrs.frozen(kw_only=True)
class LowBalance:
    """A warning that a scope's balance runs low: what `on_low_balance` receives.

    `trigger` says which threshold was crossed: `"time_left"` (less than `threshold` seconds
    of spending left at the estimated `rate`) or `"balance"` (the balance fell below
    `threshold`, in `currency`).
    """

    #: Which threshold was crossed.
    trigger: Literal["time_left", "balance"]
    #: The threshold crossed: seconds for `"time_left"`, an amount for `"balance"`.
    threshold: Decimal = attrs.field(converter=_decimal)
    #: The balance when the threshold was crossed, in `currency`.
    balance: Decimal = attrs.field(converter=_decimal)
    #: Units spent per second, where an estimate exists.
    rate: float | None
    #: Estimated seconds until the balance is spent, where an estimate exists.
    time_left: float | None
    #: The digest of the billing scope (never the scope itself).
    scope_digest: str
    #: When the balance was read, in seconds on the clock it was fed with: in a transport the
    #: coordinator's (`time.monotonic()` unless one is given), not a date like `Balance.as_of`.
    as_of: float
    #: The provider's adapter name, where known.
    provider: str | None = None
    #: The unit of `balance`, where known.
    currency: str | None = None


class BurnRateEstimator:
    """Estimates each scope's spend rate and time left from balances seen over time.

    Args:
        max_samples: Readings kept per scope (the oldest go first).
        max_scopes: Scopes kept (the least recently seen go first).
        window: Seconds of readings the estimate looks back over.
        min_span: Seconds the readings must span before a rate is estimated, so that two
            readings a moment apart do not give a wild rate.

    Example:
        ```python
        estimator = BurnRateEstimator()
        estimate = estimator.observe(scope, balance.available, now=balance.as_of)
        if estimate.time_left is not None and estimate.time_left < 3600:
            ...
        ```
    """

    def __init__(
        self,
        *,
        max_samples: int = 32,
        max_scopes: int = _DEFAULT_MAX_SCOPES,
        window: float = 3600.0,
        min_span: float = 60.0,
    ) -> None:
        if max_samples < 2 or max_scopes < 1 or not window > 0 or min_span < 0:
            raise ValueError("need max_samples >= 2, max_scopes >= 1, window > 0, min_span >= 0")
        self._max_samples = max_samples
        self._max_scopes = max_scopes
        self._window = window
        self._min_span = min_span
        self._scopes: OrderedDict[str, deque[tuple[float, Decimal]]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """The number of scopes held."""
        return len(self._scopes)

    def observe(
        self,
        scope: str,
        balance: Decimal | int | str,
        *,
        now: float,
        provider: str | None = None,
        currency: str | None = None,
    ) -> BurnRate:
        """Records `balance` for `scope` at `now` and returns the updated estimate."""
        amount = _decimal(balance)
        digest = scope_digest(scope)
        with self._lock:
            samples = self._scopes.pop(digest, None)
            if samples is None:
                samples = deque(maxlen=self._max_samples)
            elif samples and (amount > samples[-1][1] or now < samples[-1][0]):
                # A top-up (or a clock that went back) starts a new run of spending.
                samples.clear()
            while samples and samples[0][0] < now - self._window:
                samples.popleft()
            samples.append((now, amount))
            self._scopes[digest] = samples
            while len(self._scopes) > self._max_scopes:
                self._scopes.popitem(last=False)
            points = list(samples)
        rate = self._rate(points)
        return BurnRate(
            scope_digest=digest,
            balance=amount,
            rate=rate,
            time_left=_time_left(amount, rate),
            as_of=now,
            samples=len(points),
            provider=provider,
            currency=currency,
        )

    def observe_balance(
        self, scope: str, balance: Balance, *, now: float | None = None
    ) -> BurnRate | None:
        """Records a probed `Balance` (at its `as_of` unless `now` is given).

        Returns `None`, recording nothing, when the balance states no `available` amount.
        """
        if balance.available is None:
            return None
        return self.observe(
            scope,
            balance.available,
            now=balance.as_of if now is None else now,
            provider=balance.provider,
            currency=balance.currency,
        )

    def forget(self, scope: str) -> None:
        """Drops what is known of `scope`."""
        with self._lock:
            self._scopes.pop(scope_digest(scope), None)

    def _rate(self, points: list[tuple[float, Decimal]]) -> float | None:
        if len(points) < 2 or points[-1][0] - points[0][0] < self._min_span:
            return None
        # Least squares over the run: robust to one reading taken just before a big request.
        t0 = points[0][0]
        xs = [t - t0 for t, _ in points]
        ys = [float(b) for _, b in points]
        mean_x = sum(xs) / len(xs)
        mean_y = sum(ys) / len(ys)
        var = sum((x - mean_x) ** 2 for x in xs)
        if var <= 0:
            return None
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var
        return max(-slope, 0.0)


def _time_left(balance: Decimal, rate: float | None) -> float | None:
    if balance <= 0:
        return 0.0
    if rate is None or rate <= 0:
        return None
    return float(balance) / rate


def crossing_of(trigger: str, threshold: Decimal) -> str:
    """The name of a threshold's crossing (`"balance:100"`, `"time_left:7200"`): what a
    fleet claims so that one process alone calls the hook for it."""
    return f"{trigger}:{threshold.normalize():f}"


@attrs.frozen
class Crossings:
    """What one balance reading of `scope` did to the low-balance thresholds: the warnings
    it fired, and the crossings (`crossing_of`) it re-armed."""

    scope: str
    fired: tuple[LowBalance, ...] = ()
    rearmed: tuple[str, ...] = ()
    #: The credentials of the request that read the balance: the hook's failure is logged
    #: scrubbed of them (it may quote the same key, calling the provider's billing API).
    secrets: tuple[str, ...] = attrs.field(default=(), repr=False)


@attrs.define
class _Armed:
    time_left: bool = True
    balance: bool = True
    last: Decimal | None = None


class LowBalanceDetector:
    """Decides when a scope's balance estimate should raise a `LowBalance` warning.

    Each threshold fires once per crossing: the time-to-empty one when the estimated time left
    drops below `time_left_below` seconds, the fixed one when the balance drops below
    `balance_below`. Both re-arm when the balance rises (a top-up); the time-to-empty one also
    when the estimate climbs back above `rearm_factor` times its threshold (spending slowed).
    The margin keeps a noisy estimate near the threshold from warning again and again.

    Args:
        time_left_below: Seconds of spending left that warrant a warning (`None`: off).
        balance_below: A balance that warrants a warning, in the scope's unit (`None`: off).
        max_scopes: Scopes remembered (the least recently seen go first).
        rearm_factor: How far above `time_left_below` the estimate must climb to re-arm.

    Example:
        ```python
        detector = LowBalanceDetector(time_left_below=2 * 3600, balance_below=5)
        for warning in detector.check(estimator.observe(scope, available, now=now)):
            on_low_balance(warning)
        ```
    """

    def __init__(
        self,
        *,
        time_left_below: float | None = 7200.0,
        balance_below: Decimal | int | str | None = None,
        max_scopes: int = _DEFAULT_MAX_SCOPES,
        rearm_factor: float = 1.25,
    ) -> None:
        if time_left_below is not None and not time_left_below > 0:
            raise ValueError("time_left_below must be a positive number of seconds")
        if max_scopes < 1 or rearm_factor < 1:
            raise ValueError("need max_scopes >= 1 and rearm_factor >= 1")
        self._time_left_below = time_left_below
        self._balance_below = None if balance_below is None else _decimal(balance_below)
        self._max_scopes = max_scopes
        self._rearm_factor = rearm_factor
        self._scopes: OrderedDict[str, _Armed] = OrderedDict()
        self._lock = threading.Lock()

    def check(self, estimate: BurnRate) -> tuple[LowBalance, ...]:
        """The warnings that `estimate` crosses into: none, one, or both thresholds."""
        return self.crossings(estimate)[0]

    def crossings(self, estimate: BurnRate) -> tuple[tuple[LowBalance, ...], tuple[str, ...]]:
        """The warnings that `estimate` crosses into, and the crossings it re-arms: both on
        a rise of the balance (whatever this detector had seen: another process of a fleet
        may have fired them), one whose threshold the estimate moved back clear of."""
        fired: list[LowBalance] = []
        rearmed: list[str] = []
        limit, seconds = self._balance_below, self._time_left_below
        with self._lock:
            armed = self._scopes.pop(estimate.scope_digest, None) or _Armed()
            self._scopes[estimate.scope_digest] = armed
            while len(self._scopes) > self._max_scopes:
                self._scopes.popitem(last=False)
            rose = armed.last is not None and estimate.balance > armed.last
            if rose:
                armed.time_left = armed.balance = True
            armed.last = estimate.balance
            if limit is not None:
                if rose or (estimate.balance >= limit and not armed.balance):
                    rearmed.append(crossing_of("balance", limit))
                if estimate.balance >= limit:
                    armed.balance = True
                elif armed.balance:
                    armed.balance = False
                    fired.append(self._warning("balance", limit, estimate))
            left = estimate.time_left
            if seconds is not None:
                clear = left is not None and left > seconds * self._rearm_factor
                if rose or (clear and not armed.time_left):
                    rearmed.append(crossing_of("time_left", Decimal(repr(seconds))))
                if clear:
                    armed.time_left = True
                elif left is not None and left < seconds and armed.time_left:
                    armed.time_left = False
                    fired.append(self._warning("time_left", Decimal(repr(seconds)), estimate))
        return tuple(fired), tuple(rearmed)

    def _warning(
        self, trigger: Literal["time_left", "balance"], threshold: Decimal, estimate: BurnRate
    ) -> LowBalance:
        return LowBalance(
            trigger=trigger,
            threshold=threshold,
            balance=estimate.balance,
            rate=estimate.rate,
            time_left=estimate.time_left,
            scope_digest=estimate.scope_digest,
            as_of=estimate.as_of,
            provider=estimate.provider,
            currency=estimate.currency,
        )


def _optional_threshold(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else _decimal(value)


def _optional_seconds(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be a positive number of seconds, got {value!r}")


def _header_names(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError("headers must be a sequence of header names, not one string")
    return tuple(name.lower() for name in value)


@attrs.frozen
class LowBalanceWatch(Generic[_Hook]):
    """The `low_balance=` option: call `hook` when an account's balance runs low.

    The balance is read from the response headers named in `headers` (on any response that
    is not a gate) and from balance probes (`http402.Preflight`); `hook` is called with an
    `http402.LowBalance` once per crossing of each threshold, per billing scope, and again
    only after the balance rose (a top-up). A hook that raises is logged and costs no request.

    Args:
        hook: Called with the `http402.LowBalance`; the async transport also awaits coroutine
            functions.
        below: Warn when the balance falls below this, in the provider's unit.
        within: Warn when the balance will be spent within this many seconds, at the spend
            rate estimated from the balances seen.
        headers: The response headers the balance is read from.

    Example:
        ```python
        client = http402.wrap(
            httpx.Client(base_url="https://api.example.com"),
            low_balance=http402.LowBalanceWatch(page_on_call, below=5, within=2 * 3600),
        )
        ```
    """

    hook: _Hook
    below: Decimal | None = attrs.field(default=None, kw_only=True, converter=_optional_threshold)
    within: float | None = attrs.field(default=None, kw_only=True, validator=_optional_seconds)
    headers: tuple[str, ...] = attrs.field(
        default=DEFAULT_BALANCE_HEADERS, kw_only=True, converter=_header_names
    )

    def __attrs_post_init__(self) -> None:
        if not callable(self.hook):
            raise TypeError(f"the low-balance hook must be callable, got {type(self.hook)!r}")
        if self.below is None and self.within is None:
            raise ValueError("LowBalanceWatch needs below or within (or both)")


class LowBalanceAlarm:
    """What a transport keeps for its `LowBalanceWatch`: a spend estimate and a detector per
    scope (both bounded), fed from balance headers and probed balances. No I/O: the shell
    reads the response and calls the hook.
    """

    def __init__(self, watch: LowBalanceWatch[Any]) -> None:
        self.watch = watch
        self.hook = watch.hook
        self._estimator = BurnRateEstimator()
        self._detector = LowBalanceDetector(time_left_below=watch.within, balance_below=watch.below)

    def check(
        self,
        scope: str,
        amount: Decimal,
        now: float,
        provider: str | None = None,
        currency: str | None = None,
    ) -> tuple[LowBalance, ...]:
        """The warnings that this balance of `scope` crosses into."""
        return self.crossings(scope, amount, now, provider, currency).fired

    def crossings(
        self,
        scope: str,
        amount: Decimal,
        now: float,
        provider: str | None = None,
        currency: str | None = None,
    ) -> Crossings:
        """The warnings that this balance of `scope` crosses into, and the crossings it
        re-arms."""
        estimate = self._estimator.observe(
            scope, amount, now=now, provider=provider, currency=currency
        )
        return Crossings(scope, *self._detector.crossings(estimate))


def balance_in(header: Callable[[str], str | None], names: Iterable[str]) -> Decimal | None:
    """The balance a response states in the first of the headers `names`, if any."""
    for name in names:
        amount = as_amount(header(name))
        if amount is not None:
            return amount
    return None
