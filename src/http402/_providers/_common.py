"""Shared reading of billing error payloads: envelopes, field synonyms, codes and wording.

Providers disagree on everything, so adapters recognise *kinds* of evidence rather than exact
strings: a machine code from a known family (`insufficient_quota`, `card_declined`), a field
whose name means a balance or a plan, or wording that means "top up" or "card declined".
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from .._adapters import ResponseSnapshot
from .._models import PaymentRequired, Reason
from .._untrusted import (
    MAX_RETRY_AFTER,
    as_amount,
    bounded_message,
    bounded_text,
    loads_json,
    safe_action_url,
)

__all__ = [
    "BILLING_CODE",
    "BILLING_WORDS",
    "NOTHING",
    "Evidence",
    "counts_on_errors",
    "error_object",
    "first_look",
    "looks_like_rate_limit",
    "may_hold_evidence",
    "read_evidence",
    "reason_from_code",
    "reason_from_words",
    "says_rate_limit",
]

# Machine codes, normalized to snake_case, by the reason they mean.
_CODES: dict[str, Reason] = {}
for _reason, _codes in {
    Reason.INSUFFICIENT_CREDITS: (
        "insufficient_credits insufficient_credit insufficient_balance insufficient_quota "
        "quota_exceeded credits_exhausted credit_exhausted out_of_credits out_of_credit no_credits "
        "credit_balance_too_low balance_too_low low_balance not_enough_credits "
        "billing_hard_limit_reached exhausted_balance credit_limit_exceeded "
        "insufficient_credit_balance top_up_required maximum_credits_exceeded "
        # Budgets and spend caps: the money the account may spend is used up (LiteLLM's
        # `budget_exceeded`, PostHog's `quota_limited`).
        "budget_exceeded max_budget_exceeded budget_limit_exceeded budget_exhausted "
        "spend_limit_exceeded spending_limit_reached spending_limit_exceeded "
        "billing_limit_reached billing_limit_exceeded quota_limited "
        "insufficient_funds_in_account usage_limit_reached_billing"
    ),
    Reason.SUBSCRIPTION_EXPIRED: (
        "subscription_expired subscription_inactive subscription_canceled "
        "subscription_cancelled subscription_past_due past_due billing_not_active "
        "account_not_active account_inactive account_suspended account_frozen shop_frozen "
        "unpaid payment_overdue invoice_overdue trial_expired trial_ended plan_expired "
        "license_expired subscription_ended billing_disabled billing_not_enabled "
        "billing_suspended billing_inactive account_billing_disabled payment_overdue_suspended"
    ),
    Reason.PLAN_LIMIT_EXCEEDED: (
        "plan_limit_exceeded plan_limit_reached plan_limit upgrade_required "
        "plan_upgrade_required feature_not_available feature_not_in_plan not_in_plan "
        "plan_restricted tier_limit_exceeded requires_upgrade subscription_required "
        "plan_required feature_unavailable paid_plan_required request_limit "
        "request_limit_reached usage_limit_exceeded verification_required "
        "paid_account_required paid_subscription_required upgrade_plan "
        "monthly_limit_exceeded monthly_quota_exceeded monthly_request_limit_exceeded "
        "monthly_requests_exceeded monthly_limit_reached"
    ),
    Reason.PAYMENT_FAILED: (
        "card_declined card_error expired_card incorrect_cvc invalid_cvc incorrect_number "
        "invalid_number invalid_expiry_month invalid_expiry_year processing_error "
        "payment_failed payment_declined payment_method_invalid insufficient_funds "
        "lost_card stolen_card do_not_honor generic_decline testmode_charges_only "
        "card_not_supported charge_failed payment_method_required authentication_required "
        "instrument_declined payer_action_required payment_method_missing "
        "no_payment_method transaction_refused payer_cannot_pay"
    ),
}.items():
    for _code in _codes.split():
        _CODES[_code] = _reason

# Code families by their words: (a word that must be there, one of these too, the reason).
_CODE_WORDS = re.compile(r"[^a-z0-9]+")
_CODE_FAMILIES: tuple[tuple[str, frozenset[str], Reason], ...] = (
    (
        "monthly",
        frozenset({"request", "requests", "limit", "quota", "usage", "count", "cap"}),
        Reason.PLAN_LIMIT_EXCEEDED,
    ),
    ("usage", frozenset({"cap", "capped"}), Reason.PLAN_LIMIT_EXCEEDED),
    (
        "budget",
        frozenset({"exceeded", "exhausted", "reached", "over"}),
        Reason.INSUFFICIENT_CREDITS,
    ),
    (
        "billing",
        frozenset({"disabled", "suspended", "inactive", "deactivated"}),
        Reason.SUBSCRIPTION_EXPIRED,
    ),
    (
        "insufficient",
        frozenset({"credit", "credits", "balance", "quota"}),
        Reason.INSUFFICIENT_CREDITS,
    ),
)
_RATE_LIMIT_CODES = frozenset(
    {
        "rate_limit_exceeded",
        "rate_limit_error",
        "rate_limited",
        "rate_limit",
        "too_many_requests",
        "throttled",
        "throttling_exception",
        "throttling",
    }
)
# Codes of the table that other APIs use for other things (a 403 `authentication_required`,
# a phone API's `invalid_number`, an account banned for abuse, a feature flag, HTTP's own
# Upgrade Required): on a status other than 402 they are no evidence; the wording may be.
_NOT_EVIDENCE_ON_ERRORS = frozenset(
    {
        "authentication_required",
        "processing_error",
        "invalid_number",
        "incorrect_number",
        "invalid_expiry_month",
        "invalid_expiry_year",
        "incorrect_cvc",
        "invalid_cvc",
        "account_not_active",
        "account_inactive",
        "account_suspended",
        "feature_not_available",
        "feature_unavailable",
        "upgrade_required",
        "request_limit",
        "request_limit_reached",
        "verification_required",  # an e-mail address's, as often as a payment method's
    }
)
# Billing codes that a rate limit may also use ("quota exceeded" per minute): on a status
# other than 402 they are no evidence (the wording may be), unless they say "insufficient"
# (one-api's `insufficient_user_quota`), which a rate limit never does.
_AMBIGUOUS_WORDS = ("quota", "limit")
_UNAMBIGUOUS_CODES = frozenset(
    {
        "insufficient_quota",
        "billing_hard_limit_reached",
        "credit_limit_exceeded",
        "budget_limit_exceeded",
        "spend_limit_exceeded",
        "spending_limit_reached",
        "spending_limit_exceeded",
        "billing_limit_reached",
        "billing_limit_exceeded",
        "plan_limit_exceeded",
        "plan_limit_reached",
        "plan_limit",
        "tier_limit_exceeded",
        "monthly_limit_exceeded",
        "monthly_quota_exceeded",
        "monthly_request_limit_exceeded",
        "monthly_limit_reached",
        "quota_limited",
    }
)

# The wording of each reason, as (needle, pattern) rules on the lower-cased message, in order
# of precedence. A pattern runs only near where one of its literal needles ("a|b") occurs: a
# substring test is far cheaper than a failed regex search through a long message, and a
# window around each of the first few occurrences keeps a body of repeated words linear.
_RULES: tuple[tuple[Reason, str, str], ...] = (
    # A charge or a payment method failed, or none is on file.
    (
        Reason.PAYMENT_FAILED,
        "card",
        r"\bcard\b[^.]{0,60}?\b(?:declined|expired|insufficient "
        r"funds|lost|stolen)|\bdeclined\b[^.]{0,30}\bcard\b",
    ),
    # A "card" that failed or is invalid may be a game's, a board's or a SIM's.
    (
        Reason.PAYMENT_FAILED,
        "~card",
        r"\bcard\b[^.]{0,60}?\b(?:failed|invalid|incorrect|not supported)",
    ),
    # A payment instrument is PayPal's and AWS's word for a payment method. A method that
    # failed, or that the account must add, is a billing gate; one that is "required" or
    # "invalid" may be a form field's ("The payment method field is required").
    (
        Reason.PAYMENT_FAILED,
        "payment method|payment instrument",
        # Not a parameter's error: "payment method id", "... failed validation".
        r"\bpayment (?:method|instrument)\b[^.]{0,60}?\b(?:declined|expired|failed)\b"
        r"(?! validation)"
        r"|\b(?:add|update|set up|attach|provide)\b[^.]{0,25}?\b(?:a|an|your|new|valid|default) "
        r"payment (?:method|instrument)\b(?! (?:id|type|token|field)\b)"
        r"|\bno (?:valid |default )?payment (?:method|instrument)\b(?! (?:with|id|type)\b)"
        r"|\ba valid payment (?:method|instrument) must be provided"
        r"|\ba payment (?:method|instrument) is required\b",
    ),
    (
        Reason.PAYMENT_FAILED,
        "~payment method|payment instrument",
        r"\bpayment (?:method|instrument)\b[^.]{0,60}?\b(?:invalid|required|missing|needed)",
    ),
    (
        Reason.PAYMENT_FAILED,
        "payment",
        r"\bpayment\b[^.]{0,30}?\b(?:failed\b(?! validation)|was declined|could "
        r"not be processed)|\b(?:failed|unsuccessful|incomplete|declined) payment\b",
    ),
    (Reason.PAYMENT_FAILED, "charge", r"\bcharge\b[^.]{0,30}?\b(?:failed|was declined)"),
    (
        Reason.PAYMENT_FAILED,
        "declined",
        r"\b(?:instrument|transaction|payment source)\b[^.]{0,60}?\bdeclined\b"
        r"|\bdeclined by the (?:processor|bank|issuer)",
    ),
    # Paid for too little, too late: subscription lapsed, billing off, account suspended.
    (
        Reason.SUBSCRIPTION_EXPIRED,
        "subscription",
        r"\bsubscription\b[^.]{0,40}?\b(?:expired|"
        r"lapsed|ended|inactive|past due|canceled|cancelled|suspended|not active)",
    ),
    (Reason.SUBSCRIPTION_EXPIRED, "past", r"\bpast[ _-]due\b"),
    # Each rule is looked for near the rarest words that all its matches hold: "account" or
    # "not" would send most error bodies to be read.
    (
        Reason.SUBSCRIPTION_EXPIRED,
        "frozen|suspended for",
        r"\baccount\b[^.]{0,20}?\b(?:frozen|suspended for non-?payment)",
    ),
    # An inactive account may be a deactivated user's.
    (Reason.SUBSCRIPTION_EXPIRED, "~account", r"\baccount\b[^.]{0,20}?\b(?:not active|inactive)"),
    (Reason.SUBSCRIPTION_EXPIRED, "shop", r"\bshop\b[^.]{0,20}?\b(?:not active|frozen)"),
    (Reason.SUBSCRIPTION_EXPIRED, "store", r"\bstore\b[^.]{0,20}?\b(?:not active|frozen)"),
    (
        Reason.SUBSCRIPTION_EXPIRED,
        "billing",
        r"\bbilling\b[^.]{0,20}?\b(?:not active|disabled|not enabled|suspended|deactivated"
        r"|inactive|closed)\b|\b(?:requires?|needs?) billing to be enabled"
        r"|\benable billing\b|\bbilling account\b[^.]{0,30}?\b(?:closed|disabled|absent)",
    ),
    (
        Reason.SUBSCRIPTION_EXPIRED,
        "pay",
        r"\b(?:failure|failed|failing) to pay\b|\bnon-?payment\b",
    ),
    (Reason.SUBSCRIPTION_EXPIRED, "unpaid", r"\bunpaid\b[^.]{0,20}?\b(?:invoice|balance|bill)"),
    (
        Reason.SUBSCRIPTION_EXPIRED,
        "outstanding",
        r"\boutstanding\b[^.]{0,20}?\b(?:invoice|"
        r"balance|bill)",
    ),
    (Reason.SUBSCRIPTION_EXPIRED, "overdue", r"\boverdue\b"),
    (Reason.SUBSCRIPTION_EXPIRED, "renew", r"\brenew(?:al)?\b[^.]{0,20}?\bfailed\b"),
    (Reason.SUBSCRIPTION_EXPIRED, "trial", r"\btrial\b[^.]{0,20}?\b(?:expired|ended)"),
    # Prepaid money used up: credits, balance, budgets and spend caps.
    (
        Reason.INSUFFICIENT_CREDITS,
        "insufficient",
        r"\binsufficient\b[^.]{0,20}?\b(?:credits?|balance|funds|quota)",
    ),
    # Too few tokens may be a context window's.
    (Reason.INSUFFICIENT_CREDITS, "~insufficient", r"\binsufficient\b[^.]{0,20}?\btokens\b"),
    (
        Reason.INSUFFICIENT_CREDITS,
        "credit",
        r"\bcredits?\b[^.]{0,30}?\b(?:too low|insufficient|"
        r"exhausted|depleted|used up|ran out|run out|not enough|exceeded|expired|"
        r"is (?:zero|empty|negative))"
        r"|\bno (?:remaining |more )?credits?\b|\b(?:requires?|needs?) more credits?\b"
        r"|\b(?:does not|doesn't|do not|don't) have (?:any |enough )?credits?"
        r"|\bexceeded your (?:[\w-]+ ){0,3}credits?\b|\b(?:add|buy|purchase)\b[^.]{0,15}?"
        r"\bcredits?\b|\bnot enough credits?|\black (?:of )?(?:sufficient |enough )?credits?",
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        "balance",
        r"\bbalance\b[^.]{0,30}?\b(?:too low|insufficient|"
        r"exhausted|depleted|not enough|is (?:zero|empty|negative))|\b(?:exhausted|depleted|"
        r"negative|zero)\b[^.]{0,10}?\bbalance|\bnot enough balance",
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        "credit|funds|balance|usage",
        r"\bout of (?:extra |included |prepaid )?"
        r"(?:credits?|funds|balance|usage)",
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        "budget",
        r"\bbudget\b[^.]{0,30}?\b(?:exceeded|reached|exhausted|used up|hit)\b"
        r"|\b(?:exceeded|reached|exhausted|over) (?:your |the |its |their )?(?:[\w-]+ )?budget\b"
        r"|\bexceededbudget\b",
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        "billing",
        r"\b(?:maximum|max) billing\b[^.]{0,15}?\breached|\bbilling (?:hard )?(?:limit|cap|"
        r"capacity)\b[^.]{0,15}?\b(?:reached|exceeded|hit)",
    ),
    (
        Reason.INSUFFICIENT_CREDITS,
        "spend",
        r"\bspend(?:ing)? (?:limit|cap)\b[^.]{0,20}?\b(?:reached|exceeded|hit)"
        r"|\b(?:reached|exceeded|hit) (?:your |the |its )?(?:[\w-]+ )?spend(?:ing)? (?:limit|cap)",
    ),
    (Reason.INSUFFICIENT_CREDITS, "pay", r"\bpay[ -]as[ -]you[ -]go (?:limit|cap|budget)"),
    # The spend limit an account set for itself (Anthropic's Console limits).
    (
        Reason.INSUFFICIENT_CREDITS,
        "usage limit|spend limit|spending limit",
        r"\breached your specified (?:api )?(?:usage|spend(?:ing)?) limits?\b",
    ),
    # Chinese providers (Zhipu, and the gateways before them): "balance not enough",
    # "please recharge". Chinese has no spaces, so no word boundaries either. A payment API
    # that asks the payer to change card (WeChat Pay's NOT_ENOUGH) had a payment fail.
    (Reason.PAYMENT_FAILED, "更换支付卡|更换银行卡", r"余额不足[^。.]{0,20}?更换(?:支付|银行)卡"),
    (Reason.INSUFFICIENT_CREDITS, "余额不足|请充值", r"余额不足|请充值"),
    (Reason.INSUFFICIENT_CREDITS, "top", r"\btop[ -]?up\b"),
    (Reason.INSUFFICIENT_CREDITS, "recharge", r"\brecharge\b"),
    (Reason.INSUFFICIENT_CREDITS, "funds", r"\bnot enough funds"),
    # Not in the plan: paid plans, upgrades, plan and monthly volume limits. These come before
    # quota wording: "quota exceeded ... change your plan" is resolved by a plan change.
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "plan|tier|subscription",
        r"\bnot (?:available|included|supported|allowed) "
        r"(?:on|in|with|for) (?:your|the|this)[^.]{0,20}?\b(?:plan|tier|subscription)",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "upgrade",
        r"\bupgrade\b[^.]{0,25}?\b(?:plan|tier|subscription|account)\b"
        # A paid tier by name, where the phrase ends ("Upgrade to GitHub Pro or ..."): not a
        # version or a product ("upgrade to v2 for team ...", "... Enterprise Server 3.12").
        r"|\bupgrade to (?:an? )?(?:[a-z-]+ ){0,2}(?:pro|plus|premium|team|business|enterprise"
        r"|paid)(?:\s*(?:[.,;:!()]|$)"
        r"|\s+(?:or|to|now|today|and|in|for access|plan|tier|account|subscription)\b)",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "plan",
        r"\bplan(?:'s)? (?:[\w-]+ ){0,2}(?:limit|quota)|\brequires? (?:an? |"
        r"the )?[\w-]+ plan\b|\bexceeded (?:your|the) plan|\bchange (?:your |the |to a )?"
        r"(?:[\w-]+ )?plan\b",
    ),
    # "For the plan" may be a billing API's own object ("this price is not valid for the plan").
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "~plan",
        r"\b(?:on|of|for|in) (?:your|the) (?:current |free )?plan\b",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "tier",
        r"\btier(?:'s)? (?:limit|quota)|\brequires? (?:an? |"
        r"the )?[\w-]+ tier\b|\bexceeded (?:your|the) tier",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "paid",
        r"\b(?:need|needs|requires?|must have) (?:an? )?(?:active,? )?paid "
        r"(?:plan|account|subscription|tier)|\bpaid (?:plan|account|subscription) "
        r"(?:is )?required|\bonly (?:available )?(?:on|for|with|to) paid\b",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "sign up",
        r"\bsign up for (?:an? )?(?:private packages|paid\b|pro\b|premium\b|[\w-]+ plan\b)",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "verify",
        r"\bverify your account\b[^.]{0,40}?\b(?:payment|credit card|billing)",
    ),
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "monthly|usage cap",
        r"\bmonthly (?:[\w-]+ ){0,2}(?:quota|limit|cap)\b|\busage cap (?:exceeded|reached)",
    ),
    # A request or usage limit may be a rate limit's.
    (
        Reason.PLAN_LIMIT_EXCEEDED,
        "~limit",
        r"\b(?:request|usage|api call)s? limit (?:reached|exceeded)",
    ),
    # Quota wording alone: a usage quota used up, to top up (or a daily quota that resets).
    (
        Reason.INSUFFICIENT_CREDITS,
        "~quota",
        r"\bexceeded (?:your|the) (?:current )?quota|\bquota "
        r"(?:exceeded|exhausted)|\bexceeds? your quota",
    ),
)


def _alternatives(pattern: str) -> list[str]:
    """The alternatives of `pattern` at its top level (outside groups and classes)."""
    parts: list[str] = []
    depth, start, index, in_class = 0, 0, 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:index])
            start = index + 1
        index += 1
    parts.append(pattern[start:])
    return parts


_LEADING_WORD = re.compile(r"\\b([a-z]+)(?![a-z])")
_LEADING_GROUP = re.compile(r"\\b\(\?:([a-z '?,|]+)\)")


def _literal_first(alternative: str) -> str:
    """`alternative` with its leading word boundary moved behind its first word.

    `\\bword...` and `word(?<!\\wword)...` match the same texts, but the regular-expression
    engine can skip ahead to a literal prefix, where a leading `\\b` makes it try every
    position of the window: several times faster on a new message.
    """
    group = _LEADING_GROUP.match(alternative)
    if group is not None:
        branches = [_literal_first("\\b" + b) for b in _alternatives(group.group(1))]
        if any(b.startswith("\\b") for b in branches):
            return alternative
        return f"(?:{'|'.join(branches)})" + alternative[group.end() :]
    word = _LEADING_WORD.match(alternative)
    if word is None:
        return alternative
    literal, rest = word.group(1), alternative[word.end() :]
    if rest[:1] in ("?", "*", "+", "{"):
        literal, rest = literal[:-1], literal[-1] + rest  # the quantifier is the last letter's
    if not literal:
        return alternative
    return f"{literal}(?<!\\w{literal}){rest}"


def _compiled(pattern: str) -> tuple[re.Pattern[str], ...]:
    """A rule's pattern as one compiled pattern per alternative, each literal first: a rule
    matches where any of them does."""
    return tuple(re.compile(_literal_first(a)) for a in _alternatives(pattern))


# A rule whose needles start with "~" is weak: it names the reason where a 402 already says
# "pay", but is no evidence on its own for another status (`reason_from_words(strict=True)`).
_WORDS: tuple[tuple[Reason, tuple[str, ...], tuple[re.Pattern[str], ...], bool], ...] = tuple(
    (reason, tuple(needles.lstrip("~").split("|")), _compiled(pattern), needles.startswith("~"))
    for reason, needles, pattern in _RULES
)
#: Every needle of the wording rules.
_WORD_NEEDLES = frozenset(needle for _, needles, _, _ in _WORDS for needle in needles)
_RATE_LIMIT_RULES: tuple[tuple[tuple[str, ...], tuple[re.Pattern[str], ...]], ...] = tuple(
    (tuple(needles.split("|")), _compiled(pattern))
    for needles, pattern in (
        ("rate limit|rate-limit|ratelimit|rate_limit", r"\brate[ _-]?limit"),
        (
            "per s|per m|per h|per d|persecond|perminute|perhour|perday",
            r"\bper (?:second|minute|min|hour|day)\b|[a-z]per(?:second|minute|hour|day)",
        ),
        ("too many requests", r"\btoo many requests\b"),
        # "1000 requests per month" is a plan's volume, not a rate: only short units count.
        ("requests per|request per", r"\brequests? per (?:s|sec|m|min|h|hr|d)\b"),
        ("rpm", r"\brpm\b"),
        ("tpm", r"\btpm\b"),
        ("rps", r"\brps\b"),
        ("rpd", r"\brpd\b"),
        ("try again in", r"\btry again in\b"),
        ("slow down", r"\bslow down\b"),
    )
)
_DIGIT = re.compile(r"[0-9]")
_DAILY = re.compile(r"\b(?:daily|hourly)\b")
_HTTPS_URL = re.compile(r"https://[^\s\"'<>()\[\]{}]+")
# Numbers may not start inside a longer run of digits (the lookbehinds): otherwise a long
# digit run is rescanned from each of its digits.
_NUM = r"(?<![0-9,.])([0-9][0-9,]{0,30}(?:\.[0-9]{1,30})?)"
# The amounts a message states, each as `(words all in it, words one of which is in it,
# pattern)` over its lower-case text. A message's amount is the leftmost match of any of
# them (they begin with different characters, so two never start at one place): as one
# alternation would give it, but a pattern runs only where its words are, and none runs
# from every position of a text that lacks them.
_AmountRule = tuple[tuple[str, ...], tuple[str, ...], "re.Pattern[str]"]
_CREDITS_REQUIRED_WORDS: tuple[_AmountRule, ...] = (
    (
        ("credit",),
        ("required", "needed"),
        re.compile(_NUM + r" credits? (?:are |is )?(?:required|needed)"),
    ),
    (("require", "credit"), (), re.compile(r"requires? " + _NUM + r" credits?")),
    (("costs ",), (), re.compile(r"\b(?:that |it |this )costs \$?" + _NUM + r"\b")),
)
_CREDITS_AVAILABLE_WORDS: tuple[_AmountRule, ...] = (
    (
        ("you ", "have ", "credit"),
        ("remaining", "left", "available"),
        re.compile(r"you (?:only )?have " + _NUM + r" credits? (?:remaining|left|available)"),
    ),
    (
        ("credit",),
        ("remaining", "left", "available"),
        re.compile(_NUM + r" credits? (?:remaining|left|available)"),
    ),
    (("balance is ",), (), re.compile(r"\bbalance is \$?" + _NUM + r"\b")),
)
_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")
_CODE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_.:/#-]{0,99}")
_MAX_CODE = 100
_CODE_SUFFIX = re.compile(r"_(?:error|exception)$")
_NESTED = (
    "error",
    "detail",
    "details",
    "metadata",
    "meta",
    "data",
    "extensions",
    "billing",
    "errors",
    "raw",
)
#: The longest upstream error kept as JSON text (`raw`) that is parsed.
_MAX_UPSTREAM = 8 * 1024
_NESTED_KEYS = frozenset(_NESTED)
_NESTED_ORDER = {key: rank for rank, key in enumerate(_NESTED)}
_MAX_OBJECTS = 12

# Field synonyms, normalized to snake_case, in order of preference.
_MESSAGE_KEYS = (
    "message",
    "err_msg",
    "error_message",
    "detail",
    "error_description",
    "description",
    "title",
    "msg",
    "error",
    "errors",
)
_MESSAGE_KEY_SET = frozenset(_MESSAGE_KEYS)
_CODE_KEYS = (
    "code",
    "error_code",
    "err_code",
    "issue",
    "type",
    "status",
    "error",
    "reason",
    "error_type",
    "type_name",
    "name",
)
_CODE_KEY_SET = frozenset(_CODE_KEYS)
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
# Where a link leads, by the words in it: a page to pay or upgrade on, or documentation.
_ACTION_WORDS = (
    "billing",
    "pricing",
    "upgrade",
    "top-up",
    "topup",
    "top_up",
    "credit",
    "plans",
    "payment",
    "checkout",
    "purchase",
    "subscri",
    "recharge",
    "wallet",
)
_DOCS_HOSTS = ("docs.", "doc.", "developer.", "developers.", "help.", "support.", "status.")
_DOCS_PATHS = (
    "/docs",
    "/doc/",
    "/documentation",
    "/guides",
    "/reference",
    "/errors",
    "/error-codes",
    "/problems",
    "/probs/",
    "/faq",
    "rate-limits",
    "/api-keys",
)
_MAX_LINKS = 8
_RETRY_KEYS = ("retry_after", "retry_after_seconds", "retry_in", "retry_after_secs")
_REQUEST_ID_KEYS = ("request_id", "x_request_id", "debug_id", "correlation_id", "trace_id")
#: How much of a body is searched for rate-limit wording beyond the message (a Google quota
#: id such as "...PerMinute-FreeTier" sits in `details`): a bounded prefix keeps it linear.
_RATE_LIMIT_SCAN = 4096
#: The longest body that `may_hold_evidence` searches; a longer one is read in full.
_EVIDENCE_SCAN = 8 * 1024
#: How much of a text the wording rules search.
_WORDS_SCAN = 4096
# A rule's pattern runs in a window from `_BEHIND` characters before an occurrence of its
# needle to `_AHEAD` after (wider than any match of the rules), for the first `_TRIES` ones.
_BEHIND = 100
_AHEAD = 160
_TRIES = 6


@functools.lru_cache(maxsize=1024)
def _norm(key: str) -> str:
    return _CAMEL.sub(r"_\1", key).lower().replace("-", "_")


# The usual keys, already normalized: a dict lookup costs less than the cached function.
_KNOWN_KEYS: dict[str, str] = {}
_known = _KNOWN_KEYS.get


class Upstream(dict):  # type: ignore[type-arg]
    """An object of the upstream provider's error that a gateway passed on as JSON text:
    its message may say what the gateway's own ("Provider returned error") does not."""


