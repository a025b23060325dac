"""The normalized answer: why an API refused, and what would resolve it."""

from __future__ import annotations

import datetime
import enum
import math
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

__all__ = ["PaymentOption", "PaymentRequired", "Reason", "Retry"]

# A decline code is a short machine word ("insufficient_funds"); anything else is ignored.
_DECLINE_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


#: Response headers read for the remaining balance when `on_low_balance` is set.
DEFAULT_BALANCE_HEADERS = ("x-credits-remaining", "x-credit-balance", "x-balance-remaining")


class Reason(str, enum.Enum):
    """Why a provider refused the request, in the terms of what resolves it.

    Each value is the member's lower-case name, so `Reason("insufficient_credits")` works and
    the value is what telemetry reports as `billing_gate_reason`.
    """

    #: Prepaid credits, balance or usage quota used up: top up.
    INSUFFICIENT_CREDITS = "insufficient_credits"
    #: Subscription lapsed, past due, renewal failed, account frozen: pay or renew.
    SUBSCRIPTION_EXPIRED = "subscription_expired"
    #: The feature or volume is not in the current plan: upgrade the plan.
    PLAN_LIMIT_EXCEEDED = "plan_limit_exceeded"
    #: A charge or payment method failed (card declined, expired card): fix the method.
    PAYMENT_FAILED = "payment_failed"
    #: A per-request price (x402, L402, pay-per-crawl): pay this request and replay with proof.
    PAYMENT_CHALLENGE = "payment_challenge"
    #: A 402 with nothing usable in it: a person reads the raw body.
    UNKNOWN = "unknown"

    @property
    def is_entitlement(self) -> bool:
        """`True` for a gate on what the plan includes, `False` for a gate on payment."""
        return self is Reason.PLAN_LIMIT_EXCEEDED

    @property
    def is_account_level(self) -> bool:
        """`True` when the gate holds for the whole billing account, not just this request."""
        return self is not Reason.PAYMENT_CHALLENGE and self is not Reason.UNKNOWN

    def __str__(self) -> str:
        return self.value


