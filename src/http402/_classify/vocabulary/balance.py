"""Money the account holds or allowed itself: `balance_exhausted`, `spend_cap_reached`, the
vague `quota_exhausted`, and the remedy `top_up_asked` ("top up", "recharge", "add credits")."""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, CodeWords, Strength, WordRule
from .movement import MONEY_MOVEMENT

BALANCE = Family.BALANCE_EXHAUSTED
CAP = Family.SPEND_CAP_REACHED
QUOTA = Family.QUOTA_EXHAUSTED
STRONG, WEAK = Strength.STRONG, Strength.WEAK
#: A code that names a money movement of the payment product's user beside its lack of
#: funds (Bithumb's `withdraw_insufficient_balance` on `/v1/withdraws/coin`, payloads19) is
#: that movement's, not the API's bill: the funds records do not read it, and its words are
#: read as a message's (`CODE_AS_WORDS`), where the movement is a refused transfer.
_MOVES_MONEY = frozenset(w for w in MONEY_MOVEMENT.operations if w.isascii())

#: A platform's own currency, held and spent as credits are though it is no money
#: (payloads20: AI Horde's kudos, NovelAI's Anlas, Civitai's Buzz; `lexicon.py` says where
#: each was seen).
_CURRENCY = r"(?:kudos|anlas|buzz)"

