"""The concept layer holds itself to its records: every lexicon term names its concept, every
combination rule matches its examples and misses its look-alikes, the tie rule between the
plan's allowance and money is the stated one, vetoes stop what they should, and the
prefilter finds every text a strong combination can claim (in a message and in a code)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import http402
from http402 import Reason
from http402._classify import classify_event, prefilter
from http402._classify.clauses import read_clause, read_concepts, tokens_of
from http402._classify.concepts import Concept, ConceptRule, Part
from http402._classify.decide import decide, read_code, read_words
from http402._classify.families import Family
from http402._classify.fields import Fields, Message
from http402._classify.rules import Strength, normalize_code
from http402._classify.vocabulary.combinations import COMBINATIONS
from http402._classify.vocabulary.lexicon import LEXICON

TERMS = [(lexicon.concept, term) for lexicon in LEXICON for term in lexicon.terms]
STRONG_GATES = [
    rule for rule in COMBINATIONS if rule.strength is Strength.STRONG and rule.family.is_gate
]


def message_fields(text: str) -> Fields:
    fields = Fields()
    fields.messages.append(Message(text, False))
    return fields


def reason(text: str, *, strict: bool) -> Reason | None:
    verdict = decide(message_fields(text), strict=strict)
    return None if verdict is None else verdict.reason


def response(status: int, body: Any, url: str = "http://localhost:4000/v1/x") -> httpx.Response:
    return httpx.Response(
        status,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        request=httpx.Request("POST", url),
    )


@pytest.mark.parametrize(("concept", "term"), TERMS, ids=[f"{c.value}:{t}" for c, t in TERMS])
def test_every_term_read_alone_names_its_concept(concept: Concept, term: str) -> None:
    """A term of a lexicon, read as a clause of its own, names the lexicon's concept (the
    longest phrase at a place wins, so no term hides another's)."""
    assert concept in read_clause(term).whole, (term, read_clause(term))


@pytest.mark.parametrize("rule", COMBINATIONS, ids=lambda r: r.name)
class TestCombinationRules:
    def test_every_example_matches(self, rule: ConceptRule) -> None:
        """The rule finds each of its examples."""
        for example in rule.examples:
            assert rule.name in read_concepts(example.lower()).rules, example

    def test_no_look_alike_matches(self, rule: ConceptRule) -> None:
        """The rule misses each of its look-alikes."""
        for look_alike in rule.look_alikes:
            assert rule.name not in read_concepts(look_alike.lower()).rules, look_alike

    def test_every_example_is_a_gate_where_the_rule_counts(self, rule: ConceptRule) -> None:
        """Read alone as a message, each example is a gate where the rule counts: a strong
        rule's on any readable status, a weak one's on a 402 only; a look-alike rule's
        example is no gate anywhere."""
        strict = rule.strength is Strength.STRONG
        if not rule.family.is_gate:
            for example in rule.examples:
                assert reason(example, strict=False) is None, example
            return
        for example in rule.examples:
            assert reason(example, strict=strict) is not None, example
            if not strict and not read_words(example).strong:
                assert reason(example, strict=True) is None, example

    def test_a_statement_states_its_familys_reason(self, rule: ConceptRule) -> None:
        """A rule that names what happened (not vague, not a remedy) gives its family's
        reason to each of its examples."""
        if rule.part is not Part.STATEMENT or rule.family.is_vague:
            return
        for example in rule.examples:
            assert reason(example, strict=False) is rule.family.reason, example


def test_rule_names_are_unique() -> None:
    """A rule is named once, so a test failure or `explain` names one record."""
    names = [rule.name for rule in COMBINATIONS]
    assert len(names) == len(set(names))


