"""Which statuses are read for a gate, from a host with no adapter of its own: one table,
a reason per row.

A provider's adapter reads the statuses it declares on its own hosts (`statuses`), and a
payment protocol the statuses its header comes with (`triggers`); this table is for the
generic rules, which see every host. Whatever is read, a status other than 402 is claimed
only on strong evidence (`decide(strict=True)`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import attrs

__all__ = [
    "PAYMENT_REQUIRED",
    "READ_ON_EVIDENCE",
    "STATUSES",
    "Read",
    "StatusRule",
    "how_read",
    "is_readable_error",
]

PAYMENT_REQUIRED = 402


class Read(enum.Enum):
    """How the generic rules read a status."""

    ALWAYS = "always"
    ON_EVIDENCE = "on strong evidence"
    WITH_PAYMENT_HEADER = "only with a payment protocol's header"
    NEVER = "never"


@attrs.frozen
class StatusRule:
    """One row of the table: statuses, how they are read, and why."""

    statuses: tuple[int, ...]
    read: Read
    why: str


_UNASSIGNED = (419, 420, 427, 430, *range(432, 451), *range(452, 500))

STATUSES: tuple[StatusRule, ...] = (
    StatusRule(
        (402,),
        Read.ALWAYS,
        "Payment Required: the gate's own status, from any host; one that says nothing more "
        "is `unknown`; one whose words state only what no payment lifts (a window under a "
        "day, concurrency, a resource in use, bad credentials) and no billing word, code or "
        "payment header is no gate, passed through (a top-up cannot help it)",
    ),
    StatusRule(
        (400,),
        Read.ON_EVIDENCE,
        "Bad Request: Anthropic's 'credit balance is too low', LiteLLM's budget, OpenAI's "
        "`billing_hard_limit_reached`, DashScope's `Arrearage`",
    ),
    StatusRule(
        (401, 407),
        Read.WITH_PAYMENT_HEADER,
        "a challenge for credentials: a bad key must cost no body read; an L402, LSAT or "
        "`Payment` challenge, or a `PAYMENT-REQUIRED` or `crawler-price` header, makes it a "
        "price (DESIGN's third-round table; a provider's own adapter may read its 401s)",
    ),
    StatusRule(
        (403,),
        Read.ON_EVIDENCE,
        "Forbidden: fal's exhausted balance, xAI's credits, Bedrock's payment instrument, "
        "Google's billing disabled, one-api's user quota",
    ),
    StatusRule(
        (409,),
        Read.ON_EVIDENCE,
        "Conflict: Azure answers a disabled subscription with 409 `ReadOnlyDisabledSubscription`",
    ),
    StatusRule((412,), Read.ON_EVIDENCE, "Precondition Failed: Fireworks' suspended account"),
    StatusRule((422,), Read.ON_EVIDENCE, "Unprocessable Content: PayPal's `INSTRUMENT_DECLINED`"),
    StatusRule(
        (429,),
        Read.ON_EVIDENCE,
        "Too Many Requests: OpenAI's `insufficient_quota`; a rate limit is vetoed by its own "
        "code or words",
    ),
    StatusRule(
        (426,),
        Read.ON_EVIDENCE,
        "Upgrade Required: HTTP's protocol switch comes with an `Upgrade` header and no "
        "billing words; NewsAPI answers its plans' limits with 426 `maximumResultsReached` "
        "('upgrade to a paid plan')",
    ),
    StatusRule(
        _UNASSIGNED,
        Read.ON_EVIDENCE,
        "a status HTTP does not assign is the provider's own: Tavily's 432 and 433, DeepL's 456",
    ),
    StatusRule(
        (406,),
        Read.ON_EVIDENCE,
        "Not Acceptable: content negotiation fails with no billing words (Segmind's 'Invalid "
        "content type' stays no gate); Segmind documents 406 as its own status for "
        "'Insufficient credits'",
    ),
    StatusRule(
        (405, 408, 411, 413, 414, 415, 416, 417, 421, 425, 428, 431),
        Read.NEVER,
        "about the request's form or its transport (method, timeout, length, size, URI, media "
        "type, range, expectation, misdirection, too early, a precondition header, header "
        "size): billing words there are about something else",
    ),
    StatusRule(
        (404, 410),
        Read.NEVER,
        "Not Found and Gone: the commonest refusal of all, a missing resource; reading each "
        "one's body would cost every miss a read, and no public gate on them is known",
    ),
    StatusRule(
        (418, 423, 424, 451),
        Read.NEVER,
        "another refusal named outright (a teapot, a WebDAV lock, a failed dependency, legal "
        "reasons); no public gate on them is known",
    ),
)

_HOW: dict[int, Read] = {status: rule.read for rule in STATUSES for status in rule.statuses}

#: Every status the generic rules may read besides 402.
READ_ON_EVIDENCE = frozenset(
    status for status, read in _HOW.items() if read in (Read.ON_EVIDENCE, Read.WITH_PAYMENT_HEADER)
)
_PAYMENT_HEADERS = ("payment-required", "x-payment-required", "crawler-price", "crawler-error")
_PAYMENT_SCHEMES = ("l402", "lsat", "payment")


def how_read(status_code: int) -> Read:
    """How the generic rules read a status (`NEVER` for anything but a 4xx in the table)."""
    return _HOW.get(status_code, Read.NEVER)


def is_readable_error(status_code: int, header: Callable[[str], str | None]) -> bool:
    """`True` for a 4xx other than 402 whose body a generic rule may read for a gate.

    Its status must be read (the table), and its content type JSON (`problem+json`
    included), XML (an S3-style `<Error>` document) or plain text; a 401 or 407 only with a
    payment protocol's header.
    """
    read = _HOW.get(status_code)
    if read is not Read.ON_EVIDENCE and read is not Read.WITH_PAYMENT_HEADER:
        return False
    content_type = header("content-type")
    if content_type is None:
        return False
    lowered = content_type.lower()
    if "json" not in lowered and "text/plain" not in lowered and not _is_xml(lowered):
        return False
    if read is Read.WITH_PAYMENT_HEADER:
        return _has_payment_header(header)
    return True


def _is_xml(content_type: str) -> bool:
    """`application/xml`, `text/xml` or an `+xml` type (S3's and AWS's error documents),
    not a page (`application/xhtml+xml`)."""
    return "xml" in content_type and "html" not in content_type


def _has_payment_header(header: Callable[[str], str | None]) -> bool:
    if any(header(name) is not None for name in _PAYMENT_HEADERS):
        return True
    challenge = header("www-authenticate")
    if challenge is None:
        return False
    lowered = challenge.lower()
    return any(scheme in lowered for scheme in _PAYMENT_SCHEMES)
