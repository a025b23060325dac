"""The concept layer's records: concepts, their lexicons, and the rules that combine them.

A wording rule (`rules.WordRule`) remembers a phrasing; a provider never seen words the same
gate its own way. The concept layer reads a message by *meaning*: each word or phrase of a
small lexicon names a `Concept` (what ran out, that it ran out, a plan, a requirement, a
lapse, a payment instrument, a failure, a time window...), a message is cut into clauses
(sentences), and a `ConceptRule` says which concepts, found together in one clause, state a
family: "[ran out + credits]" is a balance used up, "[plan + requirement]" a feature that is
not in the plan, "[lapse + subscription]" a subscription that is off.

Each lexicon and each rule is a record with its examples, look-alikes and source, held to
them by `tests/test_concepts.py`; the reader is `clauses.py`, the tables are
`vocabulary/lexicon.py` and `vocabulary/combinations.py`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any

import attrs

from .families import Family
from .rules import Strength

__all__ = ["LIFTING_REMEDIES", "Concept", "ConceptRule", "Lexicon", "Part"]


class Concept(enum.Enum):
    """What a word or phrase means to the concept layer.

    The first groups say what a message states; the verbs start what it asks for (a
    remedy); the last group are *vetoes*: words that say the refusal is something else (a
    time window, a bad key, a permission, a validation error, a transfer of the
    application's own money, a resource limit, a sandbox, a security lock).
    """

    # What ran out, and whose it is.
    BALANCE = "balance"  # balance, funds, prepaid, wallet: money held, whatever else is said
    CREDITS = "credits"  # credits, api tokens: money unless a period or a plan qualifies them
    QUOTA = "quota"  # a quota, not saying whose
    LIMIT = "limit"  # a limit, a cap, a maximum, not saying of what
    UNIT = "unit"  # a volume a plan grants: usage, compute time, pages, searches, results
    COUNT = "count"  # requests, tokens, characters, results: a window's or a request's too
    CAP = "cap"  # a cap the account set: a budget, a spend or hard limit
    PERIOD = "period"  # monthly, this month, billing cycle: a plan's allowance
    # "Wait for the next billing cycle": what ran out comes back when the plan's period
    # renews. Said anywhere in a text, it makes the credits the text names the plan's
    # (`clauses.read_concepts`).
    RENEWAL = "renewal"
    INCLUDED = "included"  # included, allotted, allowance, free tier, trial: the plan's
    # That it ran out.
    RAN_OUT = "ran out"
    # The plan, and what it takes.
    PLAN = "plan"
    REQUIREMENT = "requirement"
    NOT_SUBSCRIBED = "not subscribed"
    SERVICE = "service"  # what one subscribes to: an API, a service, a product, a feature
    # A lapse, and whose.
    LAPSE = "lapse"
    EXPIRED = "expired"  # a term that ended: an account's, a trial's (a lapse too)
    BILLING_SUBJECT = "billing subject"  # a subscription, a plan, billing, a license
    # A license or licenses: what a subscription sells per user or instance, and also a
    # software's terms or a key, so read only in the combinations that name one as sold.
    LICENSE = "license"
    ACCOUNT = "account"  # an account, an organization, a project: may be off for any reason
    UNPAID = "unpaid"  # past due, overdue, in arrears, an unpaid invoice
    # A payment or billing *issue* or *problem*: a standing condition, not an attempt that
    # failed. Said of the account, it is the account's state (`vocabulary/combinations.py`).
    PAYMENT_TROUBLE = "payment trouble"
    # Paying.
    INSTRUMENT = "instrument"  # a payment method, payment information, a credit card
    CARD = "card"  # a bare "card": a game's or a board's too
    PAYMENT = "payment"  # a payment, a charge
    FAILURE = "failure"
    MISSING = "missing"
    BILLING_ACCOUNT = "billing account"  # the account a paid tier bills (Google's)
    BILLING_WORD = "billing word"  # billing, an invoice, a bill: what "enable" or "pay" acts on
    # Verbs that start a remedy (the rest of the clause is what they ask for).
    TOP_UP_VERB = "top up"
    BUY_VERB = "buy"
    UPGRADE_VERB = "upgrade"
    SUBSCRIBE_VERB = "subscribe"
    RAISE_VERB = "raise"  # increase, raise, adjust, remove: a cap or a limit
    ADD_VERB = "add"
    ENABLE_VERB = "enable"
    RENEW_VERB = "renew"
    ASK_VERB = "ask"  # please, check, visit: what follows is asked for, not stated
    ACCEPT_VERB = "accept"  # accept, confirm: with a price, a charge to accept
    PRICE = "price"
    # A pointer to the price list: what a higher tier costs ("check the pricing page").
    PRICING = "pricing"
    # Vetoes.
    WINDOW = "window"  # a time window or a temporary block: lifts by itself
    # "Try again later": a window's hint, stated with no time. It vetoes as a window does
    # unless the text asks for a remedy that lifts the limit (raise, upgrade, top up...):
    # then it is a courtesy and the remedy says what lifts it (`clauses.read_concepts`).
    RETRY_LATER = "retry later"
    KEY = "key"
    FIELD = "field"  # a request's parameter or field
    BAD = "bad"  # with KEY or FIELD: an invalid, unknown or missing key or field
    PERMISSION = "permission"
    VALIDATION = "validation"
    RESOURCE = "resource"  # memory, storage, disk, a service quota: not money
    TRANSFER = "transfer"  # a payout or transfer of the application's own money
    SANDBOX = "sandbox"
    SECURITY = "security"

    @property
    def is_veto(self) -> bool:
        """`True` for a concept that says the refusal is something else."""
        return self in _VETOES

    @property
    def is_verb(self) -> bool:
        """`True` for a verb that starts a remedy."""
        return self in _VERBS


_VETOES = frozenset(
    {
        Concept.WINDOW,
        Concept.PERMISSION,
        Concept.VALIDATION,
        Concept.RESOURCE,
        Concept.TRANSFER,
        Concept.SANDBOX,
        Concept.SECURITY,
    }
)
#: The remedies that say what lifts a limit: beside one, "try again later" is no window.
LIFTING_REMEDIES = frozenset(
    {
        Concept.TOP_UP_VERB,
        Concept.BUY_VERB,
        Concept.UPGRADE_VERB,
        Concept.SUBSCRIBE_VERB,
        Concept.RAISE_VERB,
        Concept.RENEW_VERB,
        Concept.ENABLE_VERB,
    }
)
_VERBS = frozenset(
    {
        Concept.TOP_UP_VERB,
        Concept.BUY_VERB,
        Concept.UPGRADE_VERB,
        Concept.SUBSCRIBE_VERB,
        Concept.RAISE_VERB,
        Concept.ADD_VERB,
        Concept.ENABLE_VERB,
        Concept.RENEW_VERB,
        Concept.ASK_VERB,
        Concept.ACCEPT_VERB,
    }
)


def _terms(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _lower_terms(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    if not value or any(not isinstance(v, str) or not v.strip() or v != v.lower() for v in value):
        raise ValueError(f"{attribute.name} must be lower-case terms: {value!r}")


def _required(instance: Any, attribute: Any, value: Any) -> None:
    if not value:
        raise ValueError(f"a record needs {attribute.name}")


@attrs.frozen
class Lexicon:
    """The words and phrases that name one concept, in English, Chinese, Japanese and Korean.

    A phrase matches its words in a row, separated by blanks only; a Chinese, Japanese or
    Korean term matches anywhere in a run of its script (`clauses.UNSPACED`: Chinese and
    Japanese have no spaces, a Korean word carries its particles). A term may be in several
    lexicons: it names each of their concepts. The longest phrase at a place wins ("credit
    card" is an instrument, not credits; "data transfer" a unit, not a transfer).

    Args:
        concept: What the terms mean.
        terms: Lower-case words, phrases and Chinese, Japanese or Korean terms.
        source: Where the terms were seen, or why they are here.
    """

    concept: Concept
    terms: tuple[str, ...] = attrs.field(converter=_terms, validator=_lower_terms)
    source: str = attrs.field(validator=_required, repr=False)


class Part(enum.Enum):
    """Which part of a clause a rule reads: what it states, or all of it (a remedy)."""

    STATEMENT = "statement"  # the words before a remedy's verb
    WHOLE = "whole"  # the statement and the remedy together


def _groups(value: Iterable[Concept | Iterable[Concept]]) -> tuple[frozenset[Concept], ...]:
    return tuple(
        frozenset((group,)) if isinstance(group, Concept) else frozenset(group) for group in value
    )


def _concepts(value: Iterable[Concept]) -> frozenset[Concept]:
    return frozenset(value)


def _families(value: Iterable[Family]) -> frozenset[Family]:
    return frozenset(value)


@attrs.frozen
class ConceptRule:
    """Concepts that, found together in one clause, state a family.

    A clause matches when it holds a concept of every group of `needs` and none of
    `unless`. A *strong* rule counts on any readable 4xx when no veto speaks in the
    message; a *weak* one only where the status (402) or the host already says "pay". A
    veto in the clause itself stops the rule everywhere.

    Args:
        name: Unique among the rules, for tests and `http402 explain`.
        family: What the clause states.
        strength: Where it counts.
        needs: Groups of concepts; the clause must hold one of each group.
        unless: Concepts that must not be in the clause (what makes another rule's).
        part: What the rule reads: the clause's statement (before a remedy's verb), or
            all of it (a remedy).
        examples: Texts it must match, read with its family's reason.
        look_alikes: Texts it must not match.
        source: The payload file or public URL that motivated it.
        fallback: Read only when no other rule matches the text: a concept merely named
            (a 402 that says "Premium" and nothing more).
        decides_over: Families of the wording rules that this rule's family replaces
            when it matches and the concepts state none of them themselves: the tie rule
            ("your monthly credits are used up" is the plan's allowance, though a wording
            rule reads credits).
    """

    name: str
    family: Family
    strength: Strength
    needs: tuple[frozenset[Concept], ...] = attrs.field(converter=_groups, validator=_required)
    unless: frozenset[Concept] = attrs.field(converter=_concepts, default=frozenset())
    part: Part = Part.STATEMENT
    fallback: bool = False
    decides_over: frozenset[Family] = attrs.field(converter=_families, default=frozenset())
    examples: tuple[str, ...] = attrs.field(
        converter=_terms, default=(), validator=_required, repr=False
    )
    look_alikes: tuple[str, ...] = attrs.field(converter=_terms, default=(), repr=False)
    source: str = attrs.field(default="", validator=_required, repr=False)

    def matches(self, concepts: frozenset[Concept]) -> bool:
        """`True` if a clause holding `concepts` states this rule's family."""
        if not concepts.isdisjoint(self.unless):
            return False
        for group in self.needs:  # noqa: SIM110 - a plain loop: `all()` costs more
            if concepts.isdisjoint(group):
                return False
        return True
