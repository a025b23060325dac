"""Preflight: know before you pay.

`Preflight` is the `preflight=` option of the transports and `wrap()`. Before a request is
sent, it may fail it fast (the typed error, `attempts == 0`, nothing sent) when:

* the scope is **known to be gated**: an account-level gate was met less than `gate_ttl`
  seconds ago (what `preflight_ttl` did alone before), or
* the account's **probed balance** is below `min_balance`: the provider adapter's balance
  probe (`http402.check_balance`'s) is asked at most once per scope every `every` seconds,
  coalesced like a hook (one probe, the other requests wait for its reading).

While a hook of the scope runs, or its window is open, requests are sent instead: they join
the episode. While a top-up propagates, the scout may poll the balance probe instead of
replaying the user's (paid) request, and replays once the credits show (`poll`).

The balances probed are per-process state, kept beside the episodes
(`http402._episodes.BalanceCache`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._models import PaymentRequired

if TYPE_CHECKING:
    from ._balance import Balance

__all__ = ["Preflight", "credits_show"]


def _optional_amount(value: Decimal | int | str | None) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _optional_positive(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not value > 0:
        raise ValueError(f"{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class Preflight:
    """Checks made before a request is sent, so that a refused request costs nothing.

    Args:
        min_balance: Fail fast when the probed balance is below this, in the provider's unit
            (`Balance.currency`); with a top-up hook, top up first instead. `None`: no probe
            before sending (`poll` may still ask the probe while a top-up propagates).
        every: Seconds a probed balance is trusted; a scope is probed at most once per
            interval, however many requests it sends.
        gate_ttl: Seconds an account-level gate met by a request keeps failing the scope's new
            requests fast (`None`: off). A replay that gets through forgets it at once.
        probe: The balance probe's name, where the host does not choose it (a gateway, a test
            server); see `http402.check_balance`.
        poll: While a top-up propagates, poll the balance probe instead of replaying the
            request, and replay once the credits show.

    Example:
        ```python
        client = http402.wrap(
            httpx.Client(base_url="https://openrouter.ai/api/v1", headers=auth),
            preflight=http402.Preflight(min_balance="0.50", every=60, gate_ttl=30),
        )
        ```
    """

    min_balance: Decimal | None = attrs.field(default=None, converter=_optional_amount)
    every: float = attrs.field(default=60.0, validator=_optional_positive)
    gate_ttl: float | None = attrs.field(default=None, validator=_optional_positive)
    probe: str | None = None
    poll: bool = True

    @property
    def probes(self) -> bool:
        """`True` when balances are probed before sending."""
        return self.min_balance is not None


def credits_show(
    balance: Balance | None,
    payment: PaymentRequired | None = None,
    minimum: Decimal | None = None,
) -> bool | None:
    """Whether a probed balance says the account can pay again; `None` when it cannot tell
    (no reading, or an unlimited key with no amount), and the request should be tried.

    The provider's own "usable" flag says no when it is `False`; otherwise the available
    amount must cover the request's price and the preflight minimum, where known, or be
    above zero.
    """
    if balance is None:
        return None
    if balance.usable is False:
        return False
    if balance.available is None:
        return None if balance.usable is None else True
    needs = [n for n in (minimum, payment.credits_required if payment else None) if n is not None]
    return balance.available >= max(needs) if needs else balance.available > 0
