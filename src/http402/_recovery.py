"""What both transports decide after a gate: the shells only call hooks, send and sleep.

`Recovery` holds the options of one transport and answers its questions: which hook (if
any) handles this gate, what scope it belongs to, whether a replay still meets the same gate,
what the spend policy allows, whether a scope is known to be gated before sending, and
whether a balance header calls for the low-balance hook.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import attrs
import httpx
import tenacity

from ._exceptions import PaymentChallengeError, PaymentRequiredError, error_for
from ._models import PaymentRequired, Reason, Retry
from ._policies import RetryPolicy, SpendPolicy, StillGated
from ._replay import default_scope, why_not_replayable
from ._telemetry import report
from ._untrusted import as_amount

__all__ = ["DEFAULT_BALANCE_HEADERS", "PREFLIGHT_EXTENSION", "Recovery"]

#: `response.extensions` key on the stand-in response of a request refused by preflight.
PREFLIGHT_EXTENSION = "http402.preflight"

#: Response headers read for the remaining balance when `on_low_balance` is set.
DEFAULT_BALANCE_HEADERS = ("x-credits-remaining", "x-credit-balance", "x-balance-remaining")


class Recovery:
    """The recovery options of one transport, and the decisions made from them.

    Args:
        on_payment_required: A hook for every reason, or a mapping from reason to hook.
        allow_async: Whether coroutine functions are accepted (the async transport).
        retry: The replay policy.
        spend_policy: Limits on paying challenges; without one, challenges are not screened.
        max_payments: Most paid replays of one request.
        scope: Maps a request to its billing scope.
        preflight_ttl: Seconds a known gate keeps failing new requests fast, or `None`.
        on_low_balance: Called when a balance header drops below `low_balance_below`.
        low_balance_below: The threshold for `on_low_balance`.
        balance_headers: Header names to read the balance from.
        hook_timeout: Seconds a hook may run before its episode fails with `TimeoutError`.
    """

    def __init__(
        self,
        *,
        on_payment_required: Any,
        allow_async: bool,
        retry: RetryPolicy | None,
        spend_policy: SpendPolicy | None,
        max_payments: int,
        scope: Callable[[httpx.Request], str] | None,
        preflight_ttl: float | None,
        on_low_balance: Any,
        low_balance_below: Decimal | int | str | None,
        balance_headers: tuple[str, ...],
        hook_timeout: float | None = None,
    ) -> None:
        self._hooks = _hook_table(on_payment_required, allow_async, "on_payment_required")
        self.retry = retry if retry is not None else RetryPolicy()
        self.spend_policy = spend_policy
        if hook_timeout is not None and not hook_timeout > 0:
            raise ValueError(f"hook_timeout must be positive seconds, got {hook_timeout!r}")
        #: Seconds a hook may take before the episode fails with `TimeoutError`.
        self.hook_timeout = hook_timeout
        if max_payments < 1:
            raise ValueError(f"max_payments must be at least 1, got {max_payments}")
        self.max_payments = max_payments
        self.scope = scope if scope is not None else default_scope
        if preflight_ttl is not None and not preflight_ttl > 0:
            raise ValueError(f"preflight_ttl must be positive seconds, got {preflight_ttl!r}")
        self.preflight_ttl = preflight_ttl
        if (on_low_balance is None) != (low_balance_below is None):
            raise ValueError("on_low_balance and low_balance_below go together")
        if on_low_balance is not None:
            _check_callable(on_low_balance, allow_async, "on_low_balance")
        self.on_low_balance = on_low_balance
        self._low_balance_below = (
            None if low_balance_below is None else Decimal(str(low_balance_below))
        )
        self._balance_headers = balance_headers
        self._below: dict[str, bool] = {}
        self._below_lock = threading.Lock()

    @property
    def recovers(self) -> bool:
        """`True` when gates may lead to a hook call, or preflight checks are on."""
        return bool(self._hooks) or self.preflight_ttl is not None

    @property
    def watches_balance(self) -> bool:
        return self.on_low_balance is not None

    def why_not_replayable(self, request: httpx.Request) -> str | None:
        """Why `request` could not be replayed, checked only when a hook could want to."""
        return why_not_replayable(request) if self._hooks else None

    def hook_for(self, error: PaymentRequiredError, why: str | None) -> Any:
        """The hook for this gate, or `None` to raise `error` as it is.

        A request whose body cannot be sent again (`why`) gets no hook call, and the error
        says why.
        """
        hook = self._hooks.get(error.reason) if self._hooks else None
        if hook is None:
            return None
        if why is not None:
            error.not_replayed = why
            error.args = (f"{error.args[0]} (not replayed: {why})",)
            self._report("not_replayed", why, error, level=logging.WARNING)
            return None
        return hook

    def _report(
        self, event: str, text: str, error: PaymentRequiredError, level: int = logging.INFO
    ) -> None:
        report(
            event,
            text,
            error.payment,
            scope=self.scope(error.request),
            attempt=error.attempts,
            waited=error.waited,
            level=level,
        )

    def checked(self, answer: object) -> Retry | None:
        """The hook's answer, which must be a `Retry` or `None`."""
        if answer is None or isinstance(answer, Retry):
            return answer
        raise TypeError(
            f"a payment-required hook must return http402.Retry or None, not "
            f"{type(answer).__name__}"
        )

    def still_gated(
        self, first: PaymentRequiredError, again: PaymentRequiredError, state: Any
    ) -> BaseException:
        """What a replay's gate means: wait and retry the same gate, or raise a new one."""
        again.attempts = state.attempt_number + 1
        again.waited = state.idle_for
        if again.reason is not first.reason:
            self._report("reason_changed", "the gate changed on replay", again, logging.WARNING)
            return again
        self._report("still_gated", "waiting for the billing change to propagate", again)
        return StillGated(again)

    def not_sent(self, first: PaymentRequiredError, exc: BaseException, state: Any) -> StillGated:
        """A replay whose connection failed before anything was sent: retry it in the budget."""
        first.attempts = state.attempt_number + 1
        first.waited = state.idle_for
        self._report("not_sent", f"the replay could not connect ({type(exc).__name__})", first)
        return StillGated(first, not_sent=exc)

    def gave_up(self, gated: StillGated, retrying: tenacity.BaseRetrying) -> BaseException:
        """What to raise once the window closed or the replays ran out: the last typed error,
        or the connection error if the last replay could not even be sent."""
        error = gated.error
        error.waited = float(retrying.statistics.get("idle_for", error.waited))
        self._report("gave_up", "the gate did not lift in time", error, logging.WARNING)
        return gated.not_sent if gated.not_sent is not None else error

    def recovered(self, error: PaymentRequiredError, attempt: int, waited: float) -> None:
        error.attempts, error.waited = attempt, waited
        self._report("recovered", "the replay went through", error)

    def screen(self, error: PaymentRequiredError) -> PaymentRequiredError:
        """The challenge with only the offers the spend policy allows; raises if none."""
        if self.spend_policy is None:
            return error
        allowed, refusals = self.spend_policy.screen(error.payment)
        if not allowed:
            error.not_replayed = f"the spend policy refused every offer: {refusals}"
            error.args = (f"{error.args[0]} (not paid: {error.not_replayed})",)
            self._report("payment_refused", error.not_replayed, error, logging.WARNING)
            raise error
        if len(allowed) == len(error.payment.payment_options):
            return error
        payment = _with_options(error.payment, allowed)
        return error_for(payment, request=error.request, response=error.response)

    def paid(self, error: PaymentRequiredError, retry: Retry) -> None:
        """Counts a payment the hook made against the spend policy's window."""
        if self.spend_policy is not None:
            self.spend_policy.record(error.payment.payment_options, retry.paid)
        self._report("paid", "the hook paid; replaying with the proof", error)

    def after_payment(self, again: PaymentRequiredError, payments: int) -> PaymentRequiredError:
        """A gate met by a paid replay: returns a new challenge to pay, if more payments are
        allowed; otherwise raises a `PaymentChallengeError` carrying the server's reason for
        refusing the payment."""
        again.attempts = payments + 1
        if again.reason is Reason.PAYMENT_CHALLENGE and payments < self.max_payments:
            return again
        server_reason = again.payment.message or again.payment.code or "no reason given"
        error = PaymentChallengeError(
            f"{again.args[0]} (after a paid replay; the server said: {server_reason})",
            request=again.request,
            response=again.response,
            payment=again.payment,
            attempts=payments + 1,
        )
        self._report("payment_rejected", server_reason, error, logging.WARNING)
        raise error

    def gate_scope(
        self, request: httpx.Request, error: PaymentRequiredError
    ) -> tuple[str, float] | None:
        """The scope to remember as gated for preflight, and for how long; `None` unless
        preflight is on and the gate is account-level."""
        if self.preflight_ttl is None or not error.reason.is_account_level:
            return None
        return self.scope(request), self.preflight_ttl

    def preflight_scope(self, request: httpx.Request) -> str | None:
        """The scope to look up before sending, if preflight is on."""
        return None if self.preflight_ttl is None else self.scope(request)

    def refuse_early(self, request: httpx.Request, known: PaymentRequired | None) -> None:
        """Raises the known gate of the request's scope, without sending the request."""
        if known is None:
            return
        response = httpx.Response(
            known.status_code, request=request, extensions={PREFLIGHT_EXTENSION: True}
        )
        error = error_for(known, request=request, response=response, attempts=0)
        error.args = (f"{error.args[0]} (known before sending: not sent)",)
        self._report("preflight", "failing fast while the scope is gated", error)
        raise error

    def low_balance(self, request: httpx.Request, response: httpx.Response) -> Decimal | None:
        """The balance to report to `on_low_balance`, once per drop below the threshold."""
        balance = None
        for name in self._balance_headers:
            balance = as_amount(response.headers.get(name))
            if balance is not None:
                break
        if balance is None or self._low_balance_below is None:
            return None
        scope = self.scope(request)
        below = balance < self._low_balance_below
        with self._below_lock:
            was_below = self._below.get(scope, False)
            self._below[scope] = below
        return balance if below and not was_below else None


def _with_options(payment: PaymentRequired, options: tuple[Any, ...]) -> PaymentRequired:
    return attrs.evolve(payment, payment_options=options)


def _hook_table(hooks: Any, allow_async: bool, name: str) -> dict[Reason, Any] | None:
    if hooks is None:
        return None
    if isinstance(hooks, Mapping):
        table = {Reason(key): hook for key, hook in hooks.items() if hook is not None}
    else:
        table = dict.fromkeys(Reason, hooks)
    for hook in table.values():
        _check_callable(hook, allow_async, name)
    return table


def _check_callable(hook: Any, allow_async: bool, name: str) -> None:
    if not callable(hook):
        raise TypeError(f"{name} must be callable, got {type(hook).__name__}")
    if not allow_async and is_async_callable(hook):
        raise TypeError(
            f"{name} is a coroutine function, which the sync transport cannot await; use "
            "AsyncPaymentRequiredTransport, or pass a plain function"
        )


def is_async_callable(hook: Any) -> bool:
    """`True` for a coroutine function, or an object whose `__call__` is one."""
    return inspect.iscoroutinefunction(hook) or inspect.iscoroutinefunction(
        getattr(hook, "__call__", None)  # noqa: B004 - an object's async __call__ counts
    )