WORDING = (
    # A platform's currency lacking, or required up front: "This request requires 857.4
    # kudos to fulfil", "the client needs to already have the required kudos" (AI Horde's
    # 403 `KudosUpfront`), "Not enough Anlas", "Insufficient Buzz to run this generation.".
    # A transfer of it to another user (AI Horde's `/kudos/transfer`) is the user's own
    # movement, read by its path and words (`movement.py`).
    WordRule(
        "a platform's currency lacking",
        BALANCE,
        STRONG,
        r"\b(?:insufficient|not enough|not sufficient|no more|out of|lack of|need more|needs more"
        r"|requires? more|requires? [0-9][0-9.,]*|required|have enough|has enough|have the"
        r"(?: required)?) " + _CURRENCY + r"\b"
        r"|\b" + _CURRENCY + r"\b[^.]{0,20}?\b(?:is |are )?(?:insufficient|not enough|too low"
        r"|exhausted|required|needed)\b",
        needles=("kudos", "anlas", "buzz"),
        examples=(
            "For requests over 1024x1024 or over 100 steps, the client needs to already have "
            "the required kudos. This request requires 857.4 kudos to fulfil",
            "Not enough Anlas",
            "Insufficient Buzz to run this generation.",
            "Kudos are required upfront for this request.",
        ),
        look_alikes=(
            "Kudos to the team for the release!",
            "The buzzer is not enough.",
            "Anlas are granted monthly with Opus.",
        ),
        source="research/payloads20 aihorde-kudos-upfront-403 (github.com/Haidra-Org/AI-Horde "
        "horde/exceptions.py KudosUpfront, issue 76); NovelAI's 402 'Not enough Anlas' and "
        "Civitai's 402 'Insufficient Buzz to run this generation.' (`lexicon.py`)",
    ),
    WordRule(
        "insufficient balance",
        BALANCE,
        STRONG,
        r"\binsufficient\b[^.]{0,20}?\b(?:credits?|balance|funds)"
        r"|\b(?:credits?|balance|funds)\b[^.]{0,15}?\b(?:is |are )?insufficient\b"
        r"|\b(?:lack|without) (?:of )?(?:sufficient |enough )?(?:credits?|balance|funds)\b"
        r"|\bnot (?:have )?(?:enough|sufficient) (?:credits?|balance|funds)\b",
        needles=("credit", "balance", "fund"),
        examples=(
            "Insufficient Balance",
            "Your account balance is insufficient. Please recharge your account.",
            "You have insufficient credit to run this model.",
            "You lack sufficient credits to make this request.",
            "Project does not have enough credits for an ASR request.",
            "Insufficient USD or Diem balance to complete request.",
            "The selected model requires paid balance. Your paid balance is insufficient.",
        ),
        look_alikes=(
            "Insufficient permissions to access this resource.",
            "insufficient_scope: the token lacks the billing:read scope",
        ),
        source="tests/payloads/deepseek-insufficient-balance.json",
    ),
    # Too few tokens may be a context window's.
    WordRule(
        "insufficient tokens",
        BALANCE,
        WEAK,
        r"\binsufficient\b[^.]{0,20}?\btokens\b",
        needles=("insufficient",),
        examples=("Insufficient tokens remaining on your account.",),
        look_alikes=("Insufficient permissions.",),
        source="tests/payloads/openrouter-requires-more-credits-max-tokens-402.json",
    ),
    WordRule(
        "credits ran out",
        BALANCE,
        STRONG,
        r"\bcredits?\b[^.]{0,30}?\b(?:too low|exhausted|depleted|used up|ran out|run out|"
        r"exceeded|expired|is (?:zero|empty|negative)|are (?:zero|gone))"
        # "No credits charged" says what a refusal cost, not what ran out (Figur's 422
        # validation error, "No credits charged.").
        r"|\bno (?:remaining |more |available )?credits?\b(?! card| (?:(?:were|was|will be"
        r"|have been|has been|are|is) )?(?:charged|deducted|billed|consumed|spent|used)\b)"
        r"|\b(?:requires?|needs?) more credits?\b|\bcredits? (?:are|is) (?:required|needed)\b"
        r"|\b(?:does not|doesn't|do not|don't) have (?:any |enough )?credits?"
        r"|\bexceeded your (?:[\w-]+ ){0,3}credits?\b"
        r"|\b(?:used up|exhausted|depleted|used all(?: of)?|consumed) (?:all )?(?:of )?"
        r"(?:your |the )?(?:[\w-]+ ){0,2}credits?\b"
        r"|\b(?:0|zero|no) credits? (?:left|remaining|available)\b"
        r"|\b(?:out|run out|ran out) of (?:extra |prepaid |paid )?(?:credits?|funds|balance"
        r"|usage|extra usage)\b"
        r"|\bcan only afford\b",
        needles=("credit", "afford", "fund", "balance", "usage"),
        examples=(
            "Your credit balance is too low to access the Anthropic API.",
            "Your prepayment credits are depleted.",
            "This request requires more credits, or fewer max_tokens.",
            "You have run out of credits or need a Grok subscription.",
            "You're out of extra usage. Add more at claude.ai/settings/usage and keep going.",
            "Your newly created teams doesn't have any credits yet.",
            "You requested up to 65536 tokens, but can only afford 10114.",
            "Credit limit exceeded. Please navigate to the billing settings to add credits.",
            "You have used up your free credits.",
            "Usage credits are required for this model.",
            "You have 0 credits left.",
            "Your free credits have expired.",
        ),
        look_alikes=(
            "No credit card on file is needed for the free plan.",
            "The credit note was not found.",
            "You ran out of disk space.",
            "The request body or parameters failed validation. No credits charged.",
            "Invalid prompt. No credits were charged for this request.",
        ),
        source="tests/payloads/anthropic-credit-balance-too-low-400.json; "
        "https://docs.figur.fit/guides/errors-and-credits/ (a look-alike: 'No credits charged')",
    ),
    WordRule(
        "balance ran out",
        BALANCE,
        STRONG,
        r"\bbalance\b[^.]{0,30}?\b(?:too low|exhausted|depleted|not enough|is (?:zero|empty"
        r"|negative|below zero))"
        r"|\b(?:exhausted|depleted|negative|zero|0) (?:account |credit |usd )?balance"
        r"|\bnot enough balance"
        r"|\breached (?:a )?(?:0|zero) balance"
        r"|\bbalance (?:is|of) \$?(?:0|0\.0+|zero)(?![0-9]|[.,][0-9])",
        needles=("balance",),
        examples=(
            "Your current account balance is negative. Please top up to continue.",
            "User is locked. Reason: Exhausted balance.",
            "Account balance not enough to run this query, please recharge.",
            "You have reached 0 balance on your account please make a payment.",
            "Your balance is $0.00.",
        ),
        look_alikes=(
            "The load balancer is not enough to handle this traffic.",
            "Balance must be a positive number.",
            "Your balance is $0.50 after this charge.",
        ),
        source="tests/payloads/falai-exhausted-balance-403.json",
    ),
    # Chinese providers and the gateways before them: "balance not enough", "quota not
    # enough", "pre-deduction of quota failed". Chinese has no spaces, so no word boundaries.
    WordRule(
        "balance not enough (Chinese)",
        BALANCE,
        STRONG,
        r"余额不足|余额已用完|余额为零|预扣费?[^。]{0,8}?失败|(?:积分|点数|算力|token|tokens)"
        r"(?:余额)?不足",
        needles=("余额", "预扣", "不足"),
        examples=(
            "余额不足或无可用资源包,请充值。",
            "预扣费额度失败, 用户剩余额度: ＄0.100000, 需要预扣费额度: ＄0.440000",
            # TokenDog's table: `pre_consume_token_quota_failed`, "预扣额度失败".
            "预扣额度失败",
            "积分不足，请充值后再试",
        ),
        look_alikes=("请求过于频繁，请稍后再试", "预扣额度已退回"),
        source="tests/payloads/zhipu-glm-1113-insufficient-balance-chinese-429.json; "
        "https://doc.tokendog.io/zh/api-reference/guide/error-codes (预扣额度失败)",
    ),
    # Beyond English and Chinese: "insufficient balance" and "credits insufficient" as
    # Spanish, Portuguese, French, German, Japanese, Korean and Russian APIs say it.
    WordRule(
        "balance not enough (other languages)",
        BALANCE,
        STRONG,
        r"\bsaldo insuficiente\b|\bcr[ée]ditos? insuficientes?\b|\bsolde insuffisant\b"
        r"|\bcr[ée]dits? insuffisants?\b|\bguthaben\b[^.]{0,30}?\b(?:aufgebraucht|reicht nicht"
        r"|nicht ausreichend|ersch[öo]pft)|\bnicht gen[üu]gend guthaben\b"
        r"|残高(?:が)?不足|クレジット(?:が)?不足|잔액이 부족|크레딧이 부족"
        r"|недостаточно средств|недостаточно кредитов|баланс[^.]{0,20}?недостаточ",
        needles=(
            "saldo",
            "crédit",
            "credit",
            "solde",
            "guthaben",
            "残高",
            "クレジット",
            "잔액",
            "크레딧",
            "недостаточно",
            "баланс",
        ),
        examples=(
            "Saldo insuficiente para completar la solicitud.",
            "Solde insuffisant, veuillez recharger votre compte.",
            "Ihr Guthaben ist aufgebraucht.",
            "残高が不足しています",
            "Недостаточно средств на балансе.",
        ),
        look_alikes=("Saldo actualizado.", "Le crédit a été appliqué."),
        source="the balance family's wording in other languages (issue 19: generalise by family)",
    ),
    WordRule(
        "budget reached",
        CAP,
        STRONG,
        r"\bbudget\b[^.]{0,30}?\b(?:exceeded|reached|exhausted|used up|hit)\b"
        r"|\b(?:exceeded|reached|exhausted|over) (?:your |the |its |their )?(?:[\w-]+ )?budget\b"
        r"|\bexceededbudget\b",
        needles=("budget",),
        examples=(
            "Budget has been exceeded! Current cost: 0.3759, Max budget: 0.35",
            "LiteLLM User: engineer-1, exceeded budget for model=claude-opus-4-8",
            "Your team's monthly budget is exhausted.",
        ),
        look_alikes=("The budget field must be a number.", "Set a budget for this project."),
        source="tests/payloads/litellm-budget-exceeded-400.json",
    ),
    # A limit counted in money, exceeded, in Korean: "한도 금액을 초과" (the limit amount
    # exceeded). Kakao's 400 `-11` "일 한도 또는 월 한도 금액을 초과한 유료 API를 호출한 경우"
    # (a paid API called over its daily or monthly limit amount; "raise the limit amount"):
    # a cap the account set, whatever its window. A payment's amount over a limit is the
    # payment's ("결제 금액이 한도를 초과": the amount is the subject, not the limit's).
    WordRule(
        "spend cap reached (Korean)",
        CAP,
        STRONG,
        r"한도\s*금액[을이]?\s*초과|(?:한도\s*금액|금액\s*한도)[^.]{0,12}?(?:도달|소진)",
        needles=("한도",),
        examples=(
            "일 한도 또는 월 한도 금액을 초과한 유료 API를 호출한 경우",
            "월 한도 금액을 초과했습니다.",
            "설정한 금액 한도에 도달했습니다.",
        ),
        look_alikes=("결제 금액이 한도를 초과했습니다", "출금 금액이 한도를 초과했습니다"),
        source="https://developers.kakao.com/docs/latest/ko/rest-api/error-code (-11)",
    ),
    WordRule(
        "spend cap reached",
        CAP,
        STRONG,
        r"\b(?:maximum|max) billing\b[^.]{0,15}?\breached"
        r"|\bbilling (?:hard )?(?:limit|cap|capacity)\b[^.]{0,15}?\b(?:reached|exceeded|hit)"
        # The cap's amount may hold a decimal point, which ends no sentence ("Daily spend
        # limit of $25.00 reached", Curate-Me's 402, payloads20).
        r"|\bspend(?:ing)? (?:limit|cap)s?\b(?:[^.]|\.(?=[0-9])){0,20}?\b(?:reached|exceeded|hit)"
        r"|\b(?:reached|reaching|exceeded|hit) (?:your |the |its |their )?(?:[\w-]+ ){0,2}"
        r"spend(?:ing)? (?:limit|cap)"
        r"|\bpay[ -]as[ -]you[ -]go (?:limit|cap|budget)"
        r"|\breached your specified (?:api )?(?:usage|spend(?:ing)?) limits?\b",
        needles=("billing", "spend", "you go", "you-go", "specified"),
        examples=(
            "Maximum billing reached for this API key as set in your dashboard.",
            "Billing hard limit has been reached",
            "You have reached your specified API usage limits.",
            "Spend limit exceeded for this organization.",
            "Your team has reached its monthly spending limit.",
            "You have hit the pay-as-you-go limit.",
            # A category's prefix does not outvote the finer words (The Graph's gateway,
            # research/payloads6 thegraph-gateway-auth-error-spend-limit-exceeded-graphql-200).
            "auth error: spend limit exceeded for this API key",
            "Daily spend limit of $25.00 reached for organization org_xxx.",
        ),
        look_alikes=("Set a spend limit in the billing settings.",),
        source="tests/payloads/cohere-maximum-billing-reached-402.json",
    ),
    WordRule(
        "quota not enough",
        QUOTA,
        STRONG,
        r"\binsufficient (?:[a-z-]+ )?quota\b|\bquota\b[^.]{0,15}?\b(?:is |are )?(?:not enough"
        r"|insufficient)\b|额度不足|配额不足",
        needles=("quota", "额度不足", "配额不足"),
        examples=(
            "user quota is not enough (request id: 2024081922011112714735330169131)",
            "Insufficient quota for this request.",
            "用户额度不足, 剩余额度: 0",
        ),
        # "Insufficient" qualifies the noun after it: permissions to use a quota lack, not
        # the quota.
        look_alikes=(
            "The quota field is required.",
            "Permission denied: insufficient permissions to use quota of folder b1g",
        ),
        source="tests/payloads/newapi-gateway-insufficient-user-quota-403.json; research/"
        "payloads7 yandex-cloud-insufficient-permissions-use-quota-of-folder-403-negative",
    ),
    # A bare quota is used up: to top up, unless the remedy says otherwise; a daily or
    # per-minute quota that resets is a throttle's (vetoed), hence weak.
    WordRule(
        "quota exceeded",
        QUOTA,
        WEAK,
        r"\bexceeded (?:your|the) (?:current )?quota|\bquota (?:has been |was )?(?:exceeded"
        r"|exhausted|reached)|\bexceeds? your quota|\bno (?:more |remaining )?quota\b",
        needles=("quota",),
        examples=(
            "You exceeded your current quota, please check your plan and billing details.",
            "This request exceeds your quota of 10000.",
            "You have no quota",
        ),
        look_alikes=("Quota settings were updated.",),
        source="tests/payloads/openai-insufficient-quota-429.json",
    ),
    # A balance the request needs, stated with its threshold: a prepaid balance that is too
    # low for this call, whatever the status (Infron's 429 for a free model).
    WordRule(
        "balance required",
        BALANCE,
        STRONG,
        r"\b(?:requires?|required|needs?|must have)\b (?:an? |your )?(?:account |credit |"
        r"minimum )?balance (?:of )?(?:greater than|more than|above|over|at least|exceeding"
        r"|of at least|>=?)",
        needles=("balance",),
        examples=(
            "Free model requires account balance greater than $4.999999. (request id: X)",
            "This model requires a balance of at least $5.",
            "You need a credit balance above $1 to use this endpoint.",
        ),
        look_alikes=(
            "The balance field must be greater than 0.",
            "Your balance is greater than $5.",
            "Balance required.",
        ),
        source="research/payloads7 infron-free-model-requires-balance-greater-than-429",
    ),
    # Something used up, with nothing to say whose (a mirror's traffic "capacity has use
    # up", written with the tense dropped): a bare quota, read on a 402 or the provider's
    # own host only, since a server "at capacity" is busy, not billing.
    WordRule(
        "capacity used up",
        QUOTA,
        WEAK,
        r"\b(?:capacity|traffic|quota)\b (?:has |have |is |was )?(?:been |already )?"
        r"(?:use|used) up\b",
        needles=("use up", "used up"),
        examples=(
            "capacity has use up",
            "Your traffic has been used up.",
            "quota is used up",
        ),
        look_alikes=(
            "Use up to 5 keys per project.",
            "The server is at capacity, please retry.",
            "You have used up your free credits.",
        ),
        source="research/payloads7 xuanyuan-docker-mirror-payment-required-capacity-used-up-"
        "402 (a Docker registry mirror's 402)",
    ),
    # A remedy that points to the account's balance ("Check credits balance or enter the
    # correct API key"): the balance is what to look at, so topping it up is what lifts the
    # refusal. Not a balance named as a form's field, nor a balance check that failed.
    WordRule(
        "check the balance",
        Family.TOP_UP_ASKED,
        STRONG,
        # "account's" with a typographic apostrophe too (DataForSEO's "check your account’s
        # balance", payloads20).
        r"\b(?:check|verify|review|view|see|monitor) (?:your |the |the account['\u2019]?s |your "
        r"account['\u2019]?s )?(?:account |credits? |prepaid |wallet |remaining )?balance\b"
        r"(?! (?:field|parameter|param|value|format|type|endpoint|api|sheet)s?\b)",
        needles=("balance",),
        examples=(
            "Access restricted. Check credits balance or enter the correct API key.",
            "Please check your account balance.",
            "See your credit balance at https://example.com/billing.",
            "Please, check your account\u2019s balance.",
        ),
        look_alikes=(
            "Balance check failed.",
            "Check the balance field: it must be a number.",
            "Check the load balancer configuration.",
        ),
        source="research/payloads8 whoisxmlapi-access-restricted-check-credits-balance-"
        "messages-403",
    ),
    WordRule(
        "top up",
        Family.TOP_UP_ASKED,
        STRONG,
        r"\btop[ -]?up\b|\brecharge\b|充值"
        r"|\b(?:add|buy|purchase|get)\b[^.]{0,15}?\b(?:more )?(?:credits?|funds)\b(?! card)"
        r"|\badd (?:more|some) (?:balance|money)\b",
        needles=(
            "top up",
            "top-up",
            "topup",
            "recharge",
            "充值",
            "credit",
            "fund",
            "balance",
            "money",
        ),
        examples=(
            "Please top up your balance.",
            "Please recharge.",
            "Add credits at https://openrouter.ai/settings/credits.",
            "Please purchase more credits.",
            "请充值后重试",
        ),
        look_alikes=("Get started with the API.", "Add a member to your team."),
        source="tests/payloads/openrouter-insufficient-credits-metadata.json",
    ),
)

