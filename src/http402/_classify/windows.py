"""The time window a piece of evidence states for the limit that refused a request.

A limit that lifts by itself within a day is a throttle, no gate; a limit renewed with a
month or the billing period is the plan's allowance, a gate. Every piece of evidence states
one window, or none: each throttle's wording rule declares its own (`WordRule.window`,
`vocabulary/throttle.py`), `PERIOD_WINDOW` the period's, and a field's duration is measured
here (`window_of_seconds`). `decide` weighs them in one place: `_throttle_gives_way` and
`_category_outranked` for a throttle's words and codes, `_field_windows` and
`_period_stated` for what a period makes the plan's:

- `NONE`: names no window and no limit: the status restated as the whole message ("Too many
  requests"), "throttled" with no rate, window or concurrency. A category, as a throttle's
  machine code is (a code names a kind of limit on every response of its kind, never this
  one's window): a finer billing code, or a gate the error's own words state plainly,
  outranks it ("Your request has been throttled. API Credit Budget reached.").
- `NAMED`: a limit named with no window of its own ("Rate limit exceeded", a bare "Limit
  reached"): a short window by its name, until another of the error's texts states a gate of
  a `PERIOD` and none states a `RATE` or a `DAY` (Proofio's 429): the time window decides,
  not the name. One text that states both stays a throttle ("Too many requests; your monthly
  limit has been exceeded").
- `RATE`: a second, a minute, an hour, a concurrency; a retry asked, or a reset a field
  states, within the hour. A throttle: no gate, on every reading when a strong rule's words
  state it, on a strict one when a weak rule's or a field does.
- `DAY`: a day ("daily", "tomorrow", "resets in 3 hours"), a reset a field states within a
  day. A throttle on a strict reading; a 402 may still state one as its reason.
- `PERIOD`: a month or the billing period ("monthly", "next month", "this billing cycle"), a
  reset a field states in a day or more. The plan's allowance: a bare quota's or a volume's
  weak words count on any status, a bare quota is the plan's, and it outranks a `NAMED`
  window in another text.
"""

from __future__ import annotations

import enum

__all__ = ["RENEWAL_WINDOW", "RETRY_SOON", "SHORT", "THROTTLE_ORDER", "Window", "window_of_seconds"]


class Window(enum.Enum):
    """The window a piece of evidence states (the module's table)."""

    NONE = "none"
    NAMED = "named"
    RATE = "rate"
    DAY = "day"
    PERIOD = "period"

    # Identity is enough: members are singletons (and `Enum.__hash__` is a Python call).
    __hash__ = object.__hash__


#: Which window a text's throttle states when its rules state several: the one stated most
#: precisely first ("Rate limit exceeded: 10 requests per minute" states a `RATE`).
THROTTLE_ORDER = (Window.RATE, Window.DAY, Window.NAMED, Window.NONE)
#: The windows that lift by themselves within a day, stated as such.
SHORT = frozenset({Window.RATE, Window.DAY})

#: A retry the payload asks for within this many seconds: a `RATE` window.
RETRY_SOON = 3600.0
#: A reset a field states (payloads13: `daysUntilReset`, `reset_in_seconds`) within this
#: many seconds is a window to wait out (`DAY`, or `RATE` within `RETRY_SOON`); in this many
#: or more it is a period's allowance (`PERIOD`, Pull That Up Jamie's 429 "Quota exceeded"
#: with `"daysUntilReset": 16`).
RENEWAL_WINDOW = 86400.0


def window_of_seconds(seconds: float) -> Window:
    """The window of a limit that a field says resets, or asks a retry, in `seconds`."""
    if seconds < RETRY_SOON:
        return Window.RATE
    return Window.DAY if seconds < RENEWAL_WINDOW else Window.PERIOD
