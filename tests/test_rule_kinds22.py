"""Kinds of billing gate that a blind set of Russian, Japanese, Korean and Chinese providers
(`research/payloads22`) showed, each held both ways: the gate in other providers' words, and
the look-alike that must stay no gate (or a 402's own answer). The kinds of
`research/payloads18` and `19` are `tests/test_rule_kinds18.py`."""

from __future__ import annotations

from typing import Any

import pytest

from http402 import Reason
from http402._classify.clauses import read_clause
from http402._classify.concepts import Concept
from http402._classify.fields import read_fields

from .kinds import CR, F, P, S, U, classify, reason_of

# ------------------------- 1. Russian billing words, as a family of the concept lexicons


@pytest.mark.parametrize(
    ("status", "text", "expected"),
    [
        # MoySklad's 30006 and 37000 (github.com/moysklad/api-remap-1.2-doc md/_errors.md):
        # what the tariff plan does not allow, or lacks.
        (403, "Ваш тарифный план не позволяет создавать или обновлять веб-хуки", P),
        (
            403,
            "Ошибка: вы не можете работать с задачами, т.к. в вашем тарифном плане "
            "отсутствует опция CRM",
            P,
        ),
        # zachestnyibiznesapi.ru's 212 and 213: a plan's limit, and a plan whose term ended.
        (403, "Истек лимит запросов по вашему тарифному плану.", P),
        (403, "Истек срок действия вашего тарифного плана.", S),
        (400, "Данная функция недоступна на вашем тарифе", P),
        # A balance or funds that ran short (SMS.ru's 201, a billing system's InvalidBalance),
        # and the top-up asked.
        (403, "Не хватает средств на лицевом счету", CR),
        (400, "Недостаточно средств на лицевом счете", CR),
        (402, "Недостаточно средств на балансе. Пополните баланс.", CR),
        (400, "Превышен бюджет", CR),
        # A lapse, and an account blocked for non-payment.
        (403, "Ваша подписка истекла. Пожалуйста, подпишитесь повторно.", S),
        (403, "Нет активной подписки", S),
        (403, "Ваш аккаунт заблокирован за неуплату", S),
        # A payment method declined or missing.
        (402, "Карта отклонена банком", F),
        (402, "Способ оплаты не привязан", F),
        # A month is the plan's allowance; a free allowance asks for a paid plan.
        (403, "Ежемесячный лимит запросов исчерпан", P),
        (429, "Квота на месяц исчерпана", P),
        (403, "Бесплатный лимит исчерпан. Перейдите на платный тариф.", P),
    ],
)
def test_a_russian_gate_has_its_familys_reason(status: int, text: str, expected: Reason) -> None:
    assert reason_of(status, {"error": text}) is expected
    assert reason_of(status, {"errors": [{"error": text, "code": 30006}]}) is expected


@pytest.mark.parametrize(
    ("status", "text"),
    [
        # MoySklad's 1073 (concurrency) and 1016 (rights), hh.ru's daily CV views, SMS.ru's
        # 206 (a daily limit) and ERR_THROTTLE (a sending rate), GREEN-API's chats per day,
        # radist.online's requests per second.
        (429, "Превышено ограничение на одновременное количество запросов"),
        (403, "Доступ запрещен: у вас нет прав на просмотр данного объекта"),
        (429, "превышен лимит просмотров резюме в сутки"),
        (400, "Будет превышен или уже превышен дневной лимит на отправку сообщений"),
        (400, "Превышение допустимой скорости отправки смс"),
        (
            400,
            "Исчерпан лимит на количество чатов в сутки. Требуется перейти на другой тариф "
            "либо подождать 24 часа.",
        ),
        (
            429,
            "Превышено ограничение на количество запросов в секунду. Вы будете временно "
            "заблокированы.",
        ),
        (429, "Слишком много запросов. Попробуйте позже."),
        # A bad or inactive key, a missing parameter that names a tariff, rights.
        (401, "Неверный ключ API"),
        (403, "Задан неверный ключ API."),
        (403, "Ваш ключ не активен."),
        (403, "Срок действия токена истек"),
        (400, "Отсутствует параметр - тариф API (tariff)"),
        (403, "Недостаточно прав для выполнения операции"),
        # A ban, an account not yet activated, a payment the application makes, a form.
        (403, "Аккаунт заблокирован за нарушение правил"),
        (403, "Ваш аккаунт не активирован"),
        (400, "Недостаточно средств для совершения этого платежа."),
        (400, "Необходимо внести изменения в заявку"),
    ],
)
def test_a_russian_look_alike_is_no_gate_off_a_402(status: int, text: str) -> None:
    assert classify(status, {"error": text}) is None


@pytest.mark.parametrize(
    "text",
    [
        "Превышен лимит запросов в минуту",
        "Будет превышен или уже превышен дневной лимит на отправку сообщений",
        "Задан неверный ключ API.",
        "Слишком много запросов. Попробуйте позже.",
    ],
)
def test_a_russian_window_or_bad_key_is_no_gate_on_a_402(text: str) -> None:
    """A window (a minute, a day), a bad key, a throttle with a retry: what no payment lifts,
    as in English."""
    assert classify(402, {"error": text}) is None


