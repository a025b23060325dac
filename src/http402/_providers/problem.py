"""RFC 9457 problem details (`application/problem+json`) that describe a payment gate.

The problem `type` URI is a machine code (its last segment is read like any code:
`.../probs/out-of-credit`); `title` and `detail` carry the wording; extension members
(`balance`, `cost`, `plan`, ...) are read like any other billing payload. The reading is the
pipeline's: fields, then `decide`.
"""

from __future__ import annotations

import re

from .._adapters import ResponseSnapshot
from .._classify.decide import lifts_by_itself, read_a_402, unless_a_transfer
from .._classify.readers import gate, moves_money, read_json
from .._models import PaymentRequired
from .._untrusted import bounded_text

__all__ = ["ProblemDetailsAdapter"]


class ProblemDetailsAdapter:
    """`application/problem+json` 402s, and JSON bodies that have a problem's shape.

    RFC 9457's own example of a payment problem ("out-of-credit") is a 403, so a
    `problem+json` 403 is read even with the generic rules' 4xx reading off; like any status
    other than 402, it is claimed only on strong evidence.
    """

    name = "rfc9457"
    priority = -200
    statuses = (402, 403)
    triggers = (("content-type", "problem+json"),)
    reads_errors = True

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        content_type = (response.header("content-type") or "").lower()
        is_problem_type = "problem+json" in content_type
        if not is_problem_type and not _may_be_problem(response.text):
            return None  # no problem's shape: no need to parse it
        payload = response.json
        if not isinstance(payload, dict):
            return None
        problem_type = payload.get("type")
        if not is_problem_type and not (
            isinstance(problem_type, str)
            and "/" in problem_type
            and ("title" in payload or "detail" in payload)
        ):
            return None
        strict = response.status_code != 402
        read = read_json(response, strict=strict)
        if read is None:
            return None
        fields, verdict = read
        if verdict is None and not strict:
            verdict = unless_a_transfer(read_a_402(fields), lambda: moves_money(response.url))
        if verdict is None and (strict or lifts_by_itself(fields)):
            return None
        type_uri = bounded_text(problem_type, 300) if isinstance(problem_type, str) else None
        message = bounded_text(payload.get("detail")) or bounded_text(payload.get("title"))
        code = verdict.code if verdict is not None else None
        return gate(
            fields,
            verdict,
            self.name,
            code=code or type_uri,
            message=message or (verdict.message if verdict else fields.message),
        )


# A member `type` whose string value holds a "/" (a URI), as a problem's shape needs.
_TYPE_URI = re.compile(r'"type"\s*:\s*"[^"]*/')


def _may_be_problem(text: str) -> bool:
    """`False` when a body that is no `problem+json` has no problem's shape in its first
    `_SHAPE_SCAN` characters: no member `type` whose value is a URI next to a `title` or a
    `detail` (a body with an escape there is looked at all the same). A problem states its
    members first; a longer body without them there is the generic rules' to read."""
    text = text[:_SHAPE_SCAN]
    if "\\" in text:
        return True
    return ('"title"' in text or '"detail"' in text) and _TYPE_URI.search(text) is not None


_SHAPE_SCAN = 8 * 1024
