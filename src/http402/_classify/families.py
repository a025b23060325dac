"""Rule families: the kinds of billing gate, named for what happened, and the reason of each.

A wording rule or a machine code belongs to one family, so that a new provider's words land
in a family rather than in a special case. A family says what happened (a balance ran out, a
subscription is off, a feature is not in the plan), or what the provider asks for (top up,
upgrade): a *remedy*. Some families are *vague*: they say that something ran out, not whose
it was, and the remedy in the same message says which.

The one rule for `plan_limit_exceeded` against `insufficient_credits`:

- **What the plan includes** is `plan_limit_exceeded`: a feature, a model, a data range, a
  paid tier, and every *allowance* the plan grants, whatever its unit (a free tier, a trial's
  or a plan's included credits, a monthly volume of requests, searches or characters). It is
  resolved by changing the plan.
- **Money the account holds or allowed itself** is `insufficient_credits`: a balance or
  prepaid credits that ran out or went negative, a budget or spend cap the account (or its
  admin) set. It is resolved by topping up or raising the cap.
- An allowance that ran out says so with a qualifier ("monthly included credits", "free tier",
  "this billing cycle"): it is the plan's even when counted in credits. What it takes to
  lift it is the remedy the message asks for: "top up" or "buy credits" makes it
  `insufficient_credits`, "upgrade" or "subscribe" `plan_limit_exceeded`; with no remedy it
  stays the plan's. A bare quota ("you exceeded your current quota") is `insufficient_credits`
  unless its remedy says otherwise ("change plan to get more").

When a message states several families, the one of lowest `rank` is what happened: a failed
or missing payment method first (nothing else can be fixed before it), then an allowance
(it qualifies the credits it is counted in), a debt the account owes (in arrears, overdue,
past due, an unpaid invoice: what is owed is paid before a top-up counts, so "in arrear or
insufficient balance" is the debt), a balance, a spend cap, a subscription that is off, a
trial's restriction, a plan's feature, and a bare quota last. A balance or a spend cap that
suspended the account is reported by that cause, not as the suspension: it is money the
account holds or allowed itself, and topping up or raising the cap lifts the suspension
("Account is suspended after reaching the monthly spending limit" is the cap's); a debt
outranks them both, and a suspension that names no cause stays the subscription's.
"""

from __future__ import annotations

import enum
import itertools

from .._models import Reason

__all__ = ["Family"]

_STATEMENT, _VAGUE, _REMEDY, _LOOK_ALIKE = "statement", "vague", "remedy", "look-alike"
_RANKS = itertools.count()


class Family(enum.Enum):
    """A kind of billing gate (or, for the last three, of a look-alike).

    Each member knows its `reason`, its `rank` (precedence among the families a message
    states: lowest wins, the order below), whether it `is_gate`, `is_vague` or `is_remedy`:
    plain attributes, read on every decision.
    """

    # What happened, most specific first (`rank`).
    INSTRUMENT_DECLINED = ("instrument_declined", Reason.PAYMENT_FAILED, _STATEMENT)
    INSTRUMENT_MISSING = ("instrument_missing", Reason.PAYMENT_FAILED, _STATEMENT)
    FREE_ALLOWANCE_USED = ("free_allowance_used", Reason.PLAN_LIMIT_EXCEEDED, _VAGUE)
    PLAN_VOLUME_USED = ("plan_volume_used", Reason.PLAN_LIMIT_EXCEEDED, _VAGUE)
    ACCOUNT_IN_ARREARS = ("account_in_arrears", Reason.SUBSCRIPTION_EXPIRED, _STATEMENT)
    BALANCE_EXHAUSTED = ("balance_exhausted", Reason.INSUFFICIENT_CREDITS, _STATEMENT)
    SPEND_CAP_REACHED = ("spend_cap_reached", Reason.INSUFFICIENT_CREDITS, _STATEMENT)
    SUBSCRIPTION_INACTIVE = ("subscription_inactive", Reason.SUBSCRIPTION_EXPIRED, _STATEMENT)
    TRIAL_RESTRICTION = ("trial_restriction", Reason.PLAN_LIMIT_EXCEEDED, _STATEMENT)
    PLAN_FEATURE = ("plan_feature", Reason.PLAN_LIMIT_EXCEEDED, _STATEMENT)
    QUOTA_EXHAUSTED = ("quota_exhausted", Reason.INSUFFICIENT_CREDITS, _VAGUE)
    # What the provider asks for.
    PAYMENT_METHOD_ASKED = ("payment_method_asked", Reason.PAYMENT_FAILED, _REMEDY)
    TOP_UP_ASKED = ("top_up_asked", Reason.INSUFFICIENT_CREDITS, _REMEDY)
    # Raising a cap the account set ("increase your cap"): money it allowed itself.
    CAP_RAISE_ASKED = ("cap_raise_asked", Reason.INSUFFICIENT_CREDITS, _REMEDY)
    BILLING_ASKED = ("billing_asked", Reason.SUBSCRIPTION_EXPIRED, _REMEDY)
    UPGRADE_ASKED = ("upgrade_asked", Reason.PLAN_LIMIT_EXCEEDED, _REMEDY)
    # A price quoted for this request, to accept on the replay ("accept charges").
    CHARGE_ASKED = ("charge_asked", Reason.PAYMENT_CHALLENGE, _REMEDY)
    # Look-alikes: a rate limit and a refused transfer of the application's own money (or a
    # billing operation of its own refused as under way, or a plan change it cannot make)
    # veto every reading; another refusal stated plainly outvotes codes and weak wording.
    THROTTLE = ("throttle", None, _LOOK_ALIKE)
    TRANSFER_REFUSED = ("transfer_refused", None, _LOOK_ALIKE)
    NOT_BILLING = ("not_billing", None, _LOOK_ALIKE)

    reason: Reason | None
    rank: int
    is_gate: bool
    is_vague: bool
    is_remedy: bool

    def __new__(cls, name: str, reason: Reason | None, kind: str) -> Family:
        member = object.__new__(cls)
        member._value_ = name
        member.reason = reason
        member.rank = next(_RANKS)
        member.is_gate = kind != _LOOK_ALIKE
        member.is_vague = kind == _VAGUE
        member.is_remedy = kind == _REMEDY
        return member

    # Identity is enough: members are singletons (and `Enum.__hash__` is a Python call).
    __hash__ = object.__hash__
