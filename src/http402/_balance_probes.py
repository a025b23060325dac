"""The balance probes: one documented endpoint per provider, and a pure parser for its JSON.

Each probe names the provider's documented "how much is left" endpoint and reads only the
fields that the cited documentation shows. A field the provider does not state stays `None`;
nothing is derived that the documentation does not support (a remaining amount is only ever
`limit - used` where both are documented for the same period).

Paths are absolute on the origin of the client's base URL, because SDKs put different version
prefixes in their base URLs (`https://openrouter.ai/api/v1`, `https://api.deepseek.com/v1`)
while the balance endpoints live at one fixed path.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import attrs

from ._untrusted import ambiguous_amount, as_amount, bounded_text

__all__ = ["PROBES", "BalanceProbe", "Reading", "ShapeError"]


class ShapeError(ValueError):
    """The response was JSON, but not of the documented shape."""


@attrs.frozen(kw_only=True)
class Reading:
    """What a parser read from a documented response (see `http402.Balance` for the fields)."""

    available: Decimal | None = None
    currency: str | None = None
    used: Decimal | None = None
    limit: Decimal | None = None
    usable: bool | None = None


@attrs.frozen(kw_only=True)
class BalanceProbe:
    """One provider's documented balance endpoint and a pure parser of its response."""

    #: The probe's own name: the provider's, or `provider-endpoint` where it has several.
    name: str
    #: The adapter name of the provider (`PaymentRequired.provider` uses the same).
    provider: str
    #: Exact hosts this probe is the default for; `*.example.com` matches subdomains.
    hosts: tuple[str, ...]
    #: The path on the origin of the client's base URL.
    path: str
    #: The public page that documents the response shape.
    source: str
    #: From the decoded JSON document to a `Reading`; raises `ShapeError` on another shape.
    parse: Callable[[Any], Reading] = attrs.field(repr=False)
    method: str = "GET"
    #: The currency per host where the provider bills each region in its own (Moonshot).
    currency_by_host: tuple[tuple[str, str], ...] = ()

    def matches(self, host: str) -> bool:
        """`True` when `host` is one of this probe's hosts."""
        host = host.lower().rstrip(".")
        for pattern in self.hosts:
            if pattern.startswith("*."):
                if host.endswith(pattern[1:]):
                    return True
            elif host == pattern:
                return True
        return False


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ShapeError(f"expected an object at {where}")
    return value


def _amount(document: dict[str, Any], key: str, where: str, *, required: bool) -> Decimal | None:
    value = document.get(key)
    amount = as_amount(value)
    if amount is None and (required or value is not None):
        if ambiguous_amount(value):
            raise ShapeError(
                f"the amount at {where}.{key} has a comma that may be a decimal comma or a "
                "thousands separator: not read"
            )
        raise ShapeError(f"expected a number at {where}.{key}")
    return amount


def _flag(document: dict[str, Any], key: str) -> bool | None:
    value = document.get(key)
    return value if isinstance(value, bool) else None


def _left(limit: Decimal | None, used: Decimal | None) -> Decimal | None:
    return None if limit is None or used is None else limit - used


# OpenRouter, GET /api/v1/key: the key's own spend cap. Works with an ordinary inference key.
# {"data": {"label": ..., "limit": 100, "limit_remaining": 74.5, "usage": 25.5, ...}}
# `limit` and `limit_remaining` are null for a key without a cap. Amounts are USD (credits).
# Source: https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key
def _openrouter_key(document: Any) -> Reading:
    data = _object(_object(document, "$").get("data"), "$.data")
    return Reading(
        available=_amount(data, "limit_remaining", "$.data", required=False),
        currency="USD",
        used=_amount(data, "usage", "$.data", required=True),
        limit=_amount(data, "limit", "$.data", required=False),
    )


# OpenRouter, GET /api/v1/credits: the account's credits; needs a management key.
# {"data": {"total_credits": 100.5, "total_usage": 25.75}}
# Source: https://openrouter.ai/docs/api/api-reference/credits/get-credits
def _openrouter_credits(document: Any) -> Reading:
    data = _object(_object(document, "$").get("data"), "$.data")
    total = _amount(data, "total_credits", "$.data", required=True)
    used = _amount(data, "total_usage", "$.data", required=True)
    return Reading(available=_left(total, used), currency="USD", used=used, limit=total)


