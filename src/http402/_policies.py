"""The policies a transport applies after a gate: how to wait and replay, and what to pay.

Both are pure: `RetryPolicy` turns into one set of tenacity arguments that the sync and the
async transport feed to `Retrying` and `AsyncRetrying` alike; `SpendPolicy` screens a
challenge's offers and keeps the spending window's accounts.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

import attrs
import tenacity

from ._exceptions import PaymentRequiredError
from ._models import PaymentOption, PaymentRequired
from ._untrusted import MAX_RETRY_AFTER

__all__ = ["RetryPolicy", "SpendPolicy", "StillGated"]


class StillGated(Exception):
    """Raised inside a replay attempt to retry it: the response was still the same gate, or
    (`not_sent`) the connection failed before anything was sent."""

    def __init__(self, error: PaymentRequiredError, not_sent: BaseException | None = None):
        super().__init__(error.payment.reason.value)
        self.error = error
        self.not_sent = not_sent


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a request is replayed while a billing change propagates.

    Waits honour `Retry-After` (and the body's own hint), at most 120 s; otherwise they are
    full-jitter exponential: a random wait between 0 and `initial_wait` doubling up to
    `max_wait`, so a herd of waiting clients spreads out. Replays stop after `max_replays`
    or when the propagation window (`Retry.within`, else `within`) would close.

    Args:
        max_replays: Most replays of one request after a hook asked for them.
        within: Default propagation window, in seconds.
        initial_wait: First backoff ceiling, in seconds.
        max_wait: Largest backoff ceiling, in seconds.
    """

    max_replays: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    within: float = attrs.field(default=120.0, validator=_positive)
    initial_wait: float = attrs.field(default=0.5, validator=_positive)
    max_wait: float = attrs.field(default=8.0, validator=_positive)

    def tenacity_arguments(self, within: float | None) -> dict[str, Any]:
        """The keyword arguments for `tenacity.Retrying` / `AsyncRetrying` (minus `sleep`)."""
        window = self.within if within is None else within
        return {
            "stop": _StopWhenWindowCloses(self.max_replays, window),
            "wait": _WaitForGate(self.initial_wait, self.max_wait),
            "retry": tenacity.retry_if_exception_type(StillGated),
            "reraise": True,
        }


class _WaitForGate:
    """The gate's own `Retry-After` when it gives one, else full-jitter exponential backoff."""

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=initial, max=maximum)

    def __call__(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, StillGated) and error.not_sent is None:
            hint = error.error.payment.retry_after
            if hint is not None and 0 <= hint <= MAX_RETRY_AFTER:
                return float(hint)
        return float(self._backoff(state))


class _StopWhenWindowCloses:
    """Stops after `max_replays`, or before a wait that would end past the window.

    Time counts as the larger of the wall clock and the waits asked for, so that with an
    injected sleep (in tests) the window still closes after the same waits.
    """

    def __init__(self, max_replays: int, window: float) -> None:
        self._max_replays = max_replays
        self._window = window

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= self._max_replays:
            return True
        elapsed = max(state.seconds_since_start or 0.0, state.idle_for)
        return elapsed + state.upcoming_sleep > self._window


def _amounts(value: Mapping[str, Decimal | int | str] | None) -> dict[str, Decimal]:
    return {asset: Decimal(str(limit)) for asset, limit in (value or {}).items()}