def _objects(payload: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The payload and the objects nested under its usual envelope keys, breadth first.

    The objects of an upstream error kept as JSON text (`raw`) come as `Upstream` dicts.
    """
    queue: list[tuple[Any, bool]] = [(payload, False)]
    found: list[dict[str, Any]] = []
    index = 0
    while index < len(queue) and len(found) < _MAX_OBJECTS:
        obj, upstream = queue[index]
        index += 1
        if type(obj) is list:
            queue.extend((item, upstream) for item in obj[:3] if isinstance(item, (dict, list)))
            continue
        if not isinstance(obj, dict):
            continue
        try:
            normalized = {(_known(k) or _norm(k)): v for k, v in obj.items()}
        except (TypeError, AttributeError):  # a key that is no string: not from JSON
            normalized = {_norm(k): v for k, v in obj.items() if type(k) is str}
        if upstream:
            normalized = Upstream(normalized)
        found.append(normalized)
        nested = _NESTED_KEYS.intersection(normalized)
        if len(nested) == 1 and "raw" not in nested:
            (key,) = nested  # the usual envelope: `{"error": {...}}`
            child = normalized[key]
            if isinstance(child, (dict, list)):
                queue.append((child, upstream))
        elif nested:
            # Children in the order of `_NESTED`, whatever the order of the object's keys. A
            # gateway passes the upstream provider's error on as JSON text (OpenRouter's
            # `error.metadata.raw`): it is parsed, and read after the other children.
            children = []
            for key in nested:
                child = normalized[key]
                from_upstream = upstream
                if key == "raw":  # as JSON text, or already an object
                    from_upstream = True
                    if type(child) is str:
                        child = _upstream(child)
                if isinstance(child, (dict, list)):
                    children.append((_NESTED_ORDER[key], child, from_upstream))
            children.sort(key=lambda c: c[0])
            queue.extend((child, from_upstream) for _, child, from_upstream in children)
    return found


def _upstream(value: str) -> Any:
    """The JSON object or array that a string holds, if it holds one (bounded like a body)."""
    if len(value) > _MAX_UPSTREAM or value.lstrip()[:1] not in ("{", "["):
        return None
    try:
        parsed = loads_json(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def error_object(payload: Any, snapshot: ResponseSnapshot | None = None) -> dict[str, Any]:
    """The innermost object of a usual error envelope (`{"error": {...}}`), keys normalized.

    Treat it as read-only: with the `snapshot` the payload came from, it is shared.
    """
    if not isinstance(payload, dict):
        return {}
    objects = objects_of(payload, snapshot)
    for obj in objects:
        if "message" in obj or "code" in obj:
            return obj
    return objects[0] if objects else {}


def _text(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("name", "id", "slug", "title"):
            if key in value:
                return bounded_text(value[key], 200)
        return None
    return bounded_text(value)


class _Keep(enum.Enum):
    KEEP = enum.auto()


#: `Evidence.to_payment`'s default: the field as the payload's reading found it.
_KEEP = _Keep.KEEP


class Evidence:
    """What a JSON payload says, field by field, before a reason is decided.

    A field that the payload does not state keeps its class default, `None`: a reading sets
    only what it finds.
    """

    code: str | None = None
    message: str | None = None
    credits_required: Decimal | None = None
    credits_available: Decimal | None = None
    currency: str | None = None
    current_plan: str | None = None
    required_plan: str | None = None
    action_url: str | None = None
    retry_after: float | None = None
    request_id: str | None = None

    def __init__(self) -> None:
        #: Every code-like string seen (`code`, `type`, `status`...), for reason matching.
        self.codes: list[str] = []

    def reason(self, *, strict: bool = False, context: str | None = None) -> Reason | None:
        """The reason the codes say, else the one the wording says, else the fields'.

        A known billing code wins; otherwise a plain rate limit (a rate-limit code, or "per
        minute" wording) is no payment gate, even when it mentions quota or upgrading.

        Args:
            strict: Ask for strong evidence, as for a status other than 402 from a host with
                no adapter of its own: a billing code, or billing wording, never fields alone;
                and a code that a rate limit could also use ("quota_exceeded") only where
                nothing says "rate limit".
            context: More text to search for rate-limit wording (a bounded prefix of the
                body), for `strict`.
        """
        context = context if strict else None
        for code in self.codes:
            reason = reason_from_code(code)
            if reason is None:
                continue
            if strict and not counts_on_errors(code):
                continue  # no evidence on a non-402; its wording may still be
            # A quota code next to wording about the plan is a plan limit ("Operations quota
            # exceeded. Change plan to get more").
            if (
                reason is Reason.INSUFFICIENT_CREDITS
                and "quota" in _norm(code)
                and self.message
                and reason_from_words(self.message) is Reason.PLAN_LIMIT_EXCEEDED
            ):
                return Reason.PLAN_LIMIT_EXCEEDED
            return reason
        if self.is_rate_limit(context):
            return None
        if self.message:
            reason = reason_from_words(self.message, strict=strict)
            if reason is not None:
                return reason
        if strict:
            return None
        if self.required_plan is not None:
            return Reason.PLAN_LIMIT_EXCEEDED
        if self.credits_required is not None or self.credits_available is not None:
            return Reason.INSUFFICIENT_CREDITS
        return None

    def is_rate_limit(self, context: str | None = None) -> bool:
        """`True` when codes or wording (of the message, or of `context`) say "slow down".

        With a `context` (the strict reading of a non-402), a daily or hourly limit counts
        as a rate limit too: it lifts by itself, whatever plan it mentions.
        """
        if looks_like_rate_limit(self.codes, self.message):
            return True
        if context is None:
            return False
        return looks_like_rate_limit((), context[:_RATE_LIMIT_SCAN]) or any(
            _says_daily(text[:_RATE_LIMIT_SCAN]) for text in (self.message, context) if text
        )

    def to_payment(
        self,
        reason: Reason,
        provider: str,
        *,
        code: str | _Keep | None = _KEEP,
        message: str | _Keep | None = _KEEP,
    ) -> PaymentRequired:
        """The answer these fields give, with the `code` or `message` that a provider states
        in its own way where given."""
        return PaymentRequired(
            reason=reason,
            provider=provider,
            code=self.code if code is _KEEP else code,
            message=self.message if message is _KEEP else message,
            credits_required=self.credits_required,
            credits_available=self.credits_available,
            currency=self.currency,
            current_plan=self.current_plan,
            required_plan=self.required_plan,
            action_url=self.action_url,
            retry_after=self.retry_after,
            request_id=self.request_id,
        )


def read_evidence(payload: Any, snapshot: ResponseSnapshot | None = None) -> Evidence:
    """Reads the fields of a JSON error payload by their usual names and synonyms.

    With the `snapshot` the payload came from, the answer is kept on it, so the adapters
    tried after the first read the payload once between them: treat it as read-only.
    """
    if snapshot is not None:
        kept = snapshot._evidence
        if kept is not None and kept[0] is payload:
            return kept[1]  # type: ignore[no-any-return]
        evidence = _read_evidence(payload, snapshot)
        snapshot._evidence = (payload, evidence)
        return evidence
    return _read_evidence(payload, None)


def may_hold_evidence(response: ResponseSnapshot, *, any_rule: bool = False) -> bool:
    """`False` when the body holds none of the words that a strict reading's billing codes
    and wording rules need, so that no generic rule can claim a non-402 by it; `True` when
    it may (then read it). With `any_rule`, weak rules and every known code count too.

    A lowercase copy and a few dozen substring searches: most 4xx errors (a missing
    resource, a bad key, a plain rate limit) end here without JSON parsing. It is a sound
    filter: a code or a message is a piece of the body, and each rule's needle is in the
    lower-case piece; only a JSON `\\u` escape could spell a needle that the raw body
    lacks, so a body with one is always read, and so is a body longer than
    `_EVIDENCE_SCAN` (the searches would cost more than the reading they spare).
    """
    possible = response._evidence_possible
    if possible is None:
        text = response.text
        possible = len(text) > _EVIDENCE_SCAN or _holds_any(text.lower(), _EVIDENCE_NEEDLES)
        response._evidence_possible = possible
    if possible or not any_rule:
        return possible
    return _holds_any(response.text.lower(), _ANY_EVIDENCE_NEEDLES)


def _holds_any(lowered: str, needles: tuple[str, ...]) -> bool:
    if "\\u" in lowered:
        return True
    for needle in needles:  # noqa: SIM110 - a plain loop: `any()` over a generator costs more
        if needle in lowered:
            return True
    return False


#: What `first_look` saw: nothing a strict reading could use, billing words, a billing code.
NOTHING, BILLING_WORDS, BILLING_CODE = 0, 1, 2


def objects_of(
    payload: Mapping[str, Any], snapshot: ResponseSnapshot | None
) -> list[dict[str, Any]]:
    """`_objects(payload)`, kept on the `snapshot` it came from for the next reader."""
    if snapshot is None:
        return _objects(payload)
    kept = snapshot._objects
    if kept is not None and kept[0] is payload:
        return kept[1]  # type: ignore[no-any-return]
    objects = _objects(payload)
    snapshot._objects = (payload, objects)
    return objects


def first_look(payload: Any, snapshot: ResponseSnapshot | None = None) -> tuple[int, bool]:
    """A cheap first look at a JSON payload for the strict reading of a non-402.

    Returns what it holds that counts as evidence (`NOTHING`, `BILLING_WORDS` or
    `BILLING_CODE`, the strongest seen), and whether one of its codes is a rate limit's.
    Most 4xx errors (a missing resource, a bad parameter, a plain rate limit) end here
    without the full reading of fields, amounts and links.
    """
    if not isinstance(payload, dict):
        return NOTHING, False
    seen, rate_code = NOTHING, False
    for obj in objects_of(payload, snapshot):
        for key in _CODE_KEY_SET.intersection(obj):
            value = obj[key]
            if type(value) is str and (len(value) <= _MAX_CODE or _is_code(value)):
                kind = _code_kind(key, value)
                if kind == _RATE_CODE:
                    rate_code = True
                elif kind == _EVIDENCE_CODE:
                    seen = BILLING_CODE
        if seen == NOTHING:
            for key in _MESSAGE_KEY_SET.intersection(obj):
                value = obj[key]
                if type(value) is dict:
                    continue  # an envelope (`"error": {...}`), looked at as an object
                short = type(value) is str and len(value) <= _WORDS_SCAN
                if (_says_billing_cached if short else _says_billing)(value):
                    seen = BILLING_WORDS
                    break
    return seen, rate_code


_OTHER_CODE, _RATE_CODE, _EVIDENCE_CODE = 0, 1, 2


@functools.lru_cache(maxsize=512)
def _code_kind(key: str, value: str) -> int:
    """What a code says to a strict reading: a rate limit's, a billing code that counts on a
    status other than 402, or neither. Cached: a provider sends the same few codes."""
    if not _is_code_value(key, value):
        return _OTHER_CODE
    code = value.strip()
    if _norm(code) in _RATE_LIMIT_CODES:
        return _RATE_CODE
    if reason_from_code(code) is not None and counts_on_errors(code):
        return _EVIDENCE_CODE
    return _OTHER_CODE


def _says_billing(value: Any) -> bool:
    """`True` when a message's strong wording names a reason."""
    text = _message(value)
    return text is not None and reason_from_words(text, strict=True) is not None


# Cached for short messages, as the wording rules are: a provider sends the same few.
_says_billing_cached = functools.lru_cache(maxsize=256)(_says_billing)


def says_rate_limit(text: str) -> bool:
    """`True` when the first `_RATE_LIMIT_SCAN` characters of a body read as a rate limit:
    "per minute" style wording, or a daily or hourly limit."""
    prefix = text[:_RATE_LIMIT_SCAN]
    return looks_like_rate_limit((), prefix) or _says_daily(prefix)


def _read_evidence(payload: Any, snapshot: ResponseSnapshot | None) -> Evidence:
    evidence = Evidence()
    if not isinstance(payload, dict):
        if isinstance(payload, str):
            evidence.message = bounded_message(payload)
        _from_message(evidence)
        return evidence
    # The object that carries the message is the error itself; read it before its envelope.
    objects = objects_of(payload, snapshot)
    if len(objects) > 1:
        objects = [o for o in objects if _has_message(o)] + [
            o for o in objects if not _has_message(o)
        ]
    found: dict[str, Any] = {}
    # The first code that names a billing reason, and the message of the object it is in:
    # PayPal's `details[].issue` and `description` say more than the generic envelope.
    billing: tuple[str, str | None] | None = None
    codes = evidence.codes
    messages: list[tuple[str, bool]] = []  # each object's own message, and if upstream
    for obj in objects:
        # Within an object the synonym of lowest rank wins, whatever the order of the keys;
        # across objects the earlier object wins (the object's own message is kept apart).
        best: dict[str, tuple[int, Any]] = {}
        own_message: tuple[int, str] | None = None
        own_codes: list[tuple[int, str]] = []
        for key in _ROLE_KEYS.intersection(obj):
            value = obj[key]
            for role, rank in _ROLES[key]:
                if role == "code":
                    if _is_code_value(key, value):
                        own_codes.append((rank, value.strip()))
                    continue
                own = role == "message" and (own_message is None or rank < own_message[0])
                wanted = role not in found and (role not in best or rank < best[role][0])
                if not (own or wanted):
                    continue
                parsed = _PARSERS[role](value)
                if parsed is None:
                    continue
                if own:
                    own_message = (rank, parsed)
                if wanted:
                    best[role] = (rank, parsed)
        for role, (_, parsed) in best.items():
            found[role] = parsed
        if own_message is not None:
            messages.append((own_message[1], type(obj) is Upstream))
        if not own_codes:
            continue
        if len(own_codes) > 1:
            own_codes.sort()
        if billing is None:
            for _, code in own_codes:
                if reason_from_code(code) is not None:
                    billing = (code, own_message[1] if own_message else None)
                    break
        codes.extend(code for _, code in own_codes)
    if billing is not None:
        evidence.code = billing[0]
        evidence.message = billing[1]
    elif codes:
        evidence.code = codes[0]
    found.pop("message", None)
    if evidence.message is None and messages:
        # A gateway's message may say only that the provider failed ("Error from provider"):
        # the provider's own message, passed on as JSON text, says why. (A validation
        # error's field messages are not the error's reason: only an upstream one counts.)
        evidence.message = messages[0][0]
        if len(messages) > 1 and reason_from_words(messages[0][0]) is None:
            evidence.message = next(
                (
                    text
                    for text, upstream in messages[1:]
                    if upstream and reason_from_words(text) is not None
                ),
                messages[0][0],
            )
    for role, parsed in found.items():
        setattr(evidence, role, parsed)
    _from_message(evidence)
    return evidence


def _is_code_value(key: str, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if not _is_code(value):
        # A number is a code where a code belongs (Zhipu's "1113"), unless it only restates
        # an HTTP status (a gateway's "code": "400").
        digits = value.strip()
        return (
            key in _NUMERIC_CODE_KEYS
            and 0 < len(digits) <= 12
            and digits.isascii()
            and digits.isdigit()
            and not _is_status(digits)
        )
    if value.strip().lower() in _NULL_WORDS:
        return False  # a serialized null ("type": "None"), not a code
    # `name` is a code only in the shape of an exception class ("InsufficientBalanceError") or
    # of a constant ("payment_required", "UNPROCESSABLE_ENTITY"), not a person's or a thing's.
    return key != "name" or value.endswith(("Error", "Exception")) or "_" in value


#: Keys whose value may be a number that is the provider's own code.
_NUMERIC_CODE_KEYS = frozenset({"code", "error_code", "err_code"})
#: How a language's null reads once a gateway has turned it into a string.
_NULL_WORDS = frozenset({"none", "null", "nil", "undefined"})


def _is_status(digits: str) -> bool:
    return len(digits) == 3 and 100 <= int(digits) <= 599


def _message(value: Any) -> str | None:
    if isinstance(value, list):
        # `"errors": ["You lack sufficient credits..."]`: the first sentence in the list.
        value = next((item for item in value[:3] if isinstance(item, str)), None)
    return bounded_message(value) if isinstance(value, str) and not _is_code(value) else None


def _plan(value: Any) -> str | None:
    text = _text(value)
    return text if text is not None and len(text) <= 100 else None


def _currency(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and 1 <= len(value.strip()) <= 16 else None


def _seconds(value: Any) -> float | None:
    amount = as_amount(value)
    return float(amount) if amount is not None and 0 <= amount <= MAX_RETRY_AFTER else None


def _request_id(value: Any) -> str | None:
    return bounded_text(value, 200) if isinstance(value, str) else None


def _action_link(value: Any) -> str | None:
    """A safe link that is not documentation, else `None`."""
    url = safe_action_url(value)
    if url is None:
        return None
    lowered = url.lower()
    host, _, path = lowered.partition("://")[2].partition("/")
    if host.startswith(_DOCS_HOSTS) or any(part in "/" + path for part in _DOCS_PATHS):
        return None
    return url


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "message": _message,
    "credits_required": as_amount,
    "credits_available": as_amount,
    "currency": _currency,
    "current_plan": _plan,
    "required_plan": _plan,
    "action_url": _action_link,
    "retry_after": _seconds,
    "request_id": _request_id,
}
# Normalized key -> the roles it can play, with its rank among that role's synonyms.
_ROLES: dict[str, list[tuple[str, int]]] = {}
for _role, _keys in (
    ("message", _MESSAGE_KEYS),
    ("code", _CODE_KEYS),
    ("credits_required", _REQUIRED_KEYS),
    ("credits_available", _AVAILABLE_KEYS),
    ("currency", ("currency",)),
    ("current_plan", _CURRENT_PLAN_KEYS),
    ("required_plan", _REQUIRED_PLAN_KEYS),
    ("action_url", _URL_KEYS),
    ("retry_after", _RETRY_KEYS),
    ("request_id", _REQUEST_ID_KEYS),
):
    for _rank, _key in enumerate(_keys):
        _ROLES.setdefault(_key, []).append((_role, _rank))
_ROLE_KEYS = frozenset(_ROLES)
_KNOWN_KEYS.update((key, key) for key in _ROLE_KEYS | _NESTED_KEYS | {"object", "param", "id"})


def _first_group(match: re.Match[str]) -> str | None:
    return next((group for group in match.groups() if group is not None), None)


def _has_message(obj: dict[str, Any]) -> bool:
    for key in _MESSAGE_KEY_SET.intersection(obj):  # noqa: SIM110 - cheaper than any()
        if isinstance(obj[key], str):
            return True
    return False


def _from_message(evidence: Evidence) -> None:
    """Fills what the human message states plainly: a link, credit counts."""
    message = evidence.message
    if not message:
        return
    if evidence.action_url is None and "https://" in message:
        evidence.action_url = _best_link(message)
    lowered = message.lower()
    if "credit" not in lowered and "cost" not in lowered and "balance" not in lowered:
        return  # the amount patterns all name credits, a cost or a balance
    if not _DIGIT.search(message):
        return
    if evidence.credits_required is None:
        evidence.credits_required = _stated_amount(lowered, _CREDITS_REQUIRED_WORDS)
    if evidence.credits_available is None:
        evidence.credits_available = _stated_amount(lowered, _CREDITS_AVAILABLE_WORDS)


def _stated_amount(lowered: str, rules: tuple[_AmountRule, ...]) -> Decimal | None:
    """The amount of the leftmost match of `rules` in a lower-case message, if any."""
    first: re.Match[str] | None = None
    for all_of, any_of, pattern in rules:
        if not all(word in lowered for word in all_of):
            continue
        if any_of and not any(word in lowered for word in any_of):
            continue
        match = pattern.search(lowered)
        if match is not None and (first is None or match.start() < first.start()):
            first = match
    return None if first is None else as_amount(_first_group(first))


def _best_link(message: str) -> str | None:
    """The message's link to act on: a billing, pricing, upgrade or top-up page first, else
    the first link that is not documentation ("read the docs: https://...")."""
    fallback: str | None = None
    for index, match in enumerate(_HTTPS_URL.finditer(message)):
        if index >= _MAX_LINKS:
            break
        url, to_act = _link(match.group().rstrip(".,;:!?"))
        if to_act:
            return url
        fallback = fallback or url
    return fallback


@functools.lru_cache(maxsize=512)
def _link(text: str) -> tuple[str | None, bool]:
    """`_action_link` of a link in a message, and whether it names a page to act on.

    Cached: a provider sends the same few links over and over.
    """
    url = _action_link(text)
    if url is None:
        return None, False
    lowered = url.lower()
    for word in _ACTION_WORDS:
        if word in lowered:
            return url, True
    return url, False


def _is_code(value: str) -> bool:
    """`True` for a machine code (`plan_limit_exceeded`) rather than words for a person."""
    if len(value) > _MAX_CODE:
        value = value.strip()
        if len(value) > _MAX_CODE:
            return False  # a message, most often: no pattern run over it
    return _is_short_code(value)


@functools.lru_cache(maxsize=1024)
def _is_short_code(value: str) -> bool:
    return bool(_CODE_SHAPE.fullmatch(value.strip()))


def _slug(code: str) -> str:
    """A problem type URI's last segment (`.../probs/out-of-credit`), else the code itself."""
    if "/" not in code:
        return code
    return code.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def counts_on_errors(code: str) -> bool:
    """`True` for a billing code that is evidence on a status other than 402 too."""
    code = _slug(code)
    full = _norm(code.strip())
    if full in _NOT_EVIDENCE_ON_ERRORS or _CODE_SUFFIX.sub("", full) in _NOT_EVIDENCE_ON_ERRORS:
        return False  # `processing_error` is listed whole: its suffix is part of the code
    return not _is_ambiguous_code(code)


def _says_daily(text: str) -> bool:
    lowered = text.lower()
    return ("daily" in lowered or "hourly" in lowered) and _DAILY.search(lowered) is not None


def _is_ambiguous_code(code: str) -> bool:
    normalized = _CODE_SUFFIX.sub("", _norm(code.strip()))
    if normalized in _UNAMBIGUOUS_CODES or "insufficient" in normalized:
        return False  # "insufficient ... quota" is money or quota missing, never a rate
    return any(w in normalized for w in _AMBIGUOUS_WORDS)


@functools.lru_cache(maxsize=512)
def reason_from_code(code: str) -> Reason | None:
    """The reason a provider's machine code means, if it is a known one.

    A code that is not in the table is read by its words, for the families whose members are
    spelled many ways (`MONTHLY_REQUEST_COUNT`, `usage-capped`, `BudgetExhausted`).
    """
    code = _slug(code)
    normalized = _norm(code.strip())
    known = _CODES.get(normalized) or _CODES.get(_CODE_SUFFIX.sub("", normalized))
    if known is not None or len(normalized) > 64:
        return known
    words = frozenset(_CODE_WORDS.split(normalized))
    for needed, any_of, reason in _CODE_FAMILIES:
        if needed in words and not words.isdisjoint(any_of):
            return reason
    return None


def reason_from_words(text: str, *, strict: bool = False) -> Reason | None:
    """The reason a human message means, by its wording; `None` if it says none.

    Only the first `_WORDS_SCAN` characters are searched, and only near the rules' needles:
    a provider states the reason up front, and a body of repeated billing words stays cheap.
    `strict` leaves out the weak rules, whose words other errors use too.
    """
    if len(text) > _WORDS_SCAN:
        return _reason_from_words(text[:_WORDS_SCAN].lower(), strict)
    return _reason_from_short_words(text, strict)


@functools.lru_cache(maxsize=256)
def _reason_from_short_words(text: str, strict: bool) -> Reason | None:
    # Cached: a provider sends the same few messages over and over, and one classification
    # asks about its message more than once (the reason, then plan-over-quota precedence).
    return _reason_from_words(text.lower(), strict)


def _reason_from_words(lowered: str, strict: bool) -> Reason | None:
    # Which needles the text holds, in one pass: most rules then end at a set lookup.
    present = {needle for needle in _WORD_NEEDLES if needle in lowered}
    if not present:
        return None
    for reason, needles, pattern, weak in _WORDS:
        if weak and strict:
            continue
        if not present.isdisjoint(needles) and _found_near(pattern, lowered, needles):
            return reason
    return None


def _found_near(
    patterns: tuple[re.Pattern[str], ...], lowered: str, needles: tuple[str, ...]
) -> bool:
    """`True` if one of `patterns` matches near one of the first occurrences of one of
    `needles`."""
    for needle in needles:
        start = lowered.find(needle)
        tries = 0
        while start >= 0 and tries < _TRIES:
            low, high = max(0, start - _BEHIND), start + _AHEAD
            if any(pattern.search(lowered, low, high) for pattern in patterns):
                return True
            # The next window starts where this one's matches could no longer reach.
            start = lowered.find(needle, start + _AHEAD - _BEHIND)
            tries += 1
    return False


def looks_like_rate_limit(codes: Iterable[str], message: str | None) -> bool:
    """`True` for a plain rate limit: a rate-limit code, or "per minute" style wording."""
    if any(_norm(code) in _RATE_LIMIT_CODES for code in codes):
        return True
    if not message:
        return False
    return _rate_limit_words(message[:_WORDS_SCAN])


@functools.lru_cache(maxsize=256)
def _rate_limit_words(text: str) -> bool:
    lowered = text.lower()
    for needles, pattern in _RATE_LIMIT_RULES:
        for needle in needles:
            if needle in lowered:
                if _found_near(pattern, lowered, needles):
                    return True
                break
    return False


# The needles of `may_hold_evidence`, from the tables above.


def _needles(rule_needles: Iterable[str], codes: Iterable[str]) -> tuple[str, ...]:
    """Words of which every given rule needle and every given code holds one."""
    # A needle with a space may span a line break that a message turns into a space: its
    # first word alone is looked for.
    words = {needle.split()[0] for needle in rule_needles}
    for code in sorted(codes):
        parts = code.split("_")
        if not any(word in part for part in parts for word in words):
            words.add(min(parts, key=_commonness))
    # A needle that holds a shorter one is found whenever it is ("credits", "credit").
    return tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))


#: Words that most error bodies hold: a code is looked for by another of its words if it has one.
_COMMON_WORDS = frozenset(
    [
        "error",
        "not",
        "invalid",
        "incorrect",
        "request",
        "required",
        "requires",
        "account",
        "available",
        "exceeded",
        "reached",
        "processing",
        "authentication",
        "feature",
        "supported",
        "limit",
        "out",
    ]
)


def _commonness(word: str) -> tuple[bool, int]:
    return word in _COMMON_WORDS, -len(word)


def _may_count_on_errors(code: str) -> bool:
    # A code is looked up with and without an `_error` suffix: either form may count.
    return counts_on_errors(code) or counts_on_errors(code + "_error")


#: What a strict reading can claim a non-402 by: a strong wording rule, a code family, or a
#: known code that counts on errors (`first_look`, and `reason_from_words(strict=True)`).
_EVIDENCE_NEEDLES = _needles(
    [needle for _, needles, _, weak in _WORDS if not weak for needle in needles]
    + [needed for needed, _, _ in _CODE_FAMILIES],
    [code for code in _CODES if _may_count_on_errors(code)],
)
#: What else any rule or known code may hold (a problem `type` is read by all of them).
_ANY_EVIDENCE_NEEDLES = tuple(
    word
    for word in _needles(
        [needle for _, needles, _, _ in _WORDS for needle in needles]
        + [needed for needed, _, _ in _CODE_FAMILIES],
        _CODES,
    )
    if not any(needle in word for needle in _EVIDENCE_NEEDLES)
)


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
        return evidence.to_payment(reason, self.name, code=self.code(evidence, payload, response))

    def reason(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> Reason | None:
        """The reason this response states; `None` when it states none."""
        return evidence.reason()

    def code(self, evidence: Evidence, payload: Any, response: ResponseSnapshot) -> str | None:
        """The provider's own code, where it states it differently from the usual envelope."""
        return evidence.code
