"""Rate limits: `throttle`. A throttle stays a throttle, whatever plan, quota or upgrade it
mentions ("Rate limit reached for requests per minute. Upgrade your plan for higher limits"),
and even when a billing code comes with it: it lifts by itself.

A strong throttle vetoes every reading; a weak one (a daily or hourly window, which also
lifts by itself but which a 402 may state as its reason) vetoes only a strict reading.
"""

from __future__ import annotations

from ..families import Family
from ..rules import CodeRule, CodeWords, Strength, WordRule
from ..windows import Window

THROTTLE = Family.THROTTLE
STRONG, WEAK = Strength.STRONG, Strength.WEAK

WORDING = (
    WordRule(
        "rate limit",
        THROTTLE,
        STRONG,
        # A monthly "rate limit" is a plan's allowance (issue 19).
        r"\brate(?<!monthly rate)[ _-]?limit|\btoo (?:many|much) requests?\b"
        r"|\bslow down\b|\brequests? (?:too|are too) (?:frequent|fast)"
        r"|请求过于频繁|请求频率|限流|频率限制|速率限制|并发",
        needles=(
            "rate limit",
            "rate-limit",
            "ratelimit",
            "rate_limit",
            "too many",
            "too much",
            "slow down",
            "too frequent",
            "too fast",
            "请求过于频繁",
            "请求频率",
            "限流",
            "频率限制",
            "速率限制",
            "并发",
        ),
        examples=(
            "Rate limit reached for requests per minute. Upgrade your plan for higher limits.",
            "Request rate limit exceeded for plan",
            "Too many requests: your free tier allows 10 RPM. Upgrade to the Pro tier.",
            "Too much request during the window.",
            "请求过于频繁，请稍后再试",
            "并发请求数超过限制",
        ),
        look_alikes=(
            "The exchange rate is not available.",
            "Your credit balance is too low.",
            "You have exceeded the monthly rate limit of your plan.",
        ),
        source="tests/payloads/openai-rate-limit-rpm-billing-hint-429-negative.json",
        window=Window.NAMED,
    ),
    # "Throttled" says that a limit refused the request, not which: a rate, a window or a
    # concurrency, or a budget the account set ("Your scrape request has been throttled. API
    # Credit Budget reached.", Scrapfly's `ERR::THROTTLE::MAX_API_CREDIT_BUDGET_EXCEEDED`).
    # Alone, or beside a cause that lifts by itself, it is a throttle; beside a gate its own
    # words state plainly and no rule of a throttle's cause, that gate is its cause
    # (`decide`, rung 1: its window is `Window.NONE`, a category). Read only when no other
    # throttle rule matches.
    WordRule(
        "throttled, no cause named",
        THROTTLE,
        STRONG,
        r"\bthrottl(?:ed|ing|e)\b",
        needles=("throttl",),
        examples=(
            "Requests are throttled.",
            "Your scrape request as been throttle. If it's not expected, please check your "
            "throttle configuration for the given project and env.",
        ),
        look_alikes=("The throttler is healthy.", "Your credit budget has been reached."),
        source="research/payloads11 scrapfly-max-request-rate-exceeded-429-negative and "
        "scrapfly-api-credit-budget-exceeded-429 (https://scrapfly.io/docs/scrape-api/error/"
        "ERR::THROTTLE::MAX_API_CREDIT_BUDGET_EXCEEDED)",
        window=Window.NONE,
    ),
    WordRule(
        "per short window",
        THROTTLE,
        STRONG,
        # "1000 requests per month" is a plan's volume, not a rate: only short units count.
        r"\bper (?:second|minute|min|hour|day)\b|[a-z]per(?:second|minute|hour|day)"
        r"|\brequests? per (?:s|sec|m|min|h|hr|d)\b"
        r"|(?<![a-z0-9])(?:rpm|tpm|rps|rpd|tpd|ipm|qps)(?![a-z0-9])"
        r"|\b(?:req|requests?|tokens?|calls?|queries|messages|emails) ?/ ?(?:s|sec|second|min"
        r"|minute|h|hr|hour|d|day)\b"
        r"|\btry again in\b|\bretry (?:again )?in [0-9]"
        # A sliding window of seconds or minutes: "during the 1m window", "a 60s window".
        r"|\b[0-9]+ ?(?:ms|s|secs?|seconds?|m|mins?|minutes?) (?:sliding |rolling )?window\b",
        needles=(
            "per s",
            "per m",
            "per h",
            "per d",
            "persecond",
            "perminute",
            "perhour",
            "perday",
            "rpm",
            "tpm",
            "rps",
            "rpd",
            "tpd",
            "ipm",
            "qps",
            "/s",
            "/ s",
            "/m",
            "/ m",
            "/h",
            "/ h",
            "/d",
            "/ d",
            "try again in",
            "retry in",
            "window",
        ),
        examples=(
            "Rate limit reached on requests per min (RPM): Limit 3, Used 3.",
            "Limit 30000, Used 29000, Requested 2000. Please try again in 2.5s.",
            "Quota exceeded for quota metric 'Requests' and limit 'Requests per day'.",
            "Consumed (req/min): 20, Remaining (req/min): 0.",
            "You are using a Trial key, which is limited to 40 API calls / minute.",
            "QPS超限，请稍后再试",
            "GenerateRequestsPerMinutePerProjectPerModel-FreeTier",
            "Too much request during the 1m window.",
        ),
        look_alikes=(
            "You have used the 1000 requests per month of your plan.",
            "You are using a Trial key, which is limited to 1000 API calls / month.",
            "Try again later.",
            "The maintenance window starts at 10:00.",
        ),
        source="tests/payloads/gemini-free-tier-per-minute-quota-429-negative.json; "
        "research/payloads11 scrapfly-max-request-rate-exceeded-429-negative (the 1m window)",
        window=Window.RATE,
    ),
    WordRule(
        "concurrency",
        THROTTLE,
        STRONG,
        r"\bconcurren(?:t|cy)\b[^.]{0,40}?\b(?:limit|requests?|jobs?|connections?|sessions?"
        r"|tasks?|streams?)\b|\btoo many (?:concurrent|parallel|simultaneous|active) "
        r"|\b(?:parallel|simultaneous) (?:requests?|jobs?) (?:limit|exceeded)",
        needles=("concurren", "too many", "parallel", "simultaneous"),
        examples=(
            "Too many concurrent requests for this model. Upgrade your subscription to raise "
            "the concurrency limit.",
            "Concurrency limit reached: 5 of 5 jobs running.",
        ),
        look_alikes=("Concurrent edits were merged.",),
        source="tests/payloads (elevenlabs-too-many-concurrent-requests-upgrade-429-negative, "
        "from research)",
        window=Window.RATE,
    ),
    # A renewal stated within the hour is a window, whatever ran out ("call volume quota"):
    # seconds, minutes, or a countdown whose hours are zero. Days are a plan's (Azure API
    # Management's quota policy answers both ways); hours are "renewal within a day"'s.
    WordRule(
        "renewal within the hour",
        THROTTLE,
        STRONG,
        r"\b(?:resets?|renew(?:s|ed)?|replenish(?:ed|es)?|refill(?:s|ed)?|restored|refresh(?:es|ed)?"
        r"|available again)\b[^.]{0,40}?\bin (?:00:[0-5][0-9](?::[0-5][0-9])?\b"
        r"|~?[0-9][0-9.]* ?(?:ms|s|secs?|seconds?|m|mins?|minutes?)\b)",
        needles=("reset", "renew", "replenish", "refill", "restored", "refresh", "available again"),
        examples=(
            "Out of call volume quota. Quota will be replenished in 00:30:02.",
            "Your quota resets in 45 seconds.",
            "Credits will be refilled in 10 minutes.",
        ),
        look_alikes=(
            "Out of call volume quota. Quota will be replenished in 2.12 days.",
            "Your monthly quota renews in 3 months.",
            "Quota will be replenished in 05:30:02.",
        ),
        source="research/payloads5 vaillant-apim-out-of-call-volume-quota-minutes-403-negative "
        "(its days twin bing-search-out-of-call-volume-quota-days-403 is a gate)",
        window=Window.RATE,
    ),
    # A renewal stated within a day is a window to wait out, whatever ran out (a "call volume
    # quota", credits): a countdown under 24 hours ("in 07:01:20"), a number of hours up to
    # a day, midnight, a clock time, tomorrow. Weak, as the daily window is: it vetoes a
    # strict reading, and a 402 may still state one as its reason. A renewal in days, on a
    # date or with the billing cycle is a plan's allowance and is no window.
    WordRule(
        "renewal within a day",
        THROTTLE,
        WEAK,
        r"\b(?:resets?|renew(?:s|ed)?|replenish(?:ed|es)?|refill(?:s|ed)?|restored|refresh(?:es|ed)?"
        r"|available again)\b[^.]{0,40}?(?:\bin (?:(?:[01]?[0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?"
        r"(?![0-9:])|~?(?:[0-9]|1[0-9]|2[0-4])(?:\.[0-9]+)? ?(?:h|hrs?|hours?)\b|an hour\b"
        r"|a few hours\b)|\bat midnight\b|\b(?:at|by) [0-9]{1,2}:[0-9]{2}\b|\btomorrow\b)",
        needles=("reset", "renew", "replenish", "refill", "restored", "refresh", "available again"),
        examples=(
            "Out of call volume quota. Quota will be replenished in 07:01:20.",
            "Quota will be replenished in 23:59:59.",
            "Your quota will be replenished in 3 hours.",
            "Credits are refilled at midnight UTC.",
            "Your free requests will be restored tomorrow.",
        ),
        look_alikes=(
            "Out of call volume quota. Quota will be replenished in 2.12 days.",
            "Your monthly quota resets on the 1st.",
            "Your credits renew with the next billing cycle.",
            "Your allowance resets in 12 days.",
            "Quota will be replenished in 30:00:00.",
        ),
        source="research/payloads8 blackbaud-sky-api-out-of-call-volume-quota-replenished-403-"
        "negative (Azure API Management's quota policy, 7 hours left); research/payloads5 "
        "bing-search-out-of-call-volume-quota-days-403 (days: a gate)",
        window=Window.DAY,
    ),
    # A message that opens with a bare "limit reached" names no limit: a throttle's window as
    # much as a plan's volume (FMP's daily cap on a 429, "Limit Reach . Please upgrade your
    # plan"). Weak: on a strict reading its hint to upgrade makes no gate; a 402 that says
    # it is still read.
    WordRule(
        "bare limit reached",
        THROTTLE,
        WEAK,
        r"^\W{0,3}(?:api |request |usage )?limits? (?:reach|exceed)(?:ed)?\b"
        # A count of requests named as the limit, with no period, plan or money
        # (payloads21: Crypto APIs' 429 `request_limit_reached` "The request limit has been
        # reached. Please contact the team or upgrade your plan."; its credits are a 402 of
        # their own): a throttle's count until a period or the plan is stated.
        r"|^\W{0,3}(?:the |your )?(?:api )?(?:requests?|call|api call) limit (?:has been |was "
        r"|is )?(?:reached|exceeded|hit)\b(?![^.]{0,40}\b(?:plan|tier|subscription|month"
        r"|billing|package)\b)",
        needles=("limit",),
        examples=(
            "Limit Reach . Please upgrade your plan or visit our documentation.",
            "Limit exceeded.",
            "The request limit has been reached. Please contact the team or upgrade your plan.",
            "Your API request limit was exceeded.",
        ),
        look_alikes=(
            "Your monthly limit has been reached.",
            "The spend limit was reached.",
            "The request limit of your plan has been reached.",
            "Your request limit has been reached for this billing period.",
        ),
        source="tests/payloads/fmp-limit-reach-daily-upgrade-plan-429-negative.json; "
        "research/payloads21 cryptoapis-request-limit-reached-upgrade-429-negative "
        "(https://developers.cryptoapis.io/technical-documentation/general-information/"
        "errors-and-api-status)",
        window=Window.NAMED,
    ),
    # A limit counted "for the current window" lifts when the window does, whatever it
    # counts (payloads20: CSGHub's 429 "Usage quota exceeded for current window", beside
    # `rate_limit_exceeded`; a guest's "message quota exceeded for the current window";
    # "Quota exceeded for the current window. Please try again in 24 seconds."): its length
    # is unstated, so it is weak, as a daily window is (a 402 may still state one as its
    # reason). Not a window of the billing period ("the current billing window"), nor a
    # context or maintenance window.
    WordRule(
        "the current window",
        THROTTLE,
        WEAK,
        r"\b(?:for|in|during|within|of) (?:the )?(?:current|present|this) (?:time |rate[- ]?limit "
        r"|rate |usage |quota |request |rolling |sliding )?window\b"
        r"|\b(?:rolling|sliding) (?:time )?window\b",
        needles=("window",),
        examples=(
            "Usage quota exceeded for current window",
            "Guest message quota exceeded for the current window.",
            "Quota exceeded for the current window. Please try again in 24 seconds.",
            "You have used all requests in this rolling window.",
        ),
        look_alikes=(
            "Quota exceeded for the current billing window.",
            "The prompt exceeds the context window of this model.",
            "The maintenance window starts at 10:00.",
            "Close this window and try again.",
        ),
        source="research/payloads20 csghub-aigateway-usage-window-quota-429-negative "
        "(github.com/OpenCSGs/csghub-server aigateway/handler/openai.go "
        "handleUsageLimitExceeded); code index 54998257603 and 39877852828 (a guest's message "
        "quota, a problem's detail)",
        window=Window.DAY,
    ),
    # A daily or hourly limit lifts by itself, whatever plan it mentions; a 402 may still
    # state one as its reason.
    WordRule(
        "daily window",
        THROTTLE,
        WEAK,
        r"\b(?:daily|hourly|today's)\b|\btry again tomorrow\b"
        # A window of a few hours, minutes or seconds: "5-hour usage limit", "24 hour".
        r"|\b[0-9]{1,3}[- ](?:hour|minute|second)\b"
        r"|\bresets? (?:in [0-9][0-9.]* ?(?:s|sec|seconds?|m|min|minutes?|h|hr|hours?)\b"
        r"|at (?:midnight|[0-9]{1,2}:[0-9]{2}))"
        # Chinese names the day as "every day", "today", "that day" and the next one:
        # TokenFactory's 429 "当日 token 配额已用尽" (次日自动恢复, back the next day).
        r"|每日|每天|今日|今天|当日|当天|明天|次日",
        needles=(
            "daily",
            "hourly",
            "today",
            "hour",
            "minute",
            "second",
            "tomorrow",
            "reset",
            "每日",
            "每天",
            "今日",
            "今天",
            "当日",
            "当天",
            "明天",
            "次日",
        ),
        examples=(
            "You have exceeded your daily quota. Upgrade to a paid plan for more.",
            "Daily sending limit of 5000 messages has been reached.",
            "You've reached your 5-hour usage limit. Upgrade your plan to continue now.",
            "当日 token 配额已用尽",
            "今天的调用次数已用完，请明天再试",
        ),
        look_alikes=(
            "Your monthly quota is used up.",
            "Your billing capacity will reset at the beginning of next month.",
        ),
        source="tests/payloads/emailit-daily-sending-limit-429-negative.json; "
        "https://www.tokenfactory.cn/docs/guide/errors (429 quota_exceeded, 当日配额已用尽)",
        window=Window.DAY,
    ),
)

