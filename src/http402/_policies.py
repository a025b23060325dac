"""The policies a transport applies after a gate: how to wait and replay, and what to pay.

Both are pure: `RetryPolicy` gives the waits of the replay schedule; `SpendPolicy` screens a
challenge's offers and keeps the spending window's accounts, reserving before a hook pays.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import attrs

from ._amounts import (
    BITCOIN,
    asset_key,
    canonical_address,
    canonical_network,
    canonical_offer,
    counted,
    limit_of,
    units,
    why_unpayable,
)
from ._logs import logger as _logger
from ._models import PaymentOption, PaymentRequired

__all__ = ["Reservation", "RetryPolicy", "SpendPolicy", "SpendStore", "fleet_policy"]


_T = TypeVar("_T")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


def _optional_count(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and value < 1:
        raise ValueError(f"{attribute.name} must be at least 1 or None, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a request is replayed while a billing change propagates.

    After a hook answers `Retry`, one request of the episode (the *scout*) replays at once
    (or after the hook's `Retry(expected=...)`), then on a geometric schedule:
    `initial_wait`, then each wait `multiplier` times the last, up to
    `max_wait`, each with up to `jitter` (a fraction) added or taken at random. The other
    requests of the episode wait, and go as soon as the scout gets through. Replays stop when
    the propagation window (`Retry.within`, else `within`) closes; `max_replays` is an
    optional extra cap per request. A gate's `Retry-After` is honoured: no replay is sent
    before it, and one that falls beyond the window ends the replays at once.

    The defaults were measured (`benchmarks/recovery.py`): a replay at once, then 0.25 s
    growing by 1.3 to a 4 s cap, wastes at most about 0.3 of the propagation time (plus the
    cap), where full jitter wasted 1.5 times it. Below the cap, a billing change that shows
    between two replays waits at most `multiplier - 1` of the time already waited: with 1.3,
    a top-up that shows after 2 s is replayed within 0.45 s, one scout request a step.

    Args:
        within: Default propagation window, in seconds.
        initial_wait: The first wait after the hook, in seconds.
        multiplier: How much each wait grows.
        max_wait: The largest wait, in seconds.
        jitter: The fraction of each wait added or taken at random (0 for none).
        max_replays: Most replays of one request, or `None` for no cap but the window.
    """

    within: float = attrs.field(default=120.0, validator=_positive)
    initial_wait: float = attrs.field(default=0.25, validator=_positive)
    multiplier: float = attrs.field(default=1.3, validator=attrs.validators.ge(1.0))
    max_wait: float = attrs.field(default=4.0, validator=_positive)
    jitter: float = attrs.field(
        default=0.1, validator=[attrs.validators.ge(0.0), attrs.validators.lt(1.0)]
    )
    max_replays: int | None = attrs.field(default=None, validator=_optional_count)

    def waits(
        self, expected: float | None = None, *, rand: Callable[[], float] = random.random
    ) -> Iterator[float]:
        """The waits before each replay, in seconds: first `expected` when a hook gave it,
        else none (a top-up often shows at once), then the curve.

        The curve is tenacity's `wait_exponential`; the jitter is proportional, so a wait
        never strays more than `jitter` of itself from the curve.
        """
        import tenacity  # only when a replay happens: keeps `import http402` light

        curve = tenacity.wait_exponential(
            multiplier=self.initial_wait, exp_base=self.multiplier, max=self.max_wait
        )
        yield 0.0 if expected is None else float(expected)
        attempt = 1
        while True:
            base = float(curve(_Attempt(attempt)))  # type: ignore[arg-type]
            yield base * (1.0 + self.jitter * (2.0 * rand() - 1.0))
            if base < self.max_wait:  # past the cap the curve is flat: stop counting
                attempt += 1


@attrs.define
class _Attempt:
    """The one field of `tenacity.RetryCallState` that its wait strategies read."""

    attempt_number: int


def _amounts(value: Mapping[str, Decimal | int | str] | None) -> dict[str, Decimal]:
    """Limits, exact: a limit that cannot be counted exactly, or below zero, is refused."""
    limits: dict[str, Decimal] = {}
    for asset, limit in (value or {}).items():
        key, amount = limit_of(asset, Decimal(str(limit)))
        if key in limits:
            raise ValueError(f"{asset!r} names the asset {key!r} twice: give one limit")
        limits[key] = amount
    for asset, limit in limits.items():
        if units(limit) < 0:
            raise ValueError(f"a limit cannot be below zero: {limit} for {asset!r}")
    return limits