def _names(value: Collection[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(value)


@attrs.define(kw_only=True)
class SpendPolicy:
    """Limits on paying payment challenges, checked before any hook runs (fail closed).

    Amounts are per asset, in the unit each protocol states (x402 atomic units keyed by the
    token's address, L402 millisatoshis keyed by `"BTC"`, pay per crawl keyed by currency).
    An offer whose asset has no `max_amount`, or whose amount is unknown, is refused.

    Args:
        max_amount: Most that one request may pay, per asset.
        max_per_window: Most paid in any `window` seconds, per asset.
        window: The length of the spending window, in seconds.
        allowed_payees: If given, the only payees that may be paid.
        allowed_networks: If given, the only networks to pay on.
        allowed_assets: If given, the only assets to pay with.
        clock: Seconds, monotonic (injectable for tests).

    Example:
        ```python
        USDC_BASE = "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913"
        policy = http402.SpendPolicy(
            max_amount={USDC_BASE: 50_000},  # 0.05 USDC per request
            max_per_window={USDC_BASE: 5_000_000},  # 5 USDC per hour
            window=3600,
            allowed_networks={"eip155:8453"},
        )
        ```
    """

    max_amount: dict[str, Decimal] = attrs.field(factory=dict, converter=_amounts)
    max_per_window: dict[str, Decimal] = attrs.field(factory=dict, converter=_amounts)
    window: float = attrs.field(default=3600.0, validator=_positive)
    allowed_payees: frozenset[str] | None = attrs.field(default=None, converter=_names)
    allowed_networks: frozenset[str] | None = attrs.field(default=None, converter=_names)
    allowed_assets: frozenset[str] | None = attrs.field(default=None, converter=_names)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)
    _spent: deque[tuple[float, str, Decimal]] = attrs.field(init=False, factory=deque, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)

    def screen(self, payment: PaymentRequired) -> tuple[tuple[PaymentOption, ...], str | None]:
        """The offers this policy allows, and why the others were refused."""
        allowed: list[PaymentOption] = []
        refusals: list[str] = []
        with self._lock:
            self._forget_old()
            for option in payment.payment_options:
                refusal = self._refusal(option)
                if refusal is None:
                    allowed.append(option)
                else:
                    refusals.append(refusal)
        if not payment.payment_options:
            refusals.append("the challenge names no priced offer")
        return tuple(allowed), "; ".join(refusals) or None

    def record(self, options: tuple[PaymentOption, ...], paid: PaymentOption | None) -> None:
        """Counts a payment against the window: the offer paid, or else the dearest allowed."""
        charged = [paid] if paid is not None else _dearest_per_asset(options)
        now = self.clock()
        with self._lock:
            for option in charged:
                if option.asset is not None and option.amount is not None:
                    self._spent.append((now, option.asset, option.amount))

    def _refusal(self, option: PaymentOption) -> str | None:
        asset, amount = option.asset, option.amount
        if self.allowed_networks is not None and option.network not in self.allowed_networks:
            return f"network {option.network!r} is not allowed"
        if self.allowed_assets is not None and asset not in self.allowed_assets:
            return f"asset {asset!r} is not allowed"
        if self.allowed_payees is not None and option.pay_to not in self.allowed_payees:
            return "the payee is not allowed"
        if asset is None or amount is None:
            return "the offer states no amount or asset"
        limit = self.max_amount.get(asset)
        if limit is None:
            return f"no max_amount is set for asset {asset!r}"
        if amount > limit:
            return f"{amount} {option.unit or ''} exceeds max_amount {limit} for {asset!r}"
        window_limit = self.max_per_window.get(asset)
        if window_limit is not None:
            spent = sum((a for _, s, a in self._spent if s == asset), Decimal(0))
            if spent + amount > window_limit:
                return (
                    f"{amount} would bring the last {self.window:g} s to {spent + amount}, "
                    f"over max_per_window {window_limit} for {asset!r}"
                )
        return None

    def _forget_old(self) -> None:
        horizon = self.clock() - self.window
        while self._spent and self._spent[0][0] <= horizon:
            self._spent.popleft()


def _dearest_per_asset(options: tuple[PaymentOption, ...]) -> list[PaymentOption]:
    dearest: dict[str, PaymentOption] = {}
    for option in options:
        if option.asset is None or option.amount is None:
            continue
        known = dearest.get(option.asset)
        if known is None or (known.amount is not None and option.amount > known.amount):
            dearest[option.asset] = option
    return list(dearest.values())
