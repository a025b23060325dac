"""The exceptions raised for payment gates.

Our exception hierarchy:

* httpx.HTTPStatusError
  + PaymentRequiredError - a payment gate whose reason is unknown; base of all below.
    - InsufficientCreditsError - prepaid credits, balance or usage quota used up.
    - SubscriptionExpiredError - the subscription lapsed or the account is frozen.
    - PlanLimitExceededError - the feature or volume is not in the current plan.
    - PaymentFailedError - a charge or payment method failed.
    - PaymentChallengeError - the request has a price (x402, L402, pay-per-crawl).
* httpx.TransportError
  + PaymentOutcomeUnknownError - a paid or topped-up attempt ended without a clear answer;
    the scope and offer are held (not paid again) until the application reconciles them.

Each holds the normalized `PaymentRequired` as `.payment`, and `.request` / `.response` as
httpx has them; `.response` is readable (its body, bounded, is kept). As openai-python and
stripe-python users expect, `.status_code`, `.code`, `.message` and `.body` read the same
answer without reaching into `.payment` or `.response`.

An httpx2 client raises the twins of these classes from `http402.httpx2`, which derive from
both the class here and `httpx2.HTTPStatusError`: `except http402.InsufficientCreditsError`
and `except httpx2.HTTPError` both catch them.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from ._models import PaymentRequired, Reason
from ._redaction import (
    REDACTED,
    is_payment_proof_header,
    is_sensitive_header,
    redactor_of,
    safe_url_for_display,
    scrub_payload,
)

if TYPE_CHECKING:
    from ._holds import PaymentHold
    from ._models import PaymentOption

__all__ = [
    "FAMILY",
    "InsufficientCreditsError",
    "PaymentChallengeError",
    "PaymentFailedError",
    "PaymentOutcomeUnknownError",
    "PaymentRequiredError",
    "PlanLimitExceededError",
    "SubscriptionExpiredError",
    "error_class_for",
    "error_for",
    "rebuilt",
]

_WHAT_RESOLVES_IT = {
    Reason.INSUFFICIENT_CREDITS: "top up the account's credits",
    Reason.SUBSCRIPTION_EXPIRED: "renew the subscription or pay the outstanding invoice",
    Reason.PLAN_LIMIT_EXCEEDED: "upgrade the plan",
    Reason.PAYMENT_FAILED: "fix the payment method",
    Reason.PAYMENT_CHALLENGE: "pay for this request and replay it with the proof of payment",
    Reason.UNKNOWN: "read the response body",
}
# `.body` is cut here, in characters: the response copy already holds at most
# `max_body_bytes` (64 KiB by default) of decoded body.
_MAX_BODY_CHARS = 65_536


class PaymentRequiredError(httpx.HTTPStatusError):
    """Raised for a payment gate; raised as is when the reason is `Reason.UNKNOWN`.

    Attributes:
        payment: The normalized `PaymentRequired`.
        request: The request that was refused.
        response: The final response; its body (bounded to `max_body_bytes`) is readable.
        status_code: The response's HTTP status (`402`, or the status a gate came with).
        code: The provider's machine code (`payment.code`), or `None`.
        message: The provider's words (`payment.message`), scrubbed of credentials, or `None`.
        body: The response body as text: bounded, and scrubbed of the request's credentials.
        attempts: How many times the request was sent (0 when a preflight check refused it);
            the same number as the `attempt` of log records and of the replay extension.
        waited: Seconds spent waiting between attempts.
        not_replayed: Why no replay or payment was tried, when that is the case.

    The error is built once, when the recovery of its request ends, and never edited after;
    it survives pickling whole.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        request: httpx.Request,
        response: httpx.Response,
        payment: PaymentRequired,
        attempts: int = 1,
        waited: float = 0.0,
        not_replayed: str | None = None,
        note: str | None = None,
    ) -> None:
        if message is None:
            message = describe(payment, request)
            if note is None and not_replayed is not None:
                note = f"not replayed: {not_replayed}"
            if attempts == 0:
                # Never sent (refused before sending, by preflight or a hook that declined
                # its balance): however the recovery ended, the caller may send it again.
                note = "not sent" if note is None else f"{note}; not sent"
            if note is not None:
                message = f"{message} ({note})"
        # What `httpx.HTTPStatusError.__init__` does, without its `super()` chain: in the httpx2
        # twins that chain would reach `httpx2.HTTPStatusError.__init__` with no keywords.
        Exception.__init__(self, message)
        self.request = request
        self.response = response
        self.payment = payment
        self.attempts = attempts
        self.waited = waited
        #: Why the request was not replayed or paid, when a hook could not be used.
        self.not_replayed = not_replayed

    @property
    def reason(self) -> Reason:
        """Why the request was refused."""
        return self.payment.reason

    @property
    def status_code(self) -> int:
        """The HTTP status of the final response (`error.response.status_code`)."""
        return self.response.status_code

    @property
    def code(self) -> str | None:
        """The provider's machine code (`"insufficient_quota"`, `"card_declined"`, an integer
        code as text: `"21608"`), or `None`. A code that only repeats an HTTP status (OpenRouter's
        `"code": 402`) says nothing the status does not: it is `None`, and `status_code` has it."""
        return self.payment.code

    @property
    def message(self) -> str | None:
        """The provider's own words, bounded and scrubbed of credentials, or `None`."""
        return self.payment.message

    @property
    def body(self) -> str:
        """The response body as text, for a person or a log: at most 64 Ki characters of the
        bounded copy the transport read, with every credential of the request scrubbed
        (an API key that the server echoes back included). `""` when there is none."""
        shown: str | None = self.__dict__.get("_body")
        if shown is None:
            shown = _shown_body(self.request, self.response)
            self.__dict__["_body"] = shown
        return shown

    @property
    def request_id(self) -> str | None:
        """The provider's id for the refused request, to quote to its support."""
        return self.payment.request_id

    def __repr__(self) -> str:
        payment = self.payment
        return (
            f"{type(self).__name__}(reason={payment.reason.value!r}, "
            f"provider={payment.provider!r}, status_code={payment.status_code}, "
            f"code={payment.code!r}, request_id={payment.request_id!r}, "
            f"attempts={self.attempts})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # What crosses a process boundary keeps no secret: the request and the response as
        # `_shipped` makes them, and the payload scrubbed of the request's credentials.
        request, response = _shipped(self.request, self.response, self.body)
        payment = self.payment
        if payment.raw is not None:
            payment = attrs.evolve(
                payment, raw=scrub_payload(payment.raw, redactor_of(self.request))
            )
        return (
            _rebuild,
            (
                type(self),
                str(self),
                request,
                response,
                payment,
                self.attempts,
                self.waited,
                self.not_replayed,
            ),
        )


class InsufficientCreditsError(PaymentRequiredError):
    """Raised when prepaid credits, balance or usage quota are used up: top up."""


class SubscriptionExpiredError(PaymentRequiredError):
    """Raised when the subscription lapsed or the account is frozen for non-payment: renew."""


class PlanLimitExceededError(PaymentRequiredError):
    """Raised when the feature or volume is not in the current plan: upgrade."""


class PaymentFailedError(PaymentRequiredError):
    """Raised when a charge or the payment method failed: fix the payment method."""


class PaymentChallengeError(PaymentRequiredError):
    """Raised when the request has a price (x402, L402, pay-per-crawl): pay and replay."""


class PaymentOutcomeUnknownError(httpx.TransportError):
    """Raised when a paid or topped-up attempt ends without a clear answer: it timed out, got
    a 5xx or a connection reset after the response's headers, or the facilitator said the
    settlement is pending; and for a later gate of the same scope and offer, while the
    hold this put stands.

    The money may have moved. The scope and offer (or, for a top-up, the scope and reason)
    are *held*, in this process and through a fleet coordinator across the fleet: no hook
    pays for them again until the application checks its wallet or billing page and calls
    `http402.reconcile(client, error)` (or `await http402.areconcile(...)`). A top-up's hold
    also ends once a request of the scope gets through. A cancelled attempt puts the same
    hold, and the cancellation propagates as it came.

    It is an `httpx.TransportError` (an `httpx2.TransportError` from an httpx2 client), so
    `except httpx.HTTPError` handlers see it; it carries what is known, never the proof.

    Attributes:
        request: The attempt that ended without an answer.
        response: The response that left the outcome open (a 5xx, a pending settlement;
            closed, so its body is not readable), or `None`.
        hold: The `http402.PaymentHold` as the coordinator keeps it.
        scope: The billing scope (origin and digests of the credentials, never one).
        keys: The hold's keys within the scope (`"top-up:<reason>"`, or `"offer:<digest>"`
            for each offer the payment may have been for).
        offer: The offer that was paid (`PaymentOption`), for a challenge.
        proof_digest: `"sha256:<hex>"` of the proof that was sent, never the proof.
        receipt: The payment's reference, when one is known (an x402 transaction, or the
            hook's `Retry(receipt=...)`).
        held: `True` when this request paid nothing: it met the hold an earlier one put.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        request: httpx.Request,
        hold: PaymentHold,
        scope: str,
        keys: tuple[str, ...],
        response: httpx.Response | None = None,
        held: bool = False,
    ) -> None:
        if message is None:
            message = _describe_hold(hold, request, held)
        Exception.__init__(self, message)
        self._request = request
        self.response = response
        self.hold = hold
        self.scope = scope
        self.keys = keys
        self.held = held

    @property
    def offer(self) -> PaymentOption | None:
        return self.hold.offer

    @property
    def proof_digest(self) -> str | None:
        return self.hold.proof_digest

    @property
    def receipt(self) -> str | None:
        return self.hold.receipt

    @property
    def reason(self) -> Reason:
        """The reason of the gate the payment was for."""
        return self.hold.reason

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(reason={self.hold.reason.value!r}, keys={self.keys!r}, "
            f"receipt={self.receipt!r}, proof_digest={self.proof_digest!r}, held={self.held})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        response = self.response
        body = "" if response is None else _shown_body(self.request, response)
        request, shipped = _shipped(self.request, response, body)
        return (
            _rebuild_outcome,
            (
                type(self),
                str(self),
                request,
                self.hold.encode(),
                self.scope,
                self.keys,
                shipped,
                self.held,
            ),
        )


def _describe_hold(hold: PaymentHold, request: httpx.Request, held: bool) -> str:
    where = f"{request.method} {safe_url_for_display(str(request.url))}"
    what = "payment" if hold.reason is Reason.PAYMENT_CHALLENGE else "top-up"
    if held:
        since = datetime.datetime.fromtimestamp(hold.since, datetime.timezone.utc)
        text = (
            f"not paid: a {what} of this billing scope has an unknown outcome since "
            f"{since:%Y-%m-%d %H:%M:%S} UTC ({hold.why}), for {where}"
        )
    else:
        text = f"the outcome of the {what} is unknown ({hold.why}), for {where}"
    if hold.offer is not None and hold.offer.amount is not None:
        unit = hold.offer.asset or hold.offer.unit or ""
        text += f"; offer {hold.offer.amount} {unit} on {hold.offer.network or '?'}"
    if hold.receipt:
        text += f"; receipt {hold.receipt}"
    if hold.proof_digest:
        text += f"; proof {hold.proof_digest[:23]}"
    return (
        text + " - it is not paid again until reconciled: check the wallet or billing page, "
        "then call http402.reconcile(client, error) (await http402.areconcile(client, error) "
        "with an async client)"
    )


def _rebuild_outcome(
    cls: type[PaymentOutcomeUnknownError],
    message: str,
    request: httpx.Request,
    record: str,
    scope: str,
    keys: tuple[str, ...],
    response: httpx.Response | None,
    held: bool,
) -> PaymentOutcomeUnknownError:
    from ._holds import PaymentHold

    hold = PaymentHold.decode(record)
    assert hold is not None
    return cls(
        message, request=request, hold=hold, scope=scope, keys=keys, response=response, held=held
    )


#: The exception class raised for each reason: the family of httpx's errors. `http402.httpx2`
#: has the twin family for httpx2's, which its transports pass to `error_for`.
FAMILY: Mapping[Reason, type[PaymentRequiredError]] = MappingProxyType(
    {
        Reason.INSUFFICIENT_CREDITS: InsufficientCreditsError,
        Reason.SUBSCRIPTION_EXPIRED: SubscriptionExpiredError,
        Reason.PLAN_LIMIT_EXCEEDED: PlanLimitExceededError,
        Reason.PAYMENT_FAILED: PaymentFailedError,
        Reason.PAYMENT_CHALLENGE: PaymentChallengeError,
        Reason.UNKNOWN: PaymentRequiredError,
    }
)


def error_class_for(
    reason: Reason, family: Mapping[Reason, type[PaymentRequiredError]] = FAMILY
) -> type[PaymentRequiredError]:
    """The exception class raised for `reason`, in `family` (httpx's errors by default)."""
    return family[reason]


def error_for(
    payment: PaymentRequired,
    *,
    request: httpx.Request,
    response: httpx.Response,
    attempts: int = 1,
    waited: float = 0.0,
    note: str | None = None,
    family: Mapping[Reason, type[PaymentRequiredError]] = FAMILY,
) -> PaymentRequiredError:
    """The typed error for `payment`: the class of its reason in `family`, the errors of the
    library `response` comes from (the shell that built it knows which)."""
    return family[payment.reason](
        request=request,
        response=response,
        payment=payment,
        attempts=attempts,
        waited=waited,
        note=note,
    )


def describe(payment: PaymentRequired, request: httpx.Request | None = None) -> str:
    """One line: what happened, the provider's words, and what resolves it.

    The message was scrubbed of credentials when it was classified; the URL is shown without
    userinfo or secret query values.
    """
    where = ""
    if request is not None:
        where = f" for {request.method} {safe_url_for_display(str(request.url))}"
    words = payment.reason.value.replace("_", " ")
    text = f"{payment.status_code} {words} ({payment.provider}){where}"
    if payment.message:
        text += f": {payment.message}"
    text += f" - to resolve: {_WHAT_RESOLVES_IT[payment.reason]}"
    if payment.action_url:
        text += f" at {payment.action_url}"
    if payment.request_id:
        text += f" (request id {payment.request_id})"
    return text


#: Headers that describe the body as it came on the wire, not the text a pickled copy holds.
_FRAMING = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _shipped(request: Any, response: Any, body: str) -> tuple[Any, Any]:
    """The copies of `request` and `response` that a pickled error carries: the same method,
    URL, headers and status, with every credential scrubbed (a credential header's whole
    value, a query's credential values, an echo of one anywhere), no request body (it may
    hold a prompt or a key), and `body` (the bounded, scrubbed text) as the response's."""
    redact = redactor_of(request)

    def scrubbed(headers: Any) -> list[tuple[str, str]]:
        return [
            (
                name,
                REDACTED
                if is_sensitive_header(name) or is_payment_proof_header(name)
                else redact(value),
            )
            for name, value in headers.multi_items()
        ]

    url = safe_url_for_display(redact(str(request.url)))
    copy = type(request)(request.method, url, headers=scrubbed(request.headers))
    if response is None:
        return copy, None
    shipped = type(response)(
        response.status_code,
        headers=[(n, v) for n, v in scrubbed(response.headers) if n.lower() not in _FRAMING],
        content=body.encode("utf-8"),
        request=copy,
    )
    return copy, shipped


def _shown_body(request: httpx.Request, response: httpx.Response) -> str:
    """`response`'s body as text, scrubbed of `request`'s credentials (a hook's headers
    too), then cut."""
    try:
        text = response.text
    except Exception:  # a stand-in whose stream was never read, or an undecodable charset
        return ""
    if not text:
        return ""
    return redactor_of(request).bounded(text, _MAX_BODY_CHARS)


def _rebuild(
    cls: type[PaymentRequiredError],
    message: str,
    request: httpx.Request,
    response: httpx.Response,
    payment: PaymentRequired,
    attempts: int,
    waited: float,
    not_replayed: str | None = None,
) -> PaymentRequiredError:
    return cls(
        message,
        request=request,
        response=response,
        payment=payment,
        attempts=attempts,
        waited=waited,
        not_replayed=not_replayed,
    )


def rebuilt(
    error: PaymentRequiredError,
    *,
    cls: type[PaymentRequiredError] | None = None,
    attempts: int | None = None,
    waited: float | None = None,
    not_replayed: str | None = None,
    note: str | None = None,
) -> PaymentRequiredError:
    """A new error of `error`'s gate with these fields: what a recovery flow ends with,
    built once with every field and never edited after."""
    return (cls or type(error))(
        None,
        request=error.request,
        response=error.response,
        payment=error.payment,
        attempts=error.attempts if attempts is None else attempts,
        waited=error.waited if waited is None else waited,
        not_replayed=not_replayed,
        note=note,
    )
