"""Holds: what keeps a payment from being made twice when nobody knows whether it was made.

A *hold* is a fail-closed mark on a billing scope and a key, stored through the coordinator
(in this process for `LocalCoordinator`, in the store for a fleet's), that says "do not pay
this again". Two things put one:

* **an unknown outcome** (`PaymentHold.kind == "unknown_outcome"`): a paid replay, or a
  replay after a top-up, ended without a clear answer: it timed out, was cancelled, got a
  5xx or a connection reset after the response's headers, or the facilitator said the
  settlement is still pending. The money may have moved. The key is the offer that was paid
  (`offer_key`) or, for a top-up, the reason it bought for (`top_up_key`).
* **a top-up that did not show** (`kind == "not_shown"`): an episode's window closed with the
  gate never lifting. Buying again each window while traffic lasts would pay for the same
  need over and over; the scope fails closed instead.

While a hold stands, a gate on its scope and key never calls the hook: the request raises
(`PaymentOutcomeUnknownError` for an unknown outcome, the typed gate with `not_replayed` for
a top-up that did not show). Replays inside an open window still go: they test, they do not
pay. A hold is never evicted and never expires; it ends when:

* the application reconciles it (`http402.reconcile(client, error)`, or the coordinator's
  `release(scope, key)`), after checking its wallet or billing page;
* for a top-up's hold only, when the scope shows it has credits again: a replay gets
  through, or a request to the endpoint that met the gate does. A payment challenge's hold
  ends only by reconciling: another request's success says nothing about that payment.

A hold's record is JSON text, so a fleet's store keeps it as it is: the offer (its public
fields), a digest of the proof (never the proof), the receipt reference when there is one
(an x402 settlement's transaction, or `Retry(receipt=...)`), why, and when.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import attrs

from ._models import PaymentOption, Reason
from ._redaction import safe_url_for_display

__all__ = [
    "HoldBook",
    "PaymentHold",
    "endpoint_of",
    "offer_key",
    "proof_digest",
    "top_up_key",
]

#: Characters kept of each text field of a record read back from a store.
_MAX_TEXT = 300


@attrs.frozen(kw_only=True)
class PaymentHold:
    """Why a billing scope is not paid again, as the coordinator keeps it.

    Attributes:
        kind: `"unknown_outcome"` (a payment whose outcome is unknown) or `"not_shown"` (a
            top-up whose window closed with the gate never lifting).
        reason: The gate's reason (`Reason.PAYMENT_CHALLENGE` for a paid offer).
        why: What happened, in words (`"the paid replay timed out (ReadTimeout)"`).
        since: When the hold was put, in wall-clock seconds.
        offer: The offer that was paid, for a challenge (amounts exact; no raw payload).
        proof_digest: `"sha256:<hex>"` of the proof the replay carried, to match your
            wallet's records; never the proof itself.
        receipt: The payment's reference, when one is known: the transaction an x402
            facilitator reported, or what the hook gave as `Retry(receipt=...)`.
        request_id: The provider's id for the last response, when it gave one.
        endpoint: A digest of the method and path that met the gate (a top-up's hold ends
            when a request to it gets through).
    """

    kind: str
    reason: Reason = attrs.field(converter=Reason)
    why: str
    since: float = attrs.field(factory=time.time)
    offer: PaymentOption | None = None
    proof_digest: str | None = None
    receipt: str | None = None
    request_id: str | None = None
    endpoint: str | None = None

    @property
    def outcome_unknown(self) -> bool:
        return self.kind == "unknown_outcome"

    def encode(self) -> str:
        """The record as JSON text: what `Coordinator.hold` stores."""
        offer = None
        if self.offer is not None:
            offer = {
                name: str(value) if isinstance(value, Decimal) else value
                for name, value in attrs.asdict(
                    self.offer, filter=lambda a, v: a.name not in ("raw", "expires_at")
                ).items()
            }
            # A resource URL may carry a credential in its query: shown without it.
            offer["resource"] = shown_resource(self.offer.resource)
        return json.dumps(
            {
                "kind": self.kind,
                "reason": self.reason.value,
                "why": self.why,
                "since": self.since,
                "offer": offer,
                "proof_digest": self.proof_digest,
                "receipt": self.receipt,
                "request_id": self.request_id,
                "endpoint": self.endpoint,
            },
            sort_keys=True,
        )

    @classmethod
    def decode(cls, record: str | bytes | None) -> PaymentHold | None:
        """The hold a stored record stands for. A record that cannot be read still holds
        (fail closed): it comes back as an unknown outcome that says so."""
        if record is None:
            return None
        try:
            data = json.loads(record)
            offer = data.get("offer")
            return cls(
                kind=str(data["kind"]),
                reason=Reason(data["reason"]),
                why=str(data["why"])[:_MAX_TEXT],
                since=float(data["since"]),
                offer=PaymentOption(**offer) if isinstance(offer, dict) else None,
                proof_digest=_text(data.get("proof_digest")),
                receipt=_text(data.get("receipt")),
                request_id=_text(data.get("request_id")),
                endpoint=_text(data.get("endpoint")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(
                kind="unknown_outcome",
                reason=Reason.UNKNOWN,
                why="a hold whose record could not be read",
                since=0.0,
            )


def top_up_key(reason: Reason) -> str:
    """The hold key of a scope's top-ups for `reason`."""
    return f"top-up:{reason.value}"


