"""The rule table: every wording rule and machine code, one module per family group.

| module | families |
|---|---|
| `payment.py` | `instrument_declined`, `instrument_missing`, `payment_method_asked` |
| `balance.py` | `balance_exhausted`, `spend_cap_reached`, `quota_exhausted`, `top_up_asked` |
| `subscription.py` | `subscription_inactive`, `account_in_arrears`, `billing_asked` |
| `plan.py` | `free_allowance_used`, `plan_volume_used`, `trial_restriction`, `plan_feature`, |
| | `upgrade_asked` |
| `throttle.py` | `throttle` (the rate-limit veto) |
| `lookalikes.py` | `transfer_refused`, `not_billing` |
| `movement.py` | the words of a payment product's own money movement, read by `lookalikes.py`, |
| | `lexicon.py` and the request's path (`readers.moves_money`) |

The prefilter's needles (`prefilter.py`) and the decision's lookups (`decide.py`) are derived
from these tables; nothing else lists a billing word or code.
"""

from __future__ import annotations

from ..families import Family
from ..rules import CodeAsWords, CodeRule, CodeWords, WordRule
from . import balance, lookalikes, payment, plan, subscription, throttle

__all__ = ["CODES", "CODE_AS_WORDS", "CODE_RULES", "CODE_WORDS", "WORDING"]

#: Every wording rule; the order only decides which rule's name `explain` shows first.
WORDING: tuple[WordRule, ...] = (
    throttle.WORDING
    + lookalikes.WORDING
    + payment.WORDING
    + balance.WORDING
    + subscription.WORDING
    + plan.WORDING
)
#: Every code rule.
CODE_RULES: tuple[CodeRule, ...] = (
    throttle.CODES
    + lookalikes.CODES
    + payment.CODES
    + balance.CODES
    + subscription.CODES
    + plan.CODES
)
#: Normalized code -> its rule.
CODES: dict[str, CodeRule] = {}
for _rule in CODE_RULES:
    for _code in _rule.codes:
        if _code in CODES:
            raise ValueError(f"code {_code!r} is in two rules: {CODES[_code]} and {_rule}")
        CODES[_code] = _rule
#: Codes read by their words, for those not in `CODES`: a code may hold several families'
#: words (`free_tier_daily`), and each is read.
CODE_WORDS: tuple[CodeWords, ...] = (
    throttle.CODE_WORDS
    + lookalikes.CODE_WORDS
    + balance.CODE_WORDS
    + subscription.CODE_WORDS
    + plan.CODE_WORDS
)
for _table in (WORDING, CODE_WORDS):
    _names = [rule.name for rule in _table]
    if len(set(_names)) != len(_names):
        raise ValueError(f"two rules of the table have one name: {sorted(_names)}")

#: A code that no record above knows is read by its words (`rules.CodeAsWords` says how).
CODE_AS_WORDS = CodeAsWords(
    states=frozenset(
        family
        for family in Family
        if family.is_gate or family in (Family.THROTTLE, Family.TRANSFER_REFUSED)
    ),
    examples=(
        ("ERROR_ZERO_BALANCE", Family.BALANCE_EXHAUSTED),
        ("REJECTED_NOT_ENOUGH_CREDITS", Family.BALANCE_EXHAUSTED),
        ("processor_declined", Family.INSTRUMENT_DECLINED),
        ("RateLimited", Family.THROTTLE),
        ("OPTION_NOT_IN_PLAN", Family.PLAN_FEATURE),
        # A payment the account makes lacks funds (`lookalikes.py`): Rapyd's code for its
        # "The request tried to create a payment, but there were insufficient funds".
        ("ERROR_CREATE_PAYMENT_INSUFFICIENT_FUNDS", Family.TRANSFER_REFUSED),
    ),
    look_alikes=("invalid_request_error", "ERROR_WRONG_USER_KEY", "instance-operations/launch"),
    source="research/payloads6: 2captcha-legacy-in-php-error-zero-balance-200 and "
    "rucaptcha-v2-error-zero-balance-russian-200 (ERROR_ZERO_BALANCE), "
    "infobip-rejected-not-enough-credits-message-status-200, "
    "braintree-verification-processor-declined-do-not-honor-xml-422, "
    "ipapi-co-ratelimited-sign-up-paid-plan-429-negative (RateLimited); research/payloads17 "
    "rapyd-create-payment-insufficient-funds-400-negative (ERROR_CREATE_PAYMENT_INSUFFICIENT_"
    "FUNDS, https://docs.rapyd.net/en/create-payment-error-example.html)",
)