#: A window stated in months or the billing period, in words (payloads14): `Window.PERIOD`,
#: as a reset a field states in a day or more is (`windows.RENEWAL_WINDOW`). A limit renewed
#: monthly, next month or with the billing cycle is a period's allowance, the plan's, on any
#: status: words that state one with a gate of their own outrank a throttle's words that name
#: no window of their own (`Window.NAMED`: Proofio's 429 `"error": "Rate limit exceeded"`
#: beside "You have exceeded the monthly rate limit of 1000 requests. Please try again next
#: month."), and a bare quota's words beside one are the plan's (payloads16). A window under a
#: day ("hourly", "next hour", "daily", "tomorrow") stays a throttle. Not in `WORDING`: it
#: states no family, only the window that `decide` weighs (`windows.py`).
PERIOD_WINDOW = WordRule(
    "renewal in a billing period",
    THROTTLE,
    WEAK,
    # A plan billed monthly names no window of a limit ("Upgrade to a monthly plan").
    r"\bmonthly\b(?! (?:plans?|subscriptions?|price|fee|payments?|invoices?)\b)"
    r"|\b(?:per month|a month|each month|every month|this month|next month"
    r"|calendar month|current month|billing (?:cycle|period|month))\b"
    r"|(?<![a-z0-9])(?:requests?|calls?|credits?) ?/ ?mo(?:nth)?\b",
    needles=("month", "billing cycle", "billing period", "/mo", "/ mo"),
    examples=(
        "You have exceeded the monthly rate limit of 1000 requests. Please try again next month.",
        "Limit of 500 requests per month reached.",
        "Your allowance renews with the next billing cycle.",
        "You have used this month's quota.",
        "Quota exceeded for this billing period.",
    ),
    look_alikes=(
        "You have exceeded the hourly rate limit of 100 requests. Please try again next hour.",
        "Daily limit reached. Try again tomorrow.",
        "Rate limit exceeded",
        "The month parameter must be between 1 and 12.",
        "Quota exceeded. Upgrade to a monthly plan.",
    ),
    source="research/payloads14 proofio-monthly-limit-429 (https://docs.proofio.app/errors); "
    "research/payloads16 silentshield-monthly-quota-exceeded-429 (https://silentshield.io/en/"
    "docs/troubleshooting/quota-exceeded: 'Your monthly request limit has been reached.', said "
    "by the docs, not the body)",
    window=Window.PERIOD,
)

