"""Fields are read, never decided: the envelope walk of a JSON error payload.

`read_fields` walks a payload's usual envelopes (`{"error": {...}}`, `errors[]`, `details[]`,
`metadata`, GraphQL `extensions`, a gateway's upstream error kept as JSON text) and lists
what it finds: every code (string or integer), every message, and the fields that name
amounts, plans, links and ids. It asks no rule what anything means; `decide` does.

Keys are matched in the spellings that APIs use (`error_code`, `errorCode`, `ErrorCode`,
`error-code`, `ERROR_CODE`), looked up in one table: nothing is normalized per key, so a body
of thousands of keys costs one dictionary lookup per key (or per known spelling, whichever is
fewer).
"""

from __future__ import annotations

import functools
import http
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from .._untrusted import (
    MAX_RETRY_AFTER,
    as_amount,
    bounded_message,
    bounded_text,
    loads_json,
    safe_action_url,
)
from .rules import MAX_CODE, normalize_code

__all__ = [
    "Code",
    "Fields",
    "Message",
    "header_fields",
    "read_fields",
    "text_fields",
    "xml_fields",
]


class Code(NamedTuple):
    """A machine code as the payload states it."""

    #: The code as stated (an integer code as its digits).
    value: str
    #: `normalize_code(value)`.
    normalized: str
    #: The own message of the object the code is in (PayPal's `details[].description`).
    message: str | None
    #: Read for what it means, but shown only when it decides: a limit's name
    #: (`limit_source`) or a category (`category`), not the provider's code.
    aux: bool = False


class Message(NamedTuple):
    """A message for a person, as the payload states it."""

    text: str
    #: From an upstream provider's error that a gateway passed on as JSON text.
    upstream: bool
    #: The error's own words: a message of the first object that has one, an upstream
    #: error's, or a remedy hint; not a form field's message under a validation error.
    own: bool = True
    #: Under a remedy key (`_REMEDY_KEYS`): what to do, never the message shown.
    remedy: bool = False


class Fields:
    """What a payload states, before anything is decided.

    `codes` and `messages` are in the order a reader should trust them: the objects that
    carry a message (the error itself) before their envelopes, within an object by the rank
    of the key's synonym. `values` holds the other fields by role, parsed (amounts as
    `Decimal`, links only when safe). `exhausted` names the limits a `limit` object says are
    used up (`"remaining": 0`).
    """

    __slots__ = ("answers", "codes", "exhausted", "made_for", "messages", "sources", "values")

    def __init__(self) -> None:
        self.codes: list[Code] = []
        self.messages: list[Message] = []
        self.values: dict[str, Any] = {}
        self.exhausted: list[str] = []
        #: Where each message, code and value was read, for `read_again`; `None` when one
        #: was read where no path leads (inside an upstream error kept as JSON text).
        self.sources: _Sources | None = None
        #: The answers made from these fields (`readers.gate`, and a 402's own reading:
        #: `decide.read_a_402`), frozen, by what they took.
        self.answers: dict[tuple[Any, ...], Any] = {}
        #: The status and the decoded payload of the one response these fields were read
        #: for, when no other response shares them (`readers.reading_of`): the answers are
        #: then made with both, and completing one needs no second object (`_core`).
        self.made_for: tuple[int, Any] | None = None

    def __repr__(self) -> str:
        return f"<Fields codes={self.codes!r} messages={self.messages!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Fields):
            return NotImplemented
        return (self.codes, self.messages, self.values, self.exhausted) == (
            other.codes,
            other.messages,
            other.values,
            other.exhausted,
        )

    __hash__ = None  # type: ignore[assignment]

    @property
    def message(self) -> str | None:
        """The first message, the one a reader sees first."""
        return self.messages[0].text if self.messages else None

    def read_again(self, payload: Any) -> Fields | None:
        """The fields of `payload`, a body of the same shape as the one these were read from
        (it differs only by its ids), read at the same places without a walk; `None` when
        it does not have them there (then read it whole)."""
        sources = self.sources
        if sources is None:
            return None
        fields = Fields()
        fields.sources = sources
        for message, path in zip(self.messages, sources.messages, strict=True):
            text = _message(_at(payload, path))
            if text is None:
                return None
            fields.messages.append(Message(text, message.upstream, message.own, message.remedy))
        for code, (path, key, own) in zip(self.codes, sources.codes, strict=True):
            stated = _at(payload, path)
            text = None if own is None else fields.messages[own].text
            if type(stated) is str and stated == code.value:
                # The same code as before (most often: the ids are in the message): a code
                # read as it is read again (`_code_value` of its own value is that value).
                if text != code.message:
                    code = Code(code.value, code.normalized, text, code.aux)
                fields.codes.append(code)
                continue
            value = _code_value(key, stated)
            if value is None:
                return None
            fields.codes.append(Code(value, normalize_code(value), text, code.aux))
        for role, path in sources.values.items():
            parsed = _PARSERS[role](_at(payload, path))
            if parsed is None:
                return None
            fields.values[role] = parsed
        return fields


class _Sources(NamedTuple):
    """Where a body's messages, codes (with their keys and the index of their object's own
    message) and values were read: paths of keys and list indexes."""

    messages: list[tuple[Any, ...]]
    codes: list[tuple[tuple[Any, ...], str, int | None]]
    values: dict[str, tuple[Any, ...]]


