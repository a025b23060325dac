"""Read fields, then decide: the pipeline the adapters share, and the answer it builds.

`read_json` and `read_text` turn a snapshot into `(Fields, Verdict)`; `gate` turns those into
a `PaymentRequired`, filling what the message states plainly (a link to act on, credit
counts). What was read is kept on the snapshot, so the adapters tried after the first read
the body once between them.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from .._models import PaymentRequired, Reason
from .._untrusted import as_amount, safe_action_url
from .decide import (
    CONTEXT_SCAN,
    WORDS_SCAN,
    Verdict,
    decide,
    first_code,
    lifts_by_itself,
    unless_a_transfer,
)
from .fields import Fields, header_fields, is_documentation, read_fields, text_fields
from .prefilter import EVIDENCE_SCAN
from .prefilter import may_hold_evidence as text_may_hold_evidence
from .snapshot import ResponseSnapshot
from .statuses import PAYMENT_REQUIRED
from .vocabulary.movement import LICENSE_CHECK, MONEY_MOVEMENT

__all__ = [
    "Reading",
    "checks_a_license",
    "fields_of",
    "gate",
    "lifts_by_itself_only",
    "may_hold_evidence",
    "moves_money",
    "priced_by_headers",
    "read_json",
    "read_text",
    "reading_of",
]


def may_hold_evidence(snapshot: ResponseSnapshot) -> bool:
    """`False` when no strict reading can claim the body (`prefilter.py`); kept. A body read
    before, or of the shape of one, holds what that one held (no needle has a digit)."""
    possible = snapshot._may_hold_evidence
    if possible is None:
        known = _known_reading(snapshot)
        if known is not None:
            possible = known.may_hold_evidence
        else:
            possible = text_may_hold_evidence(lowered(snapshot))
        snapshot._may_hold_evidence = possible
    return possible


def lowered(snapshot: ResponseSnapshot) -> str:
    """The first `EVIDENCE_SCAN` characters of the body's text in lower case, made once:
    what the prefilter and a strict reading's throttle check search."""
    text = snapshot._lowered
    if text is None:
        text = snapshot._lowered = snapshot.text[: EVIDENCE_SCAN + 1].lower()
    return text


class Reading:
    """A body's fields and, once asked, what they decide on a strict and a lenient reading.

    Kept on the snapshot, and for a short body by its text too: a provider sends the same
    few error bodies over and over, so a repeated gate is read and decided once. A body that
    differs from one read before only by its ids (a request id quoted in the message) is
    read at the same places, and takes that reading's decisions (`template`): no rule tells
    one id from another. Treat it as read-only: it is shared.
    """

    __slots__ = (
        "_lowered",
        "_may_hold_evidence",
        "_places",
        "_template",
        "_text",
        "_verdicts",
        "fields",
    )

    def __init__(self, fields: Fields | None, text: str, template: Reading | None = None) -> None:
        self.fields = fields
        #: The body's text, lowered only when a rule reads it (a body read like its template
        #: takes the template's decision, and most often never needs it).
        self._text = text
        self._lowered: str | None = None
        self._template = template
        self._verdicts: dict[bool, Verdict | None] = {}
        #: Per reading (strict or not), where its verdict's message and code stand among
        #: the fields (`as_read_in`), found once for every body read like this one.
        self._places: dict[bool, tuple[int | None, int | None] | None] = {}
        self._may_hold_evidence: bool | None = None

    @property
    def lowered(self) -> str:
        """The first `EVIDENCE_SCAN` characters of the body's text in lower case (`lowered`)."""
        text = self._lowered
        if text is None:
            text = self._lowered = self._text[: EVIDENCE_SCAN + 1].lower()
        return text

    @property
    def may_hold_evidence(self) -> bool:
        """What the prefilter says of the body this reading was made from."""
        if self._may_hold_evidence is None:
            self._may_hold_evidence = text_may_hold_evidence(self.lowered)
        return self._may_hold_evidence

    def verdict(self, strict: bool) -> Verdict | None:
        """What the fields decide (before the transfer rule, which needs the URL)."""
        if strict in self._verdicts:
            return self._verdicts[strict]
        assert self.fields is not None
        read_in = None if self._template is None else self._template.as_read_in(self.fields, strict)
        if self._template is None or isinstance(read_in, _Unmatched):
            context = self.lowered[:CONTEXT_SCAN] if strict else None
            verdict = decide(self.fields, strict=strict, context=context)
        else:
            verdict = read_in
        self._verdicts[strict] = verdict
        return verdict

    def as_read_in(self, fields: Fields, strict: bool) -> Verdict | _Unmatched | None:
        """This reading's verdict with the code and message of `fields`, read at the same
        places; `_UNMATCHED` when they cannot be matched up."""
        verdict = self.verdict(strict)
        if verdict is None:
            return None
        if strict in self._places:
            places = self._places[strict]
        else:
            places = self._places[strict] = self._places_of(verdict)
        if places is None:
            return _UNMATCHED
        message_at, code_at = places
        message = None if message_at is None else fields.messages[message_at].text
        code = None if code_at is None else fields.codes[code_at].value
        return Verdict(verdict.reason, verdict.family, code, message, verdict.by, verdict.remedy)

    def _places_of(self, verdict: Verdict) -> tuple[int | None, int | None] | None:
        """Where `verdict`'s message and code stand among these fields (`None`: not there)."""
        mine = self.fields
        assert mine is not None
        message_at = code_at = None
        if verdict.message is not None:
            message_at = next(
                (i for i, m in enumerate(mine.messages) if m.text == verdict.message), None
            )
            if message_at is None:
                return None
        if verdict.code is not None:
            code_at = next((i for i, c in enumerate(mine.codes) if c.value == verdict.code), None)
            if code_at is None:
                return None
        return message_at, code_at