CODES = (
    CodeRule(
        [
            "insufficient_credits",
            "insufficient_credit",
            "insufficient_balance",
            "credits_exhausted",
            "credit_exhausted",
            "out_of_credits",
            "out_of_credit",
            "no_credits",
            "credit_balance_too_low",
            "balance_too_low",
            "low_balance",
            "not_enough_credits",
            "exhausted_balance",
            "credit_limit_exceeded",
            "insufficient_credit_balance",
            "top_up_required",
            "maximum_credits_exceeded",
            "insufficient_funds_in_account",
            "credit_balance_exhausted",
            "insufficient_account_balance",
            "negative_balance",
        ],
        BALANCE,
        STRONG,
        source="OpenAI credit_balance_exhausted (platform.openai.com/docs/guides/error-codes); "
        "tests/payloads/jina-reader-insufficient-balance-402.json; echo-pro, sub2api",
        look_alikes=("balance_transaction_not_found",),
    ),
    CodeRule(
        [
            "billing_hard_limit_reached",
            "budget_exceeded",
            "max_budget_exceeded",
            "budget_limit_exceeded",
            "budget_exhausted",
            "spend_limit_exceeded",
            "spending_limit_reached",
            "spending_limit_exceeded",
            "billing_limit_reached",
            "billing_limit_exceeded",
            "quota_limited",
            "organization_spend_limit_exceeded",
            "project_spend_limit_exceeded",
            "organization_usage_limit_exceeded",
        ],
        CAP,
        STRONG,
        source="OpenAI organization/project_spend_limit_exceeded and "
        "organization_usage_limit_exceeded (platform.openai.com/docs/guides/error-codes); "
        "LiteLLM budget_exceeded; PostHog quota_limited; Glean spend-limit-exceeded",
    ),
    CodeRule(
        ("insufficient_quota", "usage_limit_reached_billing"),
        QUOTA,
        STRONG,
        source="https://platform.openai.com/docs/guides/error-codes (429 insufficient_quota)",
    ),
    # A quota used up may be a daily request quota's (Google's `quotaExceeded`).
    CodeRule(
        ("quota_exceeded",),
        QUOTA,
        WEAK,
        source="tests/payloads/elevenlabs-quota-exceeded-credits.json",
    ),
)

