"""Reading a text by meaning: its clauses, the concepts in each, what their combinations state.

A text is cut into clauses (sentences: a `.`, `!`, `?` or `;` before a blank, Chinese and
Japanese `。！？；`, and a clause joined by ", and" or ", but": "your account has reached the
set limit, and the model service has been paused" says what paused, not that the account is
off). Each clause is read word by word against the lexicons
(`vocabulary/lexicon.py`), the longest phrase at a place first; the words after a remedy's
verb ("upgrade", "top up", "purchase", "add") up to the next comma are what the clause *asks
for*, not what it states, so "please upgrade your plan" does not make a used-up balance the
plan's. Then every combination rule (`vocabulary/combinations.py`) is tried on each clause:

- a veto in the clause (a time window, a bad key, a permission, a validation error, a
  transfer, a resource, a sandbox, a security lock) stops every rule in that clause; so
  does a retry asked for with no time ("try again later"), unless the text asks for a
  remedy that lifts the limit (raise it, upgrade, top up, buy, subscribe, renew, enable):
  a stated window ("per minute", "in 30 seconds", "daily") vetoes whatever is asked;
- a veto anywhere else in the text (or a look-alike stated by the wording rules) makes the
  strong rules count as weak: a gate then needs a 402 or the provider's own host.

A 402 whose words no rule reads is read once more (`read_on_a_402`, rung 7 of `decide.py`):
the vetoes that lift nothing are set aside there.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import NamedTuple

from .concepts import LIFTING_REMEDIES, Concept, ConceptRule, Lexicon, Part
from .families import Family
from .rules import Strength
from .vocabulary.combinations import COMBINATIONS, NAMED_ON_A_402
from .vocabulary.lexicon import LEXICON
from .vocabulary.movement import LETTERS

__all__ = [
    "CONCEPT_SCAN",
    "UNSPACED",
    "ConceptReading",
    "clauses_of",
    "is_unspaced",
    "read_concepts",
    "read_on_a_402",
    "tokens_of",
]

#: How much of a text the concept layer reads: a provider states the reason up front.
CONCEPT_SCAN = 1024

_CLAUSE_END = re.compile(r"[.!?;](?:\s+|$)|,\s+(?:and|but)\s+|[\u3002\uff01\uff1f\uff1b]+")
#: Scripts whose words are matched inside a run, not as whole words: Japanese kana, Chinese
#: characters (Chinese and Japanese write no spaces) and Korean Hangul (whose words carry
#: their particles: "잔액부족으로" is "for want of balance").
UNSPACED = "\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3"
#: Letters of a spaced script beyond plain `a-z`, read as words: lower-case Latin letters with
#: an accent (Portuguese, Spanish, French, German, Italian, Turkish, Vietnamese: "créditos",
#: "überschritten", "yetersiz", "không đủ") and Cyrillic (Russian). One definition, in
#: `vocabulary/movement.py`, whose words are read with the same letters.
_LETTERS = LETTERS
#: A word (Latin or Cyrillic letters, digits, `$`, an apostrophe, inner dashes: "read-only",
#: "5-hour"), a run of an unspaced script, or one other character (which no phrase spans).
_TOKEN = re.compile(
    rf"[a-z0-9$'{_LETTERS}]+(?:-[a-z0-9$'{_LETTERS}]+)*|[{UNSPACED}]+"
    rf"|[^\sa-z0-9$'{_LETTERS}{UNSPACED}]"
)
_UNSPACED_CHAR = re.compile(f"[{UNSPACED}]")
_COMMA = frozenset({",", "\uff0c", "\u3001"})
#: A number and a short unit of time: "5-hour", "24 hour", "30 seconds", "5h".
_WINDOW_UNITS = frozenset({"hour", "hr", "h", "minute", "min", "second", "seconds", "sec", "s"})
_DIGITS_AND_UNIT = re.compile(
    r"[0-9]+-?(?:h|hr|hrs|hour|hours|min|mins|minute|minutes|s|sec|secs|second|seconds)"
)
_WINDOW = frozenset({Concept.WINDOW})


def tokens_of(text: str) -> list[str]:
    """The tokens of a lower-case text, as the lexicons are matched against them: a word
    with dashes that no lexicon knows is read as its parts ("token-plan" is "token plan")."""
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    tokens = _TOKEN.findall(text)
    if "-" not in text:
        return tokens
    split: list[str] = []
    for token in tokens:
        if "-" in token and len(token) > 1 and token not in _DASHED and not token[0].isdigit():
            split.extend(token.split("-"))
        else:
            split.append(token)
    return split


def is_unspaced(term: str) -> bool:
    """`True` when `term` holds a character of a script matched inside a run (`UNSPACED`)."""
    return _UNSPACED_CHAR.search(term) is not None


def clauses_of(text: str) -> list[str]:
    """The clauses of a lower-case text."""
    return [clause for clause in _CLAUSE_END.split(text) if clause.strip()]


# --------------------------------------------------------------------------- the lexicons


def _compile(
    lexicons: Iterable[Lexicon],
) -> tuple[
    dict[str, frozenset[Concept]],
    dict[str, tuple[tuple[tuple[str, ...], frozenset[Concept]], ...]],
    tuple[tuple[str, frozenset[Concept]], ...],
]:
    words: dict[str, set[Concept]] = {}
    phrases: dict[tuple[str, ...], set[Concept]] = {}
    chinese: dict[str, set[Concept]] = {}
    for lexicon in lexicons:
        for term in lexicon.terms:
            if is_unspaced(term):
                chinese.setdefault(term, set()).add(lexicon.concept)
                continue
            tokens = tuple(tokens_of(term))
            if len(tokens) == 1:
                words.setdefault(tokens[0], set()).add(lexicon.concept)
            else:
                phrases.setdefault(tokens, set()).add(lexicon.concept)
    by_first: dict[str, list[tuple[tuple[str, ...], frozenset[Concept]]]] = {}
    for tokens, concepts in phrases.items():
        # A phrase that starts with a word of its own is read whole when it is there.
        by_first.setdefault(tokens[0], []).append((tokens[1:], frozenset(concepts)))
    return (
        {word: frozenset(concepts) for word, concepts in words.items()},
        {
            first: tuple(sorted(rests, key=lambda rest: -len(rest[0])))
            for first, rests in by_first.items()
        },
        tuple(
            (term, frozenset(concepts))
            for term, concepts in sorted(chinese.items(), key=lambda item: -len(item[0]))
        ),
    )


#: The lexicons' words with dashes, read whole ("read-only", "pay-as-you-go").
_DASHED: frozenset[str] = frozenset(
    term for lexicon in LEXICON for term in lexicon.terms if "-" in term and " " not in term
)
_WORDS, _PHRASES, _CHINESE = _compile(LEXICON)


class Clause(NamedTuple):
    """What one clause holds: the concepts of what it states, and of all of it (with what
    it asks for); whether a veto speaks in it."""

    statement: frozenset[Concept]
    whole: frozenset[Concept]
    vetoed: bool


def read_clause(clause: str) -> Clause:
    """The concepts of one lower-case clause."""
    tokens = tokens_of(clause)
    statement: set[Concept] = set()
    asked: set[Concept] = set()
    into = statement
    count = len(tokens)
    index = 0
    words, phrases = _WORDS, _PHRASES
    while index < count:
        token = tokens[index]
        if token in _COMMA:
            into = statement  # what a remedy asks for ends at a comma
            index += 1
            continue
        found = None
        step = 1
        candidates = phrases.get(token)
        if candidates is not None:
            for rest, concepts in candidates:
                end = index + 1 + len(rest)
                if end <= count and tuple(tokens[index + 1 : end]) == rest:
                    found, step = concepts, 1 + len(rest)
                    break
        if found is None:
            found = words.get(token)
            if found is None:
                found = _other(token, tokens, index)
        if found:
            if into is statement and any(concept.is_verb for concept in found):
                into = asked
            into.update(found)
        index += step
    whole = frozenset(statement | asked)
    vetoed = any(concept.is_veto for concept in whole) or (
        Concept.BAD in whole and (Concept.KEY in whole or Concept.FIELD in whole)
    )
    return Clause(frozenset(statement), whole, vetoed)


def _other(token: str, tokens: list[str], index: int) -> frozenset[Concept] | None:
    """The concepts of a token that is no lexicon word: a run of Chinese, a number with a
    short unit of time, a word's possessive."""
    first = token[0]
    if first >= "\u3040" and _UNSPACED_CHAR.match(first):
        found: set[Concept] = set()
        for term, concepts in _CHINESE:
            if term in token:
                found.update(concepts)
        return frozenset(found) if found else None
    if first.isdigit():
        if _DIGITS_AND_UNIT.fullmatch(token):
            return _WINDOW
        following = index + 1
        if following < len(tokens) and tokens[following] == "-":
            following += 1
        if following < len(tokens) and tokens[following] in _WINDOW_UNITS:
            return _WINDOW
        return None
    if token.endswith("'s"):
        return _WORDS.get(token[:-2])
    return None


