"""Refusals that are not billing gates, however billing they sound: `transfer_refused` (the
application's own transfer or payout lacks funds) and `not_billing` (a bad key, a security
lock, a policy ban, a storage quota, a validation error, stated plainly).

A refused transfer vetoes every reading: the API is not asking to be paid for its service,
the application's own money movement failed (a payout from a Stripe balance, a PayPal
payout from the sender's account), and a top-up hook must never answer it. So does a billing
operation of the application's refused as under way or as a plan change it cannot make (a
top-up already in progress): a hook that answered it would buy twice. Another refusal
stated plainly outvotes a billing code and weak billing wording (a security lock with a
quota-sounding code); strong billing wording in the same message still counts.
"""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, CodeWords, Strength, WordRule
from .movement import MONEY_MOVEMENT

TRANSFER = Family.TRANSFER_REFUSED
OTHER = Family.NOT_BILLING
STRONG = Strength.STRONG

#: Another party than the caller, named as the owner of an account, a balance or billing.
_OTHER_PARTY = (
    r"(?:customer|user|member|recipient|payee|merchant|seller|buyer|payer|client|tenant"
    r"|end[- ]user|sender|receiver|beneficiary|cardholder|account holder|subscriber)"
)
#: A billing API's id of a customer, a subscription, an account, a user or a member.
_OBJECT_ID = r"(?:cus|cust|sub|acct|usr|mbr)_\w{3,}"
#: What such an owner holds that reads like the caller's gate.
_OWNED = (
    r"(?:account|balance|wallet|credits?|funds|subscription|billing|plan|card|workspace"
    r"|organi[sz]ation|quota)\b"
)
#: An operation on the account's own billing that may be under way (the subject of the
#: "billing operation under way" record).
_OPERATION = (
    r"(?:top[- ]?ups?|(?:auto[- ]?)?recharges?|purchases?|payments?|upgrades?|downgrades?"
    r"|renewals?|plan changes?|subscription changes?|deposits?)"
)
#: That it is under way, not finished: said after a copula or "already/still/currently".
#: Pending *payment* (or pending *since* a date) is a debt awaiting the account (case 174).
_UNDER_WAY = (
    r"(?:in progress|pending(?! payment| since)|underway|under way|being processed|processing"
    r"|running|queued|awaiting confirmation|pending confirmation|in flight|being confirmed"
    r"|not yet (?:settled|confirmed|credited|applied|completed))"
)
#: An operation of a payment or trading product that moves its user's money (a transfer, a
#: payout, a withdrawal, a refund) or its sender, from the one source (`movement.py`): a word
#: of a spaced script as a whole word, a Chinese, Japanese or Korean one anywhere.
_MOVEMENT = r"\b" + MONEY_MOVEMENT.spaced_pattern() + r"\b"
_MOVEMENT_UNSPACED = MONEY_MOVEMENT.unspaced_pattern()
#: A lack of funds, in those languages (Korean's 부족 too: "출금 가능 잔액이 부족합니다").
_LACK = (
    r"(?:insufficient|not enough|not have (?:enough|sufficient)|insuficientes?|insuffisante?s?"
    r"|nicht ausreichend|不足|부족)"
)
#: A balance that lacks, said first, in Chinese, Japanese and Korean ("余额不足", "残高不足",
#: "잔액이 부족하여"): the movement it lacks for follows.
_BALANCE_LACK_UNSPACED = r"(?:余额|残高|잔액|잔고)[^。.]{0,4}?(?:不足|부족)"
#: An order or a trade lacks funds only by these words: "in order to" is everywhere.
_ORDER = (
    r"(?:(?:this|the|your|an?) (?:(?:buy|sell|bid|ask|limit|market|stop)(?:[ -]limit)? )?"
    r"(?:order|trade)|requested (?:order|trade))"
)
#: The side of a trade, or what a trader's account buys with (payloads21: Upbit's
#: `insufficient_funds_bid`, "Insufficient bid balance"; Alpaca's and Tastytrade's
#: "insufficient buying power"; an exchange's "Order has insufficient margin").
_TRADE_SIDE = r"(?:bid|ask|buy|sell|buying|selling|trading|order|margin)"

