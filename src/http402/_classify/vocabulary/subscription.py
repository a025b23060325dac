"""An account or subscription that is off for want of payment: `subscription_inactive`
(expired, suspended, disabled, read-only, billing off), `account_in_arrears` (a debt the
account owes: past due, overdue, in arrears, an unpaid invoice), and the remedy
`billing_asked` ("enable billing", "pay the invoice")."""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, CodeWords, Strength, WordRule

INACTIVE = Family.SUBSCRIPTION_INACTIVE
ARREARS = Family.ACCOUNT_IN_ARREARS
STRONG, WEAK = Strength.STRONG, Strength.WEAK

#: What a subscription that is off is said to be.
_OFF = (
    r"(?:expired|lapsed|ended|inactive|past due|canceled|cancelled|suspended|not active|"
    r"disabled|deactivated|paused|on hold|frozen|read[ -]only|terminated)"
)

#: Words that qualify any subscription and name no tier, alone or listed: "a valid", "an
#: active, paid" subscription.
_QUALIFIED = r"(?:(?:valid|active|current|paid|paid-up)(?:,? and |, | ))*"

WORDING = (
    WordRule(
        "subscription off",
        INACTIVE,
        STRONG,
        # "Your subscription has expired", "The subscription '82680f16-...' is disabled": not
        # an operation on a subscription object ("is already canceled", "cannot update a
        # canceled subscription", a "subscription key").
        r"\bsubscription (?:'[^']{0,80}' |\"[^\"]{0,80}\" |(?=[\w-]*\d)[\w-]{1,40} )?"
        r"(?:has |is |was |have |are )?(?:been |now |currently )?" + _OFF + r"\b"
        r"|\b(?:expired|lapsed|inactive|canceled|cancelled|suspended|past due|unpaid) "
        r"subscription\b"
        r"|\bno active subscription\b|\b(?:requires?|needs?) an active subscription\b"
        # "Does not have an active subscription", as "no active plan" reads it (Pixelbin's
        # 403 JR-1003, "the user does not have an active subscription").
        r"|\b(?:does not|doesn't|do not|don't) (?:yet )?have an? (?:active|current|valid)"
        r"(?:,? paid)? subscription\b",
        needles=("subscription",),
        examples=(
            "Your subscription has expired. Renew to continue.",
            "The subscription '82680f16-48bc-4542-b665-c80be90bc47d' is disabled and therefore "
            "marked as read only.",
            "Subscription past due.",
            "Your subscription is on hold until the invoice is paid.",
            "This feature requires an active subscription.",
            "Occurs when the user does not have an active subscription.",
            "Organization does not have an active subscription",
            "You don't have an active subscription yet. Please subscribe to a plan first.",
        ),
        look_alikes=(
            "This subscription is already canceled.",
            "You cannot update a subscription that is canceled.",
            "Access denied due to missing subscription key.",
            "No such subscription: 'sub_123'",
            "You do not have an active session.",
        ),
        source="tests/payloads (azure-arm-readonly-disabled-subscription-409, from research); "
        "https://pixelbin.io/docs/errors/transformations (JR-1003)",
    ),
    # A subscription required with no tier named ("Subscription Required", "A valid
    # subscription is required to access this resource") says the account has none that is
    # active: renewing or subscribing lifts it. A tier named ("A Pro subscription is
    # required", "Gold or Platinum subscription required") is a plan's feature (plan.py):
    # the words before "subscription" decide, so the rule reads only a bare one, or one
    # qualified as valid, active, current or paid, alone or listed ("an active, paid
    # subscription"). "Paid" names no tier of a subscription: every subscription is paid,
    # where a plan or an account may be free ("a paid plan is required" is the plan's).
    WordRule(
        "a subscription required",
        INACTIVE,
        STRONG,
        r"(?:^|[^\w\s'-]\s*|[0-9] |\b(?:a|an|valid|active|current|paid|paid-up) )subscription "
        r"(?:is |was )?(?:required|needed)\b"
        r"|\b(?:requires?|needs?) (?:a|an) " + _QUALIFIED + r"subscription\b"
        r"(?! (?:key|plan|tier|to (?:a|an|the|our|this) ))",
        needles=("subscription",),
        examples=(
            "402 Subscription Required",
            "A valid subscription is required to access this resource.",
            "Subscription required.",
            "Access to this endpoint requires a valid subscription.",
            "You need an active, paid subscription to use this API.",
            "Requires a paid subscription.",
            "A paid subscription is required.",
        ),
        look_alikes=(
            "A Gold or Platinum Plan subscription is required to access this resource.",
            "402 Gold or Platinum subscription required",
            "Pro subscription required",
            "AWS Premium Support Subscription is required to use this service.",
            "This endpoint requires a subscription to the Pro plan.",
            "A subscription key is required.",
            "You need an active Pro subscription to use this API.",
        ),
        source="research/payloads8 keywordseverywhere-402-subscription-required-description "
        "(its twin keywordseverywhere-402-gold-or-platinum-plan-required is the plan's); "
        "research/payloads11 datalab-no-active-paid-subscription-403 "
        "(https://documentation.datalab.to/platform/errors)",
    ),
    # No active plan at all ("No active billing plan.", Particle's 402 `no_active_plan`,
    # "Select a billing plan to continue"): nothing is subscribed, a lapse like "no active
    # subscription", lifted by subscribing; a plan that does not include something is the
    # plan's (plan.py). The plan must be a billing one: bare, or a billing, paid, pricing
    # or subscription plan, not a query's, a migration's or a maintenance plan.
    WordRule(
        "no active plan",
        INACTIVE,
        STRONG,
        r"\bno (?:active|current|valid)(?:,? paid)? (?:billing |paid |pricing |subscription "
        r"|service )?plan\b(?! (?:id|key|name|found for (?:this|the) query)\b)"
        r"|\b(?:does not|doesn't|do not|don't) have an? (?:active|current|valid)(?:,? paid)? "
        r"(?:billing |paid |pricing |subscription |service )?plan\b(?! (?:id|key|name)\b)"
        r"|\bwithout an? (?:active|valid)(?:,? paid)? (?:billing |paid |pricing |subscription )?"
        r"plan\b(?! (?:id|key|name)\b)",
        needles=("plan",),
        examples=(
            "No active billing plan.",
            "No active plan. Select a billing plan to continue.",
            "Your organization does not have an active subscription plan.",
        ),
        look_alikes=(
            "Your plan does not include this endpoint.",
            "No active maintenance plan.",
            "No active plan id was given.",
            "No active execution plan found for this query.",
        ),
        source="research/payloads14 particle-no-active-plan-402 (https://docs.particle.pro/"
        "errors/overview)",
    ),
    WordRule(
        "plan expired",
        INACTIVE,
        STRONG,
        r"\b(?:your|the|this) (?:current |paid |[\w-]+ )?(?:plan|license|licence|membership"
        r"|subscription plan)\b[^.]{0,15}?\b(?:has |is |was )?(?:expired|lapsed|ended)\b"
        r"|(?:账户|账号|套餐|订阅|会员|服务)(?:已|已经)?(?:过期|到期)",
        needles=(
            "plan",
            "license",
            "licence",
            "membership",
            "账户",
            "账号",
            "套餐",
            "订阅",
            "会员",
            "服务",
        ),
        examples=(
            "Your plan has expired.",
            "Your license has expired. Renew it to continue.",
            "您的套餐已过期",
        ),
        look_alikes=("The plan expires next month.", "This price plan is not valid."),
        source="the subscription family's wording (issue 19: generalise by family)",
    ),
    # A debt the account owes ranks above a balance in the same words (`families.py`):
    # Huawei OBS's 403 `InArrearOrInsufficientBalance`, "In arrear or insufficient balance."
    WordRule(
        "past due",
        ARREARS,
        STRONG,
        r"\bpast[ _-]due\b|\boverdue\b|\bin arrears?\b|\barrearage\b|\barrears\b",
        needles=("past due", "past-due", "past_due", "overdue", "arrear"),
        examples=(
            "Your account is past due.",
            "The request failed because your account has an overdue balance.",
            "Your account is in arrears.",
            "In arrear or insufficient balance.",
        ),
        look_alikes=("Past events are not shown.",),
        source="tests/payloads (volcengine-ark-account-overdue-403, from research); "
        "research/payloads8 huaweicloud-obs-inarrearorinsufficientbalance-xml-403",
    ),
    WordRule(
        "unpaid",
        ARREARS,
        STRONG,
        r"\b(?:unpaid|outstanding)\b[^.]{0,20}?\b(?:invoices?|balance|bills?|charges?)"
        r"|\b(?:failure|failed|failing) to pay\b|\bnon-?payment\b",
        needles=("unpaid", "outstanding", "pay"),
        examples=(
            "Account my-account is suspended, possibly due to reaching the monthly spending "
            "limit or failure to pay past invoices.",
            "Your account has an unpaid invoice.",
            "Service suspended for non-payment.",
        ),
        look_alikes=("Outstanding requests will be cancelled.",),
        source="tests/payloads/fireworks-account-suspended-412.json",
    ),
    # A renewal that failed lapses the subscription; why it failed (a balance, a card) is
    # read by its own words.
    WordRule(
        "renewal failed",
        INACTIVE,
        STRONG,
        r"\brenew(?:al)?\b[^.]{0,20}?\bfailed\b",
        needles=("renew",),
        examples=("Subscription renewal failed.",),
        look_alikes=("Renewal succeeded.",),
        source="tests/payloads/fireworks-account-suspended-412.json (the subscription family)",
    ),
    WordRule(
        "account frozen",
        INACTIVE,
        STRONG,
        r"\b(?:account|shop|store|organization|workspace|project)\b[^.]{0,20}?\bfrozen\b"
        r"|\b(?:account|shop|store|organization|workspace|project|service)\b[^.]{0,40}?"
        r"\b(?:suspended|disabled|deactivated|locked|restricted|on hold|paused)\b[^.]{0,40}?"
        r"\b(?:billing|payment|non-?payment|invoices?|unpaid|overdue|arrears)\b",
        needles=("frozen", "billing", "payment", "invoice", "unpaid", "overdue", "arrear"),
        examples=(
            "Your account is frozen.",
            "Your project has been suspended due to a billing issue.",
            "The organization is disabled because of unpaid invoices.",
        ),
        look_alikes=(
            "Your account has been suspended for violating our terms.",
            "The frozen layer cannot be edited.",
        ),
        source="tests/payloads/shopify-unavailable-shop-frozen.json",
    ),
    # An account or project that is off, said without why: a deactivated user or an abuse
    # ban says the same.
    WordRule(
        "account off",
        INACTIVE,
        WEAK,
        r"\b(?:account|shop|store|project)\b[^.]{0,20}?\b(?:not active|inactive|suspended"
        r"|disabled|deactivated|on hold)\b"
        r"|\b(?:account|project) (?:is |be )?(?:in )?good standing\b",
        needles=("account", "shop", "store", "project"),
        examples=(
            "Your account is not active.",
            "Access denied, please make sure your account is in good standing.",
            "This project is suspended.",
        ),
        look_alikes=("Account created.",),
        source="tests/payloads/openai-billing-not-active.json",
    ),
    # An account cancelled is its paid relationship ended, as a subscription cancelled is:
    # hesgoals' 403 `ACCOUNT_SUSPENDED` "Account has been suspended or cancelled."
    # (payloads18), lifted by renewing. A ban says "terminated", "banned" or "suspended" (weak
    # above, with no cause), never "cancelled"; an operation cancelled on an account ("account
    # deletion was cancelled") is no state of the account.
    WordRule(
        "account cancelled",
        INACTIVE,
        STRONG,
        r"\baccount (?:has been |had been |was |is |got )?(?:(?:suspended|closed|terminated"
        r"|disabled|deactivated),? (?:or|and(?:/or)?) )?(?:canceled|cancelled)\b",
        needles=("account",),
        examples=(
            "Account has been suspended or cancelled.",
            "Your account was cancelled.",
            "This account is canceled. Renew to continue.",
        ),
        look_alikes=(
            "Account deletion was cancelled.",
            "The account cancellation request is pending.",
            "Your account has been suspended.",
            "Account suspended for violating our terms.",
        ),
        source="research/payloads18 hesgoals-account-suspended-or-cancelled-403 "
        "(https://hesgoals1.co.uk/docs/errors: 'ACCOUNT_SUSPENDED | 403 | Account has been "
        "suspended or cancelled.')",
    ),
    # --- payloads13: an account off whose remedy names a payment method or billing
    # (Lambda Cloud's 403 "Your account is inactive." with the suggestion "Make sure you
    # have verified your email address and have a valid payment method"): the cause is the
    # account's billing, a gate on any status, while "account off" alone is weak (above).
    # The remedy may be a field of its own (`decide` reads a message with its remedies).
    WordRule(
        "account off, a payment method its remedy",
        INACTIVE,
        STRONG,
        r"\baccount\b[^.]{0,20}?\b(?:not active|inactive|suspended|disabled|deactivated"
        r"|on hold)\b[\s\S]{0,140}?\b(?:payment (?:method|details|information|info)"
        r"|billing (?:method|details|information|info|address)|credit card)\b",
        needles=("account",),
        examples=(
            "Your account is inactive. Make sure you have verified your email address and "
            "have a valid payment method. Contact Support if problems continue.",
            "Your account has been deactivated. Please update your billing information.",
        ),
        look_alikes=(
            "Your account is inactive. Make sure you have verified your email address.",
            "This account is disabled. Contact support.",
            "Your account is not active.",
        ),
        source="research/payloads13 lambdalabs-account-inactive-403 "
        "(https://docs.lambda.ai/api/cloud: ApiErrorAccountInactive, code "
        "'global/account-inactive', with its suggestion)",
    ),
    WordRule(
        "billing off",
        INACTIVE,
        STRONG,
        r"\bbilling\b[^.]{0,20}?\b(?:not active|disabled|not enabled|suspended|deactivated"
        r"|inactive|closed)\b|\b(?:requires?|needs?) billing to be enabled"
        r"|\bbilling account\b[^.]{0,30}?\b(?:closed|disabled|absent|suspended)",
        needles=("billing",),
        examples=(
            "This API method requires billing to be enabled.",
            "Billing has been disabled for this project.",
            "The billing account for the owning project is disabled in state absent",
        ),
        look_alikes=("Billing address is required.", "Billing details were updated."),
        source="tests/payloads/google-cloud-billing-disabled-403.json",
    ),
    WordRule(
        "trial ended",
        INACTIVE,
        STRONG,
        r"\btrial\b[^.]{0,20}?\b(?:has |is )?(?:expired|ended|over)\b",
        needles=("trial",),
        examples=("Your free trial has expired.", "The trial period has ended."),
        look_alikes=("Start a trial to explore the API.",),
        source="tests/payloads (trial_expired code family)",
    ),
    # Aliyun, Volcengine and the gateways before them: "the account is in arrears" (欠费),
    # "service stopped for arrears" (欠费停机).
    WordRule(
        "arrears (Chinese)",
        ARREARS,
        STRONG,
        r"欠费|欠款",
        needles=("欠费", "欠款"),
        examples=("您的账户已欠费，请充值后重试", "欠款或余额不足"),
        look_alikes=("请求参数错误",),
        source="https://help.aliyun.com/zh/model-studio/error-code (Arrearage: 账户欠费); "
        "https://support.huaweicloud.com/api-obs/obs_errorcode_0007.html (欠款或余额不足)",
    ),
    WordRule(
        "service stopped (Chinese)",
        INACTIVE,
        STRONG,
        r"账户已停用|账号已停用|服务已暂停",
        needles=("已停用", "服务已暂停"),
        examples=("账号已停用", "服务已暂停"),
        look_alikes=("请求参数错误",),
        source="https://help.aliyun.com/zh/model-studio/error-code (the account stopped)",
    ),
    # Subscribing again is what lifts a subscription that lapsed ("Subscription required.
    # Re-subscribe to continue.", Autohost's 403): the remedy of a renewal. Not a feed's, a
    # topic's or a webhook's subscription ("re-subscribe to the channel").
    WordRule(
        "re-subscribe",
        Family.BILLING_ASKED,
        STRONG,
        r"\bre-?subscribe\b(?! (?:to|for) (?:the |this |that |a |an |your )?(?:[\w-]+ )?"
        r"(?:channel|topic|feed|stream|webhook|event|notification|list|newsletter|queue)s?\b)",
        needles=("resubscribe", "re-subscribe"),
        examples=(
            "Subscription required. Re-subscribe to continue.",
            "Your access has ended. Please resubscribe to keep using the API.",
        ),
        look_alikes=(
            "Re-subscribe to the channel to receive events.",
            "The webhook was removed; resubscribe to the events you need.",
        ),
        source="research/payloads12 autohost-subscription-required-403 "
        "(https://docs-dev.autohost-dev.uk/api/errors/subscription_required: 'its trial window "
        "has expired with no subscription, its subscription is canceled, or it is past_due')",
    ),
    WordRule(
        "enable billing",
        Family.BILLING_ASKED,
        STRONG,
        r"\benable billing\b|\bpay (?:your |the )?(?:outstanding |overdue |past[ -]due )?"
        r"(?:invoices?|bills?|balance due)\b|\bsettle (?:your |the )?(?:outstanding )?"
        r"(?:invoices?|bills?|balance|account)\b",
        needles=("billing", "pay", "settle"),
        examples=(
            "Please enable billing on project #8511 by visiting the console.",
            "Pay your outstanding invoices to restore access.",
        ),
        look_alikes=("Pay attention to the request format.",),
        source="tests/payloads/google-cloud-billing-disabled-403.json",
    ),
)