CODE_WORDS = (
    CodeWords(
        "insufficient money",
        all_of=("insufficient",),
        any_of=("credit", "credits", "balance"),
        family=BALANCE,
        strength=STRONG,
        examples=("InsufficientBalanceError", "INSUFFICIENT_ACCOUNT_CREDITS"),
        look_alikes=("insufficient_space", "insufficient_scope"),
        source="tests/payloads/jina-reader-insufficient-balance-402.json; research/payloads19 "
        "bithumb-withdraw-insufficient-balance-400-negative (a look-alike)",
        none_of=_MOVES_MONEY,
    ),
    CodeWords(
        "credits needed",
        all_of=("credits",),
        any_of=("required", "needed", "exhausted", "depleted", "insufficient", "empty"),
        family=BALANCE,
        strength=STRONG,
        examples=("credits_required", "CreditsExhausted"),
        look_alikes=("credits_report",),
        source="tests/payloads (anthropic-credits-required-monthly-spend-limit-details-429, "
        "from research)",
        none_of=_MOVES_MONEY,
    ),
    # What the account bought ahead ran short, said in a code with no text: hh.ru's 403
    # `{"errors": [{"type": "negotiations", "value": "not_enough_purchased_services"}]}`
    # ("не хватает оплаченных услуг": the purchased services, a CV-database access package,
    # are used up; the same code on publishing and on prolonging a vacancy). Purchased
    # services are prepaid units, as credits are: topped up by buying more. A code that
    # names purchases without saying they fell short (`PURCHASED_SERVICES`, an accounting
    # category; `already_purchased`) is not one.
    CodeWords(
        "purchased units short",
        all_of=("purchased",),
        any_of=("enough", "insufficient", "exhausted", "depleted", "remaining"),
        family=BALANCE,
        strength=STRONG,
        examples=("not_enough_purchased_services", "NotEnoughPurchasedServices"),
        look_alikes=("PURCHASED_SERVICES", "already_purchased", "purchased_at_invalid"),
        source="https://github.com/hhru/api/blob/master/docs/errors.md (403 negotiations / "
        "vacancies not_enough_purchased_services); research/payloads22 hhru-negotiations-not-"
        "enough-purchased-services-403",
        none_of=_MOVES_MONEY,
    ),
    CodeWords(
        "insufficient quota",
        all_of=("insufficient",),
        any_of=("quota",),
        family=QUOTA,
        strength=STRONG,
        examples=("insufficient_user_quota",),
        look_alikes=("insufficient_permissions",),
        source="tests/payloads/newapi-gateway-insufficient-user-quota-403.json",
    ),
    # The gateways of the new-api family name a failed pre-deduction of the quota a request
    # would cost (TokenDog's table: `pre_consume_token_quota_failed`, "预扣额度失败", 检查额度
    # "check the quota"): the account cannot cover the request, as "预扣费额度失败" says.
    CodeWords(
        "pre-deduction failed",
        all_of=("pre", "failed"),
        any_of=("consume", "deduct", "deduction", "charge"),
        family=BALANCE,
        strength=STRONG,
        examples=("pre_consume_token_quota_failed", "PreConsumeQuotaFailed"),
        look_alikes=("pre_consume_token_quota_refunded", "precheck_failed"),
        source="https://doc.tokendog.io/zh/api-reference/guide/error-codes; "
        "tests/payloads/newapi-gateway-insufficient-user-quota-403.json (the family)",
    ),
    CodeWords(
        "budget",
        all_of=("budget",),
        any_of=("exceeded", "exhausted", "reached", "over"),
        family=CAP,
        strength=STRONG,
        examples=("BudgetExhausted", "key_budget_exceeded", "in_flight_budget_exhausted"),
        look_alikes=("budget_not_found",),
        source="tests/payloads/litellm-budget-exceeded-400.json",
    ),
    CodeWords(
        "spend limit",
        all_of=("spend",),
        any_of=("exceeded", "reached", "exhausted", "blocked"),
        family=CAP,
        strength=STRONG,
        examples=("workspace_spend_limit_reached",),
        look_alikes=("spend_report",),
        source="OpenAI organization_spend_limit_exceeded (platform.openai.com/docs/guides/"
        "error-codes)",
    ),
    # A cap named by what it counts and its window, as a cap's name field gives it
    # (Meridian's 429 `{"error": "quota_exceeded", "cap_type": "monthly_spend"}`,
    # payloads17): spend counted per month or per day is a cap in money, whatever its window.
    CodeWords(
        "a spend cap by its window",
        all_of=("spend",),
        any_of=("monthly", "daily", "weekly", "yearly", "annual", "total", "max", "maximum"),
        family=CAP,
        strength=STRONG,
        examples=("monthly_spend", "daily_spend", "max_spend"),
        look_alikes=("spend_report", "monthly_spend_report", "monthly"),
        source="research/payloads17 meridian-monthly-spend-cap-429",
        none_of=frozenset({"report", "reports", "summary", "history", "alert", "alerts", "id"}),
    ),
    CodeWords(
        "spending limit",
        all_of=("spending",),
        any_of=("limit", "cap"),
        family=CAP,
        strength=STRONG,
        examples=("personal-team-blocked:spending-limit",),
        look_alikes=("spending_report",),
        source="tests/payloads/xai-personal-team-blocked-spending-limit-403.json",
    ),
)
