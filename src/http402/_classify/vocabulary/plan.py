"""What the plan includes: the allowances (`free_allowance_used`, `plan_volume_used`, both
vague), `trial_restriction`, `plan_feature`, and the remedy `upgrade_asked`."""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, CodeWords, Strength, WordRule

FREE = Family.FREE_ALLOWANCE_USED
VOLUME = Family.PLAN_VOLUME_USED
TRIAL = Family.TRIAL_RESTRICTION
FEATURE = Family.PLAN_FEATURE
STRONG, WEAK = Strength.STRONG, Strength.WEAK

#: Words for an allowance that ran out.
_USED = (
    r"(?:exhausted|used up|used all|depleted|exceeded|reached|run out|ran out|expired"
    r"|consumed)"
)
#: What a free or included allowance is counted in.
_ALLOWANCE = (
    r"(?:tier|quota|allowance|usage|requests|calls|minutes|hours|characters|searches|"
    r"generations|images|messages|tokens|plan)"
)
#: An included allowance may be counted in credits too: it is the plan's all the same.
_INCLUDED = r"(?:" + _ALLOWANCE[3:-1] + r"|credits?)"
#: What a plan's volume is counted in, other than money.
_UNITS = (
    r"(?:searches|requests|api calls|calls|characters|minutes|pages|messages|emails|"
    r"generations|images|scrapes|lookups|renders|conversions|verifications|queries)"
)

#: A paid tier by name, and who belongs to one.
_PAID_TIER = r"(?:paid|paying|premium|pro|plus|business|enterprise|gold|platinum|professional)"
_MEMBERS = r"(?:users|plans?|subscribers|subscriptions?|accounts|customers|tiers?|members)"