CODES = (
    CodeRule(
        [
            "subscription_expired",
            "subscription_inactive",
            "subscription_canceled",
            "subscription_cancelled",
            "billing_not_active",
            "trial_expired",
            "trial_ended",
            "plan_expired",
            "license_expired",
            "subscription_ended",
            "billing_disabled",
            "billing_not_enabled",
            "billing_suspended",
            "billing_inactive",
            "account_billing_disabled",
            "shop_frozen",
            "account_frozen",
        ],
        INACTIVE,
        STRONG,
        source="OpenAI billing_not_active; Stripe subscription statuses "
        "(docs.stripe.com/billing/subscriptions)",
    ),
    CodeRule(
        [
            "subscription_past_due",
            "past_due",
            "unpaid",
            "payment_overdue",
            "invoice_overdue",
            "arrearage",
            "arrears",
            "account_overdue",
            "payment_overdue_suspended",
        ],
        ARREARS,
        STRONG,
        source="https://help.aliyun.com/zh/model-studio/error-code (Arrearage); Stripe "
        "subscription statuses past_due and unpaid (docs.stripe.com/billing/subscriptions)",
    ),
    # An inactive or suspended account may be a deactivated user's or an abuse ban's.
    CodeRule(
        ("account_not_active", "account_inactive", "account_suspended", "account_disabled"),
        INACTIVE,
        WEAK,
        source="tests/payloads/openai-billing-not-active.json",
    ),
)