class TestWhoseItIs:
    """The tie rule of `vocabulary/combinations.py`, step by step."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # 1. A cap the account set, even a monthly one.
            ("Monthly usage hard limit exceeded", Reason.INSUFFICIENT_CREDITS),
            ("You have reached the spend cap of this workspace.", Reason.INSUFFICIENT_CREDITS),
            # 2. A balance is money, whatever the clause says of a plan.
            ("Your plan's balance is not enough for this call.", Reason.INSUFFICIENT_CREDITS),
            # 3. A period, an inclusion or a plan makes credits or a quota the plan's.
            ("You have used up the credits included this month.", Reason.PLAN_LIMIT_EXCEEDED),
            ("You have exceeded your allotted message quota.", Reason.PLAN_LIMIT_EXCEEDED),
            ("You have exhausted your free trial credits.", Reason.PLAN_LIMIT_EXCEEDED),
            ("You have exceeded the API calls of your subscription.", Reason.PLAN_LIMIT_EXCEEDED),
            # 4. Credits alone are money.
            ("not enough api tokens for this generation", Reason.INSUFFICIENT_CREDITS),
            ("该令牌额度已用尽", Reason.INSUFFICIENT_CREDITS),
            # 5. A volume alone is the plan's.
            ("Your project has exceeded the compute time quota.", Reason.PLAN_LIMIT_EXCEEDED),
        ],
    )
    def test_on_any_readable_status(self, text: str, expected: Reason) -> None:
        assert reason(text, strict=True) is expected

    def test_a_monthly_rate_limit_is_an_allowance_and_a_per_minute_one_a_throttle(
        self,
    ) -> None:
        """A monthly "rate limit" is the plan's; a window of minutes, hours or a day lifts
        by itself."""
        assert reason("You've exceeded your key's monthly rate limit.", strict=True) is (
            Reason.PLAN_LIMIT_EXCEEDED
        )
        for window in ("per minute", "5-hour", "daily"):
            text = f"You've exceeded your {window} usage limit. Upgrade your plan."
            assert reason(text, strict=True) is None, text

    def test_the_remedy_decides_a_vague_allowance(self) -> None:
        """An allowance or a bare quota takes the reason of the remedy the message asks for;
        a qualifier after the remedy's verb qualifies nothing."""
        subscribe = "You have reached your quota. Please, subscribe to a paid plan."
        assert reason(subscribe, strict=False) is Reason.PLAN_LIMIT_EXCEEDED
        check = "You have exceeded your current quota, please check your plan."
        assert reason(check, strict=False) is Reason.INSUFFICIENT_CREDITS
        text = "Cannot download: bandwidth cap exceeded. See the page to increase your cap."
        assert reason(text, strict=True) is Reason.INSUFFICIENT_CREDITS

    def test_a_wording_rules_credits_do_not_outvote_a_stated_period(self) -> None:
        """Where a wording rule reads credits and the clause names a month, the month says
        whose they are; where the plan is only asked for, the credits stay money."""
        assert reason("You have used all of your monthly credits.", strict=True) is (
            Reason.PLAN_LIMIT_EXCEEDED
        )
        text = "You have run out of credits or need a Grok subscription."
        assert reason(text, strict=True) is Reason.INSUFFICIENT_CREDITS

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            # The plan's period renews the credits: the plan's allowance, over the code
            # (research/payloads9 ScrapeGraphAI's 402).
            (
                {
                    "error": "insufficient_credits",
                    "message": "You have run out of credits. Please upgrade your plan or wait "
                    "for the next billing cycle.",
                },
                Reason.PLAN_LIMIT_EXCEEDED,
            ),
            (
                {
                    "error": "insufficient_credits",
                    "message": "You have used all of your monthly credits.",
                },
                Reason.PLAN_LIMIT_EXCEEDED,
            ),
            # A top-up asked beside it: credits one can buy, whatever renews them.
            (
                {
                    "error": "insufficient_credits",
                    "message": "You have run out of credits. Top up or wait for the next "
                    "billing cycle.",
                },
                Reason.INSUFFICIENT_CREDITS,
            ),
            (
                {
                    "error": "insufficient_credits",
                    "message": "You have run out of credits. Please top up or upgrade your plan.",
                },
                Reason.INSUFFICIENT_CREDITS,
            ),
            # The code names what ran out when the words only ask for the plan.
            (
                {
                    "error": "insufficient_balance",
                    "message": "Insufficient balance. Please upgrade your plan.",
                },
                Reason.INSUFFICIENT_CREDITS,
            ),
            # A usage limit is no period's credits: a finer credits code keeps deciding.
            (
                {
                    "error": {
                        "message": "You have reached your API usage limits.",
                        "details": {"error_code": "credits_required"},
                    }
                },
                Reason.INSUFFICIENT_CREDITS,
            ),
            # A balance is money held: a billing cycle named beside it does not make it the plan's.
            (
                {"message": "Insufficient balance. Your next billing cycle starts on May 1."},
                Reason.INSUFFICIENT_CREDITS,
            ),
            # DESIGN: a bare used-up quota is a usage quota, insufficient_credits (Ollama's 402).
            ({"error": "Quota exceeded"}, Reason.INSUFFICIENT_CREDITS),
        ],
    )
    def test_credits_the_plans_period_renews_are_the_plans(
        self, body: dict[str, Any], expected: Reason
    ) -> None:
        """A code that says credits ran out is refined by words that say whose they are: the
        plan's allowance for a period ("wait for the next billing cycle", "monthly credits").
        "Top up" beside it keeps them money; a bare quota stays `insufficient_credits`."""
        payment = http402.classify(response(402, body))
        assert payment is not None and payment.reason is expected, body


