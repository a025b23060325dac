"""Generic rules for providers, gateways and proxies that have no adapter of their own.

Any 402 is theirs to read. They also read other 4xx error bodies (JSON, XML or plain text, see
`is_readable_error`), from any host, since a gateway or a local mock runs anywhere and
answers in the shape of the provider behind it: LiteLLM's 400 `budget_exceeded`, an
OpenAI-compatible 429 `insufficient_quota`, Anthropic's 400 "credit balance is too low", a
search API's 432. Such a status is claimed only on strong evidence (a billing code, or
billing wording with no rate-limit marker, see `_classify/decide.py`): a 403 or a
429 that merely mentions a plan, a tier or a quota is left alone.
"""

from __future__ import annotations

import re

from .._adapters import ResponseSnapshot
from .._classify.decide import (
    WORDS_SCAN,
    Verdict,
    decide,
    lifts_by_itself,
    read_a_402,
    says_payment_required,
    unless_a_transfer,
)
from .._classify.fields import Fields, Message, xml_fields
from .._classify.readers import (
    checks_a_license,
    gate,
    may_hold_evidence,
    moves_money,
    priced_by_headers,
    read_json,
)
from .._models import PaymentRequired
from .._untrusted import bounded_text

__all__ = ["JSONAdapter", "TextAdapter"]

# A tag cannot contain "<", so a run of "<" fails at once instead of scanning ahead.
_TAGS = re.compile(r"<[^<>]{0,2000}>")
_MAX_TITLE = 500
# How much of a text body is read for its message and wording, and of an HTML page's markup.
_SCAN = WORDS_SCAN
_HTML_SCAN = 16 * 1024
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&nbsp;": " "}
_ENTITY = re.compile("|".join(_ENTITIES))


class JSONAdapter:
    """The common JSON error shapes: `{"error": {...}}`, flat `{"error": "code", ...}`,
    `errors[]`, and bodies whose fields name balances, plans or billing links
    (`credits_required`, `balance`, `current_plan`, `upgrade_url`, ...): read the fields,
    then decide."""

    name = "generic"
    priority = -300
    reads_errors = True

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        strict = response.status_code != 402
        read = read_json(response, strict=strict)
        if read is None:
            # An empty 402 says what it says in its headers, if anywhere.
            empty = not strict and not response.text.strip()
            return _priced_by_headers(response, self.name) if empty else None
        fields, verdict = read
        if verdict is None:
            return self._no_verdict(response, fields, strict)
        return gate(fields, verdict, self.name)

    def _no_verdict(
        self, response: ResponseSnapshot, fields: Fields, strict: bool
    ) -> PaymentRequired | None:
        """What a body whose words and codes name no gate still says: "Payment Required"
        alone on any 4xx, a price in a 402's headers; else a 402's `unknown`, or nothing."""
        if strict:
            return gate(fields, None, self.name) if says_payment_required(fields) else None
        priced = _priced_by_headers(response, self.name)
        if priced is not None:
            return priced
        if fields.message is None and not fields.codes:
            return None  # a 402 with nothing to say is left to the next rule, then `unknown`
        verdict = _read_a_402(response, fields)
        if verdict is None and lifts_by_itself(fields):
            return None  # a 402 that states a rate limit or a resource in use: no gate
        return gate(fields, verdict, self.name)


