"""RFC 9457 problem details (`application/problem+json`) that describe a payment gate.

The problem `type` URI is the machine code; `title` and `detail` carry the wording; extension
members (`balance`, `cost`, `plan`, ...) are read like any other billing payload.
"""

from __future__ import annotations

import re

from .._adapters import ResponseSnapshot
from .._models import PaymentRequired, Reason
from .._untrusted import bounded_text
from ._common import (
    counts_on_errors,
    may_hold_evidence,
    read_evidence,
    reason_from_code,
    reason_from_words,
    says_rate_limit,
)

__all__ = ["ProblemDetailsAdapter"]


class ProblemDetailsAdapter:
    """`application/problem+json` 402s, and JSON bodies that have a problem's shape.

    RFC 9457's own example of a payment problem ("out-of-credit") is a 403, so a 403 is
    claimed too, but only as `application/problem+json` and only when the problem *type*
    itself names a billing reason: a 403 whose wording merely mentions credit is left alone.
    """

    name = "rfc9457"
    priority = -200
    statuses = (402, 403)
    triggers = (("content-type", "problem+json"),)
    reads_errors = True

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        if response.status_code != 402 and not _may_be_billing_problem(response):
            return None  # no problem type that names a reason: no need to parse it
        payload = response.json
        if not isinstance(payload, dict):
            return None
        content_type = (response.header("content-type") or "").lower()
        problem_type = payload.get("type")
        is_problem = "problem+json" in content_type or (
            isinstance(problem_type, str)
            and "/" in problem_type
            and ("title" in payload or "detail" in payload)
        )
        if not is_problem:
            return None
        type_uri = bounded_text(problem_type, 300) if isinstance(problem_type, str) else None
        strict = response.status_code != 402
        reason, by_code = _reason_from_type(type_uri, strict=strict)
        if strict and (reason is None or (not by_code and says_rate_limit(response.text))):
            # Decided before reading the members: most 4xx problems are no gate, and on a
            # status other than 402 a type's words lose to rate-limit wording, as any words do.
            return None
        evidence = read_evidence(
            {k: v for k, v in payload.items() if k not in ("type", "title", "detail", "status")}
        )
        title = bounded_text(payload.get("title"))
        detail = bounded_text(payload.get("detail"))
        message = detail or title or evidence.message
        if reason is None:
            reason = evidence.reason()
        for words in (title, detail):
            if reason is None and words:
                reason = reason_from_words(words)
        if message is not None:
            # "Your current balance is 30, but that costs 50": the RFC's own example.
            stated = read_evidence({"message": message})
            evidence.credits_available = evidence.credits_available or stated.credits_available
            evidence.credits_required = evidence.credits_required or stated.credits_required
        return evidence.to_payment(
            reason or Reason.UNKNOWN, self.name, code=evidence.code or type_uri, message=message
        )


def _may_be_billing_problem(response: ResponseSnapshot) -> bool:
    """`False` when the body cannot be a problem whose type names a billing reason: it is no
    `problem+json` and has no member `type` whose value is a URI next to a `title` or a
    `detail` (a body with an escape is looked at all the same), or holds no word of any
    code or wording rule."""
    if "problem+json" not in (response.header("content-type") or "").lower():
        text = response.text
        if "\\" not in text and not (
            ('"title"' in text or '"detail"' in text) and _TYPE_URI.search(text) is not None
        ):
            return False
    return may_hold_evidence(response, any_rule=True)


# A member `type` whose string value holds a "/" (a URI), as a problem's shape needs.
_TYPE_URI = re.compile(r'"type"\s*:\s*"[^"]*/')


def _reason_from_type(type_uri: str | None, *, strict: bool) -> tuple[Reason | None, bool]:
    """The reason a problem type names, and whether its slug is a billing code. `strict`
    (a status other than 402) takes only what is evidence there, as the generic rules do:
    a code that counts on errors, or strong wording."""
    if not type_uri or type_uri == "about:blank":
        return None, False
    slug = type_uri.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    reason = reason_from_code(slug)
    if reason is not None and (not strict or counts_on_errors(slug)):
        return reason, True
    words = slug.replace("-", " ").replace("_", " ")
    return reason_from_words(words, strict=strict), False
