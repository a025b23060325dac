"""What the recovery flow asks a transport to do, and what the transport answers.

`Recovery.flow` (in `_recovery.py`) yields these *actions*; a shell (sync, async, httpx2)
performs each and sends back its result, stepping the flow through `Steps`:

| action | the shell | answers |
|---|---|---|
| `Send` | sends the request through the inner transport | `Sent`, `Gated` or `NotSent` |
| `Sleep` | sleeps | `None` |
| `StartHook` | starts the hook where no caller owns it (a thread, a task) | `None` |
| `Wait` | waits for the episode to change, at most `timeout` | `None` |
| `KnownGate`, `MarkGated`, `Lifted` | asks or tells the coordinator | the known gate, `None` |
| `Probe` | sends a balance probe through the inner transport | a `Balance` |
| `Reserve` | reserves in the spend window (a shared store is I/O) | the reservation |
| `Notify` | starts the low-balance hook (off the request) | `None` |
| `Held` | asks for a hold on any of `keys` (here first) | its record, or `None` |
| `Hold`, `Release` | puts or ends holds, here and through the coordinator | `None` |

`Hold` and `Release` are done even while the request is being cancelled.

Any other exception the shell meets is thrown into the flow. A shell dispatches with `match`
and ends with `assert_never(action)`, so that a new action is an error of the type checker
in every shell, never silently taken for another.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NoReturn

import attrs
import httpx

from . import _metrics as metrics
from ._amounts import canonical_offer
from ._episodes import Episode, EpisodeBook, Mark, running_hook
from ._exceptions import PaymentRequiredError, rebuilt
from ._models import PaymentRequired, Retry
from ._policies import Reservation, SpendPolicy

if TYPE_CHECKING:
    from ._burn import Crossings

__all__ = [
    "BOUGHT",
    "Action",
    "Flow",
    "Gated",
    "Held",
    "Hold",
    "HookCall",
    "KnownGate",
    "Lifted",
    "LowBalanceRunning",
    "MarkGated",
    "NotSent",
    "Notify",
    "Probe",
    "Release",
    "Reserve",
    "Send",
    "Sent",
    "Sleep",
    "StartHook",
    "Steps",
    "Wait",
    "assert_never",
]


@attrs.frozen
class Send:
    """Send `request` through the inner transport: the answer is `Sent`, `Gated` or
    `NotSent`; any other exception is thrown into the flow. `sent` is the mark taken as it
    is sent: a balance its answer states is a reading as of then."""

    request: httpx.Request
    sent: Mark | None = None


@attrs.frozen
class Sent:
    response: httpx.Response


@attrs.frozen
class Gated:
    error: PaymentRequiredError


@attrs.frozen
class NotSent:
    """The connection failed before anything was sent: the request may be sent again."""

    error: BaseException


@attrs.frozen
class Sleep:
    """Sleep `seconds`; the answer is `None`."""

    seconds: float


@attrs.frozen
class StartHook:
    """Start `call` where no caller owns it (a thread, a task of no request), through the
    coordinator's `run_episode` when `fleet`, and `finish` its episode with the answer."""

    call: HookCall
    fleet: bool
    scope: str
    sent: Mark


@attrs.frozen
class Wait:
    """Wait until `episode` changes after `seen`, or `timeout` seconds; the answer is `None`."""

    episode: Episode
    seen: int
    timeout: float | None


@attrs.frozen
class KnownGate:
    """Ask the coordinator for the known gate of `scope`: the answer is it, or `None`."""

    scope: str


@attrs.frozen
class MarkGated:
    """Tell the coordinator `scope` is gated by `payment` for `ttl` seconds."""

    scope: str
    payment: PaymentRequired
    ttl: float


@attrs.frozen
class Lifted:
    """Tell the coordinator a replay of `scope` got through."""

    scope: str


@attrs.frozen
class Probe:
    """Send the balance probe `request` through the inner transport: the answer is a
    `Balance`; a failed probe is thrown in as `BalanceProbeError`."""

    request: httpx.Request
    probe: str | None


