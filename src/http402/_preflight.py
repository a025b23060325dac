"""Preflight: know before you pay.

`Preflight` is the `preflight=` option of the transports and `wrap()`. Before a request is
sent, it may fail it fast (the typed error, `attempts == 0`, nothing sent) when:

* the scope is **known to be gated**: an account-level gate was met less than `gate_ttl`
  seconds ago (what `preflight_ttl` did alone before), or
* the last **balance seen** for the scope is below `min_balance`. A balance is seen from a
  balance probe (`http402.check_balance`'s), a balance header on a response
  (`X-Credits-Remaining` and friends), or the gate itself (its `credits_available`); the
  newest one counts, so a top-up that shows lets requests go again. The probe is asked only
  when no balance was seen for the scope in the last `every` seconds and the host has one,
  coalesced like a hook (one probe, the other requests wait for its reading).

While a hook of the scope runs, or its window is open, requests are sent instead: they join
the episode. While a top-up propagates, the scout may poll the balance probe instead of
replaying the user's (paid) request, and replays once the credits show (`poll`; on by
default only with `min_balance`).

A refused request gets a stand-in response whose body carries the gate's own payload
(bounded), so that an SDK above the transport says what the provider said
(`stand_in_body`). The payload is scrubbed of the credentials of the request that met the
gate before it is kept (`kept_gate`), and of the refused request's when it is shown: two
keys of one scope never see each other's echo.

The balances seen are per-process state, kept beside the episodes
(`http402._episodes.BalanceCache`).
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._models import PaymentRequired, Reason
from ._redaction import Redactor, scrub_payload

if TYPE_CHECKING:
    from ._balance import Balance

__all__ = [
    "Preflight",
    "Stated",
    "credits_show",
    "kept_gate",
    "kept_payload",
    "stand_in_body",
    "stated_by",
]

# The largest payload kept with a known gate, encoded: real gates are well under 1 KiB, and
# a scope's known gate must stay small (10,000 scopes are remembered).
_MAX_KEPT_PAYLOAD = 4096


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
            request, and replay once the credits show. `None` (the default): poll when
            `min_balance` is set, so that `Preflight(gate_ttl=...)` alone never probes.

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
    poll: bool | None = None

    @property
    def probes(self) -> bool:
        """`True` when balances are checked (and probed, where the host has a probe) before
        sending."""
        return self.min_balance is not None

    @property
    def polls(self) -> bool:
        """`True` when the scout polls the balance probe while a top-up propagates."""
        return self.poll if self.poll is not None else self.min_balance is not None


@attrs.frozen
class Stated:
    """What a gate stated of the account's credits, kept with its episode: what it had
    (`credits_available`) and what the request needed (`credits_required`)."""

    credits_available: Decimal | None = None
    credits_required: Decimal | None = None


def stated_by(payment: PaymentRequired) -> Stated | None:
    """What `payment` states of the credits, or `None` when it states neither amount."""
    if payment.credits_available is None and payment.credits_required is None:
        return None
    return Stated(payment.credits_available, payment.credits_required)


def credits_show(
    balance: Balance | None,
    gate: PaymentRequired | Stated | None = None,
    minimum: Decimal | None = None,
) -> bool | None:
    """Whether a balance reading shows that a top-up took, and the account can pay again;
    `None` when it cannot tell (no reading, or an unlimited key with no amount), and the
    request should be tried. The one rule for every path that reads a balance after a
    top-up's hook answered: a balance header on a response, the scout's balance probe, a
    preflight probe.

    The provider's own "usable" flag says no when it is `False`. Otherwise the available
    amount must be above what the gate stated the account had (`credits_available`: the
    same balance read again is no sign, case 111), at least what it stated the request
    needs (`credits_required`) and the preflight minimum where known, else above zero: a
    gate that stated nothing keeps "above zero".
    """
    if balance is None:
        return None
    if balance.usable is False:
        return False
    available = balance.available
    if available is None:
        return None if balance.usable is None else True
    had = None if gate is None else gate.credits_available
    if had is not None and available <= had:
        return False
    needs = [n for n in (minimum, gate.credits_required if gate else None) if n is not None]
    if needs:
        return available >= max(needs)
    return available > 0


def stand_in_body(payment: PaymentRequired, redact: Redactor, limit: int) -> tuple[bytes, str]:
    """The body and content type of the stand-in response of a request refused before
    sending: the gate's own payload (`payment.raw`, re-encoded exactly) when there is one
    and it fits in `limit` bytes, else an `{"error": {...}}` document of the normalized
    fields, the shape the openai and anthropic SDKs read their message from. Scrubbed of
    the request's credentials either way."""
    raw = payment.raw
    if isinstance(raw, str) and raw:
        text = redact(raw)
        if len(text.encode()) <= limit:
            return text.encode(), "text/plain; charset=utf-8"
    elif isinstance(raw, (dict, list)):
        text = redact(_exact_json(raw))
        if len(text.encode()) <= limit and _is_json(text):
            return text.encode(), "application/json"
    fields = {
        "type": payment.reason.value,
        "code": payment.code,
        "message": payment.message,
        "provider": payment.provider,
        "request_id": payment.request_id,
    }
    error = {k: v for k, v in fields.items() if v is not None}
    body = redact.bounded(json.dumps({"error": error}, ensure_ascii=False), limit)
    if not _is_json(body):  # cut: the message alone, shorter
        error = {"type": payment.reason.value, "message": (payment.message or "")[: limit // 2]}
        body = redact.bounded(json.dumps({"error": error}, ensure_ascii=False), limit)
    return body.encode(), "application/json"


def known_scope_wide(reason: Reason) -> bool:
    """Whether a gate of `reason` becomes its scope's known gate (`Preflight(gate_ttl=...)`),
    refusing the scope's next requests unsent: only a state of the account that every
    request meets (credits or a budget used up, a lapsed subscription, a failed payment
    method). A plan's gate (`plan_limit_exceeded`) is about what was asked: a feature, a
    model or an endpoint the plan does not include, which says nothing of the account's
    other requests, and nothing in it says reliably which part of the request (its path,
    its body's model) the plan refuses. It is not kept: each request is sent and meets the
    plan's gate itself, and a request the plan includes gets through (case 132: an image
    generation gate refused the account's chat calls for the gate's TTL)."""
    return reason.is_account_level and reason is not Reason.PLAN_LIMIT_EXCEEDED


def kept_gate(payment: PaymentRequired, redact: Redactor) -> PaymentRequired:
    """`payment` as a scope's known gate keeps it: its payload only when small
    (`kept_payload`), scrubbed by `redact`, the redactor of the request that met the gate.
    Its fields were scrubbed when it was classified; the payload, kept as it was sent for
    the hook, was not."""
    raw = kept_payload(payment.raw)
    if raw is not None:
        raw = scrub_payload(raw, redact)
    return attrs.evolve(payment, raw=raw)


def kept_payload(raw: Any) -> Any:
    """`raw` if it is small enough to keep with a known gate (`_MAX_KEPT_PAYLOAD` bytes once
    encoded), else `None`."""
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw if len(raw.encode()) <= _MAX_KEPT_PAYLOAD else None
    try:
        size = len(_exact_json(raw).encode())
    except (TypeError, ValueError):
        return None
    return raw if size <= _MAX_KEPT_PAYLOAD else None


def _exact_json(value: Any) -> str:
    """`value` as JSON, its `Decimal`s written as the exact numbers they were read from."""
    nonce = secrets.token_hex(8)
    numbers: list[Decimal] = []

    def placeholder(item: object) -> str:
        if isinstance(item, Decimal):
            numbers.append(item)
            return f"{nonce}:{len(numbers) - 1}"
        raise TypeError(f"{type(item).__name__} is not JSON")

    text = json.dumps(value, ensure_ascii=False, default=placeholder)
    for index, number in enumerate(numbers):
        text = text.replace(f'"{nonce}:{index}"', str(number), 1)
    return text


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