# --------------------------------------------------------------------------- the rules


class ConceptReading(NamedTuple):
    """What a text states by its concepts: the families of the rules that count on any
    readable 4xx (`strong`) and only on a 402 or the provider's host (`weak`), the names of
    the rules that matched, whether a veto spoke in it, and whether that veto is a limit
    that lifts by itself (a time window, a resource in use)."""

    strong: frozenset[Family]
    weak: frozenset[Family]
    rules: tuple[str, ...]
    vetoed: bool
    lifts: bool = False
    #: The wording rules' families that the concepts replace (`ConceptRule.decides_over`).
    replaces: frozenset[Family] = frozenset()


_NOTHING = ConceptReading(frozenset(), frozenset(), (), False)
_RETRY_LATER = Concept.RETRY_LATER
_RENEWAL = Concept.RENEWAL
_PERIOD = frozenset({Concept.PERIOD})


def _of_the_period(clause: Clause) -> Clause:
    """`clause`, its credits read as a period's (the text says the plan's period renews them)."""
    if Concept.CREDITS not in clause.statement:
        return clause
    return Clause(clause.statement | _PERIOD, clause.whole | _PERIOD, clause.vetoed)


_LIFTS = frozenset({Concept.WINDOW, Concept.RESOURCE, Concept.RETRY_LATER})
#: A bad key: a refusal that no payment lifts either (a 402 that states only it is no gate).
_BAD_KEY = frozenset({Concept.BAD, Concept.KEY})
_GATE_RULES = tuple(rule for rule in COMBINATIONS if rule.family.is_gate)
_STATEMENT_RULES = tuple(
    rule for rule in _GATE_RULES if rule.part is Part.STATEMENT and not rule.fallback
)
_WHOLE_RULES = tuple(rule for rule in _GATE_RULES if rule.part is Part.WHOLE)
_FALLBACK_RULES = tuple(rule for rule in _GATE_RULES if rule.fallback)
#: Look-alikes are read in the clauses a veto stops (their words are vetoes), and count
#: whatever else the text says: they veto in turn.
_LOOK_ALIKE_RULES = tuple(rule for rule in COMBINATIONS if not rule.family.is_gate)