WORDING = (
    # A 402 that asks to check a package's quota: the package (套餐, a plan bundle) grants
    # the allowance that ran out (WeChat Cloud Base's storage "please check the quota of
    # your package"). Weak: the status says "pay", the words only say where.
    WordRule(
        "package quota asked",
        Family.PLAN_VOLUME_USED,
        WEAK,
        r"\b(?:check|view|review)\b (?:the |your )?(?:quota|allowance|usage) of (?:your|the)"
        r" (?:[a-z-]+ )?package\b|\bcheck (?:the |your )?package(?:'s)? (?:quota|allowance)\b",
        needles=("package",),
        examples=(
            "The action performed on your resource is not allowed for now, please check the "
            "quota of your package.",
            "Please check your package quota.",
        ),
        look_alikes=(
            "Please check the version of your package.",
            "The quota of this package was updated.",
        ),
        source="research/payloads7 wechat-cloudbase-storage-paymentrequired-package-quota-"
        "xml-402 (COS-backed storage, code PaymentRequired)",
    ),
    WordRule(
        "free allowance used",
        FREE,
        STRONG,
        r"\bfree " + _ALLOWANCE + r"\b[^.]{0,40}?\b" + _USED + r"\b"
        r"|\b(?:exceeded|exhausted|used up|used all(?: of)?|consumed|reached) (?:your |the |all "
        r"(?:of )?(?:your |the )?)?(?:[\w-]+ ){0,2}free " + _ALLOWANCE + r"\b"
        r"|\b(?:out of|run out of|ran out of) (?:your |the )?free " + _ALLOWANCE + r"\b"
        r"|免费(?:额度|次数|配额|试用额度)[^。]{0,6}?(?:已)?(?:用完|用尽|耗尽|超出|不足)",
        needles=("free", "免费"),
        examples=(
            "The free tier of the model has been exhausted. If you wish to continue access the "
            "model on a paid basis, please disable the use free tier only mode.",
            "You have exhausted your free quota for this month.",
            "Your free tier usage is used up.",
            "免费额度已用完",
        ),
        look_alikes=(
            "Feel free to contact support if the quota was exceeded.",
            "This endpoint is free to use.",
            "Your free credits have expired.",
        ),
        source="tests/payloads (dashscope-free-tier-only-exhausted-403, from research)",
    ),
    WordRule(
        "included allowance used",
        FREE,
        STRONG,
        r"\bincluded (?:[\w-]+ ){0,2}" + _INCLUDED + r"\b[^.]{0,30}?\b" + _USED + r"\b"
        r"|\b(?:exceeded|exhausted|used up|used all(?: of)?|consumed|reached) (?:your |the )?"
        r"(?:[\w-]+ ){0,2}included (?:[\w-]+ ){0,2}" + _INCLUDED + r"\b",
        needles=("included",),
        examples=(
            "You have exceeded your monthly included credits for Inference Providers. "
            "Subscribe to PRO to get 20x more monthly included credits.",
            "Your included usage is used up for this period.",
        ),
        look_alikes=("The included file could not be parsed.",),
        source="tests/payloads/huggingface-monthly-included-credits-exceeded-402.json",
    ),
    WordRule(
        "monthly volume used",
        VOLUME,
        STRONG,
        # Not a spend cap: "monthly spending limit" is the account's own (balance.py).
        # Nor a hard limit: "monthly usage hard limit" is a cap the account set.
        r"\bmonthly (?!(?:spend|spending|budget|billing)\b)(?:(?!hard\b)[\w-]+ ){0,2}"
        r"(?:quota|limit|cap|allowance|threshold)s?\b"
        r"|\busage[ -]?cap(?:ped)?\b"
        r"|\b" + _USED + r"\b[^.]{0,60}?\b(?:in|for|of) (?:this|the current|your current|the) "
        r"(?:monthly |billing )?(?:cycle|billing period|month)\b"
        r"|\blimited to [0-9][0-9,.]* (?:[\w-]+ ){0,2}" + _UNITS + r" ?(?:/|per|a|each) ?month\b"
        r"|\b(?:run|ran) out of " + _UNITS + r"\b"
        r"|\b(?:allowed|included|permitted) (?:by|in|on|with) (?:your|the) (?:current )?(?:plan"
        r"|tier|subscription)\b"
        r"|\b(?:limit|quota|allowance)s? (?:has been |was )?(?:reached|exceeded|hit) (?:for|on"
        r"|of) (?:your|the|this) (?:current )?(?:plan|tier|subscription)\b"
        r"|(?:本月|当月|套餐)(?:额度|配额|用量|次数)[^。]{0,6}?(?:已)?(?:用完|用尽|耗尽|超出)",
        needles=(
            "month",
            "usage",
            "cycle",
            "billing period",
            "run out of",
            "ran out of",
            "plan",
            "tier",
            "subscription",
            "本月",
            "当月",
            "套餐",
        ),
        examples=(
            "You have exhausted the API Credits available in this monthly cycle. You can "
            "upgrade your subscription or enable overages from your dashboard.",
            "You are using a Trial key, which is limited to 1000 API calls / month.",
            "Your account has run out of searches.",
            "Usage cap exceeded: Monthly product cap",
            "Monthly request limit reached.",
            "You have reached your API usage limits: your organization has crossed its monthly "
            "API usage threshold, set based on your organization's API tier.",
            "本月额度已用完",
            "You've used all your searches for this month.",
            "You have exceeded the number of requests allowed by your plan.",
            "Page limit reached for your plan.",
        ),
        look_alikes=(
            "Your team has reached its monthly spending limit.",
            "The month parameter must be between 1 and 12.",
            "Monthly usage hard limit exceeded",
        ),
        source="tests/payloads/x-api-usage-capped-monthly-429.json; scraperapi, serpapi and "
        "cohere payloads from research",
    ),
    WordRule(
        "plan's limit",
        VOLUME,
        STRONG,
        # Not a remedy's "plan for higher limits": what a better plan would give.
        r"\b(?:plan|tier)(?:'s)? (?:(?!(?:for|with|to|and|or|higher|more|larger|bigger"
        r"|increased|new)\b)[\w-]+ ){0,2}(?:limit|quota)s?\b"
        r"|\bexceed(?:s|ed)? (?:your|the) (?:current )?(?:plan|tier)\b",
        needles=("plan", "tier"),
        examples=(
            "This request exceeds your plan's set usage limit. Please upgrade your plan.",
            "Request cost exceeds the plan's limit",
            "You have exceeded your plan.",
        ),
        look_alikes=(
            "Plan created.",
            "The tier field is invalid.",
            "Upgrade your plan for higher limits.",
            "Switch to a tier with more quota.",
        ),
        source="tests/payloads/tavily-plan-usage-limit-432.json",
    ),
    # A request or usage limit may be a rate limit's.
    WordRule(
        "limit reached",
        VOLUME,
        WEAK,
        r"\b(?:request|usage|api call)s? limit (?:reached|exceeded)"
        # Not a limit that names its own kind: a spend limit, a budget, a rate limit.
        r"|\b(?:reached|hit) (?:your|the) (?:(?!spend|spending|budget|rate|credit)[\w-]+ )?"
        r"limit\b",
        needles=("limit",),
        examples=("Request Limit Reached", "You have reached your limit of 2000"),
        look_alikes=(
            "The limit parameter must be positive.",
            "You have reached your spending limit.",
        ),
        source="tests/payloads/apideck-request-limit-402.json",
    ),
    WordRule(
        "trial restriction",
        TRIAL,
        STRONG,
        r"\b(?:trial|free) (?:accounts?|keys?|users?|plans?|tiers?|versions?|mode)\b[^.]{0,20}?"
        r"\b(?:cannot|can't|can not|can only|may only|are not allowed|is not allowed|are limited"
        r"|is limited|are only|is only|are for|is for|do not have access|don't have access"
        r"|does not have access|doesn't have access|are not permitted|is restricted"
        r"|are restricted)\b"
        r"|\bnot (?:available|allowed|permitted|supported) (?:on|for|with|in|during) (?:an? |the "
        r"|your )?(?:free )?trial\b"
        r"|\bupgrade (?:from|out of) (?:your |the |a )?trial\b"
        r"|(?:试用|免费)(?:账号|账户|用户)[^。]{0,10}?(?:无法|不能|不支持|仅限)",
        needles=("trial", "free", "试用", "免费"),
        examples=(
            "The number  is unverified. Trial accounts cannot send messages to unverified "
            "numbers; verify  at twilio.com/user/account/phone-numbers/verified, or purchase a "
            "Twilio number to send messages to unverified numbers.",
            "Free users cannot use library voices via the API. Please upgrade your subscription.",
            "This model is not available on a free trial.",
            "Free accounts are for test purposes only.",
        ),
        look_alikes=(
            "Sandbox subdomains are for test purposes only. Please add your own domain.",
            "Start your free trial today.",
        ),
        source="tests/payloads (twilio-messages-trial-unverified-21608-400, from research)",
    ),
    WordRule(
        "not in the plan",
        FEATURE,
        STRONG,
        r"\bnot (?:available|included|supported|allowed|enabled|part of) (?:on|in|with|for) "
        r"(?:your|the|this)[^.]{0,20}?\b(?:plan|tier|subscription)\b(?! key)"
        r"|\b(?:plan|tier|subscription)\b(?! key)[^.]{0,12}?\b(?:does not|doesn't|does n't|do "
        r"not|don't) (?:include|support|allow|cover|permit|have access|give access|grant)"
        r"|\brequires? (?:an? |the )?[\w-]+ (?:plan|tier)\b"
        # A paid plan, account or tier, where a free one exists; "a paid subscription" names
        # no tier (every subscription is paid): subscription.py's "a subscription required".
        r"|\b(?:need|needs|requires?|must have) (?:an? )?(?:active,? )?paid "
        r"(?:plan|account|tier)|\bpaid (?:plan|account) "
        r"(?:is )?required|\bonly (?:available )?(?:on|for|with|to) paid\b"
        r"|\bavailable (?:only )?(?:to|for|on|with) (?:paid|paying|premium|pro|plus|business"
        r"|team|enterprise) (?:users|plans?|subscribers|accounts|customers|tiers?|members)\b"
        r"|(?:当前|您的)(?:套餐|版本|计划|会员)(?:不支持|无权)|(?:会员|付费用户)专(?:属|享)"
        r"|\b(?:need|needs|requires?|must have) (?:a|an) (?:(?!(?:valid|active|current|paid"
        r"|paid-up)\b)[\w-]+ )?(?:subscription|membership)\b(?! key)",
        needles=(
            "plan",
            "tier",
            "subscription",
            "paid",
            "paying",
            "premium",
            "membership",
            "available to",
            "available for",
            "available on",
            "available with",
            "当前",
            "您的",
            "专属",
            "专享",
        ),
        examples=(
            "Your plan doesn't include this data timeframe. Please upgrade your plan.",
            "Batch export is not available on the Free plan.",
            "This endpoint requires a Business plan.",
            "You need a paid account to use this model.",
            "This feature is only available to paid subscribers.",
            "This model is only available to Pro users.",
            "当前套餐不支持该模型",
        ),
        look_alikes=(
            "This price is not valid for the plan.",
            "The subscription key does not include this API.",
            "You need an active, paid subscription to use this API.",
            "Requires a paid subscription.",
        ),
        source="tests/payloads (polygon-plan-does-not-include-timeframe-403, from research); "
        "tests/payloads/elevenlabs-paid-plan-required-402.json",
    ),
    # An action the current plan does not allow, said of the action ("The requested action
    # cannot be performed with your current plan", Market Data's 402; "this request is not
    # possible under your plan"). Not "cannot be performed" of a resource or a state, nor
    # with a plan named only as a remedy ("Upgrade your plan" is `upgrade`'s).
    WordRule(
        "an action the plan does not allow",
        FEATURE,
        STRONG,
        r"\b(?:cannot|can't|can ?not|could not|couldn't|may not|is not able to|unable to) "
        r"(?:be )?(?:performed|done|completed|executed|processed|accessed|used|made|fulfilled"
        r"|served|perform|do|complete|access|use|make|request)\b[^.]{0,40}?\b(?:with|on|under|in"
        r"|using|by) (?:your|the|this|its) (?:current |existing |present |free |account's )?"
        r"(?:plan|tier|subscription)\b(?! key)",
        needles=("plan", "tier", "subscription"),
        examples=(
            "The requested action cannot be performed with your current plan, such as "
            "attempting to access historical data with a free plan or very old historical "
            "data with a Starter plan.",
            "This request can't be completed on your current plan.",
            "You cannot use this endpoint with your current subscription.",
        ),
        look_alikes=(
            "The requested action cannot be performed on this resource.",
            "The requested action cannot be performed in the current state.",
            "The plan cannot be deleted while it has active subscriptions.",
            "This subscription key cannot be used with the current subscription key header.",
        ),
        source="research/payloads14 marketdata-plan-entitlement-402 (https://github.com/"
        "MarketDataApp/documentation/blob/main/api/troubleshooting/http-status-codes.md)",
    ),
    # What a paid tier's members alone may use: "X is for premium subscribers only", "is
    # reserved for paid plans", "Pro users only". The tier must be a paid one by name: "for
    # internal users only" or "for admins only" is an authorisation's.
    WordRule(
        "for paid subscribers only",
        FEATURE,
        STRONG,
        r"\b(?:is|are)(?: only)? (?:for|reserved for|restricted to|limited to|exclusive to"
        r"|exclusively for) (?:our |the )?" + _PAID_TIER + r" " + _MEMBERS + r"\b"
        r"|\b" + _PAID_TIER + r" " + _MEMBERS + r" only\s*(?:[.,;:!)]|$)",
        needles=(
            "paid",
            "paying",
            "premium",
            "pro ",
            "plus",
            "business",
            "enterprise",
            "gold",
            "platinum",
            "professional",
        ),
        examples=(
            "This currency pair is for premium subscribers only.",
            "This endpoint is reserved for paid plans.",
            "Historical data is restricted to Pro users.",
            "Webhooks: Business accounts only.",
        ),
        look_alikes=(
            "This endpoint is for internal users only.",
            "This field is restricted to admin users.",
            "Premium users only get 10 requests per minute.",
            "This endpoint is for premium.",
        ),
        source="research/payloads8 api-ninjas-currency-pair-premium-subscribers-only-400 "
        "(https://api-ninjas.com/error-codes)",
    ),
    WordRule(
        "higher access",
        FEATURE,
        STRONG,
        r"\b(?:higher|elevated) (?:api )?access (?:level|tier)\b"
        r"|\b(?:requires?|needs?|need) (?:an? )?(?:higher|elevated) (?:access|plan|tier|level)\b"
        r"|\b(?:without|requires?|needs?|need|link) (?:an? |your )?(?:linked |valid |active )?"
        r"billing account(?: linked)?\b(?! (?:is |has been )?(?:closed|disabled|suspended))"
        r"|\bno billing account (?:linked|attached|associated)\b",
        needles=("higher", "elevated", "billing account"),
        examples=(
            "User location is not supported for the API use without a billing account linked.",
            "This endpoint requires a higher access level.",
            "Please link a billing account to use this model.",
        ),
        look_alikes=(
            "The billing account for the owning project is disabled.",
            "Access denied.",
        ),
        source="tests/payloads (gemini-location-needs-linked-billing-account-400, research)",
    ),
    # A limit raised by asking the provider (its support, its sales) is the provider's
    # allowance, the plan's, where one the account raises itself ("increase your cap" in its
    # settings) is a cap it set (`cap_raise_asked`). Weak: alone on a non-402 it makes no
    # gate ("quota exceeded, contact us to increase your quota" may be a daily window's); it
    # gives a used-up allowance its reason.
    WordRule(
        "ask the provider to raise a limit",
        Family.UPGRADE_ASKED,
        WEAK,
        r"\bcontact (?:our |the )?(?:support|sales|customer support|customer success|account "
        r"manager|us)\b(?: team)?[^.]{0,20}?\b(?:to|for) (?:an? )?(?:increase|raise|extend|lift"
        r"|higher|more|larger)\b",
        needles=("contact",),
        examples=(
            "Usage limits for the provided API Key have been exceeded. Please try again later "
            "or contact support to increase your limits.",
            "Contact sales for a higher limit.",
        ),
        look_alikes=(
            "Contact support for help with your API key.",
            "Please contact us to report abuse.",
        ),
        source="research/payloads8 fullcontact-v3-usage-limits-api-key-exceeded-403",
    ),
    # Signing up for a paid plan is what a message asks for, not what happened: beside a
    # throttle's code it is the throttle's hint (ipapi.co's `RateLimited` 429 "Please sign up
    # for a paid plan"); alone, a remedy still makes a gate.
    WordRule(
        "sign up for a plan",
        Family.UPGRADE_ASKED,
        STRONG,
        r"\bsign up for (?:an? )?(?:private packages|paid\b|pro\b|premium\b|[\w-]+ plan\b)",
        needles=("sign up",),
        examples=(
            "You must sign up for private packages",
            "Please sign up for a paid plan at https://ipapi.co/pricing",
        ),
        look_alikes=("Sign up for our newsletter.",),
        source="tests/payloads/npm-sign-up-for-private-packages-402.json; research/payloads6 "
        "ipapi-co-ratelimited-sign-up-paid-plan-429-negative",
    ),
    # A paid resource, stated as what the endpoint is: "This is a premium endpoint" (Alpha
    # Vantage's free key), "premium-only data".
    WordRule(
        "a premium resource",
        FEATURE,
        STRONG,
        r"\b(?:is|are) (?:a |an |only )?(?:premium|paid|pro)(?:[ -]only)? (?:endpoints?|features?"
        r"|resources?|datasets?|apis?|data|content)\b"
        r"|\b(?:premium|paid|pro)[ -]only (?:endpoints?|features?|resources?|datasets?|data)\b",
        needles=("premium", "paid", "pro"),
        examples=(
            "This is a premium endpoint. You may subscribe to any of the premium plans.",
            "This dataset is premium-only data.",
            "Historical prices are a paid feature.",
        ),
        look_alikes=(
            "The premium endpoint is temporarily unavailable, try again in 30 seconds.",
            "This is a pro tip: retry with backoff.",
        ),
        source="research/payloads6 alphavantage-premium-endpoint-information-200; "
        "research/payloads3 finnhub-no-access-to-resource-premium-endpoint-403 (its kind)",
    ),
    # A refusal whose remedy is to subscribe to the very thing asked for: access to it is what
    # a subscription sells, however the refusal is worded ("You do not have permission to view
    # this dataset. Please subscribe to this database to get access.").
    WordRule(
        "subscribe to get access",
        FEATURE,
        STRONG,
        r"\bsubscribe to (?:this|the|that) [\w -]{1,40}?(?:to (?:get|gain|have|obtain) access"
        r"|for access)\b",
        needles=("subscribe",),
        examples=("Please subscribe to this database to get access.",),
        look_alikes=("Subscribe to the status page to get notified.",),
        source="research/payloads3 nasdaq-data-link-qepx04-subscribe-to-database-403",
    ),
    # An add-on is what a provider sells beside a plan: a feature the account has not bought
    # ("Developer API add-on required.", "This endpoint requires the Reporting add-on"). Not
    # an add-on's id or name asked of a form ("add-on id is required"), nor an operation on
    # one ("Add-on not found", "Add-on already installed").
    WordRule(
        "an add-on required",
        FEATURE,
        STRONG,
        r"\badd[ -]?ons? (?:is |are )?(?:required|needed)\b"
        r"|\b(?:requires?|needs?) (?:the |an? |your )?(?:[\w-]+ ){0,3}?add[ -]?ons?\b"
        r"(?! (?:id|ids|name|key|slug|identifier|field|parameter)\b)"
        r"|\badd[ -]?ons? (?:is |are )?not (?:active|enabled|included|purchased|subscribed)\b",
        needles=("add-on", "addon", "add on"),
        examples=(
            "Developer API add-on required.",
            "This endpoint requires the Reporting add-on.",
            "Access to the SMS API requires an active add-on.",
            "Developer API add-on not active.",
            "addon required",
        ),
        look_alikes=(
            "Add-on not found.",
            "Add-on already installed.",
            "The add-on id is required.",
            "This request requires an add-on id.",
            "Please verify your account to install this add-on",
        ),
        source="research/payloads12 customtradescrm-developer-api-addon-required-403 "
        "(https://customtradescrm.com/developer/docs/rest/api/errors: 'Common causes: "
        "Developer API add-on not active'); heroku-legacy-addon-already-installed-422-negative",
    ),
    # "For the plan" may be a billing API's own object ("this price is not valid for the
    # plan"); "not entitled" an authorization's.
    WordRule(
        "the current plan",
        FEATURE,
        WEAK,
        r"\b(?:on|of|for|in) (?:your|the) (?:current |free )?plan\b|\bnot entitled to\b",
        needles=("plan", "entitled"),
        examples=("This is not possible on your current plan.",),
        look_alikes=("Plan created.",),
        source="tests/payloads/elevenlabs-paid-plan-required-402.json",
    ),
    WordRule(
        "upgrade",
        Family.UPGRADE_ASKED,
        STRONG,
        r"\bupgrade\b[^.]{0,25}?\b(?:plan|tier|subscription|account|membership)\b(?! key)"
        # A paid tier by name, where the phrase ends ("Upgrade to GitHub Pro or ..."), or
        # followed by what the tier grants ("Upgrade to Pro for unlimited keys", Auriko's
        # 403): not a version or a product ("upgrade to v2 for team ...", "... Enterprise
        # Server 3.12").
        r"|\bupgrade to (?:an? )?(?:[a-z-]+ ){0,2}(?:pro|plus|premium|team|business|enterprise"
        r"|paid)(?:\s*(?:[.,;:!()]|$)"
        r"|\s+(?:or|to|now|today|and|in|plan|tier|account|subscription)\b"
        r"|\s+for (?:access|unlimited|more|higher|additional|extra|larger|bigger)\b)"
        r"|\bchange (?:your |the |to a )?(?:[\w-]+ )?plan\b"
        r"|\bsubscribe to (?:an? |the )?(?:pro|plus|premium|paid|[\w-]+ plan)\b"
        r"|\bswitch to (?:an? )?(?:paid|higher|bigger) (?:plan|tier)\b"
        r"|\bupgrade (?:now )?to (?:access|use|unlock|continue|keep using)\b"
        r"|升级(?:到|至)?(?:专业版|高级版|企业版|付费版|会员|vip)"
        r"|(?:请|需要)?升级(?:套餐|会员|计划|账户|账号|版本)",
        needles=("upgrade", "plan", "subscribe", "switch to", "升级"),
        examples=(
            "To add more pod-based indexes, upgrade your plan.",
            "Upgrade to GitHub Pro or make this repository public to enable this feature.",
            "Operations quota exceeded, change plan to get more Operations.",
            "Subscribe to PRO to get more.",
            "请升级套餐",
            "Upgrade to unlock this feature.",
            "请升级至专业版",
            "API key limit reached (2). Upgrade to Pro for unlimited keys.",
            "Upgrade to Premium for more projects.",
        ),
        look_alikes=(
            "Upgrade to v2 of the API for team features.",
            "Please upgrade your client library.",
            "Upgrade to Enterprise Server 3.12 for the fix.",
            "Upgrade to the pro version for the fix.",
        ),
        source="tests/payloads/pinecone-max-pod-indexes-upgrade-plan-400.json; research/"
        "payloads17 auriko-feature-disabled-key-limit-403 (https://docs.auriko.ai/errors/"
        "feature_disabled: 'API key limit reached (2). Upgrade to Pro for unlimited keys.')",
    ),
)