def _payees(value: Collection[str] | None) -> frozenset[str] | None:
    """Payees as offers are compared with them (`canonical_offer`): an EVM address in lower
    case."""
    return None if value is None else frozenset(canonical_address(p) or p for p in value)


def _networks(value: Collection[str] | None) -> frozenset[str] | None:
    """Networks as offers are compared with them: by CAIP-2 id, x402 v1's names mapped."""
    return None if value is None else frozenset(canonical_network(n) or n for n in value)


def _assets(value: Collection[str] | None) -> frozenset[str] | None:
    return None if value is None else frozenset(asset_key(asset) for asset in value)


class SpendStore(Protocol):
    """Where a `SpendPolicy` keeps its window when processes share it (`RedisSpendStore`).

    Each method is atomic in the store; amounts are per asset.
    """

    def reserve(
        self,
        window: float,
        offers: dict[str, tuple[Decimal | None, list[Decimal]]],
        *,
        look_only: bool = False,
    ) -> tuple[list[str], dict[str, Decimal], dict[str, Decimal]]:
        """Per asset (its limit, the amounts on offer), reserves the dearest amount that
        fits: `(entries, spent before, reserved)`."""

    def commit(self, window: float, entries: list[str], paid: tuple[str, Decimal] | None) -> None:
        """Replaces the reservation's entries with the amount paid."""

    def release(self, window: float, entries: list[str]) -> None:
        """Gives the reservation's entries back."""


@attrs.define(eq=False)
class Reservation:
    """Money set aside in a spend window before a hook pays: committed or released once."""

    policy: SpendPolicy
    options: tuple[PaymentOption, ...]
    entries: list[list[Any]]
    done: bool = False
    #: The shared store's entries, when the policy has a `store`.
    shared: list[str] | None = None

    def commit(self, paid: PaymentOption | None) -> None:
        """Keeps the reservation as spent: the offer paid, or else the dearest allowed."""
        self.policy._commit(self, paid)

    def release(self) -> None:
        """Gives the reservation back: the hook declined or failed."""
        self.policy._release(self)

    async def acommit(self, paid: PaymentOption | None) -> None:
        """`commit` for an event loop: an async store is awaited, a sync store's round trip
        runs in a worker thread."""
        if self.shared is not None and _is_async(self.policy.store):
            await self.policy._acommit(self, paid)
            return
        await _off_loop(self.shared is not None, lambda: self.commit(paid))

    async def arelease(self) -> None:
        """`release` for an event loop, as `acommit`."""
        if self.shared is not None and _is_async(self.policy.store):
            await self.policy._arelease(self)
            return
        await _off_loop(self.shared is not None, self.release)