# DeepSeek, GET /user/balance:
# {"is_available": true, "balance_infos": [{"currency": "CNY", "total_balance": "110.00",
#   "granted_balance": "10.00", "topped_up_balance": "100.00"}]}
# `is_available`: "whether the account has balance available for API calls".
# Source: https://api-docs.deepseek.com/api/get-user-balance
def _deepseek(document: Any) -> Reading:
    root = _object(document, "$")
    infos = root.get("balance_infos")
    if not isinstance(infos, list):
        raise ShapeError("expected a list at $.balance_infos")
    usable = _flag(root, "is_available")
    if not infos:
        return Reading(usable=usable)
    # One entry per currency; the first is the account's own (others stay in `raw`).
    first = _object(infos[0], "$.balance_infos[0]")
    return Reading(
        available=_amount(first, "total_balance", "$.balance_infos[0]", required=True),
        currency=bounded_text(first.get("currency"), 16),
        usable=usable,
    )


# ElevenLabs, GET /v1/user/subscription: characters used and allowed this period.
# {"tier": "starter", "character_count": 1000, "character_limit": 10000, "status": "active", ...}
# Source: https://elevenlabs.io/docs/api-reference/user/subscription/get
def _elevenlabs(document: Any) -> Reading:
    root = _object(document, "$")
    used = _amount(root, "character_count", "$", required=True)
    limit = _amount(root, "character_limit", "$", required=True)
    return Reading(available=_left(limit, used), currency="characters", used=used, limit=limit)


# Firecrawl, GET /v2/team/credit-usage:
# {"success": true, "data": {"remainingCredits": 1000, "planCredits": 500000,
#   "billingPeriodStart": "2025-01-01T00:00:00Z", "billingPeriodEnd": "2025-01-31T23:59:59Z"}}
# `planCredits` is the plan's allowance for the period, so it is the `limit`.
# Source: https://docs.firecrawl.dev/api-reference/endpoint/credit-usage
def _firecrawl(document: Any) -> Reading:
    data = _object(_object(document, "$").get("data"), "$.data")
    return Reading(
        available=_amount(data, "remainingCredits", "$.data", required=True),
        currency="credits",
        limit=_amount(data, "planCredits", "$.data", required=False),
    )


# Tavily, GET /usage: credits this billing cycle, for the key and for the account.
# {"key": {"usage": 150, "limit": 1000},
#  "account": {"current_plan": "Bootstrap", "plan_usage": 500, "plan_limit": 15000,
#              "paygo_usage": 25, "paygo_limit": 100}}
# `key.limit` is null when the key is unlimited. `available` is what is left of the plan, plus
# of pay-as-you-go where it has a limit, and no more than what the key's own limit leaves.
# Source: https://docs.tavily.com/documentation/api-reference/endpoint/usage
def _tavily(document: Any) -> Reading:
    root = _object(document, "$")
    account = _object(root.get("account"), "$.account")
    used = _amount(account, "plan_usage", "$.account", required=True)
    limit = _amount(account, "plan_limit", "$.account", required=True)
    available = _left(limit, used)
    paygo_left = _left(
        _amount(account, "paygo_limit", "$.account", required=False),
        _amount(account, "paygo_usage", "$.account", required=False),
    )
    if available is not None and paygo_left is not None:
        available += max(paygo_left, Decimal(0))
    key = root.get("key")
    if isinstance(key, dict):
        key_left = _left(
            _amount(key, "limit", "$.key", required=False),
            _amount(key, "usage", "$.key", required=False),
        )
        if key_left is not None and available is not None:
            available = min(available, key_left)
    return Reading(available=available, currency="credits", used=used, limit=limit)


# SerpApi, GET /account.json (free, not counted): searches left this month.
# {"account_status": "Active", "searches_per_month": 30000, "plan_searches_left": 5958,
#  "extra_credits": 0, "total_searches_left": 5958, "this_month_usage": 24042, ...}
# The response also echoes the `api_key`: `raw` never keeps it.
# Source: https://serpapi.com/account-api
def _serpapi(document: Any) -> Reading:
    root = _object(document, "$")
    return Reading(
        available=_amount(root, "total_searches_left", "$", required=True),
        currency="searches",
        used=_amount(root, "this_month_usage", "$", required=False),
        limit=_amount(root, "searches_per_month", "$", required=False),
    )


# Moonshot AI (Kimi), GET /v1/users/me/balance:
# {"code": 0, "data": {"available_balance": 49.58894, "voucher_balance": 46.58893,
#   "cash_balance": 3.00001}, "scode": "0x0", "status": true}
# "When available_balance is less than or equal to 0, the user cannot call the inference API."
# Unit: USD on api.moonshot.ai, CNY (人民币元) on api.moonshot.cn.
# Sources: https://platform.moonshot.ai/docs/api/balance, https://platform.moonshot.cn/docs/api/balance
def _moonshot(document: Any) -> Reading:
    data = _object(_object(document, "$").get("data"), "$.data")
    available = _amount(data, "available_balance", "$.data", required=True)
    return Reading(available=available, usable=available is not None and available > 0)