def test_russian_words_name_their_concepts() -> None:
    clause = read_clause("в вашем тарифном плане отсутствует опция crm")
    assert {Concept.PLAN, Concept.REQUIREMENT, Concept.SERVICE} <= clause.whole
    assert not clause.vetoed
    # "Insufficient rights" is a permission, read whole before "insufficient".
    assert read_clause("недостаточно прав").vetoed
    assert Concept.RAN_OUT not in read_clause("недостаточно прав").whole
    # "Ё" and "е" are both written.
    assert read_clause("срок действия истёк").whole == read_clause("срок действия истек").whole


# ------------------------- 2. a code-only errors list of {type, value}

#: hh.ru's envelope (github.com/hhru/api docs/errors.md): `type` the error's class, `value`
#: the finer code, no text.
_HH_GATES = [
    ("api_access_payment", "action_must_be_payed", P),
    ("negotiations", "not_enough_purchased_services", CR),
    ("vacancies", "not_enough_purchased_services", CR),
]


@pytest.mark.parametrize(("kind", "value", "expected"), _HH_GATES)
def test_a_value_code_states_a_gate_by_its_words(kind: str, value: str, expected: Reason) -> None:
    body = {"errors": [{"type": kind, "value": value}], "request_id": "1733390000000a1b2c3d4e5f6"}
    payment = classify(403, body)
    assert payment is not None
    assert payment.reason is expected
    assert payment.code == value  # the finer code, the one that decided


def test_the_value_is_read_as_a_code() -> None:
    fields = read_fields(
        {"errors": [{"type": "negotiations", "value": "not_enough_purchased_services"}]}
    )
    assert [code.normalized for code in fields.codes] == [
        "negotiations",
        "not_enough_purchased_services",
    ]


@pytest.mark.parametrize(
    ("status", "kind", "value"),
    [
        # hh.ru's own look-alikes, from the same table.
        (400, "bad_argument", "employer_id"),
        (400, "bad_user_agent", "blacklisted"),
        (403, "oauth", "bad_authorization"),
        (403, "oauth", "token_expired"),
        (403, "oauth", "token_revoked"),
        (403, "oauth", "user_auth_expected"),
        (403, "forbidden", None),
        (403, "captcha_required", "captcha_required"),
        (400, "artifacts", "limit_exceeded"),
        (403, "negotiations", "limit_exceeded"),
        (403, "negotiations", "in_a_row_limit"),
        (403, "negotiations", "test_required"),
        (403, "vacancies", "quota_exceeded"),
        (403, "vacancies", "creation_forbidden"),
        (403, "vacancies", "too_early"),
        (429, "resumes", "view_limit_exceeded"),
        (403, "resumes", "quota_exceeded"),
        (403, "resumes", "cant_view_contacts"),
        (403, "managers", "creation_limit_exceeded"),
        (403, "manager_accounts", "used_manager_account_forbidden"),
        # Judgement (docs/reasons.md): "no available service" names no purchase or payment.
        (403, "resumes", "no_available_service"),
    ],
)
def test_hh_rus_other_errors_stay_no_gate(status: int, kind: str, value: str | None) -> None:
    error: dict[str, Any] = {"type": kind}
    if value is not None:
        error["value"] = value
    assert classify(status, {"errors": [error]}) is None


@pytest.mark.parametrize(
    "code",
    [
        # Something of the application's own that must be paid: a form's check.
        "INVOICE_MUST_BE_PAID",
        "POS_ORDER_MUST_BE_PAID",
        "plan_must_be_paid",
        "status_must_be_paid",
        "order_must_be_payed",
        # Purchases named, none short.
        "PURCHASED_SERVICES",
        "already_purchased",
    ],
)
def test_a_code_that_names_paying_for_something_else_is_no_gate(code: str) -> None:
    assert classify(400, {"error": {"code": code}}) is None
    assert classify(403, {"errors": [{"type": "orders", "value": code}]}) is None


# ------------------------- 3. judgement cases of payloads22 (docs/reasons.md)


def test_a_daily_quota_stated_on_a_402_is_no_gate() -> None:
    """Kinopoisk API Unofficial's 402: a quota whose window is a day, stated in the words."""
    body = {
        "message": "You exceeded the quota. You have sent 503 request, but available 500 per day"
    }
    assert classify(402, body) is None
    # The same words with a month are the plan's allowance.
    monthly = {"message": "You exceeded the quota. You have sent 503 requests, but 500 per month"}
    assert reason_of(402, monthly) is P


@pytest.mark.parametrize("status", [400, 403])
def test_a_negative_number_alone_is_no_gate(status: int) -> None:
    """Kakao's `{"code": -11}` (its docs: the paid API's spend limit): a number names nothing."""
    assert classify(status, {"code": -11}) is None
    assert reason_of(402, {"code": -11}) is U


@pytest.mark.parametrize(
    "body",
    [
        {
            "code": "freee_plan_limit",
            "message": "有料プランをご利用中の事業所のみご利用いただけます。",
        },
        {"error": {"error_code": 10004, "error_message": "Insufficient credits."}},
    ],
)
def test_a_401_without_a_payment_header_is_not_read(body: Any) -> None:
    """freee's and MailboxValidator's 401: a gate by their words, a 401 by its status."""
    assert classify(401, body) is None
    assert classify(403, body) is not None