@attrs.frozen
class Reserve:
    """Screen `payment`'s offers and reserve the dearest allowed in the spend window: the
    answer is `SpendPolicy.reserve`'s (`areserve`'s in the async shell, so a shared store's
    round trip never blocks the event loop)."""

    policy: SpendPolicy
    payment: PaymentRequired


@attrs.frozen
class Notify:
    """Give the low-balance watch's hook the warnings a reading fired (off the request: it
    never waits for the hook); the answer is `None`."""

    crossings: Crossings


#: `LowBalanceRunning`'s answer when no low-balance run of the scope is under way, but one
#: that ended and bought (its hook answered `Retry`) has its top-up's window open.
BOUGHT = "bought"


@attrs.frozen
class LowBalanceRunning:
    """Ask whether a low-balance hook of `scope` runs in any process of the fleet (its
    coordinator marks each run in its store): the answer is `True`, `BOUGHT` (no run under
    way, but the window of one that bought is open) or `False` (`False` when the store
    does not answer). Asked only of a coordinator that marks runs."""

    scope: str


@attrs.frozen
class Held:
    """Ask for the hold on `scope` and any of `keys`: the answer is the first record found
    (this process's holds first, then the coordinator's), or `None`. A coordinator that
    cannot answer raises: the flow then fails closed."""

    scope: str
    keys: tuple[str, ...]


@attrs.frozen
class Hold:
    """Hold `scope` and each of `keys` with `record` (JSON text), in this process and through
    the coordinator; done even while the request is being cancelled. The answer is `None`."""

    scope: str
    keys: tuple[str, ...]
    record: str


@attrs.frozen
class Release:
    """End the holds on `scope` and `keys`, in this process and through the coordinator."""

    scope: str
    keys: tuple[str, ...]


@attrs.define(eq=False)
class HookCall:
    """One call of a hook: what the shell runs, and how its answer is settled.

    `done` and `finish` run in the hook's own thread or task, so a spend reservation is
    committed or released even when every caller has been cancelled.

    A pay hook (`pays`: a challenge's) that raises may have paid before it failed (a wallet
    that paid the invoice, then failed to look up the preimage): its reservation stays
    spent, and the hold `held_if_raised` (scope, keys, record) is put in this process at
    once, before any waiter wakes, so that no request of this process pays for those offers
    in between (nor after, when no request waits any more). Only its answer `None` says
    that nothing was paid.

    A hook cut short before its answer was recorded (its task cancelled: an event loop's
    shutdown, a cancel of the task; `cut_short`) may have paid or bought too: a pay hook's
    offers are held as when it raises, and a top-up's scope and reason by `held_if_cut`
    (scope, keys, record) until reconciled, as a top-up whose outcome is unknown is (case
    113: the next job's gate bought again once the failure hold lapsed).
    """

    hook: Any
    error: PaymentRequiredError
    episode: Episode
    book: EpisodeBook
    window: float
    reservation: Reservation | None = None
    pays: bool = False
    held_if_raised: tuple[str, tuple[str, ...], str] | None = None
    held_if_cut: tuple[str, tuple[str, ...], str] | None = None
    #: The hold keys whose hold stops this top-up (`_holds.top_up_holds`), asked again in a
    #: fleet once an election made this process run it (`Shell._hold_to_recheck`).
    held_by: tuple[str, ...] = ()

    def call(self) -> Any:
        """Calls the hook with the gate, in a context marked as running a hook of its book
        (`running_hook`): a request the hook sends through a client of the same coordinator
        passes through recovery instead of waiting on this very call. A coroutine
        function's coroutine is returned, to be awaited under `acall`."""
        with running_hook(self.book):
            return self.hook(self.error)

    async def acall(self) -> Any:
        """Awaits a coroutine function hook, its context marked as `call`'s."""
        with running_hook(self.book):
            return await self.hook(self.error)

    def cut_short(self) -> tuple[str, tuple[str, ...], str] | None:
        """The hook was cut short after it started and before its answer was recorded:
        whether it paid is unknown. Holds here at once what it may have paid for (a pay
        hook's offers, a top-up's scope and reason), so that the episode's waiters, and the
        gates after it, raise `PaymentOutcomeUnknownError` instead of paying again; returns
        that hold, for the shell to put through the coordinator too."""
        held = self.held_if_raised if self.pays else self.held_if_cut
        if held is None:
            return None
        scope, keys, record = held
        for key in keys:
            self.book.holds.hold(scope, key, record)
        if not self.pays:
            self.episode.held = record
        return held

    def done(self, answer: object) -> Retry | None:
        """Checks the hook's answer and settles the reservation; raises `TypeError` for an
        answer that is not a `Retry` or `None`."""
        if answer is not None and not isinstance(answer, Retry):
            raise TypeError(
                f"a payment-required hook must return http402.Retry or None, not "
                f"{type(answer).__name__}"
            )
        reservation = self.reservation
        if reservation is not None:
            if answer is None:
                reservation.release()
                return None
            paid = answer.paid
            reservation.commit(paid)
            if paid is not None and canonical_offer(paid) not in {
                canonical_offer(option) for option in reservation.options
            }:
                # Money may have moved already: the reservation stays spent, and the proof
                # is not sent on, since the policy never allowed that offer.
                raise rebuilt(
                    self.error,
                    not_replayed="the hook paid an offer the spend policy did not allow",
                    note="not replayed: the hook paid an offer the spend policy did not allow",
                )
        return answer

    def finish(
        self,
        answer: Retry | None,
        error: BaseException | None,
        *,
        unknown: bool = False,
        ran: bool = True,
    ) -> None:
        """Records the outcome in the book, waking every waiter. `unknown`: the hook was cut
        off, and whether it paid is unknown, so its reservation stays spent (fail closed); so
        does a pay hook's that raised. `ran=False`: the fleet answered without running the
        hook here."""
        if error is not None and not (unknown or self.pays):
            self._release()
        elif error is not None:
            if self.reservation is not None:
                self.reservation.commit(None)
            if self.held_if_raised is not None:
                scope, keys, record = self.held_if_raised
                for key in keys:
                    self.book.holds.hold(scope, key, record)
        outcome = "error" if error is not None else "declined" if answer is None else "retry"
        if ran:
            metrics.record_hook_call(self.error.payment, outcome=outcome)
        elif answer is None and error is None:
            self.episode.note = self.episode.note or "the fleet declined this episode"
        self.book.finish(self.episode, answer, error, self.window)

    def _release(self) -> None:
        if self.reservation is not None:
            self.reservation.release()