def offer_key(option: PaymentOption | None, method: str, url: str) -> str:
    """The hold key of one offer: what it sells and for how much, not who asked.

    The protocol, network, asset, unit, amount and resource (else the request's method and
    URL) count; a per-challenge token (an L402 invoice, an x402 nonce) does not, so a
    request sent again (an SDK's retry) meets the same hold."""
    if option is None:
        parts: tuple[object, ...] = ("offer", method, url)
    else:
        parts = (
            option.protocol,
            option.scheme,
            option.network,
            option.asset,
            option.unit,
            str(option.amount),
            option.resource or f"{method} {url}",
        )
    digest = hashlib.sha256(repr(parts).encode("utf-8", "surrogatepass")).hexdigest()
    return f"offer:{digest[:32]}"


def proof_digest(headers: Iterable[tuple[str, str]]) -> str | None:
    """`sha256:<hex>` of the proof a hook returned: the value of its one header, or of
    `name: value` lines (names lower-cased, sorted) when it returned several."""
    pairs = sorted((name.lower(), value) for name, value in headers)
    if not pairs:
        return None
    text = pairs[0][1] if len(pairs) == 1 else "\n".join(f"{n}: {v}" for n, v in pairs)
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def endpoint_of(method: str, url: str) -> str:
    """A digest of a request's method and path (a path may hold a token: never kept)."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    return hashlib.sha256(f"{method.upper()} {path}".encode()).hexdigest()[:16]


def shown_resource(resource: str | None) -> str | None:
    """A resource URL as a hold keeps it: without userinfo or credential query values."""
    return None if resource is None else safe_url_for_display(resource)


class HoldBook:
    """The holds of every scope in this process: thread-safe, no I/O, never evicted.

    `LocalCoordinator` keeps its holds here. A fleet coordinator keeps them in its store,
    and mirrors here those this process put or met, so that a request that gets through can
    end a top-up's hold without asking the store on every response.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, dict[str, str]] = {}

    def hold(self, scope: str, key: str, record: str) -> None:
        with self._lock:
            self._holds.setdefault(scope, {}).setdefault(key, record)

    def held(self, scope: str, key: str) -> str | None:
        with self._lock:
            return self._holds.get(scope, {}).get(key)

    def release(self, scope: str, key: str | None = None) -> None:
        with self._lock:
            if key is None:
                self._holds.pop(scope, None)
                return
            holds = self._holds.get(scope)
            if holds is not None:
                holds.pop(key, None)
                if not holds:
                    del self._holds[scope]

    def top_ups(self, scope: str) -> dict[str, str]:
        """The top-up holds of `scope` this process knows of (key: record)."""
        with self._lock:
            holds = self._holds.get(scope)
            if not holds:
                return {}
            return {k: v for k, v in holds.items() if k.startswith("top-up:")}

    def __bool__(self) -> bool:
        return bool(self._holds)

    def forked(self) -> None:
        """In a child process: a new lock (the parent's may have been held by a thread that
        the child does not have); the holds themselves stay, since they guard money."""
        self._lock = threading.Lock()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:_MAX_TEXT]
