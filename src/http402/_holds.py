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
  through, or a request asking for what met the gate (`need_of`) does. A payment challenge's hold
  ends only by reconciling: another request's success says nothing about that payment.

A hold's record is JSON text, so a fleet's store keeps it as it is: the offer (its public
fields), a digest of the proof (never the proof), the receipt reference when there is one
(an x402 settlement's transaction, or `Retry(receipt=...)`), why, and when.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

import attrs

from ._models import PaymentOption, PaymentRequired, Reason, Retry
from ._redaction import Redactor, credential_free_url, safe_url_for_display
from ._replay import request_target
from ._untrusted import MAX_HEADER_PAYLOAD_BYTES, decode_base64_json, shown_text

#: The words of a failed settle step in the x402 reference middlewares' re-challenge (their
#: `error`, with no settlement header): `Failed to settle payment: 504 Gateway Timeout`
#: (the legacy facilitator client's error, relayed by x402-express and x402-hono),
#: `Settle failed` and `Settle failed: <reason>` (the Python FastAPI and Flask middlewares),
#: `Payment settlement failed`, `Settlement failed` (x402-express, x402-next). coinbase/x402:
#: typescript/packages/legacy/x402/src/verify/useFacilitator.ts,
#: typescript/packages/legacy/x402-{express,hono,next}/src/index.ts,
#: python/legacy/src/x402/{fastapi,flask}/middleware.py. The v2 middlewares send a
#: `PAYMENT-RESPONSE` with the failure, which decides instead.
_SETTLE_FAILED = re.compile(
    r"\bsettle(?:ment)?\b[^.;]{0,40}?\bfail|\bfail(?:ed|ure|s)?\s+to\s+settle\b", re.IGNORECASE
)

__all__ = [
    "EPISODE_REASONS",
    "PAID_EXTENSION",
    "TOP_UP_REASONS",
    "HoldBook",
    "PaidAttempt",
    "PaymentHold",
    "holding_reasons",
    "is_top_up_key",
    "need_of",
    "offer_keys",
    "proof_digest",
    "settlement_unknown",
    "top_up_holds",
    "top_up_key",
    "unanswered_hold",
    "with_payment_identifier",
]

#: `response.extensions` key on the response to a paid or topped-up attempt: a
#: `PaidAttempt`, which the shell uses to hold the scope if the body then breaks.
PAID_EXTENSION = "http402.paid"
#: x402's extension through which a server accepts a client's payment identifier.
_PAYMENT_IDENTIFIER = "payment-identifier"

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
        endpoint: A digest of what the request that met the gate asked for (`need_of`: its
            method, URL and body); a top-up's hold ends when a request asking for the same
            gets through.
        payment_id: The payment identifier sent with the proof, where the server declared
            x402's `payment-identifier` (its facilitator deduplicates by it).
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
    payment_id: str | None = None

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
                "payment_id": self.payment_id,
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
                payment_id=_text(data.get("payment_id")),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls(
                kind="unknown_outcome",
                reason=Reason.UNKNOWN,
                why=_note(record) or "a hold whose record could not be read",
                since=0.0,
            )


def unanswered_hold(exc: BaseException) -> str:
    """The record a hold check that the coordinator could not answer counts as (fail
    closed: as if held)."""
    return PaymentHold(
        kind="unknown_outcome",
        reason=Reason.UNKNOWN,
        why=(
            f"the coordinator could not say whether a payment is held "
            f"({type(exc).__name__}): failing closed"
        ),
    ).encode()


def top_up_key(reason: Reason) -> str:
    """The hold key of a scope's top-ups for `reason`."""
    return f"top-up:{reason.value}"


def top_up_holds(reason: Reason) -> tuple[str, ...]:
    """The hold keys that stop a top-up for `reason` (`holding_reasons`), its own first."""
    return tuple(top_up_key(each) for each in holding_reasons(reason))


def holding_reasons(reason: Reason) -> tuple[Reason, ...]:
    """The reasons whose top-up's hold stops a top-up for `reason`, its own first: one 402
    of a scope that says nothing (`UNKNOWN`: an edge's default page, an empty body) is the
    same 402 unexplained, not another need (docs/safety.md). So a wordless gate respects
    the hold of every account-level reason's top-up (an outcome unknown, or a top-up that
    did not show), and a gate that names its reason respects its own and a wordless one's
    (cases 135 and 141: a held credits top-up was bought again by the one hook for every
    reason when the same account answered an empty 402). Decided here once: every shell,
    the in-process holds and a fleet's store are asked for these keys. A hold is put under
    the reason a top-up bought for (`top_up_key`) alone."""
    if reason is Reason.UNKNOWN:
        return (reason, *TOP_UP_REASONS)
    return (reason, Reason.UNKNOWN)


def is_top_up_key(key: str) -> bool:
    return key.startswith("top-up:")


#: The reasons a top-up is bought for, but a wordless 402's.
TOP_UP_REASONS = tuple(reason for reason in Reason if reason.is_account_level)
#: The reasons a scope's top-up episodes are kept under: those, and a wordless 402's (which
#: follows one of them, or leads its own under one hook for every reason).
EPISODE_REASONS = (*TOP_UP_REASONS, Reason.UNKNOWN)


def offer_keys(options: Iterable[PaymentOption], method: str, url: str) -> tuple[str, ...]:
    """The hold keys of a challenge's offers: one per thing they sell, the resource an
    offer names (else the request: its method and URL), or one for the request when no
    offer is named.

    What is sold, not how or for how much: a payment whose outcome is unknown holds every
    offer of the same resource, whatever its price, asset, network, payee or protocol, so
    the same request met again with a new quote (an L402 invoice priced in fiat at the
    moment's rate, an x402 price that tracks gas) is held, not paid a second time (case
    176). The resource (and the request's URL) count as `resource_identity` has them: the
    query parameters that change per request (`_replay.request_target`, cases 131 and 169)
    left out, scheme, host case and default port not counted, so two replicas that spell
    one resource two ways (`http://` behind a TLS-terminating balancer, `:443`, a host in
    capitals) sell one thing (case 189). A per-challenge token (an L402 invoice, an x402
    nonce) never counts, so a request sent again (an SDK's retry) meets the same hold."""
    keys = [_offer_key(option, method, url) for option in options]
    return tuple(dict.fromkeys(keys)) or (_offer_key(None, method, url),)


def resource_identity(url: str) -> str:
    """`url` as the thing it names, for a hold's key: `request_target` (no per-request query
    parameters) without its credentials (`credential_free_url`), then its host in lower
    case without a default port, and no scheme: the same resource spelt by two replicas is
    one."""
    # No credential of the URL goes into the key, an unkeyed digest written to a fleet's
    # store (case 193: a guess of a `?password=` was tested against it): the hold is the
    # scope's, which tells two credentials apart.
    target = credential_free_url(request_target(url))
    sep, rest = target.partition("://")[1:]
    if not sep:
        return target
    authority, slash, path = rest.partition("/")
    host = authority.rpartition("@")[2].lower()  # never a userinfo
    for default in (":443", ":80"):
        if host.endswith(default):
            host = host[: -len(default)]
            break
    return f"//{host}{slash}{path}"


def _offer_key(option: PaymentOption | None, method: str, url: str) -> str:
    resource = option.resource if option is not None and option.resource else None
    if resource is not None:
        parts: tuple[object, ...] = ("resource", resource_identity(resource))
    else:
        parts = ("request", method.upper(), resource_identity(url))
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


def settlement_unknown(
    header: Callable[[str], str | None], redact: Redactor, message: str | None = None
) -> tuple[str, str | None] | None:
    """`(why, receipt)` when an x402 settlement (`PAYMENT-RESPONSE`, or v1's
    `X-PAYMENT-RESPONSE`) leaves the payment's outcome open, else `None`.

    `success: false` does not say the money stayed put: a facilitator answers
    `settlement_pending` when its wait for the receipt timed out after the transaction was
    broadcast, and any failure that names a transaction came after the broadcast. Only a
    failure with no transaction is a payment that did not happen.

    Without a settlement header, the re-challenge's `message` (its `error`) decides: the x402
    reference middlewares answer a settle call that failed (the facilitator timed out or
    answered 5xx, perhaps after broadcasting the transfer) with a plain 402 that says so
    in words (`_SETTLE_FAILED`) and nothing else. The payment was verified, and may have
    been sent: unknown. A verification's refusal (`invalid_exact_evm_payload_signature`,
    `Invalid payment: insufficient_funds`, `Failed to verify payment: ...`) comes before
    anything is sent: a refusal.

    The texts are the server's: scrubbed by `redact` (the paid request's credentials and
    its proof) before they are cut, since they go into the error, the log and the hold's
    record."""
    raw = header("payment-response") or header("x-payment-response")
    if not raw:
        if message is None or _SETTLE_FAILED.search(message) is None:
            return None
        said = shown_text(message, redact, 100) or "settlement failed"
        return f"the server's settle call failed after verifying the payment ({said})", None
    settlement = decode_base64_json(raw)
    if not isinstance(settlement, dict) or settlement.get("success") is not False:
        return None
    reason = shown_text(settlement.get("errorReason"), redact, 100) or "no reason"
    transaction = shown_text(settlement.get("transaction"), redact, 200)
    if "pending" not in reason.lower() and transaction is None:
        return None
    return f"the facilitator's settlement did not finish ({reason})", transaction


def with_payment_identifier(
    retry: Retry, payment: PaymentRequired, make_id: Callable[[], str] = lambda: ""
) -> tuple[Retry, str | None]:
    """The hook's answer with x402's payment identifier added to its proof, where the
    server declared the `payment-identifier` extension, and that identifier.

    The proof (a v2 `PAYMENT-SIGNATURE`, base64 JSON) gets the server's extension back with
    an `id` (the spec's "client echoes the extension and appends an id"), unless the hook
    set one; the signed authorization inside is not touched."""
    declared = _declared_identifier(payment)
    if declared is None:
        return retry, None
    headers = list(retry.headers)
    for at, (name, value) in enumerate(headers):
        if name.lower() != "payment-signature" or len(value) > MAX_HEADER_PAYLOAD_BYTES:
            continue
        try:
            proof = json.loads(base64.b64decode(value.encode("ascii"), validate=True))
        except (ValueError, binascii.Error, UnicodeError):
            return retry, None
        if not isinstance(proof, dict):
            return retry, None
        extensions = proof.setdefault("extensions", {})
        if not isinstance(extensions, dict):
            return retry, None
        mine = extensions.get(_PAYMENT_IDENTIFIER)
        info = mine.get("info") if isinstance(mine, dict) else None
        if isinstance(info, dict) and isinstance(info.get("id"), str):
            return retry, info["id"]  # the hook chose one
        payment_id = make_id() or f"pay_{uuid.uuid4().hex}"
        echoed = dict(declared)
        echoed["info"] = {**dict(declared.get("info") or {}), "id": payment_id}
        extensions[_PAYMENT_IDENTIFIER] = echoed
        encoded = base64.b64encode(json.dumps(proof, separators=(",", ":")).encode()).decode()
        headers[at] = (name, encoded)
        return attrs.evolve(retry, headers=tuple(headers)), payment_id
    return retry, None


def _declared_identifier(payment: PaymentRequired) -> dict[str, Any] | None:
    raw = payment.raw
    if not isinstance(raw, dict) or payment.provider != "x402":
        return None
    extensions = raw.get("extensions")
    declared = extensions.get(_PAYMENT_IDENTIFIER) if isinstance(extensions, dict) else None
    if not isinstance(declared, dict):
        return None
    info = declared.get("info")
    if info is not None and not isinstance(info, dict):
        return None
    return declared


@attrs.frozen
class PaidAttempt:
    """What the shell needs to hold a scope when the body of a paid or topped-up attempt's
    response breaks after its headers: where, under which keys, and the record."""

    request: Any
    scope: str
    keys: tuple[str, ...]
    hold: PaymentHold


def need_of(request: Any, key: bytes) -> str:
    """A keyed digest (HMAC-SHA256 under `key`: the billing scope's key, the fleet's or
    this process's) of what a request asks for: its method, its URL (query included,
    without its credentials, a key in its path, or the parameters that change per request:
    `_replay.request_target`) and its body (a multipart boundary left out).
    Only a request that asks for the same shows that a top-up bought for it took: one
    endpoint often serves free and paid work with one key (a `:free` model beside a paid one
    on OpenRouter's `/chat/completions`), and the free call's 200 says nothing of the
    credits (case 92). A body that cannot be read again counts as any such body.

    Keyed, as the scope's digest is: a hold's `endpoint` is written to a fleet's store, and
    the body it digests may hold a credential (`{"password": ...}`); an unkeyed digest of
    a body whose other fields are guessable is undone by trying guesses of a low-entropy
    password against it, and fingerprints the request."""
    from ._replay import digest_body  # the body as an SDK call is known by

    digest = hmac.new(key, digestmod=hashlib.sha256)
    url = safe_url_for_display(request_target(str(request.url)))
    digest.update(f"{request.method.upper()} {url}".encode("utf-8", "surrogatepass") + b"\0")
    if not digest_body(request, digest):
        digest.update(b"\0a body that cannot be read again")
    return digest.hexdigest()[:32]


def shown_resource(resource: str | None) -> str | None:
    """A resource URL as a hold keeps it: without userinfo or credential query values."""
    return None if resource is None else safe_url_for_display(resource)


class HoldBook:
    """The holds of every scope in this process: thread-safe, no I/O, never evicted.

    `LocalCoordinator` keeps its holds here. A fleet coordinator keeps them in its store,
    and mirrors here those this process put or met, so that a request that gets through can
    end a top-up's hold without asking the store on every response. The store's answer is
    the fleet's: `settle` keeps this copy in step with it, so a hold another process
    reconciled ends here too.
    """

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._lock = threading.Lock()
        self._holds: dict[str, dict[str, str]] = {}
        #: Called under the lock each time a hold is put or ends (the episode book keeps
        #: whether anything is held where the shells read it on every response).
        self._on_change = on_change
        #: The holds the coordinator has (handed to it, or read from it).
        self._shared: set[tuple[str, str]] = set()
        #: Scopes whose coordinator did not answer when asked to end a hold, since the last
        #: release it took: a store outage is said once, not on every response that gets through.
        self._unreleased: set[str] = set()

    def hold(self, scope: str, key: str, record: str, *, shared: bool = False) -> None:
        """Holds `key` of `scope` (the first record stays); `shared`: the coordinator has it."""
        with self._lock:
            self._holds.setdefault(scope, {}).setdefault(key, record)
            if shared:
                self._shared.add((scope, key))
            self._changed()

    def settle(self, scope: str, key: str, answer: str | None) -> tuple[str | None, bool]:
        """The hold on `key` of `scope` after the coordinator answered `answer`, and whether
        this process's hold must be handed to the coordinator.

        The coordinator's hold is the answer, and is kept here. Without one, a hold here
        that the coordinator had was released there (another process reconciled it): it
        ends here too. One the coordinator never had (put here while a flow was being
        closed) still holds, and is handed to it."""
        with self._lock:
            if answer is not None:
                self._holds.setdefault(scope, {}).setdefault(key, answer)
                self._shared.add((scope, key))
                self._changed()
                return answer, False
            holds = self._holds.get(scope, {})
            record = holds.get(key)
            if record is None:
                return None, False
            if (scope, key) in self._shared:
                self._shared.discard((scope, key))
                del holds[key]
                if not holds:
                    del self._holds[scope]
                self._changed()
                return None, False
            self._shared.add((scope, key))
            return record, True

    def held(self, scope: str, key: str) -> str | None:
        with self._lock:
            return self._holds.get(scope, {}).get(key)

    def release(self, scope: str, key: str | None = None) -> None:
        with self._lock:
            self._unreleased.discard(scope)
            if key is None:
                self._holds.pop(scope, None)
                self._shared = {each for each in self._shared if each[0] != scope}
                self._changed()
                return
            self._shared.discard((scope, key))
            holds = self._holds.get(scope)
            if holds is not None:
                holds.pop(key, None)
                if not holds:
                    del self._holds[scope]
            self._changed()

    def release_failed(self, scope: str) -> bool:
        """Notes that the coordinator did not end a hold of `scope`; `True` the first time
        since a release of `scope` last took (the hold stays, and the next response that gets
        through asks again)."""
        with self._lock:
            first = scope not in self._unreleased
            self._unreleased.add(scope)
            return first

    def top_ups(self, scope: str) -> dict[str, str]:
        """The top-up holds of `scope` this process knows of (key: record)."""
        with self._lock:
            holds = self._holds.get(scope)
            if not holds:
                return {}
            return {k: v for k, v in holds.items() if is_top_up_key(k)}

    def __bool__(self) -> bool:
        return bool(self._holds)

    def live(self) -> Mapping[str, Mapping[str, str]]:
        """The holds by scope, live (changed in place, never replaced), to be read only."""
        return self._holds

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def forked(self) -> None:
        """In a child process: a new lock (the parent's may have been held by a thread that
        the child does not have); the holds themselves stay, since they guard money."""
        self._lock = threading.Lock()


def _note(record: str | bytes) -> str | None:
    """What a record that is not a `PaymentHold` says of itself (a note), if anything."""
    try:
        data = json.loads(record)
    except ValueError:
        return None
    note = data.get("note") if isinstance(data, dict) else None
    return _text(note) if isinstance(note, str) else None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:_MAX_TEXT]