CODES = (
    CodeRule(
        [
            "plan_limit_exceeded",
            "plan_limit_reached",
            "plan_limit",
            "plan_upgrade_required",
            "feature_not_in_plan",
            "not_in_plan",
            "plan_restricted",
            "tier_limit_exceeded",
            "requires_upgrade",
            "paid_plan_required",
            "paid_account_required",
            "paid_subscription_required",
            "upgrade_plan",
            "usage_not_included",
        ],
        FEATURE,
        STRONG,
        source="OpenAI usage_not_included (platform.openai.com/docs/guides/error-codes); "
        "tests/payloads/elevenlabs-paid-plan-required-402.json",
    ),
    # A subscription required names what the request needs, not which: a tier's (AWS's
    # `SubscriptionRequiredException`, "AWS Premium Support Subscription is required") or any
    # active one (Autohost's `subscription_required`, "Subscription required. Re-subscribe
    # to continue."). The words decide among them, as they do for the wording
    # (subscription.py's "a subscription required"); with no words, it is the plan's.
    # So does a plan required (hesgoals' 403 `PLAN_REQUIRED` "No active plan associated
    # with account.", payloads18: no plan at all, a lapse; "Pro plan required" names a tier):
    # a plan, like a subscription, may be any active one. A paid plan required names its tier.
    CodeRule(
        ("subscription_required", "plan_required"),
        FEATURE,
        STRONG,
        source="tests/payloads/aws-support-subscription-required-exception-400.json; "
        "research/payloads12 autohost-subscription-required-403 "
        "(https://docs-dev.autohost-dev.uk/api/errors/subscription_required); research/"
        "payloads18 hesgoals-plan-required-403 (https://hesgoals1.co.uk/docs/errors)",
        joins_words=True,
    ),
    # HTTP's own Upgrade Required, an e-mail address's verification.
    CodeRule(
        ["upgrade_required", "verification_required"],
        FEATURE,
        WEAK,
        source="tests/payloads/elevenlabs-paid-plan-required-402.json",
    ),
    # --- payloads13: a feature unavailable to the account (Lago's bare 403
    # `{"code": "feature_unavailable", "details": []}`, a premium feature its plan lacks).
    # Strong: "unavailable", "not available" or "not included" says the account may not
    # have it, which is what a plan says; a setting or a flag says "not enabled" or
    # "disabled" (`feature_not_enabled`, `feature_disabled`: the account turns it on
    # itself), and those stay no gate. Words that plainly say another refusal ("insufficient
    # API key permissions", which Lago's 403 also covers) outvote the code (rung 2).
    CodeRule(
        [
            "feature_not_available",
            "feature_unavailable",
            "feature_not_included",
        ],
        FEATURE,
        STRONG,
        source="tests/payloads/elevenlabs-paid-plan-required-402.json; research/payloads13 "
        "lago-feature-unavailable-403 (https://getlago.com/docs/v2/api-reference/errors.md: "
        "'403 | Feature unavailable ... Example code: feature_unavailable')",
        look_alikes=("feature_not_enabled", "feature_disabled", "feature_flag_disabled"),
    ),
    CodeRule(
        [
            "monthly_limit_exceeded",
            "monthly_quota_exceeded",
            "monthly_request_limit_exceeded",
            "monthly_requests_exceeded",
            "monthly_limit_reached",
        ],
        VOLUME,
        STRONG,
        source="tests/payloads/kiro-monthly-request-count-402.json",
    ),
    # A request or usage limit may be a rate limit's (OpenAI Codex's 5-hour
    # `usage_limit_reached`).
    CodeRule(
        ("request_limit", "request_limit_reached", "usage_limit_exceeded", "usage_limit_reached"),
        VOLUME,
        WEAK,
        source="tests/payloads/apideck-request-limit-402.json",
    ),
    # Anthropic's tier spend limit: the monthly cap of the organization's usage tier, set by
    # Anthropic and lifted by moving up a tier (the cap the account sets itself is the 400
    # "specified API usage limits", balance.py).
    CodeRule(
        ("enforced_spend_limit_reached",),
        VOLUME,
        STRONG,
        source="https://docs.claude.com/en/api/rate-limits (spend limits per usage tier; 429 "
        "with error.details.error_code)",
    ),
    CodeRule(
        ("trial_restriction", "trial_account_restriction", "trial_limitation"),
        TRIAL,
        STRONG,
        source="https://www.twilio.com/docs/errors/21608 (trial account restriction)",
    ),
)

