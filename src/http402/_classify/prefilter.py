"""The prefilter: can this body hold strong evidence at all? Derived from the rule table.

A strict reading (a status other than 402 from a host with no adapter of its own) can claim
a body only by a strong rule or a strong code, so a body that holds none of their *needles*
is no gate, and is not parsed. It is sound because every match of a wording rule holds one
of its needles (the per-rule test checks each rule's examples and alternatives), and every
code holds each of its words in any spelling (`InsufficientCredits` lower-cased holds
`insufficient`). A needle's space stands for any run of blanks, and an escaped line break
(`\\n`) is a blank. Only a JSON `\\u` escape could spell a needle that the raw body lacks, so a
body with one is always read, and so is a body longer than `EVIDENCE_SCAN` (the searches
would cost more than the reading they spare).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from .clauses import is_unspaced
from .concepts import Concept, ConceptRule
from .rules import Strength
from .vocabulary import CODE_RULES, CODE_WORDS, WORDING
from .vocabulary.combinations import COMBINATIONS
from .vocabulary.lexicon import LEXICON

__all__ = ["EVIDENCE_NEEDLES", "EVIDENCE_SCAN", "may_hold_evidence"]

#: The longest body that is searched for needles; a longer one is read in full.
EVIDENCE_SCAN = 8 * 1024

#: Words that most error bodies hold: a code is looked for by another of its words.
_COMMON = frozenset(
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
        # How a throttle or a form's error says it ran out, too ("rate limit exceeded", "too
        # many requests", "value is over the maximum", "none left", "try up to 3 times").
        "exceed",
        "exceeds",
        "exceeding",
        "reach",
        "hit",
        "over",
        "too",
        "up",
        "enough",
        "none",
        "remaining",
        "left",
        "processing",
        "authentication",
        "feature",
        "supported",
        "limit",
        "out",
        "no",
        "to",
        "of",
        "in",
        "the",
        "is",
        "for",
        "on",
        "your",
        "you",
        "have",
        "has",
        "do",
        "does",
        "don't",
        "doesn't",
        "can't",
        "can",
        "only",
        "all",
        "more",
        "api",
        "be",
        "must",
        "a",
        "an",
        "access",
        "payment",
        "billing",
        "used",
        "run",
        "ran",
        "tokens",
        "token",
        # Words of many errors that are no gate: a concept rule is looked for by the terms
        # of another of its groups where it can.
        "add",
        "set",
        "update",
        "link",
        "enter",
        "provide",
        "open",
        "read",
        "past",
        "hold",
        "active",
        "non",
        "issue",
        "issues",
        "problem",
        "failed",
        "failure",
        "completed",
        "processed",
        "cap",
        "maximum",
        "custom",
        "cost",
        "control",
        "users",
        "accounts",
        "version",
        "requests",
        "calls",
        "choose",
        "move",
        "switch",
        "pay",
        "enable",
        "enabled",
        "restore",
        "activate",
        "cannot",
        "longer",
        "closed",
        "ended",
        "disabled",
        "source",
        "profile",
        "details",
        "info",
        "information",
        "method",
        "methods",
    ]
)


def _derive() -> tuple[str, ...]:
    """The needles of every strong rule and code that names a gate, reduced to the fewest
    words: a needle that holds a shorter one is found whenever it is."""
    words: set[str] = set()
    for rule in WORDING:
        if rule.strength is Strength.STRONG and rule.family.is_gate:
            words.update(rule.needles)
    for by_words in CODE_WORDS:
        if by_words.strength is Strength.STRONG and by_words.family.is_gate:
            if by_words.all_of:
                words.add(min(by_words.all_of, key=_commonness))
            else:
                words.update(by_words.any_of)
    for code_rule in CODE_RULES:
        if code_rule.strength is Strength.STRONG and code_rule.family.is_gate:
            words.update(_code_needles(code_rule.codes, words))
    for concept_rule in COMBINATIONS:
        if concept_rule.strength is Strength.STRONG and concept_rule.family.is_gate:
            words.update(concept_needles(concept_rule))
    words = {_stem(word) for word in words}
    return tuple(sorted(w for w in words if not any(o != w and o in w for o in words)))


#: A Cyrillic needle is looked for by its first letters, a stem its forms share: Russian
#: inflects, so a lexicon lists each form ("подписка", "подписки", "подписку", "подпиской"),
#: and without this each form would be one more search through every body that holds no
#: needle. A needle's prefix is found wherever the needle is, so the filter stays sound; it
#: only lets a few more bodies through to be read.
_STEM = 5
_CYRILLIC = re.compile("[\u0400-\u04ff]")


def _stem(word: str) -> str:
    if len(word) > _STEM and " " not in word and _CYRILLIC.search(word) is not None:
        return word[:_STEM]
    return word


def concept_needles(rule: ConceptRule) -> frozenset[str]:
    """The needles of a combination rule: those of every term of one of its groups (the
    group whose needles are the fewest common words). Every clause the rule matches holds a
    term of each group, so a text the rule matches holds one of these."""
    groups = [
        frozenset(needle for c in group for t in _TERMS[c] for needle in term_needles(t))
        for group in rule.needs
    ]
    return min(groups, key=lambda words: (sum(w in _COMMON for w in words), len(words)))


def term_needles(term: str) -> tuple[str, ...]:
    """What the prefilter looks for to find a lexicon term, in a message or in a code.

    A term's least common word, when it has one that is not common; a phrase of common
    words ("set limit", "api tokens") in each spelling a code gives it (`set_limit`,
    `set-limit`, `set.limit`, `SetLimit` lowered) and in a message's (`set limit`); a
    Chinese, Japanese or Korean term whole. A code's words are read as a clause
    (`normalize_code`), so a code that states a term holds one of these spellings.
    """
    if is_unspaced(term):
        return (term,)
    words = [w for w in term.replace("-", " ").split() if w]
    rare = [word for word in words if word not in _COMMON]
    if rare or len(words) == 1:
        return (max(rare or words, key=len),)
    return tuple(separator.join(words) for separator in (" ", "_", "-", ".", ""))


_TERMS: dict[Concept, list[str]] = {}
for _lexicon in LEXICON:
    _TERMS.setdefault(_lexicon.concept, []).extend(_lexicon.terms)


def _code_needles(codes: Iterable[str], words: set[str]) -> set[str]:
    needed: set[str] = set()
    for code in codes:
        parts = code.split("_")
        if not any(word in part for part in parts for word in words | needed):
            needed.add(min(parts, key=_commonness))
    return needed


def _commonness(word: str) -> tuple[bool, int]:
    return word in _COMMON, -len(word)


#: What a strict reading can claim a body by.
EVIDENCE_NEEDLES = _derive()


@functools.lru_cache(maxsize=256)
def may_hold_evidence(lowered: str) -> bool:
    """`False` when a body's text, in lower case, holds no needle of a strong rule or code
    (then no strict reading can claim it); `True` when it may. Cached, as the same few
    error bodies come over and over."""
    if len(lowered) > EVIDENCE_SCAN or _holds_a_needle(lowered):
        return True
    if "\\" in lowered:
        if "\\u" in lowered:
            return True
        # A line break inside a JSON string is an escape in the raw body.
        lowered = lowered.replace("\\n", " ").replace("\\t", " ").replace("\\r", " ")
    if "\n" in lowered or "\t" in lowered or "\r" in lowered or "  " in lowered:
        # A needle's space may be any run of blanks: looked for again in the text with
        # each run made one space (most bodies that hold a needle end above, unchanged).
        return _holds_a_needle(" ".join(lowered.split()))
    return False


def _holds_a_needle(lowered: str) -> bool:
    for needle in EVIDENCE_NEEDLES:  # noqa: SIM110 - a plain loop: `any()` costs more
        if needle in lowered:
            return True
    return False