#: The account's own balance lacking, in the spaced languages the families read: not a card's
#: funds ("Your card has insufficient funds to make this payment" is a decline).
_BALANCE_LACK = (
    r"(?:\b(?:insufficient|not enough|not have (?:enough|sufficient)|n't have (?:enough"
    r"|sufficient)) (?:account |wallet |available )?(?:balance|funds in (?:your|the) (?:account"
    r"|wallet))\b|\bbalance (?:is )?(?:insufficient|not enough|too low)\b"
    r"|\bsaldo (?:o )?(?:in)?suff?iciente\b|\bsaldo (?:tidak (?:cukup|mencukupi)|n[ãa]o é "
    r"suficiente)\b|\bsem saldo\b|\bsin saldo\b"
    r"|\b(?:fundos|fondos) (?:in)?suficientes\b|\bfondi (?:in)?sufficienti\b"
    r"|\b(?:solde|fonds) (?:in)?suffisants?\b|\bpas assez de (?:solde|fonds)\b"
    r"|\b(?:nicht genügend|nicht genug|unzureichendes|zu wenig|kein) guthaben\b"
    r"|\bguthaben (?:reicht nicht|ist nicht ausreichend|nicht ausreichend)\b"
    r"|\b(?:yetersiz|yeterli) bakiye|\bbakiye(?:niz)? yetersiz\b"
    r"|\bsố dư(?: tài khoản)? không đủ|\bkhông đủ số dư"
    r"|\bнедостаточно (?:средств|денег)|\bнедостаточный баланс|\bбаланса? недостаточно)"
)
#: "To", in order to do something, in those languages.
_TO_DO = r"(?:to|in order to|para|pour|per|um|untuk|để|для)"
#: A payment for the API's own service is its bill, not a payment the account makes.
_NOT_THE_APIS = (
    r"(?! (?:for|of) (?:this|the|your|an?) (?:[\w-]+ )?(?:requests?|calls?|api|usage|service"
    r"|plan|subscription|invoice|bill)\b)"
)
_PAYMENT_MADE = MONEY_MOVEMENT.payment_made_pattern()
#: Funds that do not cover a payment named before them ("tried to create a payment, but there
#: were insufficient funds for the transaction"): the bare "funds" too, since the payment
#: they lack for is named, but not a card's ("...: your card has insufficient funds").
_FUNDS_LACK = (
    r"(?:\b(?:insufficient|not enough|not sufficient) funds\b(?! (?:on|in) (?:the|your) card)"
    r"|" + _BALANCE_LACK + r")"
)