class TestVetoes:
    @pytest.mark.parametrize(
        "text",
        [
            "You have either exceeded your quota or that API key does not exist.",
            "Your account is temporary blocked due to exceeding of requests limitation of your "
            "subscription type. Please choose the proper subscription.",
            "You do not have permission to view this dataset. Please subscribe to this dataset.",
            "The plan field is required.",
            "Your account does not have enough balance to carry out the payout operation.",
            "By launching this job you will exceed the memory limit of 8192MB for all runs.",
            "You can only send testing emails to your own address on the free plan.",
        ],
    )
    def test_a_veto_in_the_message_keeps_a_non_402_no_gate(self, text: str) -> None:
        """A bad key, a time window, a permission, a form field, a payout, a resource or a
        sandbox speaks in the message: its combinations do not claim a non-402."""
        assert reason(text, strict=True) is None, text

    def test_a_veto_elsewhere_leaves_a_402_its_reason(self) -> None:
        """A veto in another clause makes the strong rules weak: a 402 still gets the
        reason, a 403 does not."""
        text = "Only EOD data allowed for free users. Invalid parameter: symbol."
        assert reason(text, strict=True) is None
        assert reason(text, strict=False) is Reason.PLAN_LIMIT_EXCEEDED

    def test_a_veto_in_the_clause_stops_the_rule_on_a_402_too(self) -> None:
        """The clause that states the memory limit states no gate, whatever the status."""
        assert read_concepts("you will exceed the memory limit of 8192mb.").rules == ()


class TestA402ThatLiftsByItself:
    def test_a_402_that_states_only_a_resource_limit_is_no_gate(self) -> None:
        """A 402 that plainly says a limit that frees itself (memory in use by other runs)
        is no gate; one that says nothing is still `unknown`."""
        body = {
            "error": {
                "type": "actor-memory-limit-exceeded",
                "message": "By launching this job you will exceed the memory limit of 8192MB "
                "for all your Actor runs and builds.",
            }
        }
        assert http402.classify(response(402, body)) is None
        nothing = http402.classify(response(402, {"error": {"message": "Request failed."}}))
        assert nothing is not None and nothing.reason is Reason.UNKNOWN

    def test_a_402_that_states_a_throttle_in_plain_text_is_no_gate(self) -> None:
        answer = httpx.Response(
            402,
            headers={"content-type": "text/plain"},
            content=b"Too many concurrent requests, try again in a minute.",
            request=httpx.Request("GET", "https://api.example.com/v1/x"),
        )
        assert http402.classify(answer) is None


