"""The rule table holds itself to its records: every wording rule and code matches its
examples with its reason, misses its look-alikes, and every text it can match holds one of
its needles (so the prefilter derived from the needles is sound)."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from http402 import Reason
from http402._classify import prefilter
from http402._classify.clauses import is_unspaced, read_clause
from http402._classify.concepts import Concept
from http402._classify.decide import _read_lowered, decide, read_code, read_words, shape_of
from http402._classify.families import Family
from http402._classify.fields import Fields, Message, read_fields
from http402._classify.readers import moves_money
from http402._classify.rules import (
    CodeRule,
    CodeWords,
    Strength,
    WordRule,
    _alternatives,
    _leads,
)
from http402._classify.vocabulary import CODE_AS_WORDS, CODE_RULES, CODE_WORDS, CODES, WORDING
from http402._classify.vocabulary.lexicon import LEXICON
from http402._classify.vocabulary.movement import MONEY_MOVEMENT

LOOK_ALIKE_FAMILIES = {Family.THROTTLE, Family.TRANSFER_REFUSED, Family.NOT_BILLING}


def message_fields(text: str) -> Fields:
    fields = Fields()
    fields.messages.append(Message(text, False))
    return fields


def spellings(code: str) -> list[str]:
    """A snake-case code as APIs write it."""
    parts = code.split("_")
    return [
        code,
        code.upper(),
        "".join(p.title() for p in parts),
        parts[0] + "".join(p.title() for p in parts[1:]),
        "-".join(parts),
        f"https://api.example.com/problems/{'-'.join(parts)}",
    ]


@pytest.mark.parametrize("rule", WORDING, ids=lambda r: r.name)
class TestWordingRules:
    def test_every_example_holds_a_needle_and_matches(self, rule: WordRule) -> None:
        """The rule finds each of its examples, near a needle the prefilter looks for."""
        for example in rule.examples:
            lowered = example.lower()
            assert any(needle in lowered for needle in rule.needles), example
            assert rule.matches(lowered), example

    def test_no_look_alike_matches(self, rule: WordRule) -> None:
        """The rule misses each of its look-alikes."""
        for look_alike in rule.look_alikes:
            assert not rule.matches(look_alike.lower()), look_alike

    def test_every_example_is_read_with_the_rules_reason(self, rule: WordRule) -> None:
        """Read alone as a message, each example gets the family's reason where the rule
        counts; a look-alike family's example is no gate (a weak veto, on a strict reading)."""
        strict = rule.strength is Strength.STRONG or rule.family in LOOK_ALIKE_FAMILIES
        for example in rule.examples:
            verdict = decide(message_fields(example), strict=strict)
            if rule.family in LOOK_ALIKE_FAMILIES:
                assert verdict is None, example
            else:
                assert verdict is not None, example
                assert verdict.reason is rule.family.reason, (example, verdict)

    def test_a_weak_rule_alone_is_no_evidence_on_a_strict_reading(self, rule: WordRule) -> None:
        """Strength is what it says: a weak gate rule's own words do not claim a non-402."""
        if rule.strength is Strength.STRONG or rule.family in LOOK_ALIKE_FAMILIES:
            return
        for example in rule.examples:
            said = read_words(example)
            if not said.strong:
                assert decide(message_fields(example), strict=True) is None, example


ALTERNATIVES = [
    (rule, alternative) for rule in WORDING for alternative in _alternatives(rule.pattern)
]


@pytest.mark.parametrize(
    ("rule", "alternative"),
    ALTERNATIVES,
    ids=[f"{rule.name}-{index}" for index, (rule, _) in enumerate(ALTERNATIVES)],
)
def test_every_text_a_rule_matches_holds_a_needle(rule: WordRule, alternative: str) -> None:
    """Texts generated from each alternative of a rule's pattern all hold one of its
    needles, so the prefilter, which looks only for needles, can never hide a match; and
    they start with one of the alternative's leading texts, by which it is skipped."""
    leads = _leads(alternative)

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.from_regex(re.compile(alternative), fullmatch=True))
    def holds_a_needle(text: str) -> None:
        lowered = text.lower()
        assert any(needle in lowered for needle in rule.needles), text
        # The leading texts an alternative is skipped without are really where it starts.
        assert not leads or lowered.startswith(leads), (text, leads)

    holds_a_needle()