# Stability AI, GET /v1/user/balance: {"credits": 0.6336833840314097}
# Source: https://platform.stability.ai/docs/api-reference#tag/User/operation/userBalance
# (mirrored at https://s.apifox.cn/apidoc/docs-site/3757851/api-133524603)
def _stability(document: Any) -> Reading:
    return Reading(
        available=_amount(_object(document, "$"), "credits", "$", required=True),
        currency="credits",
    )


# Venice AI, GET /api/v1/billing/balance:
# {"canConsume": true, "consumptionCurrency": "DIEM", "balances": {"diem": 90.5, "usd": 25},
#  "diemEpochAllocation": 100}
# `canConsume`: "whether the user has sufficient balance to make API requests";
# `consumptionCurrency` (DIEM, USD, VCU, BUNDLED_CREDITS or null) is the one requests spend.
# Source: https://docs.venice.ai/api-reference/endpoint/billing/balance
def _venice(document: Any) -> Reading:
    root = _object(document, "$")
    currency = bounded_text(root.get("consumptionCurrency"), 32)
    balances = root.get("balances")
    available = None
    if currency is not None and isinstance(balances, dict):
        available = _amount(balances, currency.lower(), "$.balances", required=False)
    return Reading(available=available, currency=currency, usable=_flag(root, "canConsume"))


#: Every known probe; the first probe whose hosts match a client's host is its default.
PROBES: tuple[BalanceProbe, ...] = (
    BalanceProbe(
        name="openrouter",
        provider="openrouter",
        hosts=("openrouter.ai",),
        path="/api/v1/key",
        source="https://openrouter.ai/docs/api/api-reference/api-keys/get-current-key",
        parse=_openrouter_key,
    ),
    BalanceProbe(
        name="openrouter-credits",
        provider="openrouter",
        hosts=("openrouter.ai",),
        path="/api/v1/credits",
        source="https://openrouter.ai/docs/api/api-reference/credits/get-credits",
        parse=_openrouter_credits,
    ),
    BalanceProbe(
        name="deepseek",
        provider="deepseek",
        hosts=("api.deepseek.com",),
        path="/user/balance",
        source="https://api-docs.deepseek.com/api/get-user-balance",
        parse=_deepseek,
    ),
    BalanceProbe(
        name="elevenlabs",
        provider="elevenlabs",
        hosts=("api.elevenlabs.io", "*.elevenlabs.io"),
        path="/v1/user/subscription",
        source="https://elevenlabs.io/docs/api-reference/user/subscription/get",
        parse=_elevenlabs,
    ),
    BalanceProbe(
        name="firecrawl",
        provider="firecrawl",
        hosts=("api.firecrawl.dev",),
        path="/v2/team/credit-usage",
        source="https://docs.firecrawl.dev/api-reference/endpoint/credit-usage",
        parse=_firecrawl,
    ),
    BalanceProbe(
        name="tavily",
        provider="tavily",
        hosts=("api.tavily.com",),
        path="/usage",
        source="https://docs.tavily.com/documentation/api-reference/endpoint/usage",
        parse=_tavily,
    ),
    BalanceProbe(
        name="serpapi",
        provider="serpapi",
        hosts=("serpapi.com",),
        path="/account.json",
        source="https://serpapi.com/account-api",
        parse=_serpapi,
    ),
    BalanceProbe(
        name="moonshot",
        provider="moonshot",
        hosts=("api.moonshot.ai", "api.moonshot.cn"),
        path="/v1/users/me/balance",
        source="https://platform.moonshot.ai/docs/api/balance",
        parse=_moonshot,
        currency_by_host=(("api.moonshot.ai", "USD"), ("api.moonshot.cn", "CNY")),
    ),
    BalanceProbe(
        name="stability",
        provider="stability",
        hosts=("api.stability.ai",),
        path="/v1/user/balance",
        source="https://platform.stability.ai/docs/api-reference#tag/User/operation/userBalance",
        parse=_stability,
    ),
    BalanceProbe(
        name="venice",
        provider="venice",
        hosts=("api.venice.ai",),
        path="/api/v1/billing/balance",
        source="https://docs.venice.ai/api-reference/endpoint/billing/balance",
        parse=_venice,
    ),
)