class TestCodesByTheirWords:
    @pytest.mark.parametrize(
        ("code", "family"),
        [
            ("NOT_ENOUGH_BALANCE", Family.BALANCE_EXHAUSTED),
            ("OPTION_NOT_IN_PLAN", Family.PLAN_FEATURE),
            ("SetLimitExceeded", Family.SPEND_CAP_REACHED),
            ("NO_PAYMENT_INFORMATION_FOUND", Family.INSTRUMENT_MISSING),
            ("ComputeTimeQuotaExceeded", Family.PLAN_VOLUME_USED),
        ],
    )
    def test_a_code_no_rule_knows_is_read_by_its_words(self, code: str, family: Family) -> None:
        said = read_code(normalize_code(code))
        assert family in said.strong and said.by_concepts, (code, said)

    def test_a_name_after_a_hash_is_the_code(self) -> None:
        """An AWS JSON 1.1 `__type` may carry its shape's namespace: the name is the code."""
        said = read_code(normalize_code("com.amazonaws.support#SubscriptionRequiredException"))
        assert Family.PLAN_FEATURE in said.strong

    def test_a_code_read_by_its_words_does_not_outvote_the_message(self) -> None:
        """Airtable's `PUBLIC_API_BILLING_LIMIT_EXCEEDED` reads like a cap, but its message
        says the plan's monthly requests: the words decide."""
        body = {
            "errors": [
                {
                    "error": "PUBLIC_API_BILLING_LIMIT_EXCEEDED",
                    "message": "API billing plan limit exceeded. You've reached the maximum "
                    "number of requests allowed for this month.",
                }
            ]
        }
        payment = http402.classify(response(429, body))
        assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
        assert payment.code == "PUBLIC_API_BILLING_LIMIT_EXCEEDED"


class TestTheCodeIsTheProvidersOwn:
    @pytest.mark.parametrize(
        "error",
        [
            {"type": "insufficient_quota", "code": "credit_balance_exhausted", "message": "x"},
            {"code": "credit_balance_exhausted", "type": "insufficient_quota", "message": "x"},
        ],
    )
    def test_a_finer_code_next_to_a_quota_type_is_the_one_reported(
        self, error: dict[str, Any]
    ) -> None:
        """OpenAI's `credit_balance_exhausted` beside the type `insufficient_quota`, in a
        body and in a stream's event, in either order."""
        error = {**error, "message": "You have no credits remaining."}
        for status in (402, 429):
            payment = http402.classify(response(status, {"error": error}))
            assert payment is not None and payment.code == "credit_balance_exhausted"
        event = json.dumps({"type": "error", "sequence_number": 2, "error": error}).encode()
        payment = classify_event(event, host="api.openai.com")
        assert payment is not None and payment.code == "credit_balance_exhausted"

    def test_a_code_that_restates_the_status_is_none_and_an_error_code_is_kept(self) -> None:
        """A bare `code` of 402 on a 402 restates the status; Postmark's `ErrorCode` 405 on a
        422 is its own; JSend's `"status": "error"` is an outcome."""
        gateway = http402.classify(response(402, {"code": 402, "message": "Insufficient credits"}))
        assert gateway is not None and gateway.code is None
        postmark = {"ErrorCode": 405, "Message": "Not allowed to send: you ran out of credits."}
        payment = http402.classify(response(422, postmark))
        assert payment is not None and payment.code == "405"
        jsend = {"status": "error", "message": "Insufficient balance, please recharge."}
        payment = http402.classify(response(402, jsend))
        assert payment is not None and payment.code is None


# --------------------------------------------------------------------------- the prefilter

_FILLER = st.sampled_from(["", "the", "your", "this", "now", "account", "x9", "for"])


def _spelled(words: list[str], style: str) -> str:
    if style == "message":
        return " ".join(words)
    parts = [part for word in words for part in word.replace("-", " ").split()]
    if style == "snake":
        return "_".join(parts).upper()
    if style == "kebab":
        return "-".join(parts)
    if style == "dotted":
        return "Err." + ".".join(part.title() for part in parts)
    return "".join(part.title() for part in parts)  # camel


@st.composite
def claimed_texts(draw: st.DrawFn) -> tuple[ConceptRule, str, str]:
    """A strong rule, and a message or a code built from a term of each of its groups with
    filler words between, in one of the spellings APIs use."""
    rule = draw(st.sampled_from(STRONG_GATES))
    words: list[str] = []
    for group in rule.needs:
        concept = draw(st.sampled_from(sorted(group, key=lambda c: c.value)))
        terms = [t for c, t in TERMS if c is concept and t.isascii()]
        if not terms:
            terms = [t for c, t in TERMS if c is concept]
        words.append(draw(st.sampled_from(terms)))
        filler = draw(_FILLER)
        if filler:
            words.append(filler)
    words = draw(st.permutations(words))
    style = draw(st.sampled_from(["message", "snake", "kebab", "dotted", "camel"]))
    return rule, style, _spelled(list(words), style)


