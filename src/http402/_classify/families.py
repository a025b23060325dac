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
(it qualifies the credits it is counted in), a balance, a subscription that is off, a spend
cap, a trial's restriction, a plan's feature, and a bare quota last.
"""

from __future__ import annotations

import enum

from .._models import Reason

__all__ = ["Family"]


class Family(enum.Enum):
    """A kind of billing gate (or, for the last three, of a look-alike)."""

    # What happened, most specific first (`rank`).
    INSTRUMENT_DECLINED = "instrument_declined"
    INSTRUMENT_MISSING = "instrument_missing"
    FREE_ALLOWANCE_USED = "free_allowance_used"
    PLAN_VOLUME_USED = "plan_volume_used"
    BALANCE_EXHAUSTED = "balance_exhausted"
    SUBSCRIPTION_INACTIVE = "subscription_inactive"
    SPEND_CAP_REACHED = "spend_cap_reached"
    TRIAL_RESTRICTION = "trial_restriction"
    PLAN_FEATURE = "plan_feature"
    QUOTA_EXHAUSTED = "quota_exhausted"
    # What the provider asks for.
    PAYMENT_METHOD_ASKED = "payment_method_asked"
    TOP_UP_ASKED = "top_up_asked"
    BILLING_ASKED = "billing_asked"
    UPGRADE_ASKED = "upgrade_asked"
    # Look-alikes: a rate limit and a refused transfer of the application's own money veto
    # every reading; another refusal stated plainly outvotes codes and weak wording.
    THROTTLE = "throttle"
    TRANSFER_REFUSED = "transfer_refused"
    NOT_BILLING = "not_billing"

    @property
    def reason(self) -> Reason | None:
        """The reason a gate of this family has (a vague one's when no remedy says)."""
        return _REASONS.get(self)

    @property
    def rank(self) -> int:
        """Precedence among the families a message states: lowest wins."""
        return _RANK[self]

    @property
    def is_vague(self) -> bool:
        """`True` when the family says something ran out but not whose: a remedy decides."""
        return self in _VAGUE

    @property
    def is_remedy(self) -> bool:
        """`True` when the family is what the provider asks for, not what happened."""
        return self in _REMEDIES

    @property
    def is_gate(self) -> bool:
        """`False` for the look-alike families."""
        return self in _REASONS


_REASONS = {
    Family.INSTRUMENT_DECLINED: Reason.PAYMENT_FAILED,
    Family.INSTRUMENT_MISSING: Reason.PAYMENT_FAILED,
    Family.FREE_ALLOWANCE_USED: Reason.PLAN_LIMIT_EXCEEDED,
    Family.PLAN_VOLUME_USED: Reason.PLAN_LIMIT_EXCEEDED,
    Family.BALANCE_EXHAUSTED: Reason.INSUFFICIENT_CREDITS,
    Family.SUBSCRIPTION_INACTIVE: Reason.SUBSCRIPTION_EXPIRED,
    Family.SPEND_CAP_REACHED: Reason.INSUFFICIENT_CREDITS,
    Family.TRIAL_RESTRICTION: Reason.PLAN_LIMIT_EXCEEDED,
    Family.PLAN_FEATURE: Reason.PLAN_LIMIT_EXCEEDED,
    Family.QUOTA_EXHAUSTED: Reason.INSUFFICIENT_CREDITS,
    Family.PAYMENT_METHOD_ASKED: Reason.PAYMENT_FAILED,
    Family.TOP_UP_ASKED: Reason.INSUFFICIENT_CREDITS,
    Family.BILLING_ASKED: Reason.SUBSCRIPTION_EXPIRED,
    Family.UPGRADE_ASKED: Reason.PLAN_LIMIT_EXCEEDED,
}
_VAGUE = frozenset({Family.FREE_ALLOWANCE_USED, Family.PLAN_VOLUME_USED, Family.QUOTA_EXHAUSTED})
_REMEDIES = frozenset(
    {
        Family.PAYMENT_METHOD_ASKED,
        Family.TOP_UP_ASKED,
        Family.BILLING_ASKED,
        Family.UPGRADE_ASKED,
    }
)
_RANK = {family: rank for rank, family in enumerate(Family)}
