"""The combination rules: which concepts, together in one clause, state which family.

Whose a used-up quantity is (the reason rule of `families.py`) is decided by the clause's
qualifiers, in this order, and each rule below says so with its `unless`:

1. a cap the account set (a budget, a spend or hard limit) is `spend_cap_reached`;
2. a balance (balance, funds, prepaid, a wallet) is money, `balance_exhausted`, whatever
   else the clause says;
3. credits, a quota, a limit or a volume that the clause qualifies by a period ("monthly",
   "this billing cycle"), by inclusion ("included", "allotted", "free tier", "trial") or by
   a plan, are the plan's allowance, `plan_volume_used`;
4. credits alone are money, `balance_exhausted`;
5. a volume alone (usage, compute time, pages, results) is the plan's, `plan_volume_used`;
   requests, calls, tokens or messages alone may be a throttle's, so only weakly;
6. a bare quota is `quota_exhausted` and a bare limit `plan_volume_used`, both weak.

Allowances (3, 5) and a bare quota are vague families: the remedy the message asks for ("buy
credits", "upgrade your plan") gives their reason, as it does for the wording rules.
"""

from __future__ import annotations

from ..concepts import Concept as C
from ..concepts import ConceptRule, Part
from ..families import Family
from ..rules import Strength

STRONG, WEAK = Strength.STRONG, Strength.WEAK
_QUALIFIED = {C.PERIOD, C.INCLUDED, C.PLAN}
_AMOUNTS = {C.CREDITS, C.QUOTA, C.LIMIT, C.UNIT, C.COUNT}