def read_concepts(lowered: str, *, vetoed: bool = False) -> ConceptReading:
    """What a lower-case text states by the combination rules (its first `CONCEPT_SCAN`
    characters).

    Args:
        lowered: The text, in lower case.
        vetoed: Whether a look-alike was stated in the text by other means (the wording
            rules' throttle, transfer or other refusal): the strong rules then count as
            weak.
    """
    return _read(lowered[:CONCEPT_SCAN], vetoed)


@functools.lru_cache(maxsize=512)
def _read(text: str, vetoed: bool) -> ConceptReading:
    # Cached: a provider sends the same few messages (callers pass them in their shape).
    matched: list[ConceptRule] = []
    read: list[Clause] = []
    lifts = False
    clauses = [read_clause(clause_text) for clause_text in clauses_of(text)]
    # "Try again later" is a window's hint unless the text asks for a remedy that lifts the
    # limit: then the remedy says what lifts it, and the hint is a courtesy.
    hint_vetoes = any(_RETRY_LATER in clause.whole for clause in clauses) and all(
        clause.whole.isdisjoint(LIFTING_REMEDIES) for clause in clauses
    )
    if any(_RENEWAL in clause.whole for clause in clauses):
        # Credits that the text says come back when the plan's period renews are the plan's
        # allowance, whichever clause says so ("You have run out of credits. Please upgrade
        # your plan or wait for the next billing cycle."): read as a period's credits.
        clauses = [_of_the_period(clause) for clause in clauses]
    for clause in clauses:
        if clause.vetoed or (hint_vetoes and _RETRY_LATER in clause.whole):
            vetoed = True
            lifts = lifts or not clause.whole.isdisjoint(_LIFTS) or clause.whole >= _BAD_KEY
            for rule in _LOOK_ALIKE_RULES:
                if rule.matches(clause.whole):
                    matched.append(rule)
            continue
        if not clause.whole:
            continue
        read.append(clause)
        for rule in _STATEMENT_RULES:
            if rule.matches(clause.statement):
                matched.append(rule)
        for rule in _WHOLE_RULES:
            if rule.matches(clause.whole):
                matched.append(rule)
    if not matched and "{" not in text:
        # A concept merely named, in prose (not a key of JSON that did not parse): only
        # where nothing else is stated.
        for clause in read:
            matched.extend(rule for rule in _FALLBACK_RULES if rule.matches(clause.statement))
    if not matched:
        return _NOTHING if not vetoed else ConceptReading(frozenset(), frozenset(), (), True, lifts)
    strong: set[Family] = set()
    weak: set[Family] = set()
    names: list[str] = []
    replaces: set[Family] = set()
    for rule in matched:
        if rule.strength is Strength.STRONG and (not vetoed or not rule.family.is_gate):
            strong.add(rule.family)
        else:
            weak.add(rule.family)
        replaces.update(rule.decides_over)
        if rule.name not in names:
            names.append(rule.name)
    replaces -= strong | weak  # what the concepts state themselves is not replaced
    return ConceptReading(
        frozenset(strong),
        frozenset(weak - strong),
        tuple(names),
        vetoed,
        lifts,
        frozenset(replaces),
    )