class TextAdapter:
    """Plain-text and HTML 402 pages, by their wording ("insufficient credits", "upgrade your
    plan", "card declined"), and XML error documents, by their `<Code>` and `<Message>`."""

    name = "generic-text"
    priority = -400
    reads_errors = True

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        strict = response.status_code != 402
        if strict and not may_hold_evidence(response):
            return None  # no billing wording: no need to parse it
        if response.json is not None:
            return None  # the JSON rule's to read
        text = response.text
        if not text.strip() or text.lstrip()[:1] in ("{", "["):
            return None  # nothing, or JSON that did not parse: no words to read

        content_type = (response.header("content-type") or "").lower()
        if "html" not in content_type and ("xml" in content_type or text.lstrip()[:5] == "<?xml"):
            fields = xml_fields(text)
            if fields is not None:
                return self._xml(response, fields, text, strict)
        is_html = "html" in content_type or text.lstrip()[:1] == "<"
        if is_html and strict:
            return None  # an error page of a proxy or a firewall, not a provider's words
        if is_html:
            # Markup beyond the first `_HTML_SCAN` characters (scripts and styles left out)
            # is not looked at: a gate page says what it is near its top.
            html = _without_blocks(text, ("script", "style"))[:_HTML_SCAN]
            words = _html_text(html)
            title = _title(html)
            message = (bounded_text(_html_text(title), 500) if title else None) or bounded_text(
                words, 500
            )
        else:
            # A line break inside a sentence is a space to the wording rules, as in a JSON
            # message ("A valid payment\ninstrument must be provided").
            words = " ".join(text[:_SCAN].split())
            message = bounded_text(words, 500)
        if not message:
            return None
        fields = Fields()
        fields.messages.append(Message(words[:_SCAN], False))
        verdict = decide(fields, strict=strict)
        if verdict is None:
            if strict and says_payment_required(fields):
                return gate(fields, None, self.name, message=message, raw=text)
            if strict:
                return None
            priced = _priced_by_headers(response, self.name)
            verdict = _read_a_402(response, fields) if priced is None else None
            if verdict is None:
                return priced
        return gate(fields, verdict, self.name, message=message, raw=text)

    def _xml(
        self, response: ResponseSnapshot, fields: Fields, text: str, strict: bool
    ) -> PaymentRequired | None:
        """An XML error document (S3's `<Error><Code>`, AWS's query APIs'): its leaves read as
        fields, then decided like a JSON body's (an XML document with neither is read as
        markup)."""
        verdict = unless_a_transfer(
            decide(fields, strict=strict),
            lambda: moves_money(response.url),
            lambda: checks_a_license(response.url),
        )
        if verdict is None and strict:
            if says_payment_required(fields):
                return gate(fields, None, self.name, raw=text)
            return None
        if verdict is None:
            priced = _priced_by_headers(response, self.name)
            if priced is not None:
                return priced
            verdict = _read_a_402(response, fields)
            if verdict is None and lifts_by_itself(fields):
                return None
        return gate(fields, verdict, self.name, raw=text)


def _read_a_402(response: ResponseSnapshot, fields: Fields) -> Verdict | None:
    """What a 402 whose rules named no gate states by its own reading (`decide.read_a_402`),
    unless it is a lack of funds on a request that moves the application's own money."""
    return unless_a_transfer(read_a_402(fields), lambda: moves_money(response.url))


def _priced_by_headers(response: ResponseSnapshot, provider: str) -> PaymentRequired | None:
    """A 402 whose headers state a price and where to pay it (`priced_by_headers`)."""
    priced = priced_by_headers(response)
    return None if priced is None else gate(*priced, provider)


def _html_text(html: str) -> str:
    """The visible text of markup that has no script or style left in it."""
    text = _TAGS.sub(" ", html)
    return " ".join(_ENTITY.sub(lambda m: _ENTITIES[m.group()], text).split())


def _without_blocks(html: str, names: tuple[str, ...]) -> str:
    """`html` without its script and style elements, in one left-to-right pass.

    Plain `str.find` rather than a lazy regex: a page full of unclosed `<script` tags would
    make a regex rescan the rest of the page from each of them.
    """
    lower = html.lower()
    kept: list[str] = []
    position = 0
    while True:
        start = min(
            (i for i in (lower.find(f"<{n}", position) for n in names) if i >= 0), default=-1
        )
        if start < 0:
            kept.append(html[position:])
            return "".join(kept)
        kept.append(html[position:start])
        name = next(n for n in names if lower.startswith(f"<{n}", start))
        end = lower.find(f"</{name}", start)
        if end < 0:
            return "".join(kept)
        close = lower.find(">", end)
        position = len(html) if close < 0 else close + 1


def _title(html: str) -> str | None:
    lower = html.lower()
    start = lower.find("<title")
    opened = lower.find(">", start) if start >= 0 else -1
    if opened < 0:
        return None
    end = lower.find("</title", opened, opened + 1 + _MAX_TITLE)
    return html[opened + 1 : end] if end >= 0 else None