@attrs.define(kw_only=True)
class SpendPolicy:
    """Limits on paying payment challenges, checked before any hook runs (fail closed).

    Amounts are per asset, one unit per key (`_amounts.counted`): x402 atomic units keyed by
    the token's address, L402 millisatoshis keyed by `"BTC"`, and a currency of ISO 4217 keyed
    by its upper-case code and counted in its minor unit whatever protocol states the price
    (the `Payment` scheme's cents as they are, pay per crawl's dollars times 100): write
    `{"USD": 1000}` for $10. An offer whose asset has no `max_amount`, or whose amount is
    unknown, is refused.

    Before a hook runs, the dearest allowed offer per asset is *reserved* in the window, under
    one lock with the check: concurrent challenges can never together pass `max_per_window`.
    The reservation becomes the amount paid when the hook answers, and is released when it
    declines or raises. Offers are screened before anything is reserved: one priced at or
    below zero, at a fraction of an indivisible unit, beyond `max_amount`, or at a price that cannot
    be counted exactly is refused. Amounts are compared and summed exactly, for any asset and
    any number of decimals.

    Next to a fleet coordinator (`RedisCoordinator`), the window is the fleet's: the transport
    keeps it in the coordinator's store (`coordinator.spend_store()`), so that N processes
    together stay within `max_per_window`; `per_process=True` keeps it in this process.
    Reserving in a shared window fails closed: when Redis does not answer, or lost its data
    within the last window, the offer is refused and nothing is paid.

    Args:
        max_amount: Most that one request may pay, per asset.
        max_per_window: Most paid in any `window` seconds, per asset, ends included: a
            payment counts until it is more than `window` seconds old.
        window: The length of the spending window, in seconds.
        allowed_payees: If given, the only payees that may be paid (an EVM address in any
            case: compared as `canonical_offer` has it).
        allowed_networks: If given, the only networks to pay on (x402 v1's names and their
            CAIP-2 ids name one network: `"base"` is `"eip155:8453"`).
        allowed_assets: If given, the only assets to pay with (an EVM address in any case).
        clock: Seconds, monotonic (injectable for tests).
        store: Where the window is kept when processes share it; `None` keeps it here, or
            in the fleet's store next to a fleet coordinator.
        per_process: Keep the window in this process even next to a fleet coordinator.

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
    allowed_payees: frozenset[str] | None = attrs.field(default=None, converter=_payees)
    allowed_networks: frozenset[str] | None = attrs.field(default=None, converter=_networks)
    allowed_assets: frozenset[str] | None = attrs.field(default=None, converter=_assets)
    clock: Callable[[], float] = attrs.field(default=time.monotonic, repr=False)
    store: SpendStore | None = attrs.field(default=None, repr=False)
    per_process: bool = False
    # [time, asset, units] entries, oldest first; a reservation's entries are in it too.
    _spent: list[list[Any]] = attrs.field(init=False, factory=list, repr=False)
    _lock: threading.Lock = attrs.field(init=False, factory=threading.Lock, repr=False)

    def screen(self, payment: PaymentRequired) -> tuple[tuple[PaymentOption, ...], str | None]:
        """The offers this policy allows now, and why the others were refused."""
        if self.store is not None:
            allowed, refusals, _ = self._shared(payment, look_only=True)
            return allowed, refusals
        with self._lock:
            return self._screen(payment)

    def reserve(
        self, payment: PaymentRequired
    ) -> tuple[tuple[PaymentOption, ...], str | None, Reservation | None]:
        """Screens the offers and reserves the dearest allowed per asset, atomically.

        Returns the allowed offers, why the others were refused, and the reservation (`None`
        when nothing is allowed).
        """
        if self.store is not None:
            return self._shared(payment, look_only=False)
        with self._lock:
            allowed, refusals = self._screen(payment)
            if not allowed:
                return allowed, refusals, None
            now = self.clock()
            entries = [
                [now, key, units(amount)]
                for key, amount in (_counted(option) for option in _dearest_per_asset(allowed))
            ]
            self._spent.extend(entries)
            return allowed, refusals, Reservation(self, allowed, entries)

    async def areserve(
        self, payment: PaymentRequired
    ) -> tuple[tuple[PaymentOption, ...], str | None, Reservation | None]:
        """`reserve` for an event loop: an async store (`AsyncRedisCoordinator`'s) is
        awaited; a sync store's round trip runs in a worker thread, so that a slow or
        unreachable Redis never blocks the loop."""
        if _is_async(self.store):
            return await self._ashared(payment)
        return await _off_loop(self.store is not None, lambda: self.reserve(payment))

    def record(self, options: tuple[PaymentOption, ...], paid: PaymentOption | None) -> None:
        """Counts a payment made outside a reservation: the offer paid, else the dearest."""
        charged = [paid] if paid is not None else _dearest_per_asset(options)
        if self.store is not None:
            for option in charged:
                count = counted(option)
                if count is not None:
                    self.store.commit(self.window, [], count)
            return
        now = self.clock()
        with self._lock:
            for option in charged:
                count = counted(option)
                if count is not None:
                    self._spent.append([now, count[0], units(count[1])])

    def _screen(
        self, payment: PaymentRequired, *, count_window: bool = True
    ) -> tuple[tuple[PaymentOption, ...], str | None]:
        """The allowed offers and refusals; without `count_window`, the window is left out
        (a shared store counts it)."""
        if count_window:
            self._forget_old()
        allowed: list[PaymentOption] = []
        refusals: list[str] = []
        for option in payment.payment_options:
            refusal = self._refusal(option, count_window=count_window)
            if refusal is None:
                allowed.append(option)
            else:
                refusals.append(refusal)
        if not payment.payment_options:
            refusals.append("the challenge names no priced offer")
        return tuple(allowed), "; ".join(refusals) or None

    def _shared(
        self, payment: PaymentRequired, *, look_only: bool
    ) -> tuple[tuple[PaymentOption, ...], str | None, Reservation | None]:
        """`reserve` (or `screen`) against the shared store: the checks that need no window
        here, then one atomic call that reads the window and reserves."""
        assert self.store is not None
        screened, refusals, offers = self._offers(payment)
        if not offers:
            return (), refusals, None
        try:
            answer = self.store.reserve(self.window, offers, look_only=look_only)
        except Exception as exc:
            return (), _unanswered(refusals, exc), None
        return self._reserved(screened, refusals, answer, look_only)

    async def _ashared(
        self, payment: PaymentRequired
    ) -> tuple[tuple[PaymentOption, ...], str | None, Reservation | None]:
        store: Any = self.store
        screened, refusals, offers = self._offers(payment)
        if not offers:
            return (), refusals, None
        try:
            answer = await store.areserve(self.window, offers)
        except Exception as exc:
            return (), _unanswered(refusals, exc), None
        return self._reserved(screened, refusals, answer, False)

    def _offers(
        self, payment: PaymentRequired
    ) -> tuple[
        tuple[PaymentOption, ...], str | None, dict[str, tuple[Decimal | None, list[Decimal]]]
    ]:
        screened, refusals = self._screen(payment, count_window=False)
        offers: dict[str, tuple[Decimal | None, list[Decimal]]] = {}
        for option in screened:
            count = counted(option)
            if count is not None:
                key, amount = count
                offers.setdefault(key, (self.max_per_window.get(key), []))[1].append(amount)
        return screened, refusals, offers

    def _reserved(
        self,
        screened: tuple[PaymentOption, ...],
        refusals: str | None,
        answer: tuple[list[str], dict[str, Decimal], dict[str, Decimal]],
        look_only: bool,
    ) -> tuple[tuple[PaymentOption, ...], str | None, Reservation | None]:
        entries, spent, _ = answer
        allowed: list[PaymentOption] = []
        notes = [refusals] if refusals else []
        for option in screened:
            count = counted(option)
            already = units(spent.get(count[0] if count else "", Decimal(0)))
            refusal = self._window_refusal(option, already)
            if refusal is None:
                allowed.append(option)
            else:
                notes.append(refusal)
        why = "; ".join(notes) or None
        if look_only or not entries:
            return tuple(allowed), why, None
        return tuple(allowed), why, Reservation(self, tuple(allowed), [], shared=entries)

    async def _acommit(self, reservation: Reservation, paid: PaymentOption | None) -> None:
        if reservation.done:
            return
        reservation.done = True
        charged = None if paid is None else counted(paid)
        store: Any = self.store
        entries = reservation.shared or []
        try:
            await store.acommit(self.window, entries, charged)
        except Exception as exc:
            _unsettled(exc)

    async def _arelease(self, reservation: Reservation) -> None:
        if reservation.done:
            return
        reservation.done = True
        store: Any = self.store
        try:
            await store.arelease(self.window, reservation.shared or [])
        except Exception as exc:
            _unsettled(exc)

    def _commit(self, reservation: Reservation, paid: PaymentOption | None) -> None:
        if reservation.shared is not None:
            if reservation.done:
                return
            reservation.done = True
            charged = None if paid is None else counted(paid)
            entries = reservation.shared
            self._settle_shared(lambda: self._store().commit(self.window, entries, charged))
            return
        with self._lock:
            if reservation.done:
                return
            reservation.done = True
            charged = None if paid is None else counted(paid)
            if charged is None:
                return  # the dearest offers stay reserved as the amount spent
            self._drop(reservation.entries)
            self._spent.append([self.clock(), charged[0], units(charged[1])])

    def _release(self, reservation: Reservation) -> None:
        if reservation.shared is not None:
            if not reservation.done:
                reservation.done = True
                entries = reservation.shared
                self._settle_shared(lambda: self._store().release(self.window, entries))
            return
        with self._lock:
            if not reservation.done:
                reservation.done = True
                self._drop(reservation.entries)

    def _store(self) -> SpendStore:
        assert self.store is not None
        return self.store

    def _settle_shared(self, operation: Callable[[], None]) -> None:
        """A commit or release that the store did not take leaves the reservation counted
        (failing closed, until the window forgets it), never fails the hook's answer."""
        try:
            operation()
        except Exception as exc:
            _unsettled(exc)

    def _drop(self, entries: list[list[Any]]) -> None:
        ids = {id(entry) for entry in entries}
        self._spent = [entry for entry in self._spent if id(entry) not in ids]

    def _refusal(self, option: PaymentOption, *, count_window: bool = True) -> str | None:
        unpayable = why_unpayable(option)
        if unpayable is not None:
            return unpayable
        count = counted(option)
        asset = None if count is None else count[0]
        same = canonical_offer(option)  # one offer however a replica spells it (case 114)
        if self.allowed_networks is not None and same.network not in self.allowed_networks:
            return f"network {option.network!r} is not allowed"
        if self.allowed_assets is not None and asset not in self.allowed_assets:
            return f"asset {option.asset!r} is not allowed"
        if self.allowed_payees is not None and same.pay_to not in self.allowed_payees:
            return "the payee is not allowed"
        if count is None:
            return "the offer states no amount or asset"
        asset, amount = count
        limit = self.max_amount.get(asset)
        if limit is None:
            return f"no max_amount is set for asset {asset!r}"
        if amount > limit:
            return f"{_shown(option, amount)} exceeds max_amount {limit} for {asset!r}"
        if not count_window:
            return None
        spent = sum(a for _, s, a in self._spent if s == asset)
        return self._window_refusal(option, spent)

    def _window_refusal(self, option: PaymentOption, spent: int) -> str | None:
        """Why `option` does not fit beside `spent` (exact units) in the window, if it does
        not: every sum and comparison is in integers."""
        count = counted(option)
        if count is None:
            return None
        asset, amount = count
        window_limit = self.max_per_window.get(asset)
        if window_limit is None:
            return None
        total = spent + units(amount)
        if total > units(window_limit):
            from ._amounts import amount_of

            return (
                f"{_shown(option, amount)} would bring the last {self.window:g} s to "
                f"{amount_of(total)}, over max_per_window {window_limit} for {asset!r}"
            )
        return None

    def _forget_old(self) -> None:
        horizon = self.clock() - self.window
        drop = 0
        while drop < len(self._spent) and self._spent[drop][0] < horizon:
            drop += 1
        if drop:
            del self._spent[:drop]


def fleet_policy(policy: SpendPolicy | None, coordinator: Any) -> SpendPolicy | None:
    """The policy a transport applies: next to a fleet coordinator (one with a
    `spend_store`), a policy with no `store` and no `per_process=True` keeps its window in
    the fleet's store, so the fleet shares it (the transports' options call this once)."""
    if policy is None or policy.store is not None or policy.per_process:
        return policy
    spend_store = getattr(coordinator, "spend_store", None)
    if spend_store is None:
        return policy
    return attrs.evolve(policy, store=spend_store())


def _is_async(store: Any) -> bool:
    return store is not None and hasattr(store, "areserve")


def _unanswered(refusals: str | None, exc: BaseException) -> str:
    why = f"the fleet's spend window did not answer ({type(exc).__name__}: {exc}): not paid"
    if exc.__class__.__name__ == "SpendRefused":
        why = f"{exc}: not paid"
    return f"{refusals}; {why}" if refusals else why


def _unsettled(exc: BaseException) -> None:
    """A commit or release the store did not take leaves the reservation counted (failing
    closed, until the window forgets it), never fails the hook's answer."""
    _logger.warning(
        "http402: the shared spend window did not record a settlement (%s: %s); the "
        "reservation stays counted until the window ends",
        type(exc).__name__,
        exc,
    )


async def _off_loop(blocking: bool, call: Callable[[], _T]) -> _T:
    """`call()`, in a worker thread when it does blocking I/O (a shared store)."""
    if not blocking:
        return call()
    import anyio.to_thread

    return await anyio.to_thread.run_sync(call)


def _dearest_per_asset(options: tuple[PaymentOption, ...]) -> list[PaymentOption]:
    """The dearest offer per asset, as the policy counts them (`counted`: one key, one unit)."""
    dearest: dict[str, tuple[Decimal, PaymentOption]] = {}
    for option in options:
        count = counted(option)
        if count is None:
            continue
        key, amount = count
        known = dearest.get(key)
        if known is None or amount > known[0]:
            dearest[key] = (amount, option)
    return [option for _, option in dearest.values()]


def _counted(option: PaymentOption) -> tuple[str, Decimal]:
    count = counted(option)
    assert count is not None  # only offers with an asset and an amount are allowed
    return count


def _shown(option: PaymentOption, amount: Decimal) -> str:
    """The price as the offer states it, and as the policy counts it when that differs
    (`900.00 USD (90000.00 base units of USD)`, `5 sat (5000 millisatoshis)`)."""
    stated = f"{option.amount} {option.unit or ''}".rstrip()
    if amount == option.amount:
        return stated
    key = asset_key(option.asset or "")
    return f"{stated} ({amount} {'millisatoshis' if key == BITCOIN else f'base units of {key}'})"
