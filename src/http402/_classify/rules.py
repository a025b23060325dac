"""The records of the rule table: a wording rule, a machine code, a code read by its words.

Each record carries what it means (a `Family`), how much it counts (`Strength`), the examples
it must match, the look-alikes it must not, and the source that motivated it; the per-rule
test in `tests/test_rules.py` holds every record to its examples. Adding a rule is writing
one record in the module of its family under `vocabulary/`.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import attrs

from .families import Family
from .windows import Window

__all__ = [
    "CodeAsWords",
    "CodeRule",
    "CodeWords",
    "Strength",
    "WordRule",
    "code_words",
    "normalize_code",
]


class Strength(enum.Enum):
    """How much a rule counts.

    A *strong* rule is evidence on any readable 4xx from any host: a gateway's 400 or 429
    that says "insufficient balance" is a gate. A *weak* rule names the reason only where
    the status (a 402) or the host (a provider's adapter) already says "pay": its words or
    code are used for other things too ("account inactive", a bare "quota exceeded"). For a
    look-alike family it is the same: a weak throttle (a daily limit) vetoes only a strict
    reading, a strong one (a rate limit) vetoes every reading.
    """

    STRONG = "strong"
    WEAK = "weak"


def _tuple(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _lower_words(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    if not value:
        raise ValueError(f"{attribute.name} must not be empty")
    _words(instance, attribute, value)


def _words(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    if any(not isinstance(v, str) or not v or v != v.lower() for v in value):
        raise ValueError(f"{attribute.name} must be lower-case words: {value!r}")


def _word_set(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _required(instance: Any, attribute: Any, value: Any) -> None:
    if not value:
        raise ValueError(f"a rule needs {attribute.name}")


@attrs.frozen
class WordRule:
    """Wording that means a family, matched on the lower-case text near its needles.

    Args:
        name: Unique in the table, for tests and `http402 explain`.
        family: What the wording says.
        strength: Where it counts (see `Strength`).
        pattern: A regular expression over lower-case text; its top-level alternatives are
            compiled apart, each with its leading literal first (see `_literal_first`).
        needles: Lower-case literals of which every match holds one: the pattern runs only
            near them, and the prefilter looks for them (`prefilter.py`).
        examples: Texts it must match, and that must be read with its family's reason.
        look_alikes: Texts it must not match.
        source: The payload file or public URL that motivated it.
        window: The time window its words state (`windows.py`): every throttle's rule
            declares one, and no other family's does.
    """

    name: str
    family: Family
    strength: Strength
    pattern: str = attrs.field(repr=False)
    needles: tuple[str, ...] = attrs.field(converter=_tuple, validator=_lower_words)
    examples: tuple[str, ...] = attrs.field(converter=_tuple, validator=_required, repr=False)
    look_alikes: tuple[str, ...] = attrs.field(converter=_tuple, default=(), repr=False)
    source: str = attrs.field(default="", validator=_required, repr=False)
    window: Window | None = attrs.field(default=None, kw_only=True)
    compiled: tuple[Alternative, ...] = attrs.field(init=False, repr=False, eq=False)

    @window.validator
    def _a_throttles_window(self, attribute: Any, value: Window | None) -> None:
        if (value is None) is (self.family is Family.THROTTLE):
            raise ValueError(f"{self.name!r}: a throttle's rule, and only one, states a window")

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "compiled", compile_pattern(self.pattern))

    def matches(self, lowered: str) -> bool:
        """`True` if the rule matches `lowered` (lower-case text) near one of its needles."""
        # Only the alternatives whose leading words are in the text can match: a substring
        # test each, far cheaper than a regular-expression search.
        patterns = [
            alternative.pattern
            for alternative in self.compiled
            if not alternative.leads or any(lead in lowered for lead in alternative.leads)
        ]
        if not patterns:
            return False
        if len(lowered) <= _WHOLE:
            # A short text is searched whole, each pattern once: every match holds a needle,
            # so none is found that a window around one would have missed.
            for pattern in patterns:  # noqa: SIM110 - a plain loop: `any()` costs more
                if pattern.search(lowered):
                    return True
            return False
        return found_near(patterns, lowered, self.needles)


@attrs.frozen
class CodeRule:
    """Machine codes that mean a family, matched whole after `normalize_code`.

    A code matches as written or without an `_error` / `_exception` suffix, in any spelling
    (`InsufficientQuota`, `INSUFFICIENT-QUOTA`, a problem type URI's last segment).

    Args:
        codes: The codes, in snake case.
        family: What they say.
        strength: Where they count: a code that other APIs use for other things (a 403
            `authentication_required`, a phone API's `invalid_number`) is weak.
        source: Where they are documented or were seen.
        look_alikes: Codes that must not be read as this family (the per-rule test).
        joins_words: The codes name what the request needs, not what happened
            (`subscription_required`: a tier's subscription, or any active one): such a code
            does not decide before the message's words, it joins them (rung 4 of `decide`),
            and the family of lowest rank among them wins ("Subscription required.
            Re-subscribe to continue." is a lapse; with no words, the code's family).
    """

    codes: tuple[str, ...] = attrs.field(converter=_tuple, validator=_lower_words)
    family: Family
    strength: Strength
    source: str = attrs.field(validator=_required, repr=False)
    look_alikes: tuple[str, ...] = attrs.field(converter=_tuple, default=(), repr=False)
    joins_words: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class CodeWords:
    """Codes that mean a family by the words they hold, for families spelled many ways
    (`MONTHLY_REQUEST_COUNT`, `usage-capped`, `BudgetExhausted`, `AccountOverdueError`).

    A code matches when it holds every word of `all_of`, one of `any_of` and none of
    `none_of` (words are its snake-case parts). A known code (`CodeRule`) is looked up first.
    """

    name: str
    all_of: tuple[str, ...] = attrs.field(converter=_tuple, validator=_words)
    any_of: tuple[str, ...] = attrs.field(converter=_tuple, validator=_lower_words)
    family: Family
    strength: Strength
    examples: tuple[str, ...] = attrs.field(converter=_tuple, validator=_required, repr=False)
    look_alikes: tuple[str, ...] = attrs.field(converter=_tuple, default=(), repr=False)
    source: str = attrs.field(default="", validator=_required, repr=False)
    none_of: frozenset[str] = attrs.field(
        converter=_word_set, default=frozenset(), kw_only=True, repr=False
    )

    def matches(self, words: frozenset[str]) -> bool:
        """`True` if a code made of `words` holds all of `all_of`, one of `any_of` and none
        of `none_of`."""
        return (
            words.issuperset(self.all_of)
            and not words.isdisjoint(self.any_of)
            and words.isdisjoint(self.none_of)
        )


@attrs.frozen
class CodeAsWords:
    """How much a machine code that no record knows counts, read by its words.

    Such a code (`ERROR_ZERO_BALANCE`, `REJECTED_NOT_ENOUGH_CREDITS`, `RateLimited`) is split
    into words (`normalize_code`) and read by the wording rules and the concepts, as a
    message is. A code is stronger than prose in that its words are read alone: a veto
    elsewhere in the message (a key, a window) does not weaken them, and only *strong*
    rules count, on any reading. Only the families in `states` are taken from it: every
    gate family (which joins the message's words, rung 4 of `decide`, rather than deciding
    before them as a known code does), a throttle (which vetoes as a throttle's code does)
    and a refused transfer. Another refusal (`invalid_request_error` as "invalid request")
    is not: a category's words are too coarse to outvote a billing message.

    Args:
        states: The families a code's words may state.
        examples: Codes and the family each must state.
        look_alikes: Codes that must state no gate.
        source: The payloads that motivated it.
    """

    states: frozenset[Family]
    examples: tuple[tuple[str, Family], ...] = attrs.field(validator=_required, repr=False)
    look_alikes: tuple[str, ...] = attrs.field(converter=_tuple, default=(), repr=False)
    source: str = attrs.field(default="", validator=_required, repr=False)


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
_SUFFIX = re.compile(r"_(?:error|exception)$")
#: The longest code that is read: a longer value is a message.
MAX_CODE = 100


@functools.lru_cache(maxsize=1024)
def normalize_code(code: str) -> str:
    """A code in snake case; a problem type URI by its last segment
    (`https://example.com/probs/out-of-credit` -> `out_of_credit`), a name after a `#` by
    what follows it."""
    code = code.strip()[:MAX_CODE]
    if "/" in code:
        code = code.rstrip("/").rsplit("/", 1)[-1]
    if "#" in code:  # a URI's fragment, an AWS shape's name ("com.amazonaws.x#Name")
        code = code.rsplit("#", 1)[-1] or code
    return _SEPARATORS.sub("_", _CAMEL.sub("_", code).lower()).strip("_")


def without_suffix(normalized: str) -> str:
    """A normalized code without its `_error` / `_exception` suffix, if it has one."""
    return _SUFFIX.sub("", normalized) or normalized


def code_words(normalized: str) -> frozenset[str]:
    """The words of a normalized code."""
    return frozenset(normalized.split("_"))


# --------------------------------------------------------------------------- matching
#
# A pattern runs in a window from `_BEHIND` characters before an occurrence of one of its
# needles to `_AHEAD` after (wider than any match of the rules), for the first `_TRIES`
# occurrences: a substring search is far cheaper than a failed regular-expression search
# through a long message, and a body of repeated words stays linear.
_BEHIND = 100
_AHEAD = 160
_TRIES = 6
#: The longest text that is searched whole rather than in windows.
_WHOLE = 512


def found_near(patterns: Sequence[re.Pattern[str]], lowered: str, needles: tuple[str, ...]) -> bool:
    """`True` if one of `patterns` matches near one of the first occurrences of one of
    `needles` in `lowered`."""
    for needle in needles:
        start = lowered.find(needle)
        tries = 0
        while start >= 0 and tries < _TRIES:
            low, high = max(0, start - _BEHIND), start + _AHEAD
            for pattern in patterns:
                if pattern.search(lowered, low, high):
                    return True
            # The next window starts where this one's matches could no longer reach.
            start = lowered.find(needle, start + _AHEAD - _BEHIND)
            tries += 1
    return False


class Alternative(NamedTuple):
    """One top-level alternative of a rule's pattern, compiled, and the literal texts one of
    which every match of it starts with (empty when its start is no literal)."""

    pattern: re.Pattern[str]
    leads: tuple[str, ...]


def compile_pattern(pattern: str) -> tuple[Alternative, ...]:
    """A rule's pattern as one compiled pattern per top-level alternative, each with its
    leading literal first: the rule matches where any of them does."""
    return tuple(
        Alternative(re.compile(_literal_first(a)), _leads(a)) for a in _alternatives(pattern)
    )


_LITERAL = re.compile(r"(?:\\b)?((?:[^\\\[\](){}?*+.|^$]|\\[ '\-/])+)")
_QUANTIFIERS = ("?", "*", "+", "{")


def _leads(alternative: str) -> tuple[str, ...]:
    """The literal texts one of which every match of `alternative` starts with: its leading
    word (`\\bcredits? ...` -> `credit`), or each branch's of a leading group
    (`\\b(?:add|buy) ...` -> `add`, `buy`); `()` when there is none."""
    group = _LEADING_GROUP.match(alternative)
    if group is not None:
        if alternative[group.end() : group.end() + 1] in _QUANTIFIERS:
            return ()  # an optional group: a match may start after it
        branches = [_leads("\\b" + branch) for branch in _alternatives(group.group(1))]
        if any(not leads for leads in branches):
            return ()
        return tuple(lead for leads in branches for lead in leads)
    match = _LITERAL.match(alternative)
    if match is None:
        return ()
    literal = match.group(1).replace("\\", "")
    following = alternative[match.end() : match.end() + 1]
    if following in _QUANTIFIERS:
        literal = literal[:-1]  # the quantifier is its last character's
    literal = literal.rstrip()
    return (literal,) if len(literal) >= 2 else ()


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
