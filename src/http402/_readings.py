"""Balance readings, ordered by when the server could have computed them, not by arrival.

A balance that a response states (a balance header, a probe's answer, a gate's
`credits_available`) is the balance at some moment between when its request was sent and
when its answer arrived. Answers of concurrent requests arrive in any order: a long
generation charged at admission answers a minute later, a slow body, a lagging replica. So
the reading that arrives last is not the newest: one of a request sent long before looks
like a rise (a top-up: a low-balance threshold re-arms, and its hook tops up again) or like a
fall after a top-up (preflight refuses on it, and the hook buys again).

The model, one rule (`supersedes`): each billing scope holds one reading. A new reading takes
its place only if its request was sent after the held reading arrived: then the server
certainly computed it later. Any other reading *overlaps* the held one and cannot be ordered
against it; it moves no money: it does not re-arm a low-balance threshold or fire one, it is
not what preflight refuses on, and it is no sign that a top-up showed (or did not).

Marks are read off a logical clock, the episode book's `sequence`: a request reads it as it
is sent (`EpisodeBook.mark`), and a reading that is taken advances it as it arrives
(`EpisodeBook.tick`). "Sent after the held reading arrived" is then exact, whatever the wall
or monotonic clocks do; a reading whose request's mark was taken while another reading was
arriving is counted as overlapping (the cautious side).
"""

from __future__ import annotations

__all__ = ["supersedes"]


def supersedes(held_arrived: int | None, sent: int) -> bool:
    """Whether a reading whose request was sent at mark `sent` certainly comes after the
    reading held for its scope, which arrived at mark `held_arrived` (`None`: none is held).

    `True` when nothing is held, or when the request was sent at or after the held reading's
    arrival (the arrival advanced the clock past every mark taken before it); `False` for a
    reading that overlaps the held one, which is left as it is.
    """
    return held_arrived is None or sent >= held_arrived