def test_rule_names_are_unique() -> None:
    """A rule is named once, so a test failure or `explain` names one record."""
    names = [rule.name for rule in WORDING]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("rule", CODE_RULES, ids=lambda r: r.codes[0])
def test_every_code_reads_as_its_family_in_any_spelling(rule: CodeRule) -> None:
    """`INSUFFICIENT_QUOTA`, `InsufficientQuota`, `insufficient-quota`, a problem type URI:
    each spelling of a code (and with an `_error` suffix) names the rule's family."""
    for code in rule.codes:
        for spelled in [*spellings(code), code + "_error"]:
            said = read_code(_normalized(spelled))
            into = said.strong if rule.strength is Strength.STRONG else said.weak
            assert rule.family in into, (spelled, said)
    for look_alike in rule.look_alikes:
        assert (
            rule.family
            not in read_code(_normalized(look_alike)).strong
            | read_code(_normalized(look_alike)).weak
        ), look_alike


@pytest.mark.parametrize("rule", CODE_WORDS, ids=lambda r: r.name)
def test_codes_read_by_their_words(rule: CodeWords) -> None:
    """A code family read by its words names its examples, and not its look-alikes."""
    for example in rule.examples:
        said = read_code(_normalized(example))
        assert rule.family in said.strong | said.weak, (example, said)
    for look_alike in rule.look_alikes:
        said = read_code(_normalized(look_alike))
        assert rule.family not in said.strong | said.weak, (look_alike, said)


def test_no_code_is_in_two_rules() -> None:
    """Each code has one meaning."""
    assert sum(len(rule.codes) for rule in CODE_RULES) == len(CODES)


def test_the_prefilter_holds_a_needle_of_every_strong_rule_and_code() -> None:
    """The prefilter is derived from the table: each strong example, and each strong code in
    each spelling, holds one of its needles."""
    for rule in WORDING:
        if rule.strength is Strength.STRONG and rule.family.is_gate:
            for example in rule.examples:
                assert prefilter.may_hold_evidence(example.lower()), (rule.name, example)
    for code_rule in CODE_RULES:
        if code_rule.strength is Strength.STRONG and code_rule.family.is_gate:
            for code in code_rule.codes:
                for spelled in spellings(code):
                    assert prefilter.may_hold_evidence(f'{{"code": "{spelled}"}}'.lower()), spelled
    for by_words in CODE_WORDS:
        if by_words.strength is Strength.STRONG and by_words.family.is_gate:
            for example in by_words.examples:
                assert prefilter.may_hold_evidence(f'{{"code": "{example}"}}'.lower()), example


def test_the_prefilter_leaves_plain_errors_unread() -> None:
    """Most 4xx errors hold no needle: a missing resource, a bad key, a plain rate limit."""
    for body in (
        '{"error": {"message": "Not found", "code": "not_found"}}',
        '{"error": {"message": "Invalid API key", "type": "invalid_request_error"}}',
        '{"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}',
        '{"message": "max_tokens: must be less than 4096"}',
        '{"message": "Method not allowed", "code": "method_not_allowed"}',
    ):
        assert not prefilter.may_hold_evidence(body.lower()), body


def test_every_gate_family_has_a_reason_and_every_look_alike_none() -> None:
    """Families map to reasons once; the look-alikes name none."""
    for family in Family:
        if family in LOOK_ALIKE_FAMILIES:
            assert family.reason is None and not family.is_gate
        else:
            assert isinstance(family.reason, Reason)


def _normalized(code: str) -> str:
    from http402._classify.rules import normalize_code

    return normalize_code(code)


def _texts() -> list[str]:
    texts = [t for rule in WORDING for t in (*rule.examples, *rule.look_alikes)]
    for path in sorted(Path(__file__).parent.joinpath("payloads").glob("*.json")):
        body = json.loads(path.read_text(encoding="utf-8"))["response"]["body"]
        texts.extend(m.text for m in read_fields(_json_or_text(body)).messages)
    return texts