#: The vetoes that a 402's own reading sets aside (`read_on_a_402`): a form's or a lookup's
#: words ("Application with ID ... belongs to an account which has no balance available") and
#: a test environment's ("You have consumed the allocated Sandbox usage") say what the request
#: was about, not that something other than money refused it, and on a 402 they never made it
#: no gate (it was `unknown`). A window, a retry, a resource, a bad key, a permission, a
#: security hold and a transfer stay vetoes there: each names a refusal no payment lifts.
SET_ASIDE_ON_A_402 = frozenset({Concept.VALIDATION, Concept.SANDBOX})
_NAMED_RULES = (*_FALLBACK_RULES, *NAMED_ON_A_402)


@functools.lru_cache(maxsize=128)
def read_on_a_402(lowered: str) -> frozenset[Family]:
    """The gate families a 402's lower-case text names by its concepts once the vetoes that
    lift nothing (`SET_ASIDE_ON_A_402`) are set aside: the combination rules first, and only
    where none matches, a concept merely named (the fallback rules, then `NAMED_ON_A_402`).
    A clause that another veto stops is not read. Cached: asked only of a 402 that no rule
    reads, whose few texts come again."""
    read: list[Clause] = []
    for clause_text in clauses_of(lowered[:CONCEPT_SCAN]):
        clause = read_clause(clause_text)
        statement = clause.statement - SET_ASIDE_ON_A_402
        whole = clause.whole - SET_ASIDE_ON_A_402
        if not whole or _RETRY_LATER in whole:
            continue
        if any(concept.is_veto for concept in whole) or (
            Concept.BAD in whole and (Concept.KEY in whole or Concept.FIELD in whole)
        ):
            continue
        read.append(Clause(statement, whole, False))
    found = {
        rule.family
        for clause in read
        for rule in (*_STATEMENT_RULES, *_WHOLE_RULES)
        if rule.matches(clause.whole if rule.part is Part.WHOLE else clause.statement)
    }
    if not found and "{" not in lowered:
        found = {
            rule.family
            for clause in read
            for rule in _NAMED_RULES
            if rule.matches(clause.whole if rule.part is Part.WHOLE else clause.statement)
        }
    return frozenset(found)