class _Unmatched:
    """A template's verdict that the fields read like it cannot take (decide them)."""


_UNMATCHED = _Unmatched()


#: Short bodies' readings by their text, and by their shape (ids made alike) the readings
#: that others of that shape are read like; bounded like the other caches.
_READINGS: dict[str, Reading] = {}
_TEMPLATES: dict[str, Reading] = {}
_READINGS_SIZE = 256
_READING_TEXT = 8 * 1024
#: A run of six digits or more: a request id, an order number, a timestamp. Written with
#: a first `[0-9]` of its own, which lets the regex engine skip ahead to the next digit
#: instead of trying the repeat at every character (`[0-9]{6,}` matches the same runs at
#: about twice the cost on a message with an id in it).
_ID_DIGITS = re.compile(r"[0-9][0-9]{5,}")


def reading_of(snapshot: ResponseSnapshot) -> Reading:
    """The snapshot's `Reading`, made once (and found by its text, or read like one of its
    shape, for a short body)."""
    reading = snapshot._reading
    if reading is not None:
        return reading
    text = snapshot.text
    short = len(text) <= _READING_TEXT
    reading = _READINGS.get(text) if short else None
    if reading is None:
        payload = snapshot.json
        shape = _shape(snapshot) if short else None
        template = None if shape is None else _TEMPLATES.get(shape)
        fields = None
        if template is not None and template.fields is not None:
            fields = template.fields.read_again(payload)
        if fields is not None:
            reading = Reading(fields, text, template)
            # A body read like its template is most often new on every call (its request
            # id): it is kept by its text only once that text comes again, so a body never
            # seen twice keeps nothing alive.
            if short and not _seen_before(text):
                short = False
        else:
            # A JSON string is a message too (`"You have no credits remaining..."`).
            fields = read_fields(payload) if isinstance(payload, (dict, str)) else None
            reading = Reading(fields, text)
            if shape is not None and fields is not None and fields.sources is not None:
                _remember(_TEMPLATES, shape, reading)
        if short:
            _remember(_READINGS, text, reading)
        elif reading.fields is not None:
            # Kept nowhere but on this snapshot: its answer can be made for this response.
            reading.fields.made_for = (snapshot.status_code, payload)
    snapshot._reading = reading
    return reading


#: The hashes of texts read like a template once, to keep their readings the second time.
_SEEN: set[int] = set()


def _seen_before(text: str) -> bool:
    """`True` when `text` was read like a template before (by its hash; a collision only
    keeps a reading early)."""
    key = hash(text)
    if key in _SEEN:
        return True
    if len(_SEEN) >= _READINGS_SIZE * 4:
        _SEEN.clear()
    _SEEN.add(key)
    return False


def _known_reading(snapshot: ResponseSnapshot) -> Reading | None:
    """The reading made before of this body's text, else of its shape; none is made."""
    text = snapshot.text
    if len(text) > _READING_TEXT:
        return None
    known = _READINGS.get(text)
    if known is None:
        shape = _shape(snapshot)
        known = None if shape is None else _TEMPLATES.get(shape)
    return known


def _shape(snapshot: ResponseSnapshot) -> str | None:
    """The body's shape (`_shape_of_body`), made once."""
    shape = snapshot._shape
    if shape is None:
        shape = snapshot._shape = _shape_of_body(snapshot.text) or ""
    return shape or None


def _remember(cache: dict[str, Reading], key: str, reading: Reading) -> None:
    if len(cache) >= _READINGS_SIZE:
        cache.clear()
    cache[key] = reading


def _shape_of_body(text: str) -> str | None:
    """The body with its ids made alike (each run of six digits or more that is not all
    zeros made `9`s), or `None` when it has none."""
    # One pass: a search first and a substitution after would scan the body twice.
    shaped, runs = _ID_DIGITS.subn(_nines, text)
    return shaped if runs else None