CODES = (
    CodeRule(
        [
            "rate_limit_exceeded",
            "rate_limit_error",
            "rate_limited",
            "rate_limit",
            "too_many_requests",
            "throttled",
            "throttling_exception",
            "throttling",
            "request_throttled",
            "concurrency_limit_exceeded",
            "too_many_concurrent_requests",
        ],
        THROTTLE,
        STRONG,
        source="https://platform.openai.com/docs/guides/error-codes (rate_limit_exceeded); "
        "Anthropic rate_limit_error; AWS ThrottlingException",
    ),
)

CODE_WORDS = (
    CodeWords(
        "rate or concurrency",
        all_of=(),
        any_of=(
            "rate",
            "ratelimit",
            "throttle",
            "throttled",
            "throttling",
            "concurrency",
            "concurrent",
        ),
        family=THROTTLE,
        strength=STRONG,
        examples=(
            "RATE_LIMITED",
            "TooManyConcurrentRequests",
            "ThrottlingException",
            "ERR::THROTTLE::MAX_REQUEST_RATE_EXCEEDED",
        ),
        look_alikes=("separate_bill",),
        source="tests/payloads/mistral-rate-limited-code-1300-429-negative.json",
    ),
    CodeWords(
        "daily window",
        all_of=(),
        any_of=("daily", "hourly", "minute", "minutely", "day", "hour"),
        family=THROTTLE,
        strength=WEAK,
        examples=("openrouter_free_tier_daily", "dailyLimitExceeded"),
        look_alikes=("monthly_limit",),
        source="tests/payloads (openrouter-free-models-per-day-add-credits-429-negative, "
        "youtube-data-api-daily-quota-exceeded-403-negative, from research)",
    ),
)