WORDING = (
    WordRule(
        "operation of a payment product lacks funds",
        TRANSFER,
        STRONG,
        _MOVEMENT + r"[^.]{0,80}?(?:" + _LACK + r"|\bsufficient\b)"
        r"|"
        + _MOVEMENT_UNSPACED
        + r"[^。.]{0,80}?"
        + _LACK
        + r"|"
        + _LACK
        + r" (?:funds|balance|saldo|fundos|fondos|solde)\b[^.]{0,80}?"
        r"(?:\b(?:for|to|para|pour|f[üu]r)\b[^.]{0,30}?(?:" + _MOVEMENT + r"|\b" + _ORDER + r"\b))"
        r"|\b(?:saldo|fundos|fondos|solde|guthaben) " + _LACK + r"[^.]{0,20}?\b(?:para|pour"
        r"|f[üu]r)\b[^.]{0,30}?"
        + _MOVEMENT
        + r"|"
        + _BALANCE_LACK_UNSPACED
        + r"[^。.]{0,20}?"
        + _MOVEMENT_UNSPACED,
        needles=(*MONEY_MOVEMENT.needles(), "order", "trade"),
        examples=(
            "You have insufficient funds in your Stripe account for this transfer.",
            "Sender does not have sufficient funds. Please add funds and retry.",
            "Payout failed: the balance is insufficient.",
            "Your account does not have enough balance to carry out the payout operation.",
            "Saldo insuficiente para estorno.",
            "Insufficient balance for this refund.",
            "Fondos insuficientes para el retiro.",
            "Solde insuffisant pour le remboursement.",
            "Account has insufficient funds for the order.",
            "余额不足，无法退款",
            "잔액이 부족하여 출금할 수 없습니다.",
            "출금 가능 잔액이 부족합니다.",
            "残高不足のため出金できません。",
        ),
        look_alikes=(
            "Your card has insufficient funds.",
            "Insufficient balance, please recharge.",
            "Saldo insuficiente para completar la solicitud.",
            "Insufficient balance. Top up in order to continue.",
            "Insufficient credits to process this request.",
            "잔액이 부족합니다. 충전 후 다시 시도해 주세요.",
        ),
        source="https://docs.stripe.com/error-codes/balance-insufficient; PayPal Payouts "
        "INSUFFICIENT_FUNDS (developer.paypal.com/docs/api/payments.payouts-batch/v1); "
        "research/payloads5 asaas-refund-saldo-insuficiente-400-negative (a merchant's refund)",
    ),
    # A payment the account makes, from its own balance, lacks funds: the request *is* a
    # payment of the application's (Woovi's `/api/v1/payment/approve`), as a payout is. The
    # lack comes first and the payment is what it is needed *for* ("not enough balance to make
    # this payment", "saldo insuficiente para realizar este pago"); a remedy ("insufficient
    # balance, make a payment to continue") and a payment for the API's own service ("to make
    # the payment for this request") are gates. Turkish puts the purpose first ("bu ödemeyi
    # yapmak için yeterli bakiyeniz yok"), and so may a sentence that tells what the request
    # did first and then what it lacked: Rapyd's "The request tried to create a payment, but
    # there were insufficient funds for the transaction" (`ERROR_CREATE_PAYMENT_INSUFFICIENT_
    # FUNDS`, a code read by these words), where the funds may be named bare, as the payment
    # they lack for is named, but not a card's.
    WordRule(
        "a payment the account makes lacks funds",
        TRANSFER,
        STRONG,
        _BALANCE_LACK
        + r"[^.]{0,40}?\b"
        + _TO_DO
        + r" (?:[\w'-]+ ){0,2}?"
        + _PAYMENT_MADE
        + r"\b"
        + _NOT_THE_APIS
        + r"|"
        + _PAYMENT_MADE
        + r" için\b[^.]{0,30}?"
        + _BALANCE_LACK
        + r"|"
        + _PAYMENT_MADE
        + r"\b(?! (?:methods?|cards?|details|information|info|instruments?)\b)"
        + _NOT_THE_APIS
        + r"(?:(?!card)[^.]){0,60}?"
        + _FUNDS_LACK,
        needles=MONEY_MOVEMENT.payment_needles(),
        examples=(
            "You do not have enough balance to make this payment",
            "Você não possui saldo o suficiente para realizar esse pagamento",
            "Saldo insuficiente para efetuar o pagamento.",
            "No tienes saldo suficiente para realizar este pago.",
            "Solde insuffisant pour effectuer ce paiement.",
            "Nicht genügend Guthaben, um diese Zahlung durchzuführen.",
            "Saldo insufficiente per effettuare questo pagamento.",
            "Bu ödemeyi yapmak için yeterli bakiyeniz yok.",
            "Saldo tidak cukup untuk melakukan pembayaran ini.",
            "Số dư không đủ để thực hiện thanh toán này.",
            "Недостаточно средств для совершения этого платежа.",
            "Insufficient account balance to approve the payment.",
            "The request tried to create a payment, but there were insufficient funds for the "
            "transaction. The request was rejected. Corrective action: None. Contact the "
            "customer.",
            "Cannot execute this payment: not enough funds in the wallet.",
            "Não foi possível criar o pagamento: saldo insuficiente.",
            "Impossible de créer ce paiement : solde insuffisant.",
        ),
        look_alikes=(
            "Insufficient balance to complete this request.",
            "Insufficient balance, make a payment to continue.",
            "Insufficient balance to make the payment for this request.",
            "Your card has insufficient funds to make this payment.",
            "Payment: insufficient funds.",
            "Saldo insuficiente para completar la solicitud.",
            "Insufficient balance. Please make a payment.",
            "We tried to make the payment for your subscription, but there were insufficient "
            "funds.",
            "Could not make the payment: your card has insufficient funds.",
            "Could not make the payment: insufficient funds on the card.",
            "Insufficient funds for the transaction.",
            "Please create a payment method: insufficient funds on file.",
        ),
        source="research/payloads11 woovi-payment-approve-saldo-insuficiente-400-negative "
        "(github.com/woovibr/woovi-developers docs/payment/payment-how-to-use-api-to-approve-a-"
        "payment.md, and its English variant 'You do not have enough balance to make this "
        "payment'); research/payloads17 rapyd-create-payment-insufficient-funds-400-negative "
        "(https://docs.rapyd.net/en/create-payment-error-example.html)",
    ),
    # The request is itself an operation on the account's billing (a purchase of credits, a
    # top-up, a payment, a change of plan), and it is refused as already under way, or as a
    # change of plan the account cannot make: money is on its way or nothing is owed, and a
    # hook that answers it buys a second time while the first is in flight. It vetoes every
    # reading, as a refused transfer does. Not a debt ("an invoice is pending" is owed) nor a
    # failed payment ("your top-up failed: card declined").
    WordRule(
        "a billing operation under way or a plan change refused",
        TRANSFER,
        STRONG,
        # What is under way: the operation named first, its state after it ("A top-up is
        # already in progress", "Top-up in flight", "Previous top-up not yet settled"), or
        # the state first ("still processing your previous credit purchase"). Pending
        # *payment* or pending *since* a date is a debt waiting for the account (case 174),
        # never an operation under way.
        rf"\b{_OPERATION}\b[^.;]{{0,60}}?\b(?:(?:is|are) (?:already |still |currently )?"
        rf"{_UNDER_WAY}|(?:already|still|currently) {_UNDER_WAY})"
        rf"|\b{_OPERATION} (?:in progress|underway|under way|in flight|pending confirmation"
        r"|awaiting confirmation|not yet (?:settled|confirmed|credited|applied|completed))\b"
        r"|\b(?:already|still) (?:an? |one )?(?:pending |ongoing )?(?:top[- ]?up|recharge"
        r"|purchase|payment|upgrade|downgrade|plan change) (?:in progress|pending|underway"
        r"|under way|being processed)\b"
        r"|\b(?:pending|ongoing|in-progress|unfinished|unsettled|unconfirmed) (?:top[- ]?up"
        r"|recharge|upgrade|downgrade|plan change|subscription change|purchase|deposit)s?\b"
        r"|\b(?:still|currently|already) (?:processing|confirming|settling|crediting) (?:your "
        r"|the |this |a |an )?(?:previous |last |earlier |pending )?(?:[\w-]+ )?(?:top[- ]?up"
        r"|recharge|purchase|payment|deposit|upgrade|renewal)s?\b"
        r"|\b(?:cannot|can't|can not|unable to|not allowed to|not possible to) (?:downgrade"
        r"|cancel (?:the |your |this )?(?:plan|subscription)"
        r"|(?:switch|change) (?:to )?(?:the |your |this |a |an |another )?(?:[\w-]+ )?"
        r"(?:plan|tier|subscription))\b"
        r"|\bdowngrades? (?:is |are )?not (?:allowed|possible|permitted)\b"
        r"|\bcannot be downgraded\b",
        needles=(
            "progress",
            "pending",
            "underway",
            "under way",
            "being processed",
            "processing",
            "running",
            "ongoing",
            "unfinished",
            "queued",
            "awaiting",
            "in flight",
            "not yet",
            "being confirmed",
            "confirming",
            "settling",
            "crediting",
            "unsettled",
            "unconfirmed",
            "downgrade",
            "cancel",
            "switch",
            "change",
        ),
        examples=(
            "A top-up is already in progress for this account. Please wait.",
            "Another purchase of credits is pending; try again when it completes.",
            "There is already a top-up in progress.",
            "You have a pending recharge; wait until it completes.",
            "Your payment is being processed.",
            "Cannot downgrade: your current usage exceeds the Free plan's limit",
            "You cannot switch to the Free plan while over its limits.",
            "Unable to cancel your subscription: an invoice is past due.",
            "Downgrade not allowed: usage exceeds the Starter plan's quota.",
            "Your previous top-up is still processing. Please wait before purchasing more credits.",
            "Credits purchase already underway",
            "An auto-recharge is currently running for this account",
            "Your subscription renewal is being processed.",
            "Subscription renewal in progress",
            # Case 182: other words for the same state, and the state before the operation.
            "Your recharge is queued and will be applied shortly. Do not purchase again.",
            "A credit purchase for this account is awaiting confirmation.",
            "Credit purchase pending confirmation.",
            "Top-up in flight; please retry in a few seconds.",
            "Previous top-up not yet settled. Insufficient credits until it completes.",
            "We're still processing your previous credit purchase.",
            "Insufficient balance. Your deposit is being confirmed on-chain (2/12 confirmations).",
        ),
        look_alikes=(
            "Your top-up failed: card declined.",
            "An invoice is pending payment. Pay it to restore access.",
            "Insufficient credits. Please top up to continue.",
            "You cannot change the model on the free plan. Upgrade to Pro.",
            "Your plan was downgraded to Free: the payment failed.",
            "Payment processing failed: card declined.",
            "Your subscription renewal failed. Update your payment method.",
            "Credit purchase required to continue.",
            # Case 174: a debt awaiting the account's payment stays a gate.
            "Your subscription has expired: your renewal invoice is pending payment.",
            "Your subscription has expired: the renewal is pending payment.",
            "Account suspended: renewal payment is pending since 3 days; pay the outstanding "
            "invoice.",
            "Your payment is overdue: pay the pending invoice to restore access.",
        ),
        source="research/cases10 136 (an adversary's refusals of a billing operation: a "
        "409 top-up in progress, a 400 refused downgrade), research/cases13 174 (a debt "
        "pending payment is no operation under way) and 182 (queued, awaiting confirmation, "
        "in flight, not yet settled, the state before the operation), the kind of DESIGN's "
        "'never pays twice'",
    ),
    # Someone else's state: an account, a balance, a subscription or billing whose owner
    # the words name as another party than the caller (a customer, a member, a user of the
    # application's, a linked account, an object of a billing API). A platform's key that
    # acts for its customers meets their lapses and their empty wallets; a hook answering
    # them renews or buys for the wrong account, and a known gate refuses the key's other
    # calls (cases 187, 188). Owned by a determiner and a possessive ("the customer's", "this
    # user's"), a third person's possessive ("their account", "his balance"), an object's
    # id ("customer cus_123", "subscription sub_1Q2w3E4r", "cust_abc123's"), or an account
    # that is linked, connected or managed. The caller's own stays the caller's: "your
    # account", "this account", "the account", an owner not named ("User balance
    # insufficient", a gateway's words for the key's owner).
    WordRule(
        "someone else's account, balance or billing",
        TRANSFER,
        STRONG,
        rf"\b(?:the|this|that|each|another|a) {_OTHER_PARTY}(?:'s|’s|s') (?:[\w-]+ ){{0,2}}"
        rf"{_OWNED}"
        # A remedy asked of the account's owner in the third person is the caller's
        # ("The project owner must upgrade their plan").
        r"|(?<!upgrade )(?<!update )(?<!renew )(?<!top up )(?<!raise )(?<!increase )"
        r"(?<!check )(?<!add to )(?<!fund )"
        rf"\b(?:their|his|her) (?:[\w-]+ ){{0,2}}{_OWNED}"
        rf"|\b(?:{_OTHER_PARTY}|subscription|account) (?:id )?{_OBJECT_ID}"
        rf"|\b{_OBJECT_ID}(?:'s|’s)"
        rf"|\b(?:linked|connected|managed|external) accounts?\b",
        needles=(
            "'s",
            "’s",
            "s' ",
            "their ",
            "his ",
            "her ",
            "cus_",
            "cust_",
            "sub_",
            "acct_",
            "usr_",
            "mbr_",
            "linked account",
            "connected account",
            "managed account",
            "external account",
        ),
        examples=(
            "Customer cust_abc123's account has been cancelled.",
            "Cannot message this user: their account has been suspended or cancelled.",
            "The member's account has been cancelled.",
            "Linked account has been cancelled by the institution.",
            "Subscription sub_1Q2w3E4r is cancelled and cannot be updated.",
            "Customer has insufficient credits in their wallet.",
            "The user's balance is insufficient for this purchase.",
            "This customer's subscription is past due.",
            "Billing is not enabled for the customer's workspace.",
            "The connected account's balance is insufficient for this transfer.",
        ),
        look_alikes=(
            "Your account has been cancelled.",
            "Your subscription is past due.",
            "This account's balance is insufficient.",
            "User balance is insufficient, please recharge.",
            "user quota is not enough",
            "Insufficient credits in your wallet. Please top up.",
            "The account's subscription has expired.",
            "Billing is not enabled for this project.",
            "The project owner must upgrade their plan or remove spend caps to restore service.",
            "The organization admin must update their payment method.",
        ),
        source="research/cases13 187 and 188 (an adversary's someone-else's states: a "
        "customer's cancelled account or past-due subscription, a user's balance, a billing "
        "API's subscription object), docs/reasons.md's 'someone else's block is no gate' "
        "(Kotani Pay, Prevop, Bithumb, LinkupAPI)",
    ),
    # A trade of the trader's own money lacks funds: its side's balance ("Insufficient bid
    # balance", Upbit's English twin of its Korean 400), buying power (Alpaca's 403
    # "insufficient buying power", Tastytrade's `InsufficientBuyingPowerError`), margin
    # ("Order has insufficient margin"), or funds for a buy or sell order. An exchange's
    # order is its user's money movement, as a withdrawal is (`movement.py`); an ad's bid is
    # not read here, only a balance or power named by the side.
    WordRule(
        "a trade lacks funds",
        TRANSFER,
        STRONG,
        r"\b(?:insufficient|not enough|not sufficient|lack of) " + _TRADE_SIDE + r" (?:balance"
        r"|funds|power|margin|quantity|volume)\b"
        r"|\binsufficient (?:initial |maintenance |available |free )?margin\b"
        r"|\b(?:buying|selling) power\b[^.]{0,20}?\b(?:insufficient|not enough|exceeded|too low)\b",
        # The lack's words, which the other rules look for already ("ask" alone is in
        # "task"), and a trader's power.
        needles=(
            "insufficient",
            "not enough",
            "not sufficient",
            "lack of",
            "buying power",
            "selling power",
        ),
        examples=(
            "Insufficient bid balance",
            "insufficient buying power",
            "Order has insufficient margin (i.e. if the margin is less than the initial margin).",
            "Not enough sell quantity.",
            "Your buying power is insufficient for this order.",
        ),
        look_alikes=(
            "Insufficient balance.",
            "Insufficient credits to process this request.",
            "Please ask your administrator to add credits: insufficient balance.",
            "The margin parameter is invalid.",
        ),
        source="research/payloads21 upbit-order-insufficient-funds-bid-400-negative (Upbit's "
        "'Insufficient bid balance' in a client's test, code index 54507713490); "
        "https://rubydoc.info/gems/tastytrade/Tastytrade/InsufficientBuyingPowerError; "
        "Injective's exchange module error 26 'Order has insufficient margin'",
    ),
    WordRule(
        "bad credentials",
        OTHER,
        STRONG,
        r"\b(?:invalid|incorrect|wrong|missing|expired|revoked|unknown|malformed) (?:x-)?"
        r"(?:api[ _-]?key|access key|secret key|token|credentials?|bearer token|subscription "
        r"key|authori[sz]ation)\b"
        r"|\b(?:api[ _-]?key|token|credentials?)\b[^.]{0,20}?\b(?:is |has |was )?(?:been )?"
        r"(?:invalid|expired|revoked|not valid|disabled|not found|incorrect)\b"
        r"|\bauthentication (?:failed|fails|error)\b",
        needles=("key", "token", "credential", "authori", "authentication"),
        examples=(
            "Incorrect API key provided: sk-proj-****SJh4.",
            "API key expired. Please renew the API key.",
            "Authentication Fails (no such user)",
            "Access denied due to missing subscription key.",
        ),
        look_alikes=("Your credit balance is too low.",),
        source="tests/payloads/openai-invalid-api-key-401-negative.json",
    ),
    WordRule(
        "security or policy",
        OTHER,
        STRONG,
        r"\b(?:for|due to) security\b|\bsecurity (?:reasons?|review|hold|check|concerns?|lock)\b"
        r"|\b(?:suspicious|compromised|fraudulent activity|unusual activity)\b"
        r"|\bviolat(?:e|es|ed|ing|ion|ions)\b|\b(?:community guidelines|terms of (?:service|use)"
        r"|acceptable use|usage polic(?:y|ies))\b|\b(?:banned|abuse|abusive)\b"
        r"|\baccess terminated\b",
        needles=(
            "security",
            "suspicious",
            "compromised",
            "fraudulent",
            "unusual",
            "violat",
            "guidelines",
            "terms of",
            "acceptable use",
            "polic",
            "banned",
            "abus",
            "terminated",
        ),
        examples=(
            "Your account has been locked for security reasons.",
            "Access terminated. Review our Community Guidelines.",
            "Your account has been suspended for violating our terms.",
        ),
        look_alikes=("Your subscription has expired.",),
        source="tests/payloads/kimi-code-access-terminated-403-negative.json",
    ),
    WordRule(
        "storage or validation",
        OTHER,
        STRONG,
        r"\b(?:storage|disk|drive) (?:quota|space|limit)\b|\b(?:insufficient|not enough|out of) "
        r"(?:storage|disk|space)\b"
        r"|\b(?:must be|should be) (?:at least|at most|greater|less|lower|higher|smaller|larger"
        r"|above|below|positive|between|one of"
        r"|valid|an? (?:valid|integer|number|string|boolean|array|object|list)\b)"
        # Not "not found": "billing account ... is not found" is a paid tier's requirement.
        r"|\b(?:does not exist|no such)\b",
        needles=(
            "storage",
            "disk",
            "drive",
            "space",
            "must be",
            "should be",
            "does not exist",
            "no such",
        ),
        examples=(
            "The user's Drive storage quota has been exceeded.",
            "Amount must be at least $0.50 usd",
            "Auto top-up threshold must be lower than the top-up amount of credits",
            "The model `gpt-4` does not exist or you do not have access to it.",
        ),
        look_alikes=(
            "A payment method is required to continue.",
            "Credits are required.",
            "You must be a paid subscriber to use this model.",
            "Billing account for project '123' is not found.",
        ),
        source="https://developers.google.com/drive/api/guides/handle-errors "
        "(storageQuotaExceeded); tests/payloads/stripe-resource-missing-400-negative.json",
    ),
    # --- payloads13: a feature flag that is off is a setting, not the plan: a feature code
    # beside it (`feature_not_available`, "Flag is off.") is no gate, while the bare code
    # (Lago's `feature_unavailable`) is the plan's.
    WordRule(
        "a feature flag off",
        OTHER,
        STRONG,
        r"\b(?:feature )?flags? (?:is |was |are |has been )?(?:off|disabled|not enabled|turned off"
        r"|not set)\b|\b(?:disabled|turned off|gated) (?:by|behind) (?:a |the |an? )?(?:feature )?"
        r"flags?\b",
        needles=("flag",),
        examples=(
            "Flag is off.",
            "The feature flag is disabled for this workspace.",
            "This endpoint is gated behind a feature flag.",
        ),
        look_alikes=(
            "This feature is not included in your plan.",
            "Flagged for review: upgrade your plan.",
        ),
        source="tests/test_gateways.py (a feature code beside 'Flag is off.'); research/"
        "payloads13 lago-feature-unavailable-403 (the bare code, the plan's)",
    ),
    # "Insufficient" qualifies what follows: permissions, privileges, rights, a scope or
    # access that lack are an authorisation refusal, whatever the sentence names after them
    # (a quota, credits, a billing account).
    WordRule(
        "insufficient permissions",
        OTHER,
        STRONG,
        r"\b(?:insufficient|not enough|not sufficient) (?:[a-z-]+ ){0,2}(?:permissions?|privileges?"
        r"|rights|scopes?|access(?! (?:level|tier)))\b",
        needles=("insufficient", "not enough", "not sufficient"),
        examples=(
            "Permission denied: insufficient permissions to use quota of folder b1g",
            "Insufficient privileges to access billing account.",
            "insufficient_scope: the token has insufficient scope for this request",
            "Not enough rights to read the balance.",
            "Insufficient access to this project's credits.",
            # Lago's 403 row: "Feature unavailable or insufficient API key permissions."
            "Insufficient API key permissions.",
        ),
        look_alikes=(
            "Insufficient quota for this request.",
            "Insufficient credits to process this request.",
            "Insufficient access level: upgrade your plan.",
        ),
        source="research/payloads7 yandex-cloud-insufficient-permissions-use-quota-of-folder-"
        "403-negative (an IAM role on the folder); RFC 6750 insufficient_scope; "
        "https://getlago.com/docs/v2/api-reference/errors.md (403, payloads13)",
    ),
    # A cloud's count of resources (instances, sessions, keys), raised by a quota request and
    # not by paying: AWS's `ServiceQuotaExceededException`, which AWS Sign-In sends on a 402.
    WordRule(
        "service quota",
        OTHER,
        STRONG,
        r"\bservice[ _-]?quotas?\b",
        needles=("service quota", "service_quota", "service-quota", "servicequota"),
        examples=(
            "Service quota exceeded for resource type instances.",
            "The request would exceed a service quota. Request an increase in Service Quotas.",
        ),
        look_alikes=("Your quota for this service is used up.",),
        source="research/payloads4 aws-signin-service-quota-exceeded-402-negative; "
        "https://docs.aws.amazon.com/servicequotas/latest/userguide/intro.html",
    ),
)