def _nines(match: re.Match[str]) -> str:
    digits = match.group()
    return digits if digits.count("0") == len(digits) else "9" * len(digits)


def fields_of(snapshot: ResponseSnapshot) -> Fields | None:
    """The fields of the snapshot's JSON object or string; `None` for another body."""
    return reading_of(snapshot).fields


def read_json(snapshot: ResponseSnapshot, *, strict: bool) -> tuple[Fields, Verdict | None] | None:
    """The fields of a JSON object body and what they decide; `None` for another body, or
    for a strict reading of a body that the prefilter rules out."""
    if strict and not may_hold_evidence(snapshot):
        return None
    reading = reading_of(snapshot)
    if reading.fields is None:
        return None
    verdict = unless_a_transfer(
        reading.verdict(strict),
        lambda: moves_money(snapshot.url),
        lambda: checks_a_license(snapshot.url),
    )
    return reading.fields, verdict


@functools.lru_cache(maxsize=256)
def moves_money(url: str) -> bool:
    """`True` when the request's path names a payout, a transfer, a withdrawal or a refund.
    Cached: a client calls the same few URLs."""
    path = url.partition("://")[2].partition("/")[2].partition("?")[0].lower()
    return MONEY_MOVEMENT.in_path(path)


@functools.lru_cache(maxsize=256)
def checks_a_license(url: str) -> bool:
    """`True` when the request's path asks a licensing API about a license key (check,
    validate, activate). Cached: a client calls the same few URLs."""
    path = url.partition("://")[2].partition("/")[2].partition("?")[0].lower()
    return LICENSE_CHECK.in_path(path)


def lifts_by_itself_only(snapshot: ResponseSnapshot) -> bool:
    """`True` when the body's own words state a limit that lifts by itself and no gate
    (`decide.lifts_by_itself`): a 402 that says so is no gate, it is not `unknown`."""
    fields = reading_of(snapshot).fields
    if fields is None:
        text = snapshot.text
        if text.lstrip()[:1] == "<" or not text.strip():
            return False  # a page's markup, or nothing: nothing stated
        fields = text_fields(" ".join(text[:WORDS_SCAN].split()))
    return lifts_by_itself(fields)


def priced_by_headers(snapshot: ResponseSnapshot) -> tuple[Fields, Verdict] | None:
    """A 402 whose headers state a price and where to pay it in a shape of no known protocol
    (`fields.header_fields`), and what that decides (a challenge whose offers stay empty, as
    for a body's price and payee: rung 6 of `decide`). Asked only when the body's words and
    codes name no gate."""
    if snapshot.status_code != PAYMENT_REQUIRED:
        return None
    fields = header_fields(snapshot.headers)
    if fields is None:
        return None
    verdict = decide(fields, strict=False)
    return None if verdict is None else (fields, verdict)


def read_text(text: str, *, strict: bool) -> tuple[Fields, Verdict | None]:
    """The fields of a plain-text message (its words only) and what they decide."""
    fields = text_fields(text)
    return fields, decide(fields, strict=strict)


class _Keep:
    """`gate`'s default: the field as the reading found it."""


_KEEP = _Keep()


def gate(
    fields: Fields,
    verdict: Verdict | None,
    provider: str,
    *,
    reason: Reason | None = None,
    code: str | _Keep | None = _KEEP,
    message: str | _Keep | None = _KEEP,
    raw: Any = None,
) -> PaymentRequired:
    """The answer: `reason` (default: the verdict's, else `UNKNOWN`), with the fields read.

    Args:
        fields: What the payload states.
        verdict: What `decide` concluded, or `None` (a 402 that names no reason).
        provider: The adapter's name.
        reason: The reason to give whatever the verdict says (a provider that documents
            what its status means).
        code: The provider's own code where it states it differently from the envelope.
        message: The message where the provider states it differently.
        raw: The decoded payload, where it is not the body's JSON (the text of a page).
    """
    if reason is None:
        reason = verdict.reason if verdict is not None else Reason.UNKNOWN
    if isinstance(code, _Keep):
        code = verdict.code if verdict is not None else first_code(fields)
    if isinstance(message, _Keep):
        message = verdict.message if verdict is not None else fields.message
    # The answer is frozen and a function of these alone: a body read before gets the one
    # made for it then (`raw`, when given, is the text the reading was made from).
    key = (reason, provider, code, message, raw is None)
    made = fields.answers.get(key)
    if made is None:
        made = fields.answers[key] = _answer(fields, reason, provider, code, message, raw)
    return made