def _at(payload: Any, path: tuple[Any, ...]) -> Any:
    """The value at `path` (keys and list indexes) in `payload`, else `None`."""
    for step in path:
        if type(step) is int:
            if type(payload) is not list or step >= len(payload):
                return None
        elif type(payload) is not dict:
            return None
        payload = payload[step] if type(step) is int else payload.get(step)
    return payload


def text_fields(text: str) -> Fields:
    """The fields of a plain-text body: the text is its only message."""
    fields = Fields()
    message = bounded_message(text)
    if message is not None:
        fields.messages.append(Message(message, False))
    return fields


def header_fields(headers: Mapping[str, list[str]]) -> Fields | None:
    """The price of a request and where to pay it, as a response's headers state them in a
    shape of no known protocol (Botspeak's `X-X402-Price`, `X-X402-Currency`,
    `X-X402-Wallet`, `X-X402-Invoice`), or `None` when they state no price or no payee.

    A header is read by the words its name ends with, less an `x-` prefix, against the keys
    a body's price, payee and currency are read by (`_PRICE_KEYS`, `_PAYEE_KEYS`): the
    evidence of a priced challenge is declared once for a body and for headers.
    """
    values: dict[str, tuple[int, Any, str]] = {}
    for name, found in headers.items():
        if not found or ("-" not in name and name not in _ROLES):
            continue
        parts = name.removeprefix("x-").split("-")
        for start in range(len(parts)):
            role = _ROLES.get("_".join(parts[start:]))
            if role is None:
                continue
            for played, rank in role.values:
                if played in _HEADER_ROLES and (played not in values or rank < values[played][0]):
                    parsed = _PARSERS[played](found[0])
                    if parsed is not None:
                        values[played] = (rank, parsed, name)
            break
    if "price" not in values or "pay_to" not in values:
        return None
    fields = Fields()
    fields.values = {played: value for played, (_, value, _) in values.items()}
    return fields


#: The roles a header is read for: a priced challenge's.
_HEADER_ROLES = frozenset({"price", "pay_to", "currency"})


@functools.lru_cache(maxsize=128)
def xml_fields(text: str) -> Fields | None:
    """The fields of an XML error document (S3's and Alibaba OSS's `<Error>`, the AWS query
    APIs' `<Response><Errors><Error>`), or `None` when it names no code and no message.

    Its leaf elements, the first of each name in the first `XML_SCAN` characters, are read
    as a JSON object of those keys would be: `<Code>` is a code, `<Message>` a message,
    `<RequestId>` the request id. Nothing is parsed as XML (no entities beyond the five
    predefined, no DTD): a regex that cannot backtrack over a tag finds the leaves.
    Cached, as a JSON body's reading is: a provider sends the same few documents.
    """
    leaves: dict[str, str] = {}
    for match in _XML_LEAF.finditer(text, 0, XML_SCAN):
        name, value = match.group(1), match.group(2)
        if name not in leaves:
            leaves[name] = _XML_ENTITY.sub(_xml_entity, value.strip())
            if len(leaves) >= _MAX_XML_LEAVES:
                break
    fields = read_fields(leaves)
    return fields if fields.codes or fields.messages else None


#: How much of an XML document is searched for its leaves.
XML_SCAN = 16 * 1024
_MAX_XML_LEAVES = 32
# A leaf: `<Name>text</Name>`, its text holding no markup; `[^<]` cannot run past a tag.
_XML_LEAF = re.compile(r"<([A-Za-z][\w.-]{0,63})>([^<]{1,2000})</\1>")
_XML_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&apos;": "'"}
_XML_ENTITY = re.compile("|".join(_XML_ENTITIES))


def _xml_entity(match: re.Match[str]) -> str:
    return _XML_ENTITIES[match.group()]


def read_fields(payload: Any) -> Fields:
    """The fields of a JSON payload (any JSON value; only objects hold fields)."""
    fields = Fields()
    if isinstance(payload, str):
        message = bounded_message(payload)
        if message is not None:
            fields.messages.append(Message(message, False))
        return fields
    if not isinstance(payload, dict):
        return fields
    reads = _walk(payload)
    if len(reads) > 1:
        # The object that carries the message is the error itself: read it before its
        # envelope (PayPal's `details[]` item before its generic `name`).
        reads = [r for r in reads if r.messages] + [r for r in reads if not r.messages]
    found = fields.values
    sources: _Sources | None = _Sources([], [], {})
    for read in reads:
        path = read.path
        if path is None or read.exhausted is not None:
            sources = None  # read where no path leads: read such a body whole, each time
        for role, (_, parsed, spelling) in read.values.items():
            if role not in found:  # the earlier object wins
                found[role] = parsed
                if sources is not None and path is not None:
                    sources.values[role] = (*path, spelling)
        own: int | None = None
        messages = read.messages
        if messages:
            if len(messages) > 1:
                messages.sort(key=_first)
            first = not fields.messages
            for rank, text, spelling in messages:
                if len(fields.messages) >= _MAX_MESSAGES:
                    sources = None
                    break
                remedy = rank in _REMEDY_RANKS
                if own is None and not remedy:
                    own = len(fields.messages)
                own_words = first or read.upstream or remedy
                fields.messages.append(Message(text, read.upstream, own_words, remedy))
                if sources is not None and path is not None:
                    sources.messages.append((*path, spelling))
        if read.codes:
            if len(read.codes) > 1:
                read.codes.sort(key=_first)
            own_text = None if own is None else fields.messages[own].text
            for rank, code, spelling, key in read.codes:
                aux = rank >= _AUX_RANK
                fields.codes.append(Code(code, normalize_code(code), own_text, aux))
                if sources is not None and path is not None:
                    sources.codes.append(((*path, spelling), key, own))
        if read.exhausted is not None:
            fields.exhausted.append(read.exhausted)
    fields.sources = sources
    return fields