#: The look-alikes that no payment lifts, by their rules' names and codes: bad credentials.
#: A 402 whose words state one of them and no billing evidence at all is no gate (issue 19,
#: payloads9): a top-up would not help, so the 402 is not read as `unknown` either (the
#: ladder's `lifts_by_itself`, as for a throttle's window or a resource in use).
NO_PAYMENT_LIFTS = frozenset({"bad credentials"})
NO_PAYMENT_LIFTS_CODES = frozenset({"invalid_api_key", "api_key_invalid", "api_key_expired"})

CODE_WORDS = (
    # A code that names a trade's side beside a lack (Upbit's `insufficient_funds_bid` and
    # `insufficient_funds_ask`, `INSUFFICIENT_BUYING_POWER`, `InsufficientMargin`): the
    # trader's own money, however the message beside it is worded (Upbit's Korean one reads
    # a balance). Not an order's size or an API's balance.
    CodeWords(
        "a trade lacks funds",
        all_of=("insufficient",),
        any_of=("bid", "ask", "buy", "sell", "buying", "selling", "margin", "trading"),
        family=TRANSFER,
        strength=STRONG,
        examples=(
            "insufficient_funds_bid",
            "insufficient_funds_ask",
            "INSUFFICIENT_BUYING_POWER",
            "InsufficientMargin",
        ),
        look_alikes=("insufficient_funds", "insufficient_credits", "insufficient_permissions"),
        source="research/payloads21 upbit-order-insufficient-funds-bid-400-negative "
        "(https://docs.upbit.com, 400: insufficient_funds_ask, insufficient_funds_bid)",
    ),
)

CODES = (
    CodeRule(
        ("balance_insufficient", "insufficient_funds_for_transfer", "payout_failed"),
        TRANSFER,
        STRONG,
        source="https://docs.stripe.com/error-codes/balance-insufficient",
    ),
    CodeRule(
        [
            "invalid_api_key",
            "api_key_invalid",
            "api_key_expired",
            "storage_quota_exceeded",
            "insufficient_space",
            "account_locked",
            "security_lock",
            "access_terminated",
        ],
        OTHER,
        STRONG,
        source="tests/payloads/openai-invalid-api-key-401-negative.json; Google Drive "
        "storageQuotaExceeded; Dropbox insufficient_space",
    ),
)