@given(claimed_texts())
@settings(
    max_examples=400,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_prefilter_finds_every_text_a_strong_combination_claims(
    drawn: tuple[ConceptRule, str, str],
) -> None:
    """Whatever a strong combination claims, as a message or as a code in any spelling, the
    prefilter (derived from the lexicons) finds a needle in the body: it never hides a gate."""
    rule, style, text = drawn
    if style == "message":
        claimed = rule.family in read_words(text).strong
        body = json.dumps({"error": {"message": text}}, ensure_ascii=False)
    else:
        claimed = rule.family in read_code(normalize_code(text)).strong
        body = json.dumps({"error": {"code": text}}, ensure_ascii=False)
    if claimed:
        assert prefilter.may_hold_evidence(body.lower()), (rule.name, text)


def test_every_strong_combination_has_needles_in_the_prefilter() -> None:
    """The prefilter's needles are derived from the combinations too: each strong rule's
    needles are among them (or hold one of them)."""
    for rule in STRONG_GATES:
        for needle in prefilter.concept_needles(rule):
            assert any(n in needle for n in prefilter.EVIDENCE_NEEDLES), (rule.name, needle)


def test_a_dashed_word_no_lexicon_knows_is_read_as_its_parts() -> None:
    """ "token-plan" is a plan; "read-only" is a lexicon's word, read whole; "5-hour" a
    window."""
    assert "plan" in tokens_of("your token-plan quota")
    assert "read-only" in tokens_of("marked as read-only")
    assert Concept.WINDOW in read_clause("your 5-hour usage limit").whole


class TestOtherScripts:
    """Japanese and Korean are read like Chinese: a term inside a run of its script."""

    def test_a_korean_word_is_read_with_its_particle(self) -> None:
        """ "잔액부족으로" is "for want of balance": the balance and that it ran out."""
        whole = read_clause("잔액부족으로 결제에 실패했습니다").whole
        assert {Concept.BALANCE, Concept.RAN_OUT, Concept.PAYMENT, Concept.FAILURE} <= whole

    def test_a_korean_card_refusal_is_a_failed_payment_on_a_403(self) -> None:
        body = {
            "code": "REJECT_CARD_PAYMENT",
            "message": "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
        }
        payment = http402.classify(response(403, body))
        assert payment is not None and payment.reason is Reason.PAYMENT_FAILED

    def test_a_japanese_card_to_check_is_a_failed_payment_on_a_402_only(self) -> None:
        """Sakura Cloud's `error_msg` asks to check the card's expiry and limit: a 402 that
        names the card; the same words on a 403 are not enough."""
        body = {
            "status": "402 Payment Required",
            "error_code": "payment_creditcard",
            "error_msg": "要求を受け付けできません。"
            "クレジットカードの使用期限、利用限度額をご確認ください。",
        }
        payment = http402.classify(response(402, body))
        assert payment is not None and payment.reason is Reason.PAYMENT_FAILED
        assert payment.message == body["error_msg"]
        assert http402.classify(response(403, body)) is None

    @pytest.mark.parametrize(
        "message", ["잔액이 부족하여 송금할 수 없습니다.", "残高不足のため送金できません。"]
    )
    def test_a_transfer_that_lacks_funds_is_no_gate(self, message: str) -> None:
        """A remittance refused for want of balance moves the application's own money, in
        Korean and in Japanese as in English."""
        assert reason(message, strict=False) is None

    @pytest.mark.parametrize(
        "message", ["要求された操作は許可されていません", "허용되지 않은 요청입니다."]
    )
    def test_a_refusal_of_permission_is_no_gate(self, message: str) -> None:
        """ "The operation is not permitted", in Japanese and in Korean, in the envelope of
        the payment gates."""
        assert read_clause(message.lower()).vetoed
        assert http402.classify(response(403, {"code": "FORBIDDEN", "message": message})) is None


class TestOtherLanguages:
    """The core families and their look-alikes in the other languages paid APIs answer in
    (Portuguese, Spanish, French, German, Italian, Turkish, Indonesian, Vietnamese): words
    with an accent are words, and each family reads as it does in English."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # Escavador's 402 (research/payloads9), and a 402 of a public edge function.
            ("Você não possui créditos suficiente para a realizar a requisição.", "credits"),
            ("Créditos insuficientes. Adicione créditos ao workspace.", "credits"),
            ("Saldo insuficiente.", "credits"),
            ("Solde insuffisant.", "credits"),
            ("Guthaben nicht ausreichend.", "credits"),
            ("Credito insufficiente.", "credits"),
            ("Yetersiz bakiye.", "credits"),
            ("Saldo tidak mencukupi.", "credits"),
            ("Số dư không đủ.", "credits"),
            ("Crédit OpenAI épuisé.", "credits"),
            # A quota with the plan asked for is the plan's, as in English.
            ("Quota insuffisant. Passez au plan PRO.", "plan"),
            ("Sua assinatura expirou.", "subscription"),
            ("Su suscripción ha sido suspendida.", "subscription"),
            ("Ihr Abonnement ist abgelaufen.", "subscription"),
            ("Pagamento recusado.", "payment"),
            ("Zahlung fehlgeschlagen.", "payment"),
        ],
    )
    def test_a_gate_in_another_language_has_its_familys_reason(
        self, text: str, expected: str
    ) -> None:
        reasons = {
            "credits": Reason.INSUFFICIENT_CREDITS,
            "plan": Reason.PLAN_LIMIT_EXCEEDED,
            "subscription": Reason.SUBSCRIPTION_EXPIRED,
            "payment": Reason.PAYMENT_FAILED,
        }
        assert reason(text, strict=False) is reasons[expected], text

    @pytest.mark.parametrize(
        "text",
        [
            "Límite de solicitudes por minuto excedido.",
            "Limite de requisições atingido. Aguarde alguns segundos e tente novamente.",
            "Trop de requêtes. Quota par minute dépassé.",
            "Zu viele Anfragen. Tageskontingent erschöpft.",
            "Chave de API inválida.",
            "Clave de API inválida, créditos no disponibles.",
            "Ungültiger API-Schlüssel.",
            "Você não possui permissão para acessar este recurso.",
            "Saldo insuficiente para estorno.",
        ],
    )
    def test_a_look_alike_in_another_language_is_no_gate_off_a_402(self, text: str) -> None:
        """A throttle's window, a bad key, a permission and a refund without funds stay what
        they are: no strong rule claims them on a status other than 402."""
        assert reason(text, strict=True) is None, text

    def test_a_word_with_an_accent_is_one_word(self) -> None:
        assert tokens_of("créditos überschritten yetersiz không đủ") == [
            "créditos",
            "überschritten",
            "yetersiz",
            "không",
            "đủ",
        ]
        assert {Concept.CREDITS, Concept.RAN_OUT} <= read_clause("créditos insuficientes").whole


class TestWhatACodeOrACauseStates:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            # Said of the account: the account's state, held until it is settled.
            (
                "The request could not be processed due to account payment issues.",
                Reason.SUBSCRIPTION_EXPIRED,
            ),
            ("There is a payment issue with this account.", Reason.SUBSCRIPTION_EXPIRED),
            ("Your account has an unresolved billing problem.", Reason.SUBSCRIPTION_EXPIRED),
            # An attempt that failed: the payment method's.
            ("Your payment failed. Please update your account's card.", Reason.PAYMENT_FAILED),
            ("The charge could not be completed.", Reason.PAYMENT_FAILED),
            ("Business eligibility payment issue", Reason.PAYMENT_FAILED),
            # Both stated: the failed attempt outranks the account's state.
            (
                "Your card was declined. Your account has a payment issue.",
                Reason.PAYMENT_FAILED,
            ),
        ],
    )
    def test_a_payment_problem_of_the_account_is_its_state_and_a_failed_attempt_the_methods(
        self, text: str, expected: Reason
    ) -> None:
        assert reason(text, strict=True) is expected, text

    def test_insufficient_funds_is_a_balance_unless_a_card_or_a_payment_failed(self) -> None:
        """`insufficient_funds` is Stripe's decline code of a card and an API's own balance:
        the words beside it decide."""
        balance = {
            "error": {
                "message": "Insufficient balance (including overdraft). Please add funds.",
                "type": "insufficient_quota",
                "code": "insufficient_funds",
            }
        }
        payment = http402.classify(response(402, balance))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS
        assert payment.code == "insufficient_funds"
        card = {
            "error": {
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            }
        }
        payment = http402.classify(response(402, card))
        assert payment is not None and payment.reason is Reason.PAYMENT_FAILED
        bare = http402.classify(response(402, {"error": {"code": "insufficient_funds"}}))
        assert bare is not None and bare.reason is Reason.INSUFFICIENT_CREDITS

    def test_a_payment_that_failed_for_want_of_funds_is_the_payments_failure(self) -> None:
        """A failed payment outranks the lack of funds that caused it; a lapse stated by a
        wording rule is not outranked by a billing "issue"."""
        text = (
            "Your payment could not be completed due to insufficient account balance. "
            "Try another card or payment method."
        )
        assert reason(text, strict=True) is Reason.PAYMENT_FAILED
        lapse = "Your project has been suspended due to a billing issue."
        assert reason(lapse, strict=True) is Reason.SUBSCRIPTION_EXPIRED

    def test_a_clause_joined_by_and_is_read_apart(self) -> None:
        """ "..., and the model service has been paused" says what paused: the account is
        not off, the set limit (its code) decides."""
        body = {
            "error": {
                "code": "SetLimitExceeded",
                "message": "Your account has reached the set inference limit for the model, "
                "and the model service has been paused.",
            }
        }
        payment = http402.classify(response(429, body))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS
        assert (
            "account off over a limit"
            not in read_concepts(
                "your account has reached its limit, and the service has been paused"
            ).rules
        )

    @pytest.mark.parametrize(
        "body",
        [
            {"error": "SERVICE_QUOTA_EXCEEDED"},
            {"message": "The request would exceed a service quota."},
        ],
    )
    def test_a_402_that_states_a_service_quota_is_no_gate(self, body: dict[str, Any]) -> None:
        """A cloud's service quota (a count of resources raised by a quota request) is no
        gate even on a 402, stated by a code or by words (AWS Sign-In answers 402)."""
        assert http402.classify(response(402, body)) is None

    def test_a_constant_under_a_message_key_is_the_code(self) -> None:
        """Open Exchange Rates puts `not_allowed` in `message` and the words in
        `description`; a plain word there ("Forbidden") is no code."""
        body = {
            "error": True,
            "message": "not_allowed",
            "description": "Changing the base currency is available for Developer plan clients.",
        }
        payment = http402.classify(response(403, body))
        assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
        assert payment.code == "not_allowed"
        plain = {"message": "Forbidden", "description": "Available for Pro plan clients only."}
        payment = http402.classify(response(403, plain))
        assert payment is not None and payment.code is None


@pytest.mark.parametrize(
    ("text", "vetoed"),
    [
        ("your usage limit has been exceeded. please try again later.", True),
        ("usage limits exceeded. please try again later or contact support.", True),
        (
            "usage limits have been exceeded. please try again later or contact support to "
            "increase your limits.",
            False,
        ),
        ("your usage limit has been exceeded. try again later. upgrade your plan.", False),
        ("your usage limit has been exceeded. retry later or top up your balance.", False),
        # A stated window vetoes whatever is asked.
        ("usage limit of 10 requests per minute exceeded. upgrade your plan.", True),
    ],
)
def test_try_again_later_is_a_window_only_when_nothing_lifts_the_limit(
    text: str, vetoed: bool
) -> None:
    """A retry asked for with no time is a window's hint, unless the text asks for a remedy
    that lifts the limit (raise, upgrade, top up, buy, subscribe, renew, enable)."""
    reading = read_concepts(text)
    assert reading.vetoed is vetoed
    assert (Family.PLAN_VOLUME_USED in reading.strong) is not vetoed