def _optional_decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        # Money never passes through a float: go through its shortest repr instead.
        return Decimal(repr(value))
    if isinstance(value, (int, str)):
        return Decimal(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


@attrs.frozen(kw_only=True)
class PaymentOption:
    """One priced offer of a payment challenge (an x402 `accepts` entry, an L402 invoice, ...).

    Amounts are `Decimal`s in the `unit` the protocol states, never floats.
    """

    #: The protocol that made the offer: `"x402"`, `"l402"`, `"payment"`, `"pay-per-crawl"`.
    protocol: str
    #: The protocol's own scheme name (x402 `"exact"`, `"L402"`, `"LSAT"`, ...).
    scheme: str | None = None
    #: Where to pay (`"base-sepolia"`, `"eip155:84532"`, `"lightning"`).
    network: str | None = None
    #: The price, exact, in `unit`.
    amount: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: What `amount` counts: `"atomic"` units of `asset`, `"msat"`, or a currency (the
    #: `Payment` scheme names its `currency` here, and counts base units of it: cents for
    #: `"usd"`). Whether a fraction of it may be paid is what the protocol says
    #: (`http402._amounts.indivisible_unit`), never this label alone.
    unit: str | None = None
    #: The asset paid with (a token contract address, `"BTC"`, `"USD"`).
    asset: str | None = None
    #: The payee (an address, an account id); for L402 the BOLT 11 invoice to pay.
    pay_to: str | None = None
    #: The resource the price is for.
    resource: str | None = None
    #: The server's words about what is sold.
    description: str | None = None
    #: How long the server waits for the payment to settle (x402).
    max_timeout_seconds: int | None = None
    #: When the offer stops being valid (the `Payment` scheme's `expires`).
    expires_at: datetime.datetime | None = None
    #: The offer as the server sent it (may hold a challenge token: never logged).
    raw: Any = attrs.field(default=None, repr=False, eq=False, hash=False)


def _options(value: Iterable[PaymentOption]) -> tuple[PaymentOption, ...]:
    return value if type(value) is tuple else tuple(value)


def _reason(value: object) -> Reason:
    # A member is kept as it is: calling the enum on one costs a lookup per answer built.
    return value if type(value) is Reason else Reason(value)


@attrs.frozen(kw_only=True)
class PaymentRequired:
    """The normalized answer for a payment-gate response.

    Absent information is `None`, never a guess. Build one with `http402.classify(response)`.
    """

    #: Why the provider refused, in the terms of what resolves it.
    reason: Reason = attrs.field(converter=_reason)
    #: The name of the adapter that recognised the response.
    provider: str
    #: The HTTP status the gate came with (402, or a provider's own 400/401/403/429).
    status_code: int = 402
    #: The provider's own machine code (`"insufficient_quota"`, `"card_declined"`).
    code: str | None = None
    #: The provider's human message, bounded and stripped of credentials.
    message: str | None = None
    #: What the refused request would have cost, in the provider's unit.
    credits_required: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: The balance left, in the provider's unit.
    credits_available: Decimal | None = attrs.field(default=None, converter=_optional_decimal)
    #: The currency or unit of the amounts, as the provider names it.
    currency: str | None = None
    #: The plan the account is on, for plan limits.
    current_plan: str | None = None
    #: The plan that includes the refused feature or volume.
    required_plan: str | None = None
    #: A safe `https` link to the top-up, upgrade or billing page.
    action_url: str | None = None
    #: Seconds to wait before trying again, from `Retry-After` or the body.
    retry_after: float | None = None
    #: The provider's id for the refused request, to quote to its support.
    request_id: str | None = None
    #: The priced offers of a payment challenge, one entry per offer.
    payment_options: tuple[PaymentOption, ...] = attrs.field(default=(), converter=_options)
    #: The decoded payload (JSON value or bounded text), for a person or a custom rule to read.
    raw: Any = attrs.field(default=None, repr=False, eq=False, hash=False)

    @property
    def is_entitlement(self) -> bool:
        """`True` when the plan lacks the feature or volume, `False` for a payment gate."""
        return self.reason.is_entitlement

    @property
    def decline_code(self) -> str | None:
        """Why the card issuer declined, where the payload says (Stripe's `decline_code`:
        `"insufficient_funds"`, `"lost_card"`, `"do_not_honor"`); else `None`.

        `code` stays the provider's own code (`"card_declined"`); this reads the issuer's
        finer reason from `raw` (top level or its `error` object), only if it is a short code.
        """
        raw = self.raw
        if not isinstance(raw, Mapping):
            return None
        for holder in (raw.get("error"), raw):
            value = holder.get("decline_code") if isinstance(holder, Mapping) else None
            if isinstance(value, str) and _DECLINE_CODE.fullmatch(value):
                return value
        return None


def _header_pairs(
    value: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    pairs = tuple(value.items()) if isinstance(value, Mapping) else tuple(value)
    for name, header in pairs:
        if not isinstance(name, str) or not isinstance(header, str):
            raise TypeError("Retry headers must be str names and str values")
        if name.lower() == "idempotency-key":
            raise ValueError(
                "a replay keeps the caller's Idempotency-Key byte for byte; do not set it here"
            )
    return pairs


def _positive_window(instance: object, attribute: Any, value: float | None) -> None:
    if value is not None and not (value > 0 and math.isfinite(value)):
        raise ValueError(
            f"{attribute.name} must be a positive, finite number of seconds, got {value!r}"
        )


def _seconds_from_now(instance: object, attribute: Any, value: float | None) -> None:
    if value is not None and not (value >= 0 and math.isfinite(value)):
        raise ValueError(f"{attribute.name} must be finite seconds, 0 or more, got {value!r}")


@attrs.frozen
class Retry:
    """What an upgrade hook returns to have the refused request replayed.

    Args:
        headers: Headers to add to the replayed request: an x402 `PAYMENT-SIGNATURE`, an L402
            `Authorization`, fresh credentials. They are never logged or shown.
        within: Seconds the billing change may take to propagate through the provider; the
            request is replayed with backoff until the gate lifts or this window closes
            (default: the transport's retry policy, 120 s).
        paid: The offer the hook paid, for a spend policy's accounting (optional).
        expected: Seconds after which the billing change should show, if the hook knows:
            the first replay is sent then, and the schedule starts from there. Without it
            (or with `expected=0`: the top-up shows already), the first replay goes at once.
        receipt: A reference to what the hook bought (an invoice, a charge or transaction
            id), never a secret: a `PaymentOutcomeUnknownError` carries it, to reconcile by.

    Example:
        ```python
        def top_up(error: http402.PaymentRequiredError) -> http402.Retry | None:
            billing.add_credits(100)
            return http402.Retry(within=60)
        ```
    """

    #: The headers to add, as `(name, value)` pairs (a mapping is accepted too).
    headers: tuple[tuple[str, str], ...] = attrs.field(factory=tuple, converter=_header_pairs)
    within: float | None = attrs.field(default=None, validator=_positive_window)
    paid: PaymentOption | None = attrs.field(default=None, kw_only=True)
    expected: float | None = attrs.field(default=None, kw_only=True, validator=_seconds_from_now)
    receipt: str | None = attrs.field(default=None, kw_only=True)

    def __repr__(self) -> str:
        names = [name for name, _ in self.headers]
        return (
            f"Retry(headers={names!r} (values hidden), within={self.within!r}, "
            f"expected={self.expected!r}, receipt={self.receipt!r})"
        )