Action = (
    Send
    | Sleep
    | StartHook
    | Wait
    | KnownGate
    | MarkGated
    | Lifted
    | Probe
    | Reserve
    | Notify
    | LowBalanceRunning
    | Held
    | Hold
    | Release
)
Flow = Generator[Action, Any, httpx.Response]


if TYPE_CHECKING:
    from typing_extensions import assert_never
else:

    def assert_never(value: object) -> NoReturn:
        """`typing.assert_never` (Python 3.11), for the last case of a shell's dispatch."""
        raise AssertionError(f"unhandled action: {type(value).__name__}")


class Steps:
    """Steps a flow for a shell, which only performs `action` and hands back its result
    (`send`) or its exception (`throw`), while `running`; then `result()` is the response,
    or raises the flow's error."""

    def __init__(self, flow: Flow) -> None:
        self._flow = flow
        self._response: httpx.Response | None = None
        self._error: BaseException | None = None
        self.running = True
        self.action: Action
        self._step(flow.send, None)

    def send(self, answer: Any) -> None:
        self._step(self._flow.send, answer)

    def throw(self, error: BaseException) -> None:
        self._step(self._flow.throw, error)

    def result(self) -> httpx.Response:
        error = self._error
        if error is not None:
            # Raised in the caller's frame, the error would take for its `__context__`
            # whatever the caller is handling; it keeps the one it had in the flow.
            context = error.__context__
            try:
                raise error
            finally:
                error.__context__ = context
        assert self._response is not None
        return self._response

    def _step(self, step: Callable[[Any], Action], value: Any) -> None:
        try:
            self.action = step(value)
        except StopIteration as done:
            self._response, self.running = done.value, False
        except BaseException as error:
            self._error, self.running = error, False