#: What a request does, in a code that says it must be paid for (`action_must_be_payed`).
_PAID_SUBJECTS = (
    "action",
    "actions",
    "method",
    "methods",
    "call",
    "calls",
    "access",
    "endpoint",
    "feature",
    "api",
)

CODE_WORDS = (
    CodeWords(
        "monthly volume",
        all_of=("monthly",),
        any_of=("request", "requests", "limit", "quota", "usage", "count", "cap", "calls"),
        family=VOLUME,
        strength=STRONG,
        examples=("MONTHLY_REQUEST_COUNT", "MonthlyQuotaReached"),
        look_alikes=("monthly_spend",),
        source="tests/payloads/kiro-monthly-request-count-402.json",
    ),
    CodeWords(
        "usage cap",
        all_of=("usage",),
        any_of=("cap", "capped"),
        family=VOLUME,
        strength=STRONG,
        examples=("UsageCapExceeded", "usage-capped"),
        look_alikes=("usage_report",),
        source="tests/payloads/x-api-usage-capped-monthly-429.json",
    ),
    CodeWords(
        "free tier",
        all_of=("free",),
        any_of=("tier", "trial", "quota", "allowance", "credits"),
        family=FREE,
        strength=STRONG,
        examples=("AllocationQuota.FreeTierOnly", "free_credits_exhausted"),
        look_alikes=("free_text_invalid",),
        source="tests/payloads (dashscope-free-tier-only-exhausted-403, from research)",
    ),
    # A count of the account's own resources reached ("monitor_limit_reached", "limit": 1,
    # Xquik's 403; "project_limit_exceeded"): what the plan allows ("Your plan allows 1
    # monitor"). Weak: a cloud's service quota (AWS's `VpcLimitExceeded`, raised by a
    # request, not by paying), a page size or a file size say the same, so on a non-402
    # from a host with no adapter it is no gate (docs/reasons.md). Not a rate, a window,
    # a size, money, or an allowance another record reads.
    CodeWords(
        "a count of resources reached",
        all_of=("limit",),
        any_of=("reached", "exceeded", "hit"),
        family=VOLUME,
        strength=WEAK,
        examples=("monitor_limit_reached", "ProjectLimitExceeded", "seat-limit-reached"),
        look_alikes=(
            "rate_limit_exceeded",
            "file_size_limit_exceeded",
            "daily_limit_reached",
            "spend_limit_reached",
            "page_limit_exceeded",
            "storage_limit_reached",
            "service_quota_limit_exceeded",
        ),
        source="research/payloads12 xquik-monitor-limit-reached-403 "
        "(https://docs.xquik.com/guides/troubleshooting: 'Your plan allows 1 monitor')",
        none_of=(
            # A rate or a window: the throttle's.
            "rate",
            "ratelimit",
            "request",
            "requests",
            "concurrency",
            "concurrent",
            "second",
            "minute",
            "hourly",
            "hour",
            "daily",
            "day",
            # A size, a page of results, a cloud's service quota.
            "size",
            "length",
            "page",
            "file",
            "upload",
            "payload",
            "body",
            "storage",
            "disk",
            "memory",
            "bandwidth",
            "service",
            "quota",
            # Money, an allowance or a plan: the records of their families.
            "spend",
            "spending",
            "budget",
            "credit",
            "credits",
            "balance",
            "usage",
            "monthly",
            "plan",
            "free",
            "trial",
        ),
    ),
    # A code that names a feature the account needs, with no words (Freshdesk's 403
    # `require_feature`): the plan lacks it.
    CodeWords(
        "feature required",
        all_of=("feature",),
        any_of=("require", "requires", "required"),
        family=FEATURE,
        strength=STRONG,
        examples=("require_feature", "FeatureRequired", "requires_feature"),
        look_alikes=("feature_disabled", "unknown_feature", "feature_flag_invalid"),
        source="research/payloads5 freshdesk-require-feature-code-only-403",
    ),
    # The request itself must be paid for: hh.ru's 403 `{"errors": [{"type":
    # "api_access_payment", "value": "action_must_be_payed"}]}`, a paid method called
    # without purchased access ("запрос платного метода при отсутствии оплаченного
    # доступа"): access the account has not bought, the plan's. Only what a request *does*
    # (an action, a method, a call, access, an endpoint, a feature) counts: most codes that
    # say something "must be paid" are a form's check of the application's own objects
    # (`INVOICE_MUST_BE_PAID` "to refund", `POS_ORDER_MUST_BE_PAID`, `plan_must_be_paid`
    # for a free plan, `status_must_be_paid`), which no payment to the API lifts. Two
    # records: hh.ru spells the participle "payed".
    CodeWords(
        "a request that must be paid",
        all_of=("must", "be", "paid"),
        any_of=_PAID_SUBJECTS,
        family=FEATURE,
        strength=STRONG,
        examples=("action_must_be_paid", "METHOD_MUST_BE_PAID", "access_must_be_paid"),
        look_alikes=(
            "INVOICE_MUST_BE_PAID",
            "POS_ORDER_MUST_BE_PAID",
            "plan_must_be_paid",
            "status_must_be_paid",
            "cash_sale_must_be_paid",
            "ERR__LISTING_FEE_MUST_BE_PAID",
        ),
        source="https://github.com/hhru/api/blob/master/docs/errors.md (403 api_access_payment "
        "action_must_be_payed); look-alikes: public code found by exact-string search "
        "('_must_be_paid\"', code index ids 53923369929, 52549464309, 54518964503, "
        "52103304027, 70284812249, 11317280337)",
    ),
    CodeWords(
        "a request that must be payed",
        all_of=("must", "be", "payed"),
        any_of=_PAID_SUBJECTS,
        family=FEATURE,
        strength=STRONG,
        examples=("action_must_be_payed",),
        look_alikes=("order_must_be_payed", "all_term_payed_fee"),
        source="https://github.com/hhru/api/blob/master/docs/errors.md (403 api_access_payment "
        "action_must_be_payed); research/payloads22 hhru-api-access-payment-action-must-be-"
        "payed-403",
    ),
    CodeWords(
        "plan",
        all_of=("plan",),
        any_of=("limit", "exceeded", "required", "restricted", "upgrade", "insufficient"),
        family=FEATURE,
        strength=STRONG,
        examples=("PlanLimitReachedError", "PLAN_UPGRADE_NEEDED"),
        look_alikes=("plan_not_found", "plan_id_invalid"),
        source="tests/payloads/echo-pro-cost-exceeds-plan-limit-problem-403.json",
    ),
)