COMBINATIONS: tuple[ConceptRule, ...] = (
    # ------------------------------------------------------------------ what ran out, whose
    ConceptRule(
        "cap reached",
        Family.SPEND_CAP_REACHED,
        STRONG,
        needs=[C.RAN_OUT, C.CAP],
        examples=(
            "Monthly usage hard limit exceeded",
            "You have reached the spending cap of this workspace.",
            "The budget of this key is exhausted.",
        ),
        look_alikes=("Set a budget for this project.",),
        source="research/payloads2 apify-monthly-usage-hard-limit-exceeded-403 (a limit the "
        "account sets in Billing > Limits)",
    ),
    ConceptRule(
        "balance ran out",
        Family.BALANCE_EXHAUSTED,
        STRONG,
        needs=[C.RAN_OUT, C.BALANCE],
        unless=[C.CAP],
        examples=(
            "Your account does not have enough balance for this request.",
            "The wallet's funds are depleted.",
            "Your prepaid balance is too low for this model.",
            "You requested up to 4000 tokens, but can only afford 1000.",
            "账户余额不足",
            "残高が不足しています",
            "잔액부족으로 요청을 처리할 수 없습니다",
            "Нулевой баланс",
            "Недостаточно средств на балансе",
        ),
        look_alikes=("Balance updated.", "Баланс пополнен"),
        source="research/payloads2 novita-not-enough-balance-reason-403; research/payloads6 "
        "rucaptcha-v2-error-zero-balance-russian-200 (Russian)",
    ),
    ConceptRule(
        "period allowance used",
        Family.PLAN_VOLUME_USED,
        STRONG,
        needs=[C.RAN_OUT, {C.PERIOD, C.INCLUDED}],
        unless=[C.CAP, C.BALANCE],
        # Credits or a quota that the clause says are a period's or included are the
        # plan's, though a wording rule reads credits ("your monthly credits are used up").
        decides_over=[Family.BALANCE_EXHAUSTED, Family.QUOTA_EXHAUSTED],
        examples=(
            "You have exceeded your allotted message quota.",
            "You've used all the credits included this month.",
            "Your free tier usage is exhausted.",
            "You have hit the monthly rate limit of your key.",
            "本月额度已用完",
            "You have used all of your monthly credits. Upgrade your plan for more.",
            "You have exhausted your free trial credits.",
            "Exceeded User lifetime quota)",
        ),
        look_alikes=(
            "The plan was updated.",
            "Your team has hit its monthly spending limit.",
            "You have used up your free credits.",
            "Session lifetime exceeded.",
        ),
        source="research/payloads2 iex-cloud-allotted-message-quota-pay-as-you-go-402-text, "
        "line-messaging-monthly-limit-reached-429; research/payloads7 languagetools-exceeded-"
        "user-lifetime-quota-trial-429 (an allowance granted once: no window renews it)",
    ),
    # A plan named in the clause: the plan's, but no wording rule's reading is replaced
    # ("you have run out of credits or need a Grok subscription" is still the credits).
    ConceptRule(
        "plan's allowance used",
        Family.PLAN_VOLUME_USED,
        STRONG,
        needs=[C.RAN_OUT, C.PLAN],
        unless=[C.CAP, C.BALANCE, C.PERIOD, C.INCLUDED],
        examples=(
            "You have exceeded the API calls of your subscription.",
            "You have exceeded your plan.",
        ),
        look_alikes=("The plan was updated.",),
        source="tests/payloads/tavily-plan-usage-limit-432.json ('exceeds your plan's set "
        "usage limit')",
    ),
    # A limit the clause ties to the plan, said as a count the plan allows ("up to 3 APIs on
    # your current plan") rather than as a thing used up: the plan's allowance.
    ConceptRule(
        "plan's limit",
        Family.PLAN_VOLUME_USED,
        STRONG,
        needs=[C.LIMIT, C.PLAN],
        unless=[C.CAP, C.BALANCE],
        examples=(
            "You can create up to 3 APIs on your current plan.",
            "Your plan's limit of 5 projects applies.",
            "The free plan has a maximum of 2 workspaces.",
        ),
        look_alikes=(
            "Your plan allows up to 60 requests per minute.",
            "The free plan supports up to 2 concurrent builds.",
            "The plan was updated.",
        ),
        source="research/payloads4 postman-api-limit-reached-current-plan-403 ('You've "
        "reached the API limit. You can create up to 3 APIs on your current plan.')",
    ),
    ConceptRule(
        "credits ran out",
        Family.BALANCE_EXHAUSTED,
        STRONG,
        needs=[C.RAN_OUT, C.CREDITS],
        unless=[C.CAP, C.BALANCE, *_QUALIFIED],
        examples=(
            "not enough api tokens userId: 3aa5736c-0000-4000-8000-000000000000",
            "Not allowed to send: you have run out of credits.",
            "该令牌额度已用尽",
            "API可用次数不足",
        ),
        look_alikes=("The credits report is ready.", "本月调用次数已用完"),
        source="research/payloads2 leonardo-not-enough-api-tokens-400, "
        "newapi-token-quota-exhausted-chinese-metadata-403",
    ),
    ConceptRule(
        "volume used",
        Family.PLAN_VOLUME_USED,
        STRONG,
        needs=[C.RAN_OUT, C.UNIT],
        # An account off over its usage is the account's lapse ("account off over a limit").
        unless=[C.CAP, C.BALANCE, C.CREDITS, C.LAPSE, *_QUALIFIED],
        examples=(
            "Your account or project has exceeded the compute time quota.",
            "This account has reached its usage limit.",
            "You will exceed your remaining usage of $0.09.",
            "You have used up all your searches.",
        ),
        look_alikes=("Usage statistics are updated hourly.",),
        source="research/payloads2 neon-http-compute-time-quota-402, zenrows-auth004-usage-"
        "exceeded-402",
    ),
    # Requests, calls or tokens used up, with nothing to say whose: a throttle says the same.
    ConceptRule(
        "count used",
        Family.PLAN_VOLUME_USED,
        WEAK,
        needs=[C.RAN_OUT, C.COUNT],
        unless=[C.CAP, C.BALANCE, C.CREDITS, C.UNIT, C.LAPSE, *_QUALIFIED],
        examples=("You have exceeded the number of requests you can make.",),
        look_alikes=("The request was received.",),
        source="research/payloads2 airtable (the plan's requests, and a throttle's)",
    ),
    ConceptRule(
        "quota used",
        Family.QUOTA_EXHAUSTED,
        WEAK,
        needs=[C.RAN_OUT, C.QUOTA],
        unless=[C.CAP, C.BALANCE, C.CREDITS, C.UNIT, C.COUNT, C.LAPSE, *_QUALIFIED],
        examples=("quota exceeded", "You have reached your quota."),
        look_alikes=("Quota settings were saved.",),
        source="research/payloads2 opencage-quota-exceeded-status-402, abstractapi",
    ),
    ConceptRule(
        "limit reached",
        Family.PLAN_VOLUME_USED,
        WEAK,
        needs=[C.RAN_OUT, C.LIMIT],
        unless=[C.CAP, C.BALANCE, C.CREDITS, C.UNIT, C.COUNT, C.QUOTA, C.LAPSE, *_QUALIFIED],
        examples=("You have hit your account maximum.", "Limit reached."),
        look_alikes=("The limit parameter is set.",),
        source="research/payloads2 (people data labs 'account maximum', a 402)",
    ),
    # ------------------------------------------------------------------ the plan
    ConceptRule(
        "plan requirement",
        Family.PLAN_FEATURE,
        STRONG,
        needs=[C.PLAN, C.REQUIREMENT],
        examples=(
            "The option is not subscribed in the plan.",
            "Feature is not included in plan (AUTH010)",
            "This value set for 'symbol' is not available under your current subscription",
            "AWS Premium Support Subscription is required to use this service.",
            "Free tier users do not have access to this model.",
            "This endpoint requires a Premium membership.",
            "Developer accounts are limited to a max of 100 results on the free plan.",
            "当前套餐不支持该功能",
        ),
        look_alikes=(
            "The plan field is required.",
            "Subscription expiration can only be 4230 minutes in the future.",
        ),
        source="research/payloads2 brave-search-option-not-in-plan-400, zenrows-auth010, "
        "fmp-special-endpoint, aws-support-subscription-required-exception-400",
    ),
    ConceptRule(
        "not subscribed",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.NOT_SUBSCRIBED, C.SERVICE],
        unless=[C.PLAN],
        examples=(
            "You are not subscribed to this API.",
            "You are not subscribed to this service.",
        ),
        look_alikes=("Attempt to send to unsubscribed recipient",),
        source="research/payloads2 aws-ec2-optinrequired-not-subscribed-xml-401",
    ),
    ConceptRule(
        "billing account missing",
        Family.PLAN_FEATURE,
        STRONG,
        needs=[C.BILLING_ACCOUNT, C.MISSING],
        unless=[C.LAPSE],
        examples=(
            "Billing account for project '123456789012' is not found.",
            "This API needs a billing account linked to the project.",
        ),
        look_alikes=("Billing account updated.",),
        source="research/payloads2 google-serviceusage-billing-account-not-found-firebase-400 "
        "(a paid tier, Blaze, needs one)",
    ),
    # ------------------------------------------------------------------ a lapse
    ConceptRule(
        "subscription lapsed",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.LAPSE, C.BILLING_SUBJECT],
        examples=(
            "Your key's subscription plan has expired.",
            "Billing account for project '231456483426' is not open.",
            "Your membership was cancelled.",
            "Billing is suspended for this organization.",
        ),
        look_alikes=(
            "This subscription is already canceled.",
            "Subscription expiration can only be 4230 minutes in the future.",
        ),
        source="research/payloads2 google-serviceusage-billing-account-not-open-400",
    ),
    # A license that lapsed is the subscription's ("Your license has expired", "You have
    # license(s) expired"), as "subscription lapsed" reads its singular.
    ConceptRule(
        "license lapsed",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.LAPSE, C.LICENSE],
        unless=[C.KEY, C.FIELD],
        examples=(
            "Your licenses have expired.",
            "Die Lizenz ist abgelaufen.",
            "ライセンスが失効しました",
        ),
        look_alikes=("The license was renewed.", "The license key has expired."),
        source="research/payloads21 comm100-licenses-expired-or-exceeded-403 (403004)",
    ),
    # No license held at all: nothing is subscribed, as "no active subscription" or "no
    # active plan" says ("There are no licenses in your account").
    ConceptRule(
        "no license held",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.NOT_SUBSCRIBED, C.LICENSE],
        unless=[C.KEY, C.FIELD],
        examples=(
            "There are no licenses in your account.",
            "This workspace has no active license.",
        ),
        look_alikes=(
            "No license key was provided.",
            "There are no available seats for this license.",
        ),
        source="research/payloads21 comm100-no-licenses-purchase-403 (github.com/Comm100/"
        "APIDesign v3/Comm100-Restful-API-Common.md: '403005 | 403 | There are no licenses in "
        "your account. Please contact your account manager to purchase new licenses.')",
    ),
    # A license that does not include what was asked: the plan's feature, in a license's
    # words (Kibana's 403 "Your license does not support machine learning.").
    # Weak: a license manager's own API says the same of its customers' licenses
    # (LicenseSpring's 400 "license is not enabled"); the upgrade asked beside it counts.
    ConceptRule(
        "license requirement",
        Family.PLAN_FEATURE,
        WEAK,
        needs=[C.LICENSE, C.REQUIREMENT],
        unless=[C.KEY, C.FIELD, C.NOT_SUBSCRIBED],
        examples=(
            "Your license does not support machine learning.",
            "This feature is not included in your license.",
            "This endpoint is not available with your current license.",
        ),
        look_alikes=(
            "A license key is required.",
            "You need to accept the license agreement.",
            "The license field is required.",
        ),
        source="Kibana's detection-engine rules API: 403 'Your license does not support "
        "machine learning. Please upgrade your license.' (code index 330137398)",
    ),
    # Licenses used up (seats counted against the ones bought): the subscription's
    # quantity, an allowance ("your agent count has exceeded the total valid licenses"). A
    # lapse beside it is the lapse's ("You have license(s) expired, or ..."). Weak: a lack
    # of a license is also a user's, whom an administrator assigns one ("Este usuario no
    # tiene licencia asignada"), and a license manager's own objects run out of seats.
    ConceptRule(
        "licenses used up",
        Family.PLAN_VOLUME_USED,
        WEAK,
        needs=[C.RAN_OUT, C.LICENSE],
        unless=[C.KEY, C.FIELD, C.LAPSE, C.CAP, C.BALANCE, C.CREDITS],
        examples=(
            "Your current agent count has exceeded the total valid licenses.",
            "All licenses are used up.",
            "License limit reached.",
        ),
        look_alikes=(
            "You have license(s) expired, or your current agent count has exceeded the total "
            "valid licenses.",
            "The license key exceeded its activations.",
        ),
        source="research/payloads21 comm100-licenses-expired-or-exceeded-403 (403004)",
    ),
    # An account that is off, not saying why: a ban or a deactivated user says the same.
    ConceptRule(
        "account lapsed",
        Family.SUBSCRIPTION_INACTIVE,
        WEAK,
        needs=[C.LAPSE, C.ACCOUNT],
        unless=[C.BILLING_SUBJECT],
        examples=("This project is suspended.",),
        look_alikes=("Account created.",),
        source="research/payloads2 github-account-suspended-403-negative (a 403: not enough)",
    ),
    # An account that expired ran out its term: a trial's or a subscription's, whatever the
    # status (PagerDuty answers 401). A key's or a token's expiry is a credential's.
    ConceptRule(
        "account expired",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.EXPIRED, C.ACCOUNT],
        unless=[C.KEY],
        examples=(
            "Your account is expired and cannot use the API.",
            "This account has expired.",
            "账户已过期",
        ),
        look_alikes=(
            "The access token for this account has expired.",
            "Your account's API key expired.",
            "Your account password has expired.",
            "Your account is disabled.",
        ),
        source="research/payloads5 pagerduty-2012-account-expired-401",
    ),
    # An account switched off because it went over a limit: what it used is unpaid for, and
    # the account is off until it is (a pay-per-use account with no payment method).
    ConceptRule(
        "account off over a limit",
        Family.SUBSCRIPTION_INACTIVE,
        STRONG,
        needs=[C.LAPSE, {C.ACCOUNT, C.BILLING_SUBJECT}, C.RAN_OUT],
        examples=(
            "account disabled: EXCEEDED_LIMIT",
            "Your account has been suspended for exceeding its usage limit.",
        ),
        look_alikes=(
            "Account disabled after exceeding the number of failed login attempts.",
            "API key disabled: exceeded rate limit.",
            "Account suspended for exceeding the number of policy violations.",
        ),
        source="research/payloads4 tesla-fleet-account-disabled-exceeded-limit-403 (a "
        "pay-per-use developer account disabled over its bill)",
    ),
    ConceptRule(
        "unpaid",
        Family.ACCOUNT_IN_ARREARS,
        STRONG,
        needs=[C.UNPAID],
        examples=(
            "Organization has an unpaid invoice that is more than 30 days old.",
            "Your account is in arrears.",
        ),
        look_alikes=("Invoice paid.",),
        source="research/payloads2 mongodb-atlas-account-suspended-unpaid-invoice-402",
    ),
    # A payment problem said of the ACCOUNT is the account's state: a payment it has not
    # settled, so the account is held until it is (ActiveCampaign's 402 "account payment
    # issues"). A payment *attempt* that failed ("payment failed", "card declined", "the charge
    # could not be completed") is the instrument's, and outranks it when both are stated.
    ConceptRule(
        "account payment trouble",
        Family.ACCOUNT_IN_ARREARS,
        STRONG,
        needs=[C.PAYMENT_TROUBLE, C.ACCOUNT],
        examples=(
            "The request could not be processed due to account payment issues.",
            "There is a payment issue with this account.",
            "Your account has an unresolved billing problem.",
        ),
        look_alikes=(
            "The request could not be processed due to payment issues.",
            "Your payment failed. Please update your account's card.",
            "There was an issue with your account.",
        ),
        source="research/payloads9 activecampaign-402-account-payment-issues-message "
        "(developers.activecampaign.com/reference/errors: '402 | The request could not be "
        "processed due to account payment issues.')",
    ),
    # The same problem said of nothing in particular: a payment that did not go through.
    ConceptRule(
        "payment trouble",
        Family.INSTRUMENT_DECLINED,
        STRONG,
        needs=[C.PAYMENT_TROUBLE],
        unless=[C.ACCOUNT],
        examples=("Business eligibility payment issue", "There was a billing problem."),
        look_alikes=("There is a payment issue with this account.",),
        source="research/payloads3 whatsapp-cloud-131042-business-eligibility-payment-issue-400",
    ),
    # ------------------------------------------------------------------ paying
    # A charge of the account that failed, naming no card or payment method ("We had a
    # problem billing your account"): it says that billing failed, not what failed, so a
    # remedy that points at the account's balance names it (`decide`, rung 4: DataForSEO's
    # 402 "... Please, check your account's balance." is the balance's, payloads20). Alone,
    # or beside a card's or a payment method's words, it is the failed payment it says.
    ConceptRule(
        "charge failed, no instrument named",
        Family.INSTRUMENT_DECLINED,
        STRONG,
        needs=[{C.PAYMENT, C.BILLING_WORD}, C.FAILURE, C.ACCOUNT],
        unless=[C.INSTRUMENT, C.CARD],
        examples=(
            "We had a problem billing your account.",
            "Billing your account failed.",
        ),
        look_alikes=("The card on your account was declined.", "Payment failed."),
        source="research/payloads20 dataforseo-problem-billing-balance-402 "
        "(docs.dataforseo.com/v3/appendix/errors: '402 | Payment Required | We had a problem "
        "billing your account. Please, check your account's balance.')",
    ),
    ConceptRule(
        "payment failed",
        Family.INSTRUMENT_DECLINED,
        STRONG,
        needs=[{C.INSTRUMENT, C.CARD, C.PAYMENT}, C.FAILURE],
        examples=(
            "Your payment could not be completed. Try another card or payment method.",
            "The card was declined.",
            "支付失败",
            "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
            "決済に失敗しました",
        ),
        look_alikes=("Payment received.",),
        source="research/payloads2 razorpay-recurring-card-insufficient-funds-400",
    ),
    ConceptRule(
        "card expired",
        Family.INSTRUMENT_DECLINED,
        STRONG,
        needs=[{C.INSTRUMENT, C.CARD}, C.LAPSE],
        examples=("The credit card on file has expired.",),
        look_alikes=("Card added.",),
        source="https://docs.stripe.com/error-codes/expired-card",
    ),
    ConceptRule(
        "instrument missing",
        Family.INSTRUMENT_MISSING,
        STRONG,
        needs=[C.INSTRUMENT, C.MISSING],
        examples=(
            "We need your payment information to continue!",
            "No payment information was found for group 6641131da90d2a046f88fd70.",
            "AI Gateway requires a valid credit card on file to service requests.",
        ),
        look_alikes=("Payment information saved.",),
        source="research/payloads2 flyio-machines-payment-information-required-403, "
        "mongodb-atlas-no-payment-information-found-402, vercel-ai-gateway-customer-"
        "verification-required-403",
    ),
    # ------------------------------------------------------------------ named on a 402
    # On a 402 (or a provider's own host) any billing concept gives the reason.
    ConceptRule(
        "plan named",
        Family.PLAN_FEATURE,
        WEAK,
        fallback=True,
        needs=[C.PLAN],
        examples=("Premium Query Parameter",),
        look_alikes=("Query parameter",),
        source="research/payloads2 fmp-special-endpoint-symbol-not-in-subscription-402-text",
    ),
    ConceptRule(
        "money named",
        Family.BALANCE_EXHAUSTED,
        WEAK,
        fallback=True,
        needs=[{C.BALANCE, C.CREDITS}],
        examples=("Credits",),
        look_alikes=("Settings",),
        source="a 402 that names only the credits",
    ),
    ConceptRule(
        "quota named",
        Family.QUOTA_EXHAUSTED,
        WEAK,
        fallback=True,
        needs=[C.QUOTA],
        examples=("Quota",),
        look_alikes=("Queue",),
        source="a 402 that names only a quota",
    ),
    ConceptRule(
        "instrument named",
        Family.INSTRUMENT_DECLINED,
        WEAK,
        fallback=True,
        needs=[{C.INSTRUMENT, C.CARD}],
        examples=("Card error", "クレジットカードの使用期限、利用限度額をご確認ください。"),
        look_alikes=("Request error", "要求を受け付けできません。"),
        source="a 402 that names only the card",
    ),
    # ------------------------------------------------------------------ look-alikes
    # Read in a clause that a veto stops: a transfer of the application's own money that
    # lacks funds is no bill (issue 23), in whatever language the concepts know.
    ConceptRule(
        "transfer lacks funds",
        Family.TRANSFER_REFUSED,
        STRONG,
        needs=[C.TRANSFER, C.RAN_OUT, {C.BALANCE, C.CREDITS}],
        examples=(
            "잔액이 부족하여 송금할 수 없습니다.",
            "残高不足のため送金できません。",
            "余额不足，无法提现",
            "The payout cannot be made: insufficient balance.",
        ),
        look_alikes=("Insufficient balance.", "The transfer was created."),
        source="tests/payloads razorpayx and stripe payouts (English wording rules); the same "
        "refusal in the lexicons' other languages",
    ),
    # A money movement refused by its own limit (a withdrawal's or a transfer's maximum,
    # Bithumb's 400 "출금 최대 한도가 초과 되었습니다.", payloads19): the product's rule for
    # its user's own money, which no payment to the API lifts. Not a plan's allowance
    # counted in a unit ("data transfer" is a unit), nor a quota's.
    ConceptRule(
        "transfer over its limit",
        Family.TRANSFER_REFUSED,
        STRONG,
        needs=[C.TRANSFER, C.RAN_OUT, C.LIMIT],
        unless=[C.PLAN, C.UNIT, C.QUOTA],
        examples=(
            "출금 최대 한도가 초과 되었습니다.",
            "The maximum withdrawal limit has been exceeded.",
            "提现金额超过上限",
            "出金上限を超過しました。",
            "Daily payout limit reached.",
        ),
        look_alikes=(
            "Monthly data transfer limit exceeded.",
            "The withdrawal was created.",
            "Limit reached. Upgrade your plan for more transfers.",
        ),
        source="research/payloads19 bithumb-withdraw-insufficient-balance-400-negative "
        "(https://apidocs.bithumb.com/docs/api-주요-에러-코드: withdraw_insufficient_balance, "
        "'출금 최대 한도가 초과 되었습니다.')",
    ),
    # ------------------------------------------------------------------ remedies
    ConceptRule(
        "top up",
        Family.TOP_UP_ASKED,
        STRONG,
        needs=[C.TOP_UP_VERB],
        part=Part.WHOLE,
        examples=("Please top up to keep using Exa.", "请充值"),
        look_alikes=("Scroll up to see more.",),
        source="research/payloads2 exa-no-more-credits-tag-402",
    ),
    ConceptRule(
        "buy credits",
        Family.TOP_UP_ASKED,
        STRONG,
        needs=[C.BUY_VERB, {C.BALANCE, C.CREDITS}],
        part=Part.WHOLE,
        examples=("Purchase more credits to continue.", "Add funds to your wallet."),
        look_alikes=("Add a member to your team.",),
        source="openrouter 'add credits'",
    ),
    # Buying more of what ran out, counted in its own unit ("purchase more queries"): a
    # prepaid balance of that unit. Weak: "add more messages to the conversation" is a form's.
    ConceptRule(
        "buy units",
        Family.TOP_UP_ASKED,
        WEAK,
        needs=[C.BUY_VERB, {C.COUNT, C.UNIT}],
        unless=[C.PLAN, C.ADD_VERB],
        part=Part.WHOLE,
        examples=(
            "Please purchase more queries to use this service.",
            "Buy additional lookups to continue.",
        ),
        look_alikes=(
            "Add more messages to the conversation.",
            "Purchase a plan with more requests.",
        ),
        source="research/payloads4 maxmind-geoip2-out-of-queries-402 ('The license key you "
        "have provided is out of queries. Please purchase more queries to use this service.')",
    ),
    # A pointer to the price list: a higher tier is what it takes.
    ConceptRule(
        "see pricing",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.ASK_VERB, C.PRICING],
        part=Part.WHOLE,
        examples=(
            "Please check pricing page for what is allowed in your API subscription plan.",
            "See https://example.com/pricing for the plans that include it.",
        ),
        look_alikes=("See the documentation for details.",),
        source="research/payloads4 weatherapi-2009-resource-not-in-subscription-plan-403",
    ),
    ConceptRule(
        "raise the cap",
        Family.CAP_RAISE_ASKED,
        STRONG,
        needs=[C.RAISE_VERB, {C.LIMIT, C.CAP}],
        part=Part.WHOLE,
        examples=(
            "See the Caps & Alerts page to increase your cap.",
            "Raise or remove the spending limit in your settings.",
        ),
        look_alikes=("Increase the timeout.",),
        source="research/payloads3 backblaze-b2-download-cap-exceeded-403 (a cap the account "
        "set on its Caps & Alerts page)",
    ),
    ConceptRule(
        "subscribe",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.SUBSCRIBE_VERB, {C.PLAN, C.SERVICE}],
        part=Part.WHOLE,
        examples=(
            "Please subscribe to this database to get access.",
            "Please, subscribe to a paid plan to continue using this API.",
        ),
        look_alikes=("Subscribe to our newsletter.",),
        source="research/payloads3 nasdaq-data-link-qepx04-subscribe-to-database-403; "
        "research/payloads2 abstractapi-quota-reached-free-plan-422",
    ),
    ConceptRule(
        "upgrade",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.UPGRADE_VERB, {C.PLAN, C.ACCOUNT, C.LICENSE}],
        part=Part.WHOLE,
        examples=(
            "Consider upgrading to a paid plan at https://console.apify.com/billing",
            "To increase your call volume switch to a paid tier.",
            "Upgrade to paid credits.",
            # A license is what the subscription sells (payloads21, Zoho Sign's 8026).
            "Upgrade your Zoho Sign license.",
            "Node limit reached (3/3). Remove a node or upgrade your license.",
            "Please upgrade your licences.",
        ),
        look_alikes=("Please upgrade your client library.",),
        source="research/payloads2 apify-not-enough-usage-to-run-paid-actor-402, azure-form-"
        "recognizer-f0-call-volume-quota-403",
    ),
    # An upgrade asked with its object left out ("you need to upgrade", "please upgrade") in
    # the clause that names what ran out: it is of what ran out, a quota, a limit or a
    # volume, which the plan grants (moderationapi's 403 "Your quota is used and you need to
    # upgrade.", payloads18). The upgrade must be asked (a need, a please): a quota's
    # "upgrade request" is no remedy; a client's or a version's upgrade names no limit.
    ConceptRule(
        "upgrade for what ran out",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.UPGRADE_VERB, {C.QUOTA, C.LIMIT, C.UNIT}, {C.REQUIREMENT, C.ASK_VERB}],
        unless=[C.KEY, C.FIELD],
        part=Part.WHOLE,
        examples=(
            "Your quota is used and you need to upgrade.",
            "Quota exceeded, you need to upgrade.",
        ),
        look_alikes=(
            "Your quota upgrade request is pending.",
            "Your client is outdated, you need to upgrade.",
            "Please upgrade your client library.",
        ),
        source="research/payloads18 moderationapi-quota-used-forbidden-403 "
        "(https://docs.moderationapi.com/api-reference/errors: '403 | Forbidden -- ... your "
        "quota is used and you need to upgrade.')",
    ),
    ConceptRule(
        "buy a plan",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.BUY_VERB, C.PLAN],
        part=Part.WHOLE,
        examples=("Purchase a new subscription to continue using the service.",),
        look_alikes=("Purchase history is empty.",),
        source="research/payloads2 zenrows-auth004-usage-exceeded-402",
    ),
    # Licenses bought ("purchase new licenses", "add more licenses", "buy additional
    # licences"): the subscription's quantity, what an upgrade buys. Not a license key
    # ("add your license key" is a setting) nor a form's field.
    ConceptRule(
        "buy licenses",
        Family.UPGRADE_ASKED,
        STRONG,
        needs=[C.BUY_VERB, C.LICENSE],
        unless=[C.KEY, C.FIELD],
        part=Part.WHOLE,
        examples=(
            "Please contact your account manager to purchase new licenses.",
            "Please add new licenses to avoid any service interruption.",
            "Buy additional licences to invite more agents.",
        ),
        look_alikes=(
            "Add your license key in the settings.",
            "The license field is required.",
            "Purchase history is empty.",
        ),
        source="research/payloads21 comm100-no-licenses-purchase-403 and comm100-licenses-"
        "expired-or-exceeded-403 (github.com/Comm100/APIDesign, 403004 and 403005)",
    ),
    ConceptRule(
        "add a payment method",
        Family.PAYMENT_METHOD_ASKED,
        STRONG,
        needs=[C.ADD_VERB, {C.INSTRUMENT, C.CARD}],
        part=Part.WHOLE,
        examples=("Please add a payment method.", "Update your billing information."),
        look_alikes=("Add a column.",),
        source="tests/payloads/bedrock-invalid-payment-instrument-403.json",
    ),
    ConceptRule(
        "enable billing",
        Family.BILLING_ASKED,
        STRONG,
        needs=[C.ENABLE_VERB, C.BILLING_WORD],
        part=Part.WHOLE,
        examples=("Billing must be enabled for activation of service(s).", "Pay your invoice."),
        look_alikes=("Enable notifications.",),
        source="research/payloads2 google-serviceusage-billing-account-not-open-400",
    ),
    # A price quoted for this request, to accept on the replay: only on a 402, where the
    # status already says "pay".
    ConceptRule(
        "charge to accept",
        Family.CHARGE_ASKED,
        WEAK,
        needs=[C.ACCEPT_VERB, C.PRICE],
        part=Part.WHOLE,
        examples=("accept charges", "Confirm the price of this request to continue."),
        look_alikes=("The Accept header must be application/json.",),
        source="research/payloads2 2600hz-kazoo-accept-charges-quote-402 "
        "(docs.2600hz.com/developers/rest/usage/402-payment-required)",
    ),
    ConceptRule(
        "renew",
        Family.BILLING_ASKED,
        STRONG,
        needs=[C.RENEW_VERB, C.BILLING_SUBJECT],
        part=Part.WHOLE,
        examples=("Renew your subscription to continue.",),
        look_alikes=("Renew the token.",),
        source="'renew your subscription'",
    ),
)


#: What a 402 names when no other rule reads it: read only by a 402's own reading (rung 7 of
#: `decide.py`, `clauses.read_on_a_402`), after the rules above and their fallbacks, never on
#: another status or a provider's host, where the same words ask for a software upgrade as
#: often as for a plan's ("Please upgrade your SDK").
NAMED_ON_A_402: tuple[ConceptRule, ...] = (
    ConceptRule(
        "upgrade named",
        Family.UPGRADE_ASKED,
        WEAK,
        fallback=True,
        needs=[C.UPGRADE_VERB],
        part=Part.WHOLE,
        examples=("You must upgrade to make additional requests.", "Upgrade required"),
        look_alikes=("Request failed.",),
        source="research/payloads21 hellosign-payment-required-upgrade-402 "
        "(github.com/hellosign/hellosign-openapi examples/json/Error402Response.json)",
    ),
)