def _first(pair: tuple[Any, ...]) -> int:
    rank: int = pair[0]
    return rank


# --------------------------------------------------------------------------- the roles

# Field synonyms, in snake case, in order of preference.
#: Keys that hold what to do, in words: OpenRouter's `metadata.remedy_hint`, Lambda Cloud's
#: `error.suggestion` ("Make sure you have ... a valid payment method", payloads13),
#: AgentMail's `fix`, and the `hint`, `resolution`, `remedy` and `action` of other APIs. A
#: remedy is the error's own words (it may name the gate's cause) but never the message
#: shown, and it is read with the message it remedies too (`Message.remedy`, `decide`).
_REMEDY_KEYS = ("remedy_hint", "suggestion", "hint", "fix", "resolution", "remedy", "action")
_MESSAGE_KEYS = (
    "message",
    "err_msg",
    # Sakura Cloud's, Baidu's and VK's `error_msg`.
    "error_msg",
    # Market Data's and WeChat's `errmsg` (`{"s": "error", "errmsg": ...}`, payloads14): one
    # word, so no spelling of `err_msg` reaches it.
    "errmsg",
    "error_message",
    "detail",
    "error_description",
    "description",
    # Pipedrive's `error_info`: the reason, where `error` only restates the status.
    "error_info",
    # apilayer's `error.info` (Weatherstack, Fixer, ipstack: `{"code": 105, "type":
    # "function_access_restricted", "info": "Access Restricted - ..."}`).
    "info",
    "title",
    "msg",
    "error",
    "errors",
    "details",
    # What to do, in words: the remedy keys (`_REMEDY_KEYS`), last.
    *_REMEDY_KEYS,
)
_CODE_KEYS = (
    "code",
    # Chargebee's `api_error_code` (its `error_code` is "DeprecatedField").
    "api_error_code",
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
    # Exa's `tag` ("NO_MORE_CREDITS", "INVALID_API_KEY").
    "tag",
    # OpenRouter's `metadata.limit_source`: which limit was hit.
    "limit_source",
    # Meridian's 429 `"cap_type": "monthly_spend"` (payloads17): which cap was hit, by kind.
    "cap_type",
    "limit_type",
    # Square's `errors[].category` (`PAYMENT_METHOD_ERROR`).
    "category",
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
    "plan_type",
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
_RETRY_KEYS = (
    "retry_after",
    "retry_after_seconds",
    "retry_in",
    "retry_after_secs",
    # monday.com's GraphQL `extensions.retry_in_seconds`.
    "retry_in_seconds",
)
#: When the limit that ran out resets, as a duration in a unit its key names (Pull That Up
#: Jamie's 429 `"daysUntilReset": 16`, payloads13): read by `decide` as the time window that
#: decides, as a renewal stated in words is. A reset *timestamp* (`resetDate`) is not
#: read: a reading is a function of the body alone (it is cached by its text), and a
#: timestamp's distance depends on when it is read.
_RESET_KEYS = {
    "resets_in_days": (
        "days_until_reset",
        "days_to_reset",
        "reset_in_days",
        "resets_in_days",
        "days_until_renewal",
    ),
    "resets_in_hours": ("hours_until_reset", "hours_to_reset", "reset_in_hours", "resets_in_hours"),
    "resets_in_seconds": (
        "seconds_until_reset",
        "seconds_to_reset",
        "reset_in_seconds",
        "resets_in_seconds",
        "reset_after_seconds",
    ),
}
#: Seconds per unit of each reset role.
RESET_UNITS = {"resets_in_days": 86400.0, "resets_in_hours": 3600.0, "resets_in_seconds": 1.0}
#: The longest reset that is read: a year and a month.
_MAX_RESET = 400 * 86400.0
_REQUEST_ID_KEYS = ("request_id", "x_request_id", "debug_id", "correlation_id", "trace_id")
#: A price for this request, and where or how to pay it: with both, a 402 of no known
#: payment protocol is a priced challenge (`decide`, rung 6; ClawStack's `price_usdc` and
#: `payment_options`, Creance's `price` and `pay_to`). A price alone is a cost the account's
#: credits answer (`credits_required`).
#: A price is named `price` or `amount`, bare or followed by its unit: a currency (`price_usd`,
#: `amount_usdc`, `price_eur`), a fraction of one (ASG's `quote.price_usdc_microusd`: 2400 is
#: $0.0024; cents), bitcoin's satoshis and millisatoshis (Lightning Enable's
#: `l402.amount_sats`), a coin by its code (`amount_eth`, `amount_sol`), a token's atomic units
#: (`amountWei`, as p2pago's 402 contract has it; gwei; Solana's lamports). The value is read
#: as evidence only: no offer is built from it, whatever its unit.
_PRICE_UNITS = (
    "usd",
    "usdc",
    "usdt",
    "eur",
    "microusd",
    "usdc_microusd",
    "cents",
    "sats",
    "sat",
    "msat",
    "msats",
    "btc",
    "eth",
    "sol",
    "atomic",
    "wei",
    "gwei",
    "lamports",
)
_PRICE_KEYS = (
    "price",
    *(f"price_{unit}" for unit in _PRICE_UNITS),
    "amount",
    *(f"amount_{unit}" for unit in _PRICE_UNITS),
)
_PAYEE_KEYS = (
    "pay_to",
    "payto",
    "payee",
    "recipient",
    # x402-devex-gateway's `error.x402.receiver` (github.com/tyler-james-bridges/x402-devex-
    # gateway docs/first-paid-request.md).
    "receiver",
    "recipient_address",
    "receiver_address",
    "merchant_address",
    "payment_address",
    "deposit_address",
    "payment_options",
    # An address or an invoice to pay (Botspeak's `X-X402-Wallet` and `X-X402-Invoice`
    # headers): as a string only, since a `wallet` object is the account's own state.
    "wallet",
    "wallet_address",
    "invoice",
    # StackIt's `x402.payment_target` (payloads16): where the request's price is paid.
    "payment_target",
)
#: Where a price is paid may be named by its rail rather than its payee: the chain it is paid
#: on (vyra's 402 `{"protocol": "x402", "chain": "solana", "amount": "0.01", "memo": ...}`,
#: p2pago's `chainId` beside its `recipient`, payloads18). A chain is a crypto rail whatever
#: its value; a `network` only in the chain-agnostic form CAIP-2 gives it (`eip155:8453`,
#: `solana:5eykt4...`), since a card's network (`"network": "visa"`) is a payments API's
#: field of a charge, not where this request is paid.
_RAIL_KEYS = ("chain", "chain_id", "blockchain")
_NETWORK_KEYS = ("network",)
#: Where a price is paid may also be named by the protocol it is paid by: a `protocol` (or
#: `payment_protocol`) whose value is one of `PROTOCOL_KEYS` ("x402", "l402"...).
_PROTOCOL_VALUE_KEYS = ("payment_protocol", "protocol")
_CAIP2 = re.compile(r"[-a-z0-9]{3,8}:[-_a-zA-Z0-9]{1,64}")
#: Payment protocols a body may name as a KEY whose object states the price of this request
#: (StackIt's 402 `{"error": "payment_required", "x402": {"price_usd": 0.02, "token":
#: "USDC", "chain": "base", "payment_target": "0x..."}}`, payloads16). The names are those
#: of `PaymentOption.protocol` and their kin.
PROTOCOL_KEYS = ("x402", "l402", "lsat", "lightning", "cashu")
#: The objects a body keeps a priced challenge in: named for its protocol (`PROTOCOL_KEYS`),
#: or for the part it holds, a `quote` or an `offer` with the price, `payment_instructions`
#: with the payee (ASG Agent Cloud's 402 `{"code": "PAYMENT_REQUIRED", "quote":
#: {"price_usdc_microusd": 2400, ...}, "payment_instructions": {"network": "solana-mainnet",
#: "asset": "USDC", "pay_to": ...}}`, payloads17). Each is an envelope of the challenge, so
#: its price and payee are read (`_NESTED`) and, with both, a 402 whose words and codes name
#: nothing else is a priced challenge (`decide`, rung 6) whose offers stay empty, since the
#: shape is the provider's own. A quote alone, or instructions with no price, are none.
CHALLENGE_KEYS = (*PROTOCOL_KEYS, "quote", "offer", "payment_instructions", "payment_requirements")
#: Envelope keys, in the order their children are read.
_NESTED = (
    "error",
    # Mathpix's `error_info` object: the error's id and the limit it hit.
    "error_info",
    # `{"status": {"error_code": 1004, "error_message": ...}}`, `{"status": {"code": 402,
    # "message": "quota exceeded"}}`: a status object, where a string `status` is a code.
    "status",
    "detail",
    "details",
    "metadata",
    "meta",
    "data",
    "extensions",
    "billing",
    "errors",
    "response",
    "raw",
    "limit",
    "limits",
    # `{"rate": {"limit": 2500, "remaining": 0, "reset": ...}}`: a limit object.
    "rate",
    # A priced challenge's object: the price of this request and where to pay it.
    *CHALLENGE_KEYS,
)
#: Keys whose integer value is the provider's own code (Twilio's `"code": 21608`, Nexio's
#: `"error": 435`).
_NUMERIC_CODE_KEYS = frozenset({"code", "error_code", "err_code", "api_error_code", "error"})
#: Keys whose bare number may restate the HTTP status (a gateway's `"code": 402`).
_RESTATING_KEYS = frozenset({"code", "error"})
#: Below this, an integer `error` is a flag (`"error": 1`), not a code.
_SMALLEST_ERROR_CODE = 100
#: How a language's null reads once a gateway has turned it into a string.
_NULL_WORDS = frozenset({"none", "null", "nil", "undefined"})
#: The error statuses HTTP assigns, as a bare `code` restates them (a gateway's upstream
#: status). A `code` of 200 on an error restates nothing: it is the provider's own (Zoom's
#: "Webinar plan is missing" is code 200 on a 400).
_HTTP_STATUSES = frozenset(str(int(status)) for status in http.HTTPStatus if status >= 400)
#: What a `status` says of the request's outcome (JSend, many wrappers): no code.
_OUTCOME_WORDS = frozenset({"error", "fail", "failed", "failure", "success", "ok", "errored"})
_REMEDY_RANKS = frozenset(_MESSAGE_KEYS.index(key) for key in _REMEDY_KEYS)
_AUX_RANK = _CODE_KEYS.index("limit_source")
#: A code found under a message key ranks after every code key that is no limit's name.
_MESSAGE_CODE_RANK = _AUX_RANK - 1
_MAX_OBJECTS = 12
_MAX_MESSAGES = 8
#: The longest upstream error kept as JSON text that is parsed.
_MAX_UPSTREAM = 8 * 1024
_CODE_SHAPE = re.compile(r"[A-Za-z][A-Za-z0-9_.:/#-]{0,99}")


def _spellings(key: str) -> Iterator[str]:
    """The spellings of a snake-case key that APIs use."""
    parts = key.split("_")
    yield key
    yield parts[0] + "".join(p.title() for p in parts[1:])
    yield "".join(p.title() for p in parts)
    yield "-".join(parts)
    yield key.upper()
    if len(parts) > 1 and parts[-1] == "id":
        # `requestID`, `RequestID` (AWS's query APIs' XML errors).
        yield parts[0] + "".join(p.title() for p in parts[1:-1]) + "ID"
        yield "".join(p.title() for p in parts[:-1]) + "ID"


def _message(value: Any) -> str | None:
    if isinstance(value, list):
        # `"errors": ["You lack sufficient credits..."]`: the first sentence in the list.
        value = next((item for item in value[:3] if isinstance(item, str)), None)
    return bounded_message(value) if isinstance(value, str) and not _is_code(value) else None


def _plan(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("name", "id", "slug", "title"):
            if key in value:
                text = bounded_text(value[key], 200)
                return text if text is not None and len(text) <= 100 else None
        return None
    text = bounded_text(value)
    return text if text is not None and len(text) <= 100 else None


def _currency(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and 1 <= len(value.strip()) <= 16 else None


def _seconds(value: Any) -> float | None:
    amount = as_amount(value)
    return float(amount) if amount is not None and 0 <= amount <= MAX_RETRY_AFTER else None


def _reset_in(unit: float) -> Callable[[Any], float | None]:
    def parse(value: Any) -> float | None:
        amount = as_amount(value)
        if amount is None or amount < 0:
            return None
        seconds = float(amount) * unit
        return seconds if seconds <= _MAX_RESET else None

    return parse


def _price(value: Any) -> Decimal | None:
    """A price as a number, or as a money object (`{"currency": "USD", "value": "0.01"}`, as
    x402-devex-gateway's `amount` and PayPal's amounts are written)."""
    if isinstance(value, dict):
        value = value.get("value", value.get("amount"))
        if isinstance(value, (dict, list)):
            return None
    return as_amount(value)


def _payee(value: Any) -> bool | None:
    """`True` for where to pay: an address or an invoice (a non-empty string), or a list of
    ways to pay; not an object (a `wallet` object holds the account's balance)."""
    if isinstance(value, str):
        return True if 0 < len(value.strip()) <= 2000 else None
    return True if isinstance(value, list) and value else None


def _rail(value: Any) -> bool | None:
    """`True` for a chain a price is paid on: a name, an id (`8453`), or a CAIP-2 id."""
    if type(value) is int:
        return True if 0 < value < 10**12 else None
    if isinstance(value, str):
        return True if 0 < len(value.strip()) <= 100 else None
    return None


def _chain_network(value: Any) -> bool | None:
    """`True` for a network named as CAIP-2 names a chain (`eip155:8453`)."""
    if isinstance(value, str) and _CAIP2.fullmatch(value.strip()):
        return True
    return None


def _payment_protocol(value: Any) -> str | None:
    """The payment protocol a value names (`"x402"`, `"L402"`), else `None`."""
    if not isinstance(value, str):
        return None
    lowered = value.strip().lower()
    return lowered if lowered in PROTOCOL_KEYS else None


def _request_id(value: Any) -> str | None:
    return bounded_text(value, 200) if isinstance(value, str) else None


def _action_link(value: Any) -> str | None:
    """A safe link that is not documentation, else `None`."""
    url = safe_action_url(value)
    return None if url is None or is_documentation(url) else url


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


def is_documentation(url: str) -> bool:
    """`True` for a link to documentation, which is no page to act on."""
    lowered = url.lower()
    host, _, path = lowered.partition("://")[2].partition("/")
    return host.startswith(_DOCS_HOSTS) or any(part in "/" + path for part in _DOCS_PATHS)


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "credits_required": as_amount,
    "credits_available": as_amount,
    "currency": _currency,
    "current_plan": _plan,
    "required_plan": _plan,
    "action_url": _action_link,
    "retry_after": _seconds,
    "request_id": _request_id,
    "price": _price,
    "pay_to": _payee,
    "rail": _rail,
    "network": _chain_network,
    "protocol": _payment_protocol,
    **{role: _reset_in(unit) for role, unit in RESET_UNITS.items()},
}


class _Role(NamedTuple):
    """What a key (in one of its spellings) is: its canonical name, its rank among the
    envelope keys, the message keys and the code keys (`None` where it is none of them),
    and the other roles it plays with its rank among each one's synonyms."""

    key: str
    nest: int | None
    message: int | None
    code: int | None
    values: tuple[tuple[str, int], ...]


#: Spelling -> its role.
_ROLES: dict[str, _Role] = {}


def _build_roles() -> None:
    ranks: dict[str, dict[str, int]] = {}
    for role, keys in (
        ("message", _MESSAGE_KEYS),
        ("code", _CODE_KEYS),
        ("nested", _NESTED),
        ("credits_required", _REQUIRED_KEYS),
        ("credits_available", _AVAILABLE_KEYS),
        ("currency", ("currency",)),
        ("current_plan", _CURRENT_PLAN_KEYS),
        ("required_plan", _REQUIRED_PLAN_KEYS),
        ("action_url", _URL_KEYS),
        ("retry_after", _RETRY_KEYS),
        ("request_id", _REQUEST_ID_KEYS),
        ("price", _PRICE_KEYS),
        ("pay_to", _PAYEE_KEYS),
        ("rail", _RAIL_KEYS),
        ("network", _NETWORK_KEYS),
        ("protocol", _PROTOCOL_VALUE_KEYS),
        *_RESET_KEYS.items(),
    ):
        for rank, key in enumerate(keys):
            ranks.setdefault(key, {})[role] = rank
    for key, played in ranks.items():
        entry = _Role(
            key,
            played.pop("nested", None),
            played.pop("message", None),
            played.pop("code", None),
            tuple(played.items()),
        )
        for spelling in _spellings(key):
            _ROLES.setdefault(spelling, entry)


_build_roles()
# AWS's JSON 1.1 protocol names the error's code `__type` ("SubscriptionRequiredException",
# or "com.amazonaws.support#SubscriptionRequiredException").
_ROLES["__type"] = _ROLES["type"]


# --------------------------------------------------------------------------- the walk


class _Read(NamedTuple):
    """What one object states: its messages and codes with the rank and spelling of their
    keys, its other fields parsed, the name of a limit it says is used up, and its path
    (`None` inside an upstream error kept as JSON text, where no path leads)."""

    upstream: bool
    messages: list[tuple[int, str, str]]
    codes: list[tuple[int, str, str, str]]
    values: dict[str, tuple[int, Any, str]]
    exhausted: str | None
    path: tuple[Any, ...] | None


def _walk(payload: dict[str, Any]) -> list[_Read]:
    """What the payload and the objects nested under its envelope keys state, breadth
    first; at most `_MAX_OBJECTS` objects, the first three items of a list.

    Within an object the synonym of lowest rank wins, whatever the order of the keys.
    """
    queue: list[tuple[Any, bool, tuple[Any, ...] | None, bool]] = [(payload, False, (), False)]
    reads: list[_Read] = []
    index = 0
    named_code = False
    while index < len(queue) and len(reads) < _MAX_OBJECTS:
        obj, upstream, path, by_field = queue[index]
        index += 1
        if type(obj) is list:
            queue.extend(
                (item, upstream, None if path is None else (*path, position), False)
                for position, item in enumerate(obj[:3])
                if isinstance(item, (dict, list))
            )
            continue
        if not isinstance(obj, dict):
            continue
        messages: list[tuple[int, str, str]] = []
        codes: list[tuple[int, str, str, str]] = []
        values: dict[str, tuple[int, Any, str]] = {}
        children: list[tuple[int, Any, bool, tuple[Any, ...] | None, bool]] = []
        known = _known_keys(obj)
        for spelling, (key, nest, message_rank, code_rank, others) in known:
            value = obj[spelling]
            kind = type(value)
            if by_field and nest is None and message_rank is None and code_rank is None:
                continue  # a form field's name (`"plan"`): read with the other fields below
            if (kind is dict or kind is list) and nest is not None:
                # An upstream error kept under `raw` may be an object already.
                child_path = None if path is None else (*path, spelling)
                keyed = kind is dict and key == "errors"
                children.append((nest, value, upstream or key == "raw", child_path, keyed))
                if kind is dict:
                    continue  # a list may be messages too (`"errors": ["..."]`)
            elif (
                kind is str
                and (message_rank is not None or key == "raw")
                and value.lstrip()[:1] in ("{", "[")
            ):
                # A gateway passes the upstream provider's error on as JSON text
                # (OpenRouter's `error.metadata.raw`, a message that is JSON itself).
                parsed = _upstream(value)
                if parsed is not None:
                    rank = len(_NESTED) if nest is None else nest
                    children.append((rank, parsed, True, None, False))  # no path into text
                    continue
            if message_rank is not None:
                text = _message(value)
                if text is not None:
                    messages.append((message_rank, text, spelling))
                elif code_rank is None and kind is str and "_" in value and _is_code(value):
                    # A constant where the words belong (Open Exchange Rates' `"message":
                    # "not_allowed"` beside its `description`): the code.
                    codes.append((_MESSAGE_CODE_RANK, value.strip(), spelling, key))
            if code_rank is not None:
                code = _code_value(key, value)
                if code is not None:
                    codes.append((code_rank, code, spelling, key))
            for name, rank in others:
                if name not in values or rank < values[name][0]:
                    parsed = _PARSERS[name](value)
                    if parsed is not None:
                        values[name] = (rank, parsed, spelling)
        if (by_field or len(known) < len(obj)) and len(obj) <= _MAX_FAMILY_KEYS:
            _read_by_family(obj, by_field, messages, codes, children, upstream, path)
        exhausted = _exhausted_limit(obj) if "remaining" in obj or "limit_value" in obj else None
        if exhausted and type(obj.get("limit_name")) is str:
            # A used-up limit's own name is a finer code than the error's category, as
            # OpenRouter's `limit_source` is (Mathpix's `page_monthly_limit` beside "Too
            # many requests"): shown only when it decides.
            codes.append((_AUX_RANK, exhausted, "limit_name", "limit_source"))
        reads.append(_Read(upstream, messages, codes, values, exhausted, path))
        if codes and not named_code:
            named_code = any(code[0] < _VALUE_CODE_RANK for code in codes)
        if children:
            if named_code:
                # Once an object stated its code under a code's name, that is the error:
                # what the payload holds under names of no role (a request's echo, a
                # decline's details) is not read.
                children = [child for child in children if child[0] != _UNNAMED_CHILD]
            children.sort(key=_rank_of_child)
            queue.extend(
                (child, from_upstream, at, keyed) for _, child, from_upstream, at, keyed in children
            )
    return reads


def _rank_of_child(child: tuple[int, Any, bool, tuple[Any, ...] | None, bool]) -> int:
    return child[0]


def _read_by_family(
    obj: dict[str, Any],
    by_field: bool,
    messages: list[tuple[int, str, str]],
    codes: list[tuple[int, str, str, str]],
    children: list[tuple[int, Any, bool, tuple[Any, ...] | None, bool]],
    upstream: bool,
    path: tuple[Any, ...] | None,
) -> None:
    """What a small object states under keys that no table names, by the key's family:

    - a key whose last word names a message (`errorText`, `status_message`,
      `errorDescription`, `Information`, `processor-response-text`) holds a message;
    - in an `errors` object keyed by field (`{"errors": {"plan": "Free plans do not ..."}}`)
      every field's text is a message;
    - a value in the shape of a constant (`ERROR_ZERO_BALANCE`, `InsufficientBalance`,
      `usage-capped`) is a code, read for its words and shown only when it decides;
    - an object or a list under such a key is walked after the envelopes, unless the
      object states its code itself (the walk's bounds hold).

    Lists and appends to the caller's `messages`, `codes` and `children` (ranked after
    every key of the tables)."""
    for spelling, value in obj.items():
        if type(spelling) is not str:
            continue
        role = _ROLES.get(spelling)
        if role is not None and not (
            by_field and role.nest is None and role.message is None and role.code is None
        ):
            continue  # read by its role
        kind = type(value)
        if kind is dict or kind is list:
            if value:
                child_path = None if path is None else (*path, spelling)
                children.append((_UNNAMED_CHILD, value, upstream, child_path, False))
            if kind is dict or not (by_field or _is_message_key(spelling)):
                continue
        elif kind is not str:
            continue
        if by_field or _is_message_key(spelling):
            text = _message(value)
            if text is not None:
                messages.append((_FAMILY_MESSAGE_RANK, text, spelling))
        elif kind is str and _is_constant(value) and _last_word(spelling) not in _ID_WORDS:
            codes.append((_VALUE_CODE_RANK, value.strip(), spelling, spelling))


#: The last words of a key that holds a message, in any spelling (`errorText`, `Information`).
_MESSAGE_WORDS = frozenset(
    {"message", "messages", "msg", "description", "text", "detail", "details", "information"}
)
#: The last words of a key that holds an id, whatever its shape (`messageId`, `bulk_id`).
_ID_WORDS = frozenset({"id", "ids", "key", "number", "name", "uuid", "ref", "reference"})
#: What a key must hold to be looked at for a message family: a substring test per key.
_MESSAGE_HINTS = ("mess", "msg", "desc", "text", "detail", "information")
#: Objects with more keys than this are read by the tables alone (a hostile body's
#: thousands of keys cost one lookup per known spelling, not one per key).
_MAX_FAMILY_KEYS = 32
#: Ranks after every key of the tables: a message by its key's family, a constant's code
#: (aux: shown only when it decides), an object under a key of no role.
_FAMILY_MESSAGE_RANK = len(_MESSAGE_KEYS)
_VALUE_CODE_RANK = len(_CODE_KEYS)
_UNNAMED_CHILD = len(_NESTED) + 1


def _is_message_key(key: str) -> bool:
    """`True` for a key whose last word names a message (`errorText`, `status_message`)."""
    lowered = key.lower()
    for hint in _MESSAGE_HINTS:
        if hint in lowered:
            return _last_word(key) in _MESSAGE_WORDS
    return False


@functools.lru_cache(maxsize=256)
def _last_word(key: str) -> str:
    return normalize_code(key).rpartition("_")[2]


#: A constant: UPPER_SNAKE or snake_case with two words or more, kebab-case, or PascalCase
#: with two words or more (`InsufficientBalance`); not an id, a date or a sentence.
_CONSTANT = re.compile(
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+|(?:[A-Z][a-z0-9]+){2,}"
)


def _is_constant(value: str) -> bool:
    return len(value) <= MAX_CODE and _CONSTANT.fullmatch(value.strip()) is not None


def _known_keys(obj: dict[str, Any]) -> list[tuple[str, _Role]]:
    """The keys of `obj` that play a role, with their roles: by a lookup per key, or per
    known spelling for an object with more keys than spellings (a hostile body)."""
    if len(obj) <= len(_ROLES):
        get = _ROLES.get
        known = []
        for key in obj:
            role = get(key) if type(key) is str else None
            if role is not None:
                known.append((key, role))
        return known
    return [(spelling, role) for spelling, role in _ROLES.items() if spelling in obj]


def _upstream(value: str) -> Any:
    """The JSON object or array that a string holds, if it holds one (bounded like a body)."""
    if len(value) > _MAX_UPSTREAM or value.lstrip()[:1] not in ("{", "["):
        return None
    return _parsed_upstream(value)


@functools.lru_cache(maxsize=64)
def _parsed_upstream(value: str) -> Any:
    # Cached: a gateway passes the same few upstream errors on.
    try:
        parsed = loads_json(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, (dict, list)) else None


def _code_value(key: str, value: Any) -> str | None:
    """`value` as a code where `key` holds one, else `None`.

    An integer is a code where a code belongs (Twilio's 21608, X's 453, Postmark's
    `ErrorCode` 405 on a 422, Zoom's 200 on a 400), unless a bare `code` restates an HTTP
    error status (a gateway's `"code": 402`); an error code equal to the response's own
    status is dropped when the answer is made (`_core`), where the status is known.
    """
    if type(value) is int:
        if key in _NUMERIC_CODE_KEYS and 0 < value < 10**12:
            if key == "error" and value < _SMALLEST_ERROR_CODE:
                return None
            digits = str(value)
            return None if key in _RESTATING_KEYS and digits in _HTTP_STATUSES else digits
        return None
    if type(value) is not str:
        return None
    if key == "type" and value[:1] == "/" and _is_code(value[1:]):
        # RFC 9457: a problem's `type` may be a relative reference, resolved against the
        # document's URI (Zyte's `"type": "/auth/account-suspended"`): a code all the same,
        # read by its last segment as an absolute one is.
        return value.strip()
    if not _is_code(value):
        digits = value.strip()
        if (
            key in _NUMERIC_CODE_KEYS
            and 0 < len(digits) <= 12
            and digits.isascii()
            and digits.isdigit()
            and not (key in _RESTATING_KEYS and digits in _HTTP_STATUSES)
            and not (key == "error" and int(digits) < _SMALLEST_ERROR_CODE)
        ):
            return digits
        return None
    stripped = value.strip()
    lowered = stripped.lower()
    if lowered in _NULL_WORDS:
        return None  # a serialized null ("type": "None"), not a code
    if key == "status" and lowered in _OUTCOME_WORDS:
        return None  # JSend's `"status": "error"`: an outcome, not a code
    # `name` is a code only in the shape of an exception class ("InsufficientBalanceError") or
    # of a constant ("payment_required", "UNPROCESSABLE_ENTITY"), not a person's or a thing's.
    if key == "name" and not (stripped.endswith(("Error", "Exception")) or "_" in stripped):
        return None
    return stripped


def _is_code(value: str) -> bool:
    """`True` for a machine code (`plan_limit_exceeded`) rather than words for a person."""
    stripped = value.strip()
    if len(stripped) > MAX_CODE or " " in stripped:
        # A message, most often: no pattern run over it, and no cache entry spent on it
        # (`_CODE_SHAPE` holds no blank, and a message is new as often as its ids are).
        return False
    return _is_short_code(stripped)


@functools.lru_cache(maxsize=1024)
def _is_short_code(stripped: str) -> bool:
    return _CODE_SHAPE.fullmatch(stripped) is not None


def _exhausted_limit(obj: dict[str, Any]) -> str | None:
    """The name of the limit `obj` describes when it says nothing is left of it: `"remaining":
    0` of a `limit`, or a `count` that reached its `limit_value` (Mathpix's `error_info`)."""
    if "remaining" in obj:
        remaining = obj.get("remaining")
        if type(remaining) is not int and not isinstance(remaining, Decimal):
            return None
        if remaining != 0:
            return None
        total = obj.get("limit", obj.get("total", obj.get("max")))
        if as_amount(total) is None or as_amount(total) == 0:
            return None
    else:
        count, total = obj.get("count"), obj.get("limit_value")
        if type(count) is not int or type(total) is not int or not 0 < total <= count:
            return None
    for key in ("limit_name", "name", "type", "id", "period", "unit", "resource"):
        name = obj.get(key)
        if isinstance(name, str) and name.strip():
            return bounded_text(name, 100) or ""
    return ""