def _answer(
    fields: Fields,
    reason: Reason,
    provider: str,
    code: str | None,
    message: str | None,
    raw: Any,
) -> PaymentRequired:
    status_code = 402  # the default; `_core` completes the answer with the response's
    made_for = fields.made_for
    if made_for is not None:
        # Fields read for one response only: the answer is made with its status and payload
        # here, which is all that completing it would change (`_core._complete`).
        status_code = made_for[0]
        if raw is None:
            raw = made_for[1]
    values = fields.values
    request_id = values.get("request_id")
    action_url = values.get("action_url")
    required = values.get("credits_required")
    available = values.get("credits_available")
    if action_url is None:
        # The shown message's link first, else one in the error's other words (OpenRouter's
        # `remedy_hint`: "Adding credits at https://openrouter.ai/settings/credits ...").
        if message and "https://" in message:
            action_url = _best_link(message)
        if action_url is None:
            for said in fields.messages:
                if said.own and "https://" in said.text:
                    action_url = _best_link(said.text)
                    if action_url is not None:
                        break
    if message:
        if required is None or available is None:
            stated_required, stated_available = _stated_amounts(message)
            required = required if required is not None else stated_required
            available = available if available is not None else stated_available
        if request_id is None and "request id" in message:
            # one-api and new-api gateways end their messages "(request id: ...)".
            found = _REQUEST_ID_IN_MESSAGE.search(message)
            request_id = found.group(1) if found else None
    return PaymentRequired(
        reason=reason,
        provider=provider,
        status_code=status_code,
        code=code,
        message=message,
        credits_required=required,
        credits_available=available,
        currency=values.get("currency"),
        current_plan=values.get("current_plan"),
        required_plan=values.get("required_plan"),
        action_url=action_url,
        retry_after=values.get("retry_after"),
        request_id=request_id,
        raw=raw,
    )


# --------------------------------------------------------------------------- what a message states

_DIGIT = re.compile(r"[0-9]")
_REQUEST_ID_IN_MESSAGE = re.compile(r"\brequest id: ?([A-Za-z0-9_.:-]{6,100})")
_HTTPS_URL = re.compile(r"https://[^\s\"'<>()\[\]{}]+")
_MAX_LINKS = 8
# Where a link leads, by the words in it: a page to pay or upgrade on.
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
# Numbers may not start inside a longer run of digits (the lookbehinds): otherwise a long
# digit run is rescanned from each of its digits.
_NUM = r"(?<![0-9,.])([0-9][0-9,]{0,30}(?:\.[0-9]{1,30})?)"
# The amounts a message states, each as `(words all in it, words one of which is in it,
# pattern)` over its lower-case text. A message's amount is the leftmost match of any of
# them: as one alternation would give it, but a pattern runs only where its words are.
_AmountRule = tuple[tuple[str, ...], tuple[str, ...], "re.Pattern[str]"]
_REQUIRED: tuple[_AmountRule, ...] = (
    (
        ("credit",),
        ("required", "needed"),
        re.compile(_NUM + r" credits? (?:are |is )?(?:required|needed)"),
    ),
    (("require", "credit"), (), re.compile(r"requires? " + _NUM + r" credits?")),
    (("costs ",), (), re.compile(r"\b(?:that |it |this )costs \$?" + _NUM + r"\b")),
)
_AVAILABLE: tuple[_AmountRule, ...] = (
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


def _stated_amounts(message: str) -> tuple[Decimal | None, Decimal | None]:
    """The credits a message says are required and available."""
    lowered = message.lower()
    if "credit" not in lowered and "cost" not in lowered and "balance" not in lowered:
        return None, None  # the amount patterns all name credits, a cost or a balance
    if not _DIGIT.search(message):
        return None, None
    return _amounts_in(lowered)


@functools.lru_cache(maxsize=256)
def _amounts_in(lowered: str) -> tuple[Decimal | None, Decimal | None]:
    # Cached: a provider sends the same few messages. Only those that may state an amount
    # take an entry: a message new on every call (a request id in it) and naming none
    # would only push the others out.
    return _stated(lowered, _REQUIRED), _stated(lowered, _AVAILABLE)


def _stated(lowered: str, rules: tuple[_AmountRule, ...]) -> Decimal | None:
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
    if first is None:
        return None
    return as_amount(next((g for g in first.groups() if g is not None), None))


@functools.lru_cache(maxsize=256)
def _best_link(message: str) -> str | None:
    """The message's link to act on: a billing, pricing, upgrade or top-up page first, else
    the first link that is not documentation ("read the docs: https://..."). Cached, as the
    messages are."""
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
    """A safe link in a message that is no documentation, and whether it names a page to
    act on. Cached: a provider sends the same few links over and over."""
    url = safe_action_url(text)
    if url is None or is_documentation(url):
        return None, False
    lowered = url.lower()
    return url, any(word in lowered for word in _ACTION_WORDS)
