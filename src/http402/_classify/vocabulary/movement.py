"""The words for a payment product's own money movement, declared once.

A payout, a transfer, a withdrawal, a refund, an exchange's order: when a payment or trading
API says the funds are not enough *for one of these*, its user's own money movement failed,
and the API is not asking to be paid (`transfer_refused`, a look-alike). Three readers need
these words, and all three are derived from `MONEY_MOVEMENT` here, so that a word or a
language is added in one place:

- the concept lexicon (`lexicon.py`, concept `transfer`): every word the concept reader
  reads as one term;
- the look-alike wording rule (`lookalikes.py`, "operation of a payment product lacks
  funds"): every word;
- the request's path (`readers.moves_money`): the operations (not the parties) as segments,
  and a trading product's order (`trades`, or `market_orders` beside one of `markets`), read
  only in a path: a message's "order" is as often a shop's or a telecom's purchase.

A payment the account *makes* moves its money too ("You do not have enough balance to make
this payment", Woovi's "Você não possui saldo o suficiente para realizar esse pagamento" on
`/api/v1/payment/approve`): `payments` and `making` are read only as a phrase, a verb of
making next to the word for a payment (`payment_made_pattern`), by the look-alike rule "a
payment the account makes lacks funds". Never as a bare word nor in a path: "payment:
insufficient funds" is as often a card's, and `/v1/payments` is where an API charges a card.

`tests/test_rules.py` checks that the three agree: each word of the source is recognised
by each reader, and a word that is not in it by none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote

import attrs

__all__ = ["LICENSE_CHECK", "MONEY_MOVEMENT", "LicenseCheck", "MoneyMovement"]

#: What the concept reader takes as one word of a spaced script (`clauses._TOKEN`).
#: The letters of a spaced word beyond `a-z`: accented Latin (Latin-1, Extended-A and -B, the
#: Vietnamese block) and Cyrillic; the concept reader (`clauses.py`) reads words with them.
LETTERS = "\u00df-\u00f6\u00f8-\u00ff\u0100-\u024f\u1e00-\u1eff\u0430-\u044f\u0451"
_SPACED_TERM = re.compile(rf"[a-z0-9$'{LETTERS}]+(?:-[a-z0-9$'{LETTERS}]+)*")


def _words(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _lower_words(instance: Any, attribute: Any, value: tuple[str, ...]) -> None:
    if not value or any(not w or w != w.lower() or w != w.strip() for w in value):
        raise ValueError(f"{attribute.name} must be lower-case words: {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{attribute.name} lists a word twice: {value!r}")


def _required(instance: Any, attribute: Any, value: Any) -> None:
    if not value:
        raise ValueError(f"a record needs {attribute.name}")


@attrs.frozen
class MoneyMovement:
    """The words of the operations that move a payment product's user's own money.

    Args:
        operations: Each operation in every form it is written (`payout`, `payouts`), in
            every language read: a message's word and a path's segment.
        parties: Words that name who moves the money (`sender`): read in a message, never in
            a path (`/v3/senders` is an email sender's identity, not a payout).
        trades: Path segments that name an exchange's order by themselves: the singular
            `order` of a trading API (`/api/v3/order`, `/v2/order`). A plural `orders` alone
            is not one: a telecom's number order (`/v3/orders`) is paid from the account's
            balance with the API, a real gate.
        markets: Path segments that name a market of a trading product (`spot`, `futures`);
            beside one of them, one of `market_orders` is an order of that market.
        market_orders: The order collections read beside a market (`orders`).
        payments: The word for a payment, in every language read: in a message only, and
            only with a verb of `making` beside it.
        making: The verbs of making, sending or approving a payment, in every language
            read, before the word for it ("to make this payment", "para realizar esse
            pagamento") or after it ("um diese Zahlung durchzuführen", "ödemeyi yapmak").
        stored_value: Phrases for a stored-value card's balance (a gift, loyalty, prepaid or
            voucher card): the card holder's money, which a payment product charges for its
            user, never the balance the API bills. Read by the concept reader only, as a
            balance and a movement at once, so its lack is a refused movement: Secuconnect's
            400 `ProductNotEnoughBalanceException` "Card balance is exceeded" on a loyalty
            card's `/charge` (payloads18). A card *declined* for insufficient funds while
            paying the API ("Your card has insufficient funds") names no card's balance and
            stays `instrument_declined`.
        examples: Request paths whose operation moves money.
        look_alikes: Request paths that do not.
        source: Where the words were seen.
    """

    operations: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    parties: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    trades: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    markets: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    market_orders: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    payments: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    making: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    stored_value: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    examples: tuple[str, ...] = attrs.field(converter=_words, validator=_required, repr=False)
    look_alikes: tuple[str, ...] = attrs.field(converter=_words, validator=_required, repr=False)
    source: str = attrs.field(validator=_required, repr=False)

    @property
    def words(self) -> tuple[str, ...]:
        """Every word, operations first."""
        return self.operations + self.parties

    @property
    def spaced(self) -> tuple[str, ...]:
        """The words of scripts that put blanks between words, longest first."""
        return tuple(sorted((w for w in self.words if not _is_unspaced(w)), key=len, reverse=True))

    @property
    def unspaced(self) -> tuple[str, ...]:
        """The Chinese, Japanese and Korean words, longest first: matched inside a run of
        their script, with no word boundary."""
        return tuple(sorted((w for w in self.words if _is_unspaced(w)), key=len, reverse=True))

    @property
    def concept_terms(self) -> tuple[str, ...]:
        """The words the concept reader reads as one term: a word of Latin letters (accented
        too: `transferência`), or of Chinese, Japanese or Korean."""
        return tuple(w for w in self.words if _is_unspaced(w) or _SPACED_TERM.fullmatch(w))

    def needles(self) -> tuple[str, ...]:
        """The fewest words every word holds one of (`payout` for `payouts`)."""
        ordered = sorted(self.words, key=len)
        kept: list[str] = []
        for word in ordered:
            if not any(shorter in word for shorter in kept):
                kept.append(word)
        return tuple(kept)

    def spaced_pattern(self) -> str:
        """A group matching one spaced word as a whole word (bounds left to the caller)."""
        return "(?:" + "|".join(re.escape(w) for w in self.spaced) + ")"

    def unspaced_pattern(self) -> str:
        """A group matching one Chinese, Japanese or Korean word anywhere."""
        return "(?:" + "|".join(re.escape(w) for w in self.unspaced) + ")"

    def payment_needles(self) -> tuple[str, ...]:
        """The fewest words every word of `payments` holds one of."""
        kept: list[str] = []
        for word in sorted(self.payments, key=len):
            if not any(shorter in word for shorter in kept):
                kept.append(word)
        return tuple(kept)

    def payment_made_pattern(self) -> str:
        """A group matching a payment being made: a verb of `making` and a word of
        `payments`, either first, at most two words apart (bounds left to the caller)."""
        verb = "(?:" + "|".join(re.escape(w) for w in _longest_first(self.making)) + ")"
        noun = "(?:" + "|".join(re.escape(w) for w in _longest_first(self.payments)) + ")"
        between = r" (?:[\w'-]+ ){0,2}?"
        return f"(?:{verb}\\b{between}{noun}|{noun}\\b{between}{verb})"

    def segments(self) -> frozenset[str]:
        """The operations, as the lower-case segments of a request's path."""
        return frozenset(self.operations)

    def in_path(self, path: str) -> bool:
        """`True` when a segment of `path` (lower case, percent-encoded) names an
        operation or a trading product's order."""
        segments = path.split("/")
        if "%" in path:
            segments = [unquote(segment) for segment in segments]
        if not _SEGMENTS.isdisjoint(segments) or not _TRADES.isdisjoint(segments):
            return True
        return not _MARKET_ORDERS.isdisjoint(segments) and not _MARKETS.isdisjoint(segments)


def _longest_first(words: Iterable[str]) -> list[str]:
    return sorted(words, key=len, reverse=True)


def _is_unspaced(word: str) -> bool:
    # A word of a spaced script here holds a plain Latin letter; a Chinese, Japanese or
    # Korean one none (the concept reader's own test, `clauses.UNSPACED`, imports the
    # lexicon that imports this module; `tests/test_rules.py` checks that they agree).
    return not any("a" <= c <= "z" for c in word)


MONEY_MOVEMENT = MoneyMovement(
    operations=(
        # English
        "payout",
        "payouts",
        "transfer",
        "transfers",
        "withdrawal",
        "withdrawals",
        "withdraw",
        # Bithumb's `/v1/withdraws/coin` (payloads19): the verb's form names the operation.
        "withdraws",
        "disbursement",
        "disbursements",
        "remittance",
        "remittances",
        "refund",
        "refunds",
        # Portuguese and Spanish
        "estorno",
        "estornos",
        "reembolso",
        "reembolsos",
        "transferência",
        "transferências",
        "transferencia",
        "transferencias",
        "saque",
        "saques",
        "retiro",
        "retiros",
        # French
        "remboursement",
        "remboursements",
        "virement",
        "virements",
        # German
        "rückerstattung",
        "ruckerstattung",
        # Chinese: a refund, a withdrawal, a transfer.
        "退款",
        "提现",
        "转账",
        # Japanese: a refund (two words), a remittance, a bank transfer, a withdrawal.
        "返金",
        "払い戻し",
        "送金",
        "振込",
        "出金",
        # Korean: a refund, a withdrawal, a remittance, a transfer.
        "환불",
        "출금",
        "송금",
        "이체",
        # A trading product's buy or sell (payloads21: Upbit's 400 `insufficient_funds_bid`
        # "매수/매도 가능 잔고가 부족합니다.", the balance available to buy or sell): Korean
        # 매수 and 매도, Chinese 买入 and 卖出, Japanese 買い注文 and 売り注文 (a bare 注文 is
        # a shop's order as often). The English sides of a trade (bid, ask, a buy or sell
        # order, buying power, margin) are read by their own rule (`lookalikes.py`): "ask"
        # alone is a request's verb.
        "매수",
        "매도",
        "买入",
        "卖出",
        "買い注文",
        "売り注文",
    ),
    parties=("sender",),
    # An exchange's order (research/payloads5 binance-2010-insufficient-balance-order-400-
    # negative, payloads7 bitvavo-216-... and gateio-balance-not-enough-label-400-negative,
    # payloads6 kraken AddOrder); every gate of tests/payloads, shared/payloads and research
    # payloads2-7 on an `orders` path has no market beside it (DIDWW `/v3/orders`, Sinch
    # `/orders/portIns`, PayPal `/checkout/orders`).
    trades=("order", "addorder"),
    markets=("spot", "margin", "futures", "delivery", "swap", "perpetual", "brokerage"),
    market_orders=("orders", "batch_orders", "price_orders"),
    # A payment the account makes, in the spaced languages the families read. Chinese,
    # Japanese and Korean are left out: their words for paying (支付, 付款, 支払い, 결제) are
    # as often how an API bills its own service, so only the operations above are read.
    payments=(
        "payment",
        "payments",
        "pagamento",  # Portuguese, Italian
        "pagamentos",
        "pago",  # Spanish
        "pagos",
        "paiement",
        "paiements",
        "zahlung",
        "zahlungen",
        "ödeme",  # Turkish
        "ödemeyi",
        "ödemesi",
        "pembayaran",  # Indonesian
        "thanh toán",  # Vietnamese
        "платеж",  # Russian
        "платёж",
        "платежа",
        "платежи",
    ),
    making=(
        # English
        "make",
        "send",
        "carry out",
        "execute",
        "perform",
        "initiate",
        # Rapyd's "The request tried to create a payment" (a merchant's payment, collected).
        "create",
        "approve",
        "authorize",
        "authorise",
        # Portuguese and Spanish
        "realizar",
        "efetuar",
        "efectuar",
        "fazer",
        "hacer",
        "aprovar",
        "aprobar",
        "criar",
        "crear",
        "enviar",
        # French
        "effectuer",
        "réaliser",
        "faire",
        "envoyer",
        "approuver",
        "créer",
        # German: after the word ("um diese Zahlung durchzuführen")
        "durchführen",
        "durchzuführen",
        "ausführen",
        "auszuführen",
        "tätigen",
        "leisten",
        "erstellen",
        # Italian
        "effettuare",
        "eseguire",
        "fare",
        "inviare",
        "approvare",
        "creare",
        # Turkish: after the word ("bu ödemeyi yapmak için")
        "yapmak",
        "gerçekleştirmek",
        "oluşturmak",
        # Indonesian, Vietnamese
        "melakukan",
        "mengirim",
        "membuat",
        "thực hiện",
        "tạo",
        # Russian ("для совершения платежа")
        "совершения",
        "совершить",
        "проведения",
        "провести",
        "выполнения",
        "осуществления",
        "создания",
        "создать",
    ),
    stored_value=(
        "card balance",
        "gift card balance",
        "prepaid card balance",
        "loyalty card balance",
        "voucher balance",
        "kartenguthaben",  # German
        "saldo do cartão",  # Portuguese
        "saldo de la tarjeta",  # Spanish
        "solde de la carte",  # French
    ),
    examples=(
        "/v1/payouts",
        "/v1/transfers/tr_123/reversals",
        "/v1/payments/pay_1/refund",
        "/api/v3/withdrawals",
        "/v1/withdraws/coin",
        "/v2/disbursements/batch",
        "/api/v1/estornos",
        "/v1/virements",
        "/api/%E9%80%80%E6%AC%BE",
        "/api/v3/order",
        "/v2/order",
        "/sapi/v1/margin/order",
        "/0/private/addorder",
        "/api/v4/spot/orders",
        "/api/v4/futures/usdt/batch_orders",
        "/api/v3/brokerage/orders",
    ),
    look_alikes=(
        "/v1/orders",
        "/v3/orders",
        "/v1/projects/p1/orders/portins",
        "/v2/checkout/orders/o1/capture",
        "/v1/orders/spot-check",
        "/v3/senders",
        "/v1/chat/completions",
        "/v1/data-transfer/usage",
        "/v1/accounts/transferable",
    ),
    source="razorpayx payout 'not enough balance'; https://docs.stripe.com/error-codes/"
    "balance-insufficient; PayPal Payouts INSUFFICIENT_FUNDS (developer.paypal.com/docs/api/"
    "payments.payouts-batch/v1); Binance /api/v3/order 2010, Bitvavo /v2/order 216, Gate.io "
    "/api/v4/spot/orders BALANCE_NOT_ENOUGH (research/payloads5, payloads7); research/"
    "payloads5 asaas-refund-saldo-insuficiente-400-negative (a merchant's refund); research/"
    "payloads21 upbit-order-insufficient-funds-bid-400-negative (https://docs.upbit.com: "
    "insufficient_funds_bid / insufficient_funds_ask, '매수/매도 가능 잔고가 부족합니다.'); Sinch "
    "number porting 'orders' bill the account (not an operation); research/payloads11 "
    "woovi-payment-approve-saldo-insuficiente-400-negative (a payment the account makes: "
    "github.com/woovibr/woovi-developers docs/payment/payment-how-to-use-api-to-approve-a-"
    "payment.md); research/payloads19 bithumb-withdraw-insufficient-balance-400-negative "
    "(apidocs.bithumb.com: `/v1/withdraws/coin`, `withdraw_insufficient_balance`, "
    "'출금 최대 한도가 초과 되었습니다.'); research/payloads18 secuconnect-card-balance-"
    "exceeded-400-negative (https://developer.secuconnect.com/integration/API_Errors.html: "
    "ProductNotEnoughBalanceException, 'Card balance is exceeded')",
)

_SEGMENTS = MONEY_MOVEMENT.segments()
_TRADES = frozenset(MONEY_MOVEMENT.trades)
_MARKETS = frozenset(MONEY_MOVEMENT.markets)
_MARKET_ORDERS = frozenset(MONEY_MOVEMENT.market_orders)


@attrs.frozen
class LicenseCheck:
    """The requests that ask a licensing API about a license key: check, validate, activate.

    A licensing product (LicenseSpring, Keygen, Lemon Squeezy's and Gumroad's license APIs)
    answers such a request about the license it was asked about, its user's customer's: "license
    is not active", "trial period for device has expired". That is the answer to the question,
    not the API's bill, and a renewal hook must never answer it (the look-alike of a payment
    product's money movement, `MONEY_MOVEMENT`). Read in a request's path only: a message's
    "license" is as often the account's own (a server's license that lapsed).

    Args:
        segments: Path segments that name a license check by themselves (`check_license`).
        licenses: Path segments that name licenses, a check only beside one of `actions`
            (Lemon Squeezy's `/v1/licenses/validate`, Gumroad's `/v2/licenses/verify`).
        actions: What is asked of a license.
        source: Where the paths were seen.
    """

    segments: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    licenses: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    actions: tuple[str, ...] = attrs.field(converter=_words, validator=_lower_words)
    source: str = attrs.field(validator=_required)

    def in_path(self, path: str) -> bool:
        """`True` when `path` (lower case) asks about a license key."""
        segments = path.split("/")
        if not _LICENSE_SEGMENTS.isdisjoint(segments):
            return True
        return not _LICENSES.isdisjoint(segments) and not _LICENSE_ACTIONS.isdisjoint(segments)


LICENSE_CHECK = LicenseCheck(
    segments=(
        "check_license",
        "activate_license",
        "deactivate_license",
        "validate_license",
        "verify_license",
        "validate-key",
        "validate_key",
    ),
    licenses=("license", "licenses", "license-keys", "license_keys"),
    actions=("validate", "verify", "activate", "deactivate", "check"),
    source="https://docs.licensespring.com/sdks/errors-and-response-codes (400 "
    "license_not_active, trial_expired on /api/v4/check_license and /activate_license); "
    "Keygen's /v1/accounts/{account}/licenses/actions/validate-key; Lemon Squeezy's "
    "/v1/licenses/validate, /activate, /deactivate; Gumroad's /v2/licenses/verify",
)
_LICENSE_SEGMENTS = frozenset(LICENSE_CHECK.segments)
_LICENSES = frozenset(LICENSE_CHECK.licenses)
_LICENSE_ACTIONS = frozenset(LICENSE_CHECK.actions)