CODE_WORDS = (
    # A code that says the account has no subscription (Xquik's 402 `no_subscription`,
    # "No active subscription or insufficient credits"): renewing or subscribing lifts it.
    # Weak: "no subscription" is also a feed's or a topic's, a client not subscribed to a
    # channel; a subscription's key or id missing is a request's error.
    CodeWords(
        "no subscription",
        all_of=("subscription",),
        any_of=("no", "without", "missing", "lacks", "none"),
        family=INACTIVE,
        strength=WEAK,
        examples=("no_subscription", "NoActiveSubscription", "missing_subscription"),
        look_alikes=(
            "missing_subscription_key",
            "no_such_subscription",
            "subscription_id_missing",
            "no_subscription_found",
        ),
        source="research/payloads12 xquik-no-subscription-402 (https://docs.xquik.com/"
        "guides/troubleshooting: 'Possible error codes: no_subscription, "
        "subscription_inactive, no_credits, insufficient_credits')",
        none_of=("key", "keys", "id", "ids", "such", "found", "topic", "channel", "webhook"),
    ),
    CodeWords(
        "billing off",
        all_of=("billing",),
        any_of=("disabled", "suspended", "inactive", "deactivated", "closed"),
        family=INACTIVE,
        strength=STRONG,
        examples=("BILLING_DISABLED", "billingAccountClosed", "contract_billing_suspended"),
        look_alikes=("billing_address_invalid",),
        source="tests/payloads/google-cloud-billing-disabled-403.json; research/payloads11 "
        "didit-contract-billing-suspended-403 (paid services paused under an organisation's "
        "contract: the account's state, https://docs.didit.me/hi/integration/api-errors)",
    ),
    CodeWords(
        "subscription off",
        all_of=("subscription",),
        any_of=(
            "disabled",
            "suspended",
            "expired",
            "inactive",
            "canceled",
            "cancelled",
            "lapsed",
            "ended",
            "overdue",
            "unpaid",
            "deleted",
        ),
        family=INACTIVE,
        strength=STRONG,
        examples=("ReadOnlyDisabledSubscription", "SubscriptionNotActive_Expired"),
        look_alikes=("subscription_key_invalid", "SubscriptionNotFound"),
        source="tests/payloads (azure-arm-readonly-disabled-subscription-409, from research)",
    ),
    CodeWords(
        "overdue",
        all_of=(),
        any_of=("overdue", "arrearage", "arrears", "arrear", "delinquent"),
        family=ARREARS,
        strength=STRONG,
        examples=("AccountOverdueError", "Arrearage", "InArrearOrInsufficientBalance"),
        look_alikes=("RequestTimeout",),
        source="tests/payloads (volcengine-ark-account-overdue-403, dashscope arrearage); "
        "research/payloads8 huaweicloud-obs-inarrearorinsufficientbalance-xml-403",
    ),
)
