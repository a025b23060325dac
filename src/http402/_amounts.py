"""Amounts of money, exact: what a spend window stores and compares.

An offer's price is a `Decimal` in the unit its protocol states (x402 atomic units, L402
millisatoshis, a currency). Spend windows count it as an integer number of *units*, each
10^-18 of the stated unit, so an 18-decimal token's atomic amounts, millisatoshis and cents
are all whole numbers and sums never round (Python integers in a process, decimal digit
strings in Redis's Lua, which has only doubles). What cannot be represented exactly (more
than 18 decimals, more than 78 integer digits: past any uint256) is refused, never rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

__all__ = ["SCALE", "amount_of", "units", "why_unpayable"]

#: Decimals kept below a stated unit.
SCALE = 18
#: Most integer digits of an amount: a uint256 has 78.
_MAX_INTEGER_DIGITS = 78


def units(amount: Decimal | int | str) -> int:
    """`amount` as an exact integer of 10^-18 units; `ValueError` when that is not exact
    (not finite, too many decimals or digits)."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    number = int("".join(map(str, digits)) or "0")
    if number and len(digits) + exponent > _MAX_INTEGER_DIGITS:
        raise ValueError(f"{amount} has more than {_MAX_INTEGER_DIGITS} integer digits")
    shift = exponent + SCALE
    if shift >= 0:
        number *= 10**shift
    elif number:
        # Only trailing zeros may be dropped; a digit below 10^-18 cannot be kept.
        if -shift > len(digits) or number % 10**-shift:
            raise ValueError(f"{amount} has more than {SCALE} decimals")
        number //= 10**-shift
    return -number if sign else number


def amount_of(count: int) -> Decimal:
    """The `Decimal` that `units` turned into `count`, exactly."""
    sign = "-" if count < 0 else ""
    text = str(abs(count)).rjust(SCALE + 1, "0")
    whole, fraction = text[:-SCALE], text[-SCALE:].rstrip("0")
    return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")


def why_unpayable(amount: Decimal | None, unit: str | None) -> str | None:
    """Why an offer at `amount` must never be paid, or `None`: no price, a price at or below
    zero, a fraction of an atomic unit, or a price that cannot be counted exactly."""
    if amount is None:
        return "the offer states no amount"
    if not amount.is_finite():
        return f"the price {amount} is not a number"
    if amount <= 0:
        return f"the price {amount} is not above zero"
    if unit in ("atomic", "msat") and amount != amount.to_integral_value():
        return f"the price {amount} is not a whole number of {unit} units"
    try:
        units(amount)
    except ValueError as exc:
        return f"the price cannot be counted exactly ({exc})"
    return None