def _json_or_text(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body


@pytest.mark.parametrize("text", _texts())
def test_a_messages_shape_states_what_the_message_states(text: str) -> None:
    """Ids and large numbers are made alike before a message is read (so one that differs
    only by its request id is read once): no rule tells them apart."""
    assert _read_lowered(shape_of(text)) == _read_lowered(text.lower())


@given(
    st.sampled_from([t for rule in WORDING for t in rule.examples]),
    st.from_regex(r"[a-z0-9_-]{0,6}[0-9][a-z0-9_-]{0,30}", fullmatch=True),
)
@settings(max_examples=200, deadline=None, database=None)
def test_an_id_quoted_in_a_message_changes_nothing(text: str, quoted: str) -> None:
    """A request id, an organisation id or an amount added to a message states nothing."""
    with_id = f"{text} (request id: {quoted})"
    assert read_words(with_id).strong >= read_words(text).strong


class TestCodesReadAsWords:
    """A code no record knows is read by its words (`CODE_AS_WORDS`)."""

    def test_its_examples_state_their_families(self) -> None:
        """Each example code states its family, from its words alone."""
        for code, family in CODE_AS_WORDS.examples:
            said = read_code(_normalized(code))
            assert family in said.strong, (code, said)

    def test_its_look_alikes_state_no_gate(self) -> None:
        """A category's words (`invalid_request_error`) and a capacity's state no gate and
        no other refusal."""
        for code in CODE_AS_WORDS.look_alikes:
            said = read_code(_normalized(code))
            assert not said.gates and not said.contrary, (code, said)

    def test_only_the_declared_families_are_taken_from_a_codes_words(self) -> None:
        """A code's words never state another refusal: "invalid request" is too coarse."""
        assert Family.NOT_BILLING not in CODE_AS_WORDS.states
        assert Family.THROTTLE in CODE_AS_WORDS.states

    def test_a_throttles_code_vetoes_a_remedy(self) -> None:
        """ipapi.co's 429: `RateLimited` and "Please sign up for a paid plan" is no gate."""
        fields = read_fields(
            {
                "reason": "RateLimited",
                "message": "Please sign up for a paid plan at https://ipapi.co/pricing or "
                "contact us for a trial account",
                "wait": 1.0,
                "error": True,
            }
        )
        assert decide(fields, strict=True) is None
        assert decide(fields, strict=False) is None

    def test_a_codes_words_join_the_messages(self) -> None:
        """Read by its words, a code does not outrank the message's finer family: The Odds
        API's `OUT_OF_USAGE_CREDITS` beside "Usage quota has been reached. See usage plans"
        is the plan's allowance."""
        fields = read_fields(
            {
                "message": "Usage quota has been reached. See usage plans at "
                "https://the-odds-api.com",
                "error_code": "OUT_OF_USAGE_CREDITS",
            }
        )
        verdict = decide(fields, strict=True)
        assert verdict is not None and verdict.reason is Reason.PLAN_LIMIT_EXCEEDED


# --------------------------------------------------------------------------- money movement
#
# The words of a payment product's own money movement are declared once (`movement.py`) and
# read three ways: the concept lexicon, the look-alike wording rule and the request's path.

_MOVEMENT_RULE = next(r for r in WORDING if r.name == "operation of a payment product lacks funds")
#: Words near the source's that are in none of its uses.
_NOT_MOVEMENT = (
    "payment",
    "payments",
    "orders",
    "deposit",
    "charge",
    "invoice",
    "senders",
    "transferable",
    "refundable",
    "recipient",
    "balance",
    "充值",
)


def _names_a_transfer(word: str) -> bool:
    return Concept.TRANSFER in read_clause(word).whole


def _refused_for(word: str) -> bool:
    return _MOVEMENT_RULE.matches(f"{word}: insufficient funds")


def _in_path(word: str) -> bool:
    return moves_money(f"https://api.example.com/v1/{quote(word)}/batch?limit=1")


@pytest.mark.parametrize("word", MONEY_MOVEMENT.words)
def test_each_money_movement_word_is_read_by_the_lexicon_and_the_rule(word: str) -> None:
    """Each word of the source names a transfer to the concept reader (by its plain
    spelling, for a word with an accent) and makes a lack of funds a refused transfer."""
    assert _refused_for(word)
    plain = unicodedata.normalize("NFKD", word).encode("ascii", "ignore").decode() or word
    if word not in MONEY_MOVEMENT.concept_terms:
        assert plain != word and plain in MONEY_MOVEMENT.concept_terms, word
    assert _names_a_transfer(plain), plain
    assert is_unspaced(word) == (word in MONEY_MOVEMENT.unspaced)


@pytest.mark.parametrize("word", MONEY_MOVEMENT.operations)
def test_each_money_movement_operation_is_read_in_a_path(word: str) -> None:
    """Each operation of the source, as a path's segment, moves money."""
    assert _in_path(word)


def test_a_party_of_a_money_movement_is_no_path_segment() -> None:
    """`sender` names who pays in a message; a path `/senders` is an email identity."""
    assert MONEY_MOVEMENT.parties
    for word in MONEY_MOVEMENT.parties:
        assert _refused_for(word) and _names_a_transfer(word)
        assert not _in_path(word)


@pytest.mark.parametrize("word", _NOT_MOVEMENT)
def test_a_word_not_in_the_money_movement_source_is_read_by_none_of_its_uses(word: str) -> None:
    """A word near the source's but not in it is no transfer to the lexicon, the rule or
    the path."""
    assert word not in MONEY_MOVEMENT.words
    assert not _names_a_transfer(word)
    assert not _refused_for(word)
    assert not _in_path(word)


def test_an_exchange_order_is_read_in_a_path_only() -> None:
    """A trading product's order (`/api/v3/order`, `/spot/orders`) moves its user's own
    money; the word in a message does not name one, and `orders` alone is a purchase."""
    for word in MONEY_MOVEMENT.trades:
        assert _in_path(word)
        assert not _names_a_transfer(word) and not _refused_for(word)
    for market in MONEY_MOVEMENT.markets:
        for orders in MONEY_MOVEMENT.market_orders:
            assert moves_money(f"https://api.example.com/v4/{market}/{orders}")
            assert not moves_money(f"https://api.example.com/v4/{orders}")


def test_the_money_movement_source_holds_to_its_examples() -> None:
    """Its example paths move money and its look-alike paths do not."""
    for path in MONEY_MOVEMENT.examples:
        assert moves_money("https://api.example.com" + path), path
    for path in MONEY_MOVEMENT.look_alikes:
        assert not moves_money("https://api.example.com" + path), path


_PAYMENT_MADE_RULE = next(r for r in WORDING if r.name == "a payment the account makes lacks funds")


@pytest.mark.parametrize("noun", MONEY_MOVEMENT.payments)
def test_each_word_for_a_payment_is_read_only_with_a_verb_of_making(noun: str) -> None:
    """A payment the account makes lacks funds by the phrase, in either order ("to make this
    payment", "um diese Zahlung durchzuführen"); the word alone is no movement to any reader
    ("payment: insufficient funds" is as often a card's), nor a path's segment."""
    for verb in MONEY_MOVEMENT.making:
        for made in (f"{verb} this {noun}", f"{noun} {verb}"):
            assert _PAYMENT_MADE_RULE.matches(f"insufficient balance to {made}."), made
    assert not _PAYMENT_MADE_RULE.matches(f"insufficient balance for this {noun}.")
    assert noun not in MONEY_MOVEMENT.words
    assert not _names_a_transfer(noun)
    assert not _refused_for(noun)
    assert not _in_path(noun)


def test_the_lexicon_of_transfers_is_the_money_movement_source() -> None:
    """The lexicon of the concept `transfer` lists exactly the source's readable words and
    its stored-value phrases, which the lexicon of balances lists too."""
    (lexicon,) = [entry for entry in LEXICON if entry.concept is Concept.TRANSFER]
    assert lexicon.terms == MONEY_MOVEMENT.concept_terms + MONEY_MOVEMENT.stored_value
    balances = {t for entry in LEXICON if entry.concept is Concept.BALANCE for t in entry.terms}
    assert balances.issuperset(MONEY_MOVEMENT.stored_value)


@pytest.mark.parametrize("phrase", MONEY_MOVEMENT.stored_value)
def test_a_stored_value_cards_balance_lacking_is_a_refused_movement(phrase: str) -> None:
    """A gift or loyalty card's balance that lacks is the card holder's, not the API's bill."""
    assert Family.TRANSFER_REFUSED in read_words(f"{phrase} is exceeded").strong
    assert Family.TRANSFER_REFUSED in read_words(f"insufficient {phrase}.").strong
