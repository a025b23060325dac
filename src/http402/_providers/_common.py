"""Shared reading of billing error payloads: envelopes, field synonyms, codes and wording.

Providers disagree on everything, so adapters recognise *kinds* of evidence rather than exact
strings: a machine code from a known family (`insufficient_quota`, `card_declined`), a field
whose name means a balance or a plan, or wording that means "top up" or "card declined".
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from .._adapters import ResponseSnapshot
from .._models import PaymentRequired, Reason
from .._untrusted import as_amount, bounded_text, safe_action_url

__all__ = [
    "Evidence",
    "error_object",
    "looks_like_rate_limit",
    "read_evidence",
    "reason_from_code",
    "reason_from_words",
]

# Machine codes, normalized to snake_case, by the reason they mean.
_CODES: dict[str, Reason] = {}
for _reason, _codes in {
    Reason.INSUFFICIENT_CREDITS: (
        "insufficient_credits insufficient_credit insufficient_balance insufficient_quota "
        "quota_exceeded credits_exhausted credit_exhausted out_of_credits no_credits "
        "credit_balance_too_low balance_too_low low_balance not_enough_credits "
        "billing_hard_limit_reached exhausted_balance credit_limit_exceeded "
        "insufficient_credit_balance top_up_required maximum_credits_exceeded"
    ),
    Reason.SUBSCRIPTION_EXPIRED: (
        "subscription_expired subscription_inactive subscription_canceled "
        "subscription_cancelled subscription_past_due past_due billing_not_active "
        "account_not_active account_inactive account_suspended account_frozen shop_frozen "
        "unpaid payment_overdue invoice_overdue trial_expired trial_ended plan_expired "
        "license_expired subscription_ended"
    ),
    Reason.PLAN_LIMIT_EXCEEDED: (
        "plan_limit_exceeded plan_limit_reached plan_limit upgrade_required "
        "plan_upgrade_required feature_not_available feature_not_in_plan not_in_plan "
        "plan_restricted tier_limit_exceeded requires_upgrade subscription_required "
        "plan_required feature_unavailable paid_plan_required request_limit "
        "request_limit_reached usage_limit_exceeded"
    ),
    Reason.PAYMENT_FAILED: (
        "card_declined card_error expired_card incorrect_cvc invalid_cvc incorrect_number "
        "invalid_number invalid_expiry_month invalid_expiry_year processing_error "
        "payment_failed payment_declined payment_method_invalid insufficient_funds "
        "lost_card stolen_card do_not_honor generic_decline testmode_charges_only "
        "card_not_supported charge_failed payment_method_required authentication_required"
    ),
}.items():
    for _code in _codes.split():
        _CODES[_code] = _reason

_RATE_LIMIT_CODES = frozenset(
    {"rate_limit_exceeded", "rate_limit_error", "rate_limited", "too_many_requests", "throttled"}
)

_I = re.IGNORECASE
_WORDS: tuple[tuple[Reason, re.Pattern[str]], ...] = (
    (
        Reason.PAYMENT_FAILED,
        re.compile(
            r"\b(?:card|payment method)\b[^.]{0,60}?\b(?:declined|expired|insufficient funds|"
            r"failed|invalid|incorrect|not supported|lost|stolen)"
            r"|\b(?:payment|charge)\b[^.]{0,30}?\b(?:failed|was declined|could not be processed)"
            r"|\bdeclined\b[^.]{0,30}\bcard\b",
            _I,
        ),
    ),
    (
        Reason.SUBSCRIPTION_EXPIRED,
        re.compile(
            r"\bsubscription\b[^.]{0,40}?\b(?:expired|lapsed|ended|inactive|past due|canceled|"
            r"cancelled|suspended|not active)"
            r"|\bpast[ _-]due\b|\b(?:account|shop|store)\b[^.]{0,20}?\b(?:is )?(?:not active|"
            r"inactive|frozen|suspended for non-?payment)"
            r"|\bbilling\b[^.]{0,20}?\bnot active\b|\b(?:unpaid|outstanding|overdue)\b[^.]{0,20}?"
            r"\b(?:invoice|balance|bill)"
            r"|\b(?:renewal|renew)\b[^.]{0,20}?\bfailed\b|\btrial\b[^.]{0,20}?\b(?:expired|ended)",
            _I,
        ),
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        re.compile(
            r"\binsufficient\b[^.]{0,20}?\b(?:credits?|balance|funds|quota|tokens)"
            r"|\b(?:credits?|balance)\b[^.]{0,30}?\b(?:too low|insufficient|exhausted|depleted|"
            r"used up|ran out|run out|not enough|exceeded|is (?:zero|empty|negative))"
            r"|\b(?:exhausted|depleted|negative|zero)\b[^.]{0,10}?\b(?:balance|credits?)"
            r"|\bout of (?:extra |included |prepaid )?(?:credits?|funds|balance|usage)"
            r"|\bno (?:remaining |more )?credits?\b|\b(?:requires?|needs?) more credits?\b"
            r"|\b(?:does not|doesn't|do not|don't) have (?:any |enough )?(?:credits?|balance)"
            r"|\bexceeded your (?:[\w-]+ ){0,3}credits?\b|\brecharge\b"
            r"|\bnot enough (?:credits?|balance|funds)|\bexceeded your (?:current )?quota"
            r"|\bquota (?:exceeded|exhausted)|\bexceeds? your quota|\btop[ -]?up\b"
            r"|\b(?:add|buy|purchase)\b[^.]{0,15}?\bcredits?\b",
            _I,
        ),
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        re.compile(
            r"\bnot (?:available|included|supported|allowed) (?:on|in|with|for) (?:your|the|this)"
            r"[^.]{0,20}?\b(?:plan|tier|subscription)"
            r"|\bupgrade\b[^.]{0,25}?\b(?:plan|tier|subscription|account)\b"
            r"|\b(?:plan|tier)(?:'s)? (?:limit|quota)|\brequires? (?:an? |the )?[\w-]+ "
            r"(?:plan|tier|subscription)\b|\bexceeded (?:your|the) (?:plan|tier)"
            r"|\b(?:request|usage|monthly|api call)s? limit (?:reached|exceeded)",
            _I,
        ),
    ),
)
_RATE_LIMIT_WORDS = re.compile(
    r"\brate[ -]?limit|\bper (?:second|minute|min|hour)\b|\btoo many requests\b|"
    r"\brequests? per\b|\b(?:RPM|TPM|RPS|RPD)\b|\btry again in\b|\bslow down\b",
    _I,
)
_HTTPS_URL = re.compile(r"https://[^\s\"'<>()\[\]{}]+")
_CREDITS_REQUIRED_WORDS = re.compile(
    r"([0-9][0-9,]*(?:\.[0-9]+)?) credits? (?:are |is )?(?:required|needed)"
    r"|requires? ([0-9][0-9,]*(?:\.[0-9]+)?) credits?"
    r"|\b(?:that |it |this )costs \$?([0-9][0-9,]*(?:\.[0-9]+)?)\b",
    _I,
)
_CREDITS_AVAILABLE_WORDS = re.compile(
    r"you (?:only )?have ([0-9][0-9,]*(?:\.[0-9]+)?) credits? (?:remaining|left|available)"
    r"|([0-9][0-9,]*(?:\.[0-9]+)?) credits? (?:remaining|left|available)"
    r"|\bbalance is \$?([0-9][0-9,]*(?:\.[0-9]+)?)\b",
    _I,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_CODE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_.:/#-]{0,99}")
_CODE_SUFFIX = re.compile(r"_(?:error|exception)$")
_NESTED = ("error", "detail", "details", "metadata", "meta", "data", "extensions", "billing")
_MAX_OBJECTS = 12

# Field synonyms, normalized to snake_case, in order of preference.
_MESSAGE_KEYS = (
    "message",
    "detail",
    "error_description",
    "description",
    "title",
    "msg",
    "error",
    "errors",
)
_CODE_KEYS = (
    "code",
    "error_code",
    "type",
    "status",
    "error",
    "reason",
    "error_type",
    "type_name",
    "name",
)
_REQUIRED_KEYS = (
    "credits_required",
    "required_credits",
    "credits_needed",
    "required",
    "cost",
    "price",
    "amount_required",
    "required_amount",
    "needed",
    "charge",
)
_AVAILABLE_KEYS = (
    "credits_available",
    "available_credits",
    "credits_remaining",
    "remaining_credits",
    "balance",
    "remaining",
    "credit_balance",
    "current_balance",
    "available",
    "credits",
)
_CURRENT_PLAN_KEYS = (
    "current_plan",
    "plan",
    "current_tier",
    "tier",
    "subscription_plan",
    "plan_name",
)
_REQUIRED_PLAN_KEYS = (
    "required_plan",
    "required_tier",
    "minimum_plan",
    "upgrade_to",
    "plan_required",
    "needed_plan",
)
_URL_KEYS = (
    "action_url",
    "top_up_url",
    "topup_url",
    "upgrade_url",
    "billing_url",
    "payment_url",
    "checkout_url",
    "purchase_url",
    "pricing_url",
    "manage_url",
    "url",
    "link",
    "href",
)
_RETRY_KEYS = ("retry_after", "retry_after_seconds", "retry_in", "retry_after_secs")
_REQUEST_ID_KEYS = ("request_id", "trace_id")


def _norm(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower().replace("-", "_")


def _objects(payload: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """The payload and the objects nested under its usual envelope keys, breadth first."""
    queue: list[Any] = [payload]
    seen = 0
    while queue and seen < _MAX_OBJECTS:
        obj = queue.pop(0)
        if isinstance(obj, list):
            queue.extend(item for item in obj[:3] if isinstance(item, (dict, list)))
            continue
        if not isinstance(obj, dict):
            continue
        seen += 1
        normalized = {_norm(k): v for k, v in obj.items() if isinstance(k, str)}
        yield normalized
        for key in _NESTED:
            child = normalized.get(key)
            if isinstance(child, (dict, list)):
                queue.append(child)
        errors = normalized.get("errors")
        if isinstance(errors, (dict, list)):
            queue.append(errors)


def error_object(payload: Any) -> dict[str, Any]:
    """The innermost object of a usual error envelope (`{"error": {...}}`), keys normalized."""
    if not isinstance(payload, dict):
        return {}
    for obj in _objects(payload):
        if "message" in obj or "code" in obj:
            return obj
    return next(_objects(payload), {})


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("name", "id", "slug", "title"):
            if key in value:
                return bounded_text(value[key], 200)
        return None
    return bounded_text(value)


class Evidence:
    """What a JSON payload says, field by field, before a reason is decided."""

    __slots__ = (
        "action_url",
        "code",
        "codes",
        "credits_available",
        "credits_required",
        "currency",
        "current_plan",
        "message",
        "request_id",
        "required_plan",
        "retry_after",
    )

    def __init__(self) -> None:
        self.code: str | None = None
        #: Every code-like string seen (`code`, `type`, `status`...), for reason matching.
        self.codes: list[str] = []
        self.message: str | None = None
        self.credits_required: Decimal | None = None
        self.credits_available: Decimal | None = None
        self.currency: str | None = None
        self.current_plan: str | None = None
        self.required_plan: str | None = None
        self.action_url: str | None = None
        self.retry_after: float | None = None
        self.request_id: str | None = None

    @property
    def has_billing_fields(self) -> bool:
        return any(
            v is not None
            for v in (
                self.credits_required,
                self.credits_available,
                self.current_plan,
                self.required_plan,
            )
        )

    def reason(self) -> Reason | None:
        """The reason the codes say, else the one the wording says, else the fields'.

        A known billing code wins; otherwise a plain rate limit (a rate-limit code, or "per
        minute" wording) is no payment gate, even when it mentions quota or upgrading.
        """
        for code in self.codes:
            reason = reason_from_code(code)
            if reason is not None:
                return reason
        if self.is_rate_limit():
            return None
        if self.message:
            reason = reason_from_words(self.message)
            if reason is not None:
                return reason
        if self.required_plan is not None:
            return Reason.PLAN_LIMIT_EXCEEDED
        if self.credits_required is not None or self.credits_available is not None:
            return Reason.INSUFFICIENT_CREDITS
        return None

    def is_rate_limit(self) -> bool:
        """`True` when codes or wording say "slow down" rather than "pay"."""
        return looks_like_rate_limit(self.codes, self.message)

    def to_payment(self, reason: Reason, provider: str, **overrides: Any) -> PaymentRequired:
        fields: dict[str, Any] = {
            "reason": reason,
            "provider": provider,
            "code": self.code,
            "message": self.message,
            "credits_required": self.credits_required,
            "credits_available": self.credits_available,
            "currency": self.currency,
            "current_plan": self.current_plan,
            "required_plan": self.required_plan,
            "action_url": self.action_url,
            "retry_after": self.retry_after,
            "request_id": self.request_id,
        }
        fields.update(overrides)
        return PaymentRequired(**fields)


def read_evidence(payload: Any, snapshot: ResponseSnapshot | None = None) -> Evidence:
    """Reads the fields of a JSON error payload by their usual names and synonyms."""
    evidence = Evidence()
    if isinstance(payload, str):
        evidence.message = bounded_text(payload)
    if not isinstance(payload, dict):
        _from_message(evidence)
        return evidence
    # The object that carries the message is the error itself; read it before its envelope.
    objects = sorted(_objects(payload), key=lambda obj: not _has_message(obj))
    for obj in objects:
        if evidence.message is None:
            evidence.message = _first_text(obj, _MESSAGE_KEYS)
        codes = list(_codes_of(obj))
        evidence.codes.extend(codes)
        if evidence.code is None and codes:
            evidence.code = codes[0]
        if evidence.credits_required is None:
            evidence.credits_required = _first_amount(obj, _REQUIRED_KEYS)
        if evidence.credits_available is None:
            evidence.credits_available = _first_amount(obj, _AVAILABLE_KEYS)
        if evidence.currency is None:
            currency = obj.get("currency")
            if isinstance(currency, str) and 1 <= len(currency) <= 16:
                evidence.currency = currency.strip()
        if evidence.current_plan is None:
            evidence.current_plan = _first_plan(obj, _CURRENT_PLAN_KEYS)
        if evidence.required_plan is None:
            evidence.required_plan = _first_plan(obj, _REQUIRED_PLAN_KEYS)
        if evidence.action_url is None:
            evidence.action_url = _first_url(obj)
        if evidence.retry_after is None:
            evidence.retry_after = _first_seconds(obj)
        if evidence.request_id is None:
            evidence.request_id = next(
                (
                    bounded_text(obj[k], 200)
                    for k in _REQUEST_ID_KEYS
                    if isinstance(obj.get(k), str)
                ),
                None,
            )
    _from_message(evidence)
    return evidence


def _first_group(match: re.Match[str]) -> str | None:
    return next((group for group in match.groups() if group is not None), None)


def _has_message(obj: dict[str, Any]) -> bool:
    return any(isinstance(obj.get(key), str) for key in _MESSAGE_KEYS)


def _from_message(evidence: Evidence) -> None:
    """Fills what the human message states plainly: a link, credit counts."""
    message = evidence.message
    if not message:
        return
    if evidence.action_url is None:
        for match in _HTTPS_URL.finditer(message):
            url = safe_action_url(match.group().rstrip(".,;:!?"))
            if url is not None:
                evidence.action_url = url
                break
    if evidence.credits_required is None:
        required = _CREDITS_REQUIRED_WORDS.search(message)
        evidence.credits_required = as_amount(_first_group(required)) if required else None
    if evidence.credits_available is None:
        available = _CREDITS_AVAILABLE_WORDS.search(message)
        evidence.credits_available = as_amount(_first_group(available)) if available else None


def _first_text(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, str) and not _is_code(value):
            text = bounded_text(value)
            if text:
                return text
    return None


def _is_code(value: str) -> bool:
    """`True` for a machine code (`plan_limit_exceeded`) rather than words for a person."""
    return bool(_CODE_SHAPE.fullmatch(value.strip()))


def _codes_of(obj: dict[str, Any]) -> Iterator[str]:
    for key in _CODE_KEYS:
        value = obj.get(key)
        if isinstance(value, str) and _is_code(value):
            if key == "name" and not value.endswith(("Error", "Exception")):
                continue
            yield value.strip()


def _first_amount(obj: dict[str, Any], keys: tuple[str, ...]) -> Decimal | None:
    for key in keys:
        amount = as_amount(obj.get(key))
        if amount is not None:
            return amount
    return None


def _first_plan(obj: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = obj.get(key)
        text = _text(value)
        if text is not None and len(text) <= 100:
            return text
    return None


def _first_url(obj: dict[str, Any]) -> str | None:
    for key in _URL_KEYS:
        url = safe_action_url(obj.get(key))
        if url is not None:
            return url
    return None


def _first_seconds(obj: dict[str, Any]) -> float | None:
    for key in _RETRY_KEYS:
        amount = as_amount(obj.get(key))
        if amount is not None and 0 <= amount <= 120:
            return float(amount)
    return None


def reason_from_code(code: str) -> Reason | None:
    """The reason a provider's machine code means, if it is a known one."""
    normalized = _norm(code.strip())
    return _CODES.get(normalized) or _CODES.get(_CODE_SUFFIX.sub("", normalized))


def reason_from_words(text: str) -> Reason | None:
    """The reason a human message means, by its wording; `None` if it says none."""
    for reason, pattern in _WORDS:
        if pattern.search(text):
            return reason
    return None


def looks_like_rate_limit(codes: list[str], message: str | None) -> bool:
    """`True` for a plain rate limit: a rate-limit code, or "per minute" style wording."""
    if any(_norm(code) in _RATE_LIMIT_CODES for code in codes):
        return True
    return bool(message and _RATE_LIMIT_WORDS.search(message))


class ProviderAdapter:
    """Base for a provider's own adapter: its hosts, the statuses it gates on, its defaults.

    Reads the body with `read_evidence`. A response with another status than 402 is claimed
    only when a billing code or billing wording says so, and never when it reads as a plain
    rate limit. A 402 that says nothing more becomes `default_reason` (`UNKNOWN` unless the
    provider documents what its 402 means).
    """

    name: str = ""
    hosts: tuple[str, ...] = ()
    statuses: tuple[int, ...] = (402,)
    priority = -100
    #: What this provider's 402 means when its body says nothing more specific.
    default_reason: Reason = Reason.UNKNOWN

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        payload = response.json
        evidence = read_evidence(payload if payload is not None else response.text, response)
        reason = self.reason(evidence, payload, response)
        if reason is None:
            if response.status_code != 402:
                return None
            reason = self.default_reason
        return evidence.to_payment(reason, self.name, **self.overrides(evidence, payload))

    def reason(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> Reason | None:
        """The reason this response states; `None` when it states none."""
        return evidence.reason()

    def overrides(self, evidence: Evidence, payload: Any) -> dict[str, Any]:
        """Fields this provider states differently from the usual envelope."""
        return {}
