"""Gates on any status, from any host: gateways, proxies and local mocks, and the switches."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

import http402
from http402 import AdapterRegistry, Reason

PAYLOADS = Path(__file__).parent / "payloads"
GATEWAY = "http://localhost:4000/v1/chat/completions"
QUOTA = {
    "error": {
        "message": "You exceeded your current quota, please check your plan and billing details.",
        "type": "insufficient_quota",
        "param": None,
        "code": "insufficient_quota",
    }
}


def payload(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PAYLOADS / f"{name}.json").read_text())
    return document


def response(
    status: int,
    body: Any = QUOTA,
    *,
    url: str = GATEWAY,
    headers: dict[str, str] | None = None,
    content_type: str | None = "application/json",
) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    wire = dict(headers or {})
    if content_type is not None:
        wire["content-type"] = content_type
    return httpx.Response(status, headers=wire, content=content, request=httpx.Request("POST", url))


class Stream(httpx.SyncByteStream):
    """A body that records whether anyone read it."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.read = False

    def __iter__(self) -> Any:
        self.read = True
        yield self.body


def send(status: int, content_type: str | None, headers: dict[str, str] | None = None) -> bool:
    """Sends one request through the transport; `True` if it read the response body."""
    stream = Stream(json.dumps(QUOTA).encode())
    wire = dict(headers or {})
    if content_type is not None:
        wire["content-type"] = content_type
    inner = httpx.MockTransport(lambda request: httpx.Response(status, headers=wire, stream=stream))
    client = httpx.Client(transport=http402.PaymentRequiredTransport(inner))
    try:
        with client.stream("POST", GATEWAY) as answer:
            assert answer.status_code == status
    except http402.PaymentRequiredError:
        pass
    return stream.read


@pytest.mark.parametrize("status", [400, 403, 409, 412, 422, 429, 432, 433, 456])
def test_a_billing_code_on_any_4xx_from_any_host_is_a_gate(status: int) -> None:
    """`insufficient_quota` from a gateway is a gate whatever 4xx it comes with."""
    payment = http402.classify(response(status))
    assert payment is not None
    assert payment.reason is Reason.INSUFFICIENT_CREDITS
    assert payment.provider == "generic"
    assert payment.status_code == status


@pytest.mark.parametrize("status", [200, 201, 302, 500, 502, 503])
def test_other_statuses_are_never_gates_without_a_402(status: int) -> None:
    """2xx, 3xx and 5xx bodies are not looked at, whatever they say."""
    assert http402.classify(response(status)) is None


@pytest.mark.parametrize("status", [200, 304, 500, 503])
def test_the_transport_never_reads_2xx_3xx_5xx(status: int) -> None:
    """The body of a success, a redirect or a server error stays unread in the stream."""
    assert send(status, "application/json") is False


@pytest.mark.parametrize(
    ("content_type", "read"),
    [
        ("application/json", True),
        ("application/problem+json", True),
        ("application/vnd.api+json; charset=utf-8", True),
        ("text/plain; charset=utf-8", True),
        ("text/html", False),
        ("application/octet-stream", False),
        (None, False),
    ],
)
def test_a_4xx_is_read_only_as_json_or_plain_text(content_type: str | None, read: bool) -> None:
    """The generic rules read a 4xx body only when it is JSON or plain text."""
    assert send(403, content_type) is read


def test_a_401_is_read_only_with_a_payment_protocol_header() -> None:
    """A 401 asks for credentials (DESIGN's table): its body is left alone unless a payment
    header is there; a 407 likewise."""
    assert send(401, "application/json") is False
    assert send(407, "application/json") is False
    assert send(401, "application/json", {"www-authenticate": 'L402 macaroon="m"'}) is True
    assert send(401, "application/json", {"payment-required": "e30="}) is True
    assert send(407, "application/json", {"payment-required": "e30="}) is True


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "Your account is expired and cannot use the API.", "code": 2012}},
        {"message": "Monthly API calls limit reached: 1000"},
        {"error": {"message": "Your access token has expired.", "code": "token_expired"}},
        {"error": {"message": "Invalid API key. Upgrade your plan.", "code": 401}},
    ],
)
def test_a_401_with_billing_words_from_any_host_is_no_gate(body: Any) -> None:
    """Without a payment header, a 401 from a host with no adapter stays a 401, whatever its
    words: an expired account or a used-up allowance on a 401 is its provider's adapter's to
    read (`statuses = (401, 402)`), as docs/gateways.md says."""
    assert http402.classify(response(401, body)) is None


S3_FREE_PLAN = (
    "<Error><Code>AccountProblem</Code><Message>Free accounts are limited to 25MB video "
    "uploads. Please upgrade your plan.</Message><RequestId>R1</RequestId></Error>"
)


@pytest.mark.parametrize("content_type", ["application/xml", "text/xml; charset=UTF-8"])
def test_an_xml_error_document_is_read_by_its_code_and_message(content_type: str) -> None:
    """An S3-style `<Error>` on a 403 is read like a JSON body: its `<Code>` is the code, its
    `<Message>` the message, and the message's words decide."""
    payment = http402.classify(response(403, S3_FREE_PLAN, content_type=content_type))
    assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
    assert payment.code == "AccountProblem"
    assert payment.message is not None and payment.message.startswith("Free accounts")
    assert payment.request_id == "R1"
    assert send(403, content_type) is True


def test_an_xml_error_that_states_no_gate_passes_through() -> None:
    """An XML error whose words state another refusal, or that holds no code and no
    message, is no gate; an XHTML page is not read at all."""
    denied = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
    assert http402.classify(response(403, denied, content_type="application/xml")) is None
    bare = "<?xml version='1.0'?><Result><Plan>free</Plan></Result>"
    assert http402.classify(response(403, bare, content_type="application/xml")) is None
    xhtml = response(403, S3_FREE_PLAN, content_type="application/xhtml+xml")
    assert http402.classify(xhtml) is None
    assert send(403, "application/xhtml+xml") is False


def test_a_non_gate_4xx_comes_back_byte_for_byte() -> None:
    """A 4xx that was read and found not to be a gate reaches the caller whole, streamed."""
    body = json.dumps({"error": {"message": "max_tokens: required", "type": "invalid"}}).encode()
    inner = httpx.MockTransport(
        lambda request: httpx.Response(
            400, headers={"content-type": "application/json"}, stream=httpx.ByteStream(body)
        )
    )
    client = httpx.Client(transport=http402.PaymentRequiredTransport(inner))
    answer = client.post(GATEWAY)
    assert answer.status_code == 400
    assert answer.content == body


@pytest.mark.parametrize(
    "message",
    [
        "Rate limit reached for requests per minute. Upgrade your plan for higher limits.",
        "Quota exceeded for quota metric 'Requests' and limit 'Requests per day' of service.",
        "You exceeded your current quota, please check your plan. Please try again in 20s.",
        "Too many requests: your free tier allows 10 RPM. Upgrade to the Pro tier.",
        "You have exceeded your daily quota. Upgrade to a paid plan for more.",
    ],
)
def test_rate_limits_that_mention_plans_or_quota_stay_rate_limits(message: str) -> None:
    """On a 429 or 403 from any host, "per minute" or "per day" wording means slow down."""
    for status in (403, 429):
        assert http402.classify(response(status, {"error": {"message": message}})) is None


def test_a_monthly_volume_is_no_rate_limit() -> None:
    """ "Requests per month" is what a plan includes: a gate, not a rate limit."""
    message = "You have used the 1000 requests per month of your plan. Upgrade your plan."
    payment = http402.classify(response(429, {"error": {"message": message}}))
    assert payment is not None
    assert payment.reason is Reason.PLAN_LIMIT_EXCEEDED


def test_the_hosts_own_adapter_has_the_last_word_on_its_statuses() -> None:
    """Where a provider's adapter handles a status for its host and declines, the generic
    rules do not second-guess it; on another status of that host they still look."""

    class Acme:
        name = "acme"
        hosts = ("api.acme.test",)
        statuses = (429,)

        def classify(self, response: http402.ResponseSnapshot) -> None:
            return None

    registry = http402.default_registry.copy()
    registry.register(Acme())
    url = "https://api.acme.test/v1/x"
    assert http402.classify(response(429, url=url), registry=registry) is None
    assert http402.classify(response(403, url=url), registry=registry) is not None


def test_an_ambiguous_quota_code_with_a_per_minute_quota_id_is_a_rate_limit() -> None:
    """`quota_exceeded` beside a per-minute quota id elsewhere in the body is no gate."""
    body = {
        "error": {"code": "quota_exceeded", "message": "Quota exceeded."},
        "details": [{"quotaId": "GenerateRequestsPerMinutePerProject"}],
    }
    assert http402.classify(response(429, body)) is None
    assert http402.classify(response(402, body)) is not None


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"code": "authentication_required", "message": "Log in first."}},
        {"error": {"code": "invalid_number", "message": "The phone number is not valid."}},
        {"error": {"code": "account_suspended", "message": "Suspended for abuse."}},
        {"error": {"code": "feature_not_available", "message": "Flag is off."}},
        {"error": {"code": "verification_required", "message": "Verify your e-mail address."}},
    ],
)
def test_codes_that_other_apis_use_otherwise_are_no_evidence_on_a_403(body: Any) -> None:
    """A code of the table that also means something else does not make a 403 a gate."""
    assert http402.classify(response(403, body)) is None
    assert http402.classify(response(402, body)) is not None


@pytest.mark.parametrize(
    "body",
    [
        {"error": {"message": "The card is invalid or was archived.", "type": "invalid_request"}},
        {"message": "Your account is inactive. Ask an administrator to reactivate it."},
        {"error": {"message": "Insufficient tokens left for the completion."}},
        {"message": "This price is not valid for the plan."},
        {"error": {"message": "Request limit reached."}},
        {"error": {"code": "quotaExceeded", "message": "You have exceeded your quota."}},
    ],
)
def test_words_that_other_errors_use_too_are_no_evidence_on_a_non_402(body: Any) -> None:
    """Weak wording or a quota code names the reason on a 402, but a 400, 403 or 429 from a
    host with no adapter needs words that can only mean billing."""
    for status in (400, 403, 429):
        assert http402.classify(response(status, body)) is None
    assert http402.classify(response(402, body)) is not None


@pytest.mark.parametrize("status", [404, 410, 413, 423, 431, 451])
def test_statuses_that_name_another_refusal_are_not_read(status: int) -> None:
    """Not found, gone, too large or locked are no payment gates."""
    body = {"error": {"message": "This subscription is already canceled.", "code": "unpaid"}}
    assert http402.classify(response(status, body)) is None
    assert send(status, "application/json") is False


def test_a_426_is_read_on_strong_evidence_only() -> None:
    """Upgrade Required is read like a 403: NewsAPI answers its plans' limits with it, and
    a protocol's upgrade says nothing of billing."""
    plan = {
        "status": "error",
        "code": "maximumResultsReached",
        "message": "Developer accounts are limited to a max of 100 results. Please upgrade to "
        "a paid plan if you need more results.",
    }
    payment = http402.classify(response(426, plan))
    assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
    protocol = {"error": {"message": "This service requires use of the HTTP/2 protocol."}}
    assert http402.classify(response(426, protocol)) is None


def test_fields_alone_do_not_make_a_non_402_a_gate() -> None:
    """A balance field without billing words or codes is no evidence on a 400."""
    body = {"error": {"message": "Invalid model", "balance": 10, "plan": "free"}}
    assert http402.classify(response(400, body)) is None
    assert http402.classify(response(402, body)) is not None


def test_plain_text_gates_on_a_4xx() -> None:
    """A plain-text 403 in billing words is a gate; an HTML page is not read for one."""
    text = "Billing has been disabled for this project. Enable billing to continue."
    payment = http402.classify(response(403, text, content_type="text/plain"))
    assert payment is not None
    assert payment.reason is Reason.SUBSCRIPTION_EXPIRED
    html = f"<html><body><p>{text}</p></body></html>"
    assert http402.classify(response(403, html, content_type="text/html")) is None


class TestReadErrorsSwitch:
    def test_402_only(self) -> None:
        """`read_errors=False` keeps the generic rules to 402s."""
        registry = http402.default_registry.copy(read_errors=False)
        assert registry.read_errors is False
        assert http402.classify(response(429), registry=registry) is None
        assert http402.classify(response(402), registry=registry) is not None

    def test_provider_adapters_still_claim_their_own_hosts(self) -> None:
        """The switch leaves a provider's adapter on its own hosts alone."""
        registry = http402.default_registry.copy(read_errors=False)
        openai = response(429, url="https://api.openai.com/v1/chat/completions")
        payment = http402.classify(openai, registry=registry)
        assert payment is not None
        assert payment.provider == "openai"

    def test_the_switch_can_be_flipped_on_a_registry(self) -> None:
        """Setting `read_errors` takes effect at once, and the copy keeps the setting."""
        registry = http402.default_registry.copy()
        assert http402.classify(response(429), registry=registry) is not None
        registry.read_errors = False
        assert http402.classify(response(429), registry=registry) is None
        assert registry.copy().read_errors is False
        registry.read_errors = True
        assert http402.classify(response(429), registry=registry) is not None

    def test_the_transport_does_not_read_a_4xx_in_402_only_mode(self) -> None:
        """With `read_errors=False` a gateway's 429 passes through unread."""
        stream = Stream(json.dumps(QUOTA).encode())
        inner = httpx.MockTransport(
            lambda request: httpx.Response(
                429, headers={"content-type": "application/json"}, stream=stream
            )
        )
        registry = http402.default_registry.copy(read_errors=False)
        client = httpx.Client(transport=http402.PaymentRequiredTransport(inner, registry=registry))
        with client.stream("POST", GATEWAY) as answer:
            assert answer.status_code == 429
        assert stream.read is False


class TestAlias:
    def test_a_gateway_host_gets_the_provider_adapter(self) -> None:
        """`registry.alias("openai", host)` makes the OpenAI adapter claim that host's 429s."""
        registry = http402.default_registry.copy()
        registry.alias("openai", "llm.corp.example", "*.gateway.example")
        for url in ("https://llm.corp.example/v1/x", "https://eu.gateway.example/v1/x"):
            payment = http402.classify(response(429, url=url), registry=registry)
            assert payment is not None
            assert payment.provider == "openai"
        assert "llm.corp.example" in registry.adapters["openai"].hosts

    def test_alias_does_not_touch_the_default_registry(self) -> None:
        """A copy's aliases stay in the copy."""
        registry = http402.default_registry.copy()
        registry.alias("anthropic", "claude.corp.example")
        assert "claude.corp.example" not in http402.default_registry.adapters["anthropic"].hosts

    def test_unknown_and_hostless_adapters_refuse(self) -> None:
        """An unknown name is a `KeyError`; a generic rule already sees every host."""
        registry = http402.default_registry.copy()
        with pytest.raises(KeyError):
            registry.alias("no-such-adapter", "a.example")
        with pytest.raises(ValueError, match="every host"):
            registry.alias("generic", "a.example")


def test_reads_errors_is_for_generic_rules_only() -> None:
    """An adapter scoped to hosts cannot also ask to read every host's errors."""

    class Greedy:
        name = "greedy"

        def classify(self, response: http402.ResponseSnapshot) -> None:
            return None

    with pytest.raises(ValueError, match="reads_errors"):
        AdapterRegistry().register(Greedy(), hosts=("a.test",), reads_errors=True)
    registry = AdapterRegistry()
    registry.register(Greedy(), reads_errors=True)
    assert registry.adapters["greedy"].reads_errors is True
    assert 429 in registry.interest


class TestCauses:
    def gate(self) -> httpx.HTTPStatusError:
        answer = response(402, {"error": {"code": "insufficient_credits"}})
        return httpx.HTTPStatusError("402", request=answer.request, response=answer)

    def test_classify_follows_cause(self) -> None:
        """An application error raised `from` an HTTP error is classified by its cause."""
        try:
            try:
                raise self.gate()
            except httpx.HTTPStatusError as error:
                raise RuntimeError("the billing service failed") from error
        except RuntimeError as wrapped:
            payment = http402.classify(wrapped)
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS

    def test_classify_follows_context(self) -> None:
        """An error raised while handling one is classified by the one it interrupted."""
        try:
            try:
                raise self.gate()
            except httpx.HTTPStatusError:
                raise RuntimeError("while handling") from None
        except RuntimeError as suppressed:
            wrapped = suppressed
        # `from None` hides the context from tracebacks, but it is still there.
        assert http402.classify(wrapped) is not None

    def test_a_cycle_or_a_long_chain_ends(self) -> None:
        """A chain longer than a few links, or one that loops, gives `None`, never a hang."""
        first, second = RuntimeError("a"), RuntimeError("b")
        first.__cause__, second.__cause__ = second, first
        assert http402.classify(first) is None
        chain = self.gate()
        for depth in range(20):
            outer = RuntimeError(str(depth))
            outer.__cause__ = chain
            chain = outer
        assert http402.classify(chain) is None


def test_decline_code_is_surfaced_beside_the_provider_code() -> None:
    """Stripe's `decline_code` is `payment.decline_code`; `code` stays `card_declined`."""
    wire = payload("stripe-insufficient-funds")
    answer = httpx.Response(
        402,
        headers=list(wire["response"]["headers"].items()),
        content=wire["response"]["body"].encode(),
        request=httpx.Request("POST", wire["request"]["url"]),
    )
    payment = http402.classify(answer)
    assert payment is not None
    assert payment.code == "card_declined"
    assert payment.decline_code == "insufficient_funds"
    assert http402.classify(response(402)).decline_code is None  # type: ignore[union-attr]


def test_a_decline_code_that_is_not_a_code_is_ignored() -> None:
    """Only a short machine word is taken from the body as a decline code."""
    body = {"error": {"code": "card_declined", "decline_code": "<script>" * 40}}
    payment = http402.classify(response(402, body))
    assert payment is not None
    assert payment.decline_code is None


def test_action_url_prefers_billing_links_over_docs() -> None:
    """A docs link is no place to top up; a billing link beside it is."""
    docs = "https://platform.openai.com/docs/guides/error-codes"
    message = f"You exceeded your current quota. Read the docs: {docs}."
    payment = http402.classify(
        response(429, {"error": {"message": message, "code": "insufficient_quota"}})
    )
    assert payment is not None
    assert payment.action_url is None
    billing = "https://platform.openai.com/settings/organization/billing"
    message = f"Read {docs} or add credits at {billing}."
    payment = http402.classify(
        response(429, {"error": {"message": message, "code": "insufficient_quota"}})
    )
    assert payment is not None
    assert payment.action_url == billing


@pytest.mark.parametrize(
    ("body", "reason", "fields"),
    [
        (
            {
                "err_code": "INSUFFICIENT_BALANCE",
                "err_msg": "Not enough balance.",
                "request_id": "r1",
            },
            Reason.INSUFFICIENT_CREDITS,
            {"code": "INSUFFICIENT_BALANCE", "message": "Not enough balance.", "request_id": "r1"},
        ),
        (
            {"errors": ["Your subscription has expired."]},
            Reason.SUBSCRIPTION_EXPIRED,
            {"message": "Your subscription has expired."},
        ),
        (
            {"errors": [{"message": "Budget exceeded", "extensions": {"code": "BUDGET_EXCEEDED"}}]},
            Reason.INSUFFICIENT_CREDITS,
            {"code": "BUDGET_EXCEEDED", "message": "Budget exceeded"},
        ),
        (
            {
                "name": "VALIDATION_ERROR",
                "details": [{"issue": "PAYER_CANNOT_PAY", "description": "Payer cannot pay."}],
                "debug_id": "d1",
            },
            Reason.PAYMENT_FAILED,
            {"code": "PAYER_CANNOT_PAY", "message": "Payer cannot pay.", "request_id": "d1"},
        ),
        (
            {"description": "You need a paid account to use this endpoint."},
            Reason.PLAN_LIMIT_EXCEEDED,
            {"message": "You need a paid account to use this endpoint."},
        ),
        (
            {"detail": "Please add or update your payment method to continue."},
            Reason.PAYMENT_FAILED,
            {"message": "Please add or update your payment method to continue."},
        ),
        (
            {"message": "This request exceeds the pay-as-you-go limit."},
            Reason.INSUFFICIENT_CREDITS,
            {},
        ),
        (
            {"message": "Your subscription has a failed or incomplete payment."},
            Reason.PAYMENT_FAILED,
            {},
        ),
        (
            {"message": "Your free credits have expired."},
            Reason.INSUFFICIENT_CREDITS,
            {},
        ),
        (
            {"message": "Your account was suspended for failure to pay."},
            Reason.SUBSCRIPTION_EXPIRED,
            {},
        ),
        (
            {"code": "quota_limited", "detail": "You have exceeded your billing limit."},
            Reason.INSUFFICIENT_CREDITS,
            {"code": "quota_limited"},
        ),
        # An account verified by adding a payment method: the method is what lifts it
        # (Heroku's add-on verification, payloads12).
        (
            {
                "code": "verification_required",
                "message": "Verify your account by adding payment information.",
            },
            Reason.PAYMENT_FAILED,
            {"code": "verification_required"},
        ),
        (
            {"error": "Quota exceeded for this month. Change your plan to get more requests."},
            Reason.PLAN_LIMIT_EXCEEDED,
            {},
        ),
    ],
)
def test_field_shapes_and_wording_kinds_on_a_400(
    body: dict[str, Any], reason: Reason, fields: dict[str, Any]
) -> None:
    """The generic reader finds each shape and kind of gate, on a non-402 from any host."""
    payment = http402.classify(response(400, body))
    assert payment is not None, body
    assert payment.reason is reason
    for name, value in fields.items():
        assert getattr(payment, name) == value, name


@pytest.mark.parametrize(
    ("status", "reason"), [(432, "plan_limit_exceeded"), (433, "insufficient_credits")]
)
def test_tavily_statuses_mean_their_limits(status: int, reason: str) -> None:
    """On Tavily's host, its 432 and 433 are the plan limit and the pay-as-you-go limit,
    whatever the words in the documented `{"detail": {"error": ...}}` envelope."""
    body = {"detail": {"error": "Request limit reached."}}
    payment = http402.classify(response(status, body, url="https://api.tavily.com/search"))
    assert payment is not None
    assert payment.provider == "tavily"
    assert payment.reason.value == reason
    assert http402.classify(response(429, body, url="https://api.tavily.com/search")) is None


def test_a_gateway_that_passes_the_upstream_error_on_as_json_text_is_read() -> None:
    """OpenRouter-style envelopes keep the provider's error as a JSON string in
    `error.metadata.raw`: its wording and code are read, and its message is the one shown."""
    document = payload("opencode-zen-gateway-upstream-moonshot-balance-429")
    body = document["response"]["body"]
    payment = http402.classify(response(429, body))
    assert payment is not None
    assert payment.reason is Reason.INSUFFICIENT_CREDITS
    assert payment.message is not None
    assert payment.message.startswith("Your account org-")
    # The same envelope around a plain rate limit stays a rate limit.
    upstream = json.dumps({"error": {"message": "Rate limit reached for requests per min"}})
    wrapped = {"error": {"message": "Provider returned error", "metadata": {"raw": upstream}}}
    assert http402.classify(response(429, wrapped)) is None


def test_upstream_json_text_is_bounded() -> None:
    """An upstream error longer than the bound, or no JSON object, is left as text."""
    words = "insufficient balance " * 500
    huge = json.dumps({"error": {"message": words}})
    wrapped = {"error": {"message": "Provider returned error", "metadata": {"raw": huge}}}
    assert http402.classify(response(429, wrapped)) is None
    for raw in ("{not json", '["insufficient balance"]', "{" * 5000):
        body = {"error": {"message": "Provider returned error", "metadata": {"raw": raw}}}
        assert http402.classify(response(429, body)) is None


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("1113", "1113"),  # Zhipu's own numeric code
        ("30011", "30011"),
        ("400", None),  # a gateway restating the HTTP status
        ("402", None),
        ("None", None),  # a serialized null
        ("null", None),
        ("１１１３", None),  # digits, but not ASCII ones
        ("1" * 13, None),  # no code is that long a number
    ],
)
def test_numeric_and_null_codes(code: str, shown: str | None) -> None:
    body = {"error": {"code": code, "message": "Insufficient balance. Please recharge."}}
    payment = http402.classify(response(429, body))
    assert payment is not None
    assert payment.reason is Reason.INSUFFICIENT_CREDITS
    assert payment.code == shown


def test_insufficient_quota_codes_are_evidence_where_other_quota_codes_are_not() -> None:
    """`insufficient_user_quota` (one-api, new-api) never names a rate; `quota_exceeded` may."""
    gate = {"error": {"message": "user quota is not enough", "code": "insufficient_user_quota"}}
    payment = http402.classify(response(403, gate))
    assert payment is not None
    assert payment.reason is Reason.INSUFFICIENT_CREDITS
    assert payment.code == "insufficient_user_quota"
    maybe_a_rate = {"error": {"message": "Try later", "code": "quota_exceeded"}}
    assert http402.classify(response(403, maybe_a_rate)) is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Upgrade to GitHub Pro or make this repository public.", Reason.PLAN_LIMIT_EXCEEDED),
        ("Please upgrade to an Enterprise plan.", Reason.PLAN_LIMIT_EXCEEDED),
        (
            "A valid payment instrument must be provided.",
            Reason.PAYMENT_FAILED,
        ),
        ("余额不足或无可用资源包,请充值。", Reason.INSUFFICIENT_CREDITS),
        (
            "You have reached your specified API usage limits.",
            Reason.INSUFFICIENT_CREDITS,
        ),
    ],
)
def test_wording_families_on_a_non_402(message: str, reason: Reason) -> None:
    payment = http402.classify(response(403, {"error": {"message": message}}))
    assert payment is not None
    assert payment.reason is reason


@pytest.mark.parametrize(
    "message",
    [
        "Upgrade to Pro for a higher rate limit.",
        "You have reached your usage limit for this minute.",
        "The specified model does not exist.",
    ],
)
def test_their_look_alikes_stay_no_gate(message: str) -> None:
    assert http402.classify(response(429, {"error": {"message": message}})) is None


@pytest.mark.parametrize(
    "body",
    [
        {
            "message": "Validation failed",
            "errors": [{"field": "payment_method", "message": "Payment method is invalid"}],
        },
        {
            "message": "Unprocessable Entity",
            "errors": [{"field": "coupon", "message": "Coupon only available on paid plans"}],
        },
        {
            "error": {
                "message": "Invalid request",
                "errors": [{"param": "anchor", "message": "The subscription has ended its trial"}],
            }
        },
    ],
)
def test_a_field_message_of_a_validation_error_is_not_its_reason(body: Any) -> None:
    """Only an upstream provider's message (JSON text under `raw`) may stand in for a
    wrapper's message that names no reason; a form field's message never does."""
    assert http402.classify(response(422, body)) is None


@pytest.mark.parametrize(
    "message",
    [
        "The payment instrument field is required.",
        "The selected payment instrument is invalid.",
        "The payment method field is required.",
        "Unable to update payment instrument: customer cus_123 not found",
        "Provide a valid payment method id",
        "Please provide a valid payment method type: card, sepa_debit",
        "No payment method with id pm_abc exists.",
        "Payment method pm_123 failed validation: cvc",
        "This endpoint is deprecated. Please upgrade to v2 for team management.",
        "Unsupported runner: please upgrade to GitHub Enterprise Server 3.12 or later.",
        "Unsupported OS image; upgrade to Red Hat Enterprise Linux 9.",
    ],
)
def test_form_fields_and_version_upgrades_are_no_gate(message: str) -> None:
    assert http402.classify(response(422, {"message": message})) is None
    assert http402.classify(response(400, {"error": {"message": message}})) is None


def test_a_payer_asked_to_change_card_had_a_payment_fail() -> None:
    """WeChat Pay's NOT_ENOUGH is the payer's wallet, not the account's credits."""
    body = {"code": "NOT_ENOUGH", "message": "用户账号余额不足，请用户充值或更换支付卡后再支付"}
    payment = http402.classify(response(403, body))
    assert payment is not None
    assert payment.reason is Reason.PAYMENT_FAILED


@pytest.mark.parametrize(
    ("problem_type", "title", "detail"),
    [
        ("quota-exceeded", "Too Many Requests", "60 requests per minute; try again in 12 s"),
        ("request-limit-reached", "Rate limit exceeded", "Try again in 30 seconds"),
        ("authentication-required", "Authentication required", None),
        ("invalid-number", "Invalid phone number", None),
        ("verification-required", "E-mail address not verified", None),
        ("card-invalid", "Card invalid", "The card has no list"),
    ],
)
def test_a_problem_type_on_a_non_402_needs_strong_evidence(
    problem_type: str, title: str, detail: str | None
) -> None:
    """A problem's type slug is read as the generic rules read codes and words: what a rate
    limit, a login or a form also says is no evidence on a status other than 402."""
    body: dict[str, Any] = {"type": f"https://api.example.com/problems/{problem_type}"}
    body["title"] = title
    if detail:
        body["detail"] = detail
    for status in (400, 403, 422, 429):
        got = http402.classify(response(status, body, content_type="application/problem+json"))
        assert got is None


def test_a_padded_code_is_read_alike_on_any_status() -> None:
    body = {"error": {"code": "insufficient_quota" + " " * 90, "message": "See your plan."}}
    for status in (402, 429):
        payment = http402.classify(response(status, body))
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS


def test_a_line_break_in_a_plain_text_gate_is_a_space() -> None:
    text = "A valid payment\ninstrument must be provided."
    payment = http402.classify(response(403, text, content_type="text/plain"))
    assert payment is not None
    assert payment.reason is Reason.PAYMENT_FAILED


def test_an_upstream_error_kept_as_a_json_array_is_read() -> None:
    upstream = json.dumps([{"error": {"code": "insufficient_quota", "message": "Top up."}}])
    body = {"error": {"message": "Provider returned error", "metadata": {"raw": upstream}}}
    payment = http402.classify(response(429, body))
    assert payment is not None
    assert payment.reason is Reason.INSUFFICIENT_CREDITS


def test_a_json_body_with_a_byte_order_mark_is_read() -> None:
    content = "\ufeff" + json.dumps(QUOTA)
    got = http402.classify(
        httpx.Response(
            429,
            headers={"content-type": "application/json"},
            content=content.encode("utf-8"),
            request=httpx.Request("POST", GATEWAY),
        )
    )
    assert got is not None
    assert got.code == "insufficient_quota"


def test_an_upstream_error_kept_as_an_object_under_raw_is_read() -> None:
    upstream = {"error": {"message": "Your credit balance is too low to access the API."}}
    body = {"error": {"message": "Provider returned error", "metadata": {"raw": upstream}}}
    for status in (400, 402, 403, 429):
        payment = http402.classify(response(status, body))
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Upgrade to Pro now to continue.", Reason.PLAN_LIMIT_EXCEEDED),
        ("Upgrade to Plus today", Reason.PLAN_LIMIT_EXCEEDED),
        ("Please upgrade to Premium in order to use this endpoint", Reason.PLAN_LIMIT_EXCEEDED),
        ("Upgrade to Pro (https://example.com/pricing) to continue.", Reason.PLAN_LIMIT_EXCEEDED),
        ("A payment method is required to use this model.", Reason.PAYMENT_FAILED),
        ("更换银行卡失败：验证码错误", None),  # changing a bank card failed: a form's error
        ("更换支付卡需要先完成实名认证", None),
    ],
)
def test_tier_upgrades_payment_methods_and_card_changes(
    message: str, reason: Reason | None
) -> None:
    payment = http402.classify(response(403, {"error": {"message": message}}))
    assert (payment.reason if payment else None) is reason


def test_the_statuses_table_gives_every_4xx_one_row_and_a_reason() -> None:
    """Which statuses are read is one table: each 4xx is in at most one row, each row says
    why, and the generic rules read exactly the statuses it marks."""
    from http402._classify import statuses

    seen: list[int] = [status for rule in statuses.STATUSES for status in rule.statuses]
    assert len(seen) == len(set(seen))
    assert all(rule.why for rule in statuses.STATUSES)
    assert statuses.how_read(402) is statuses.Read.ALWAYS
    assert statuses.how_read(503) is statuses.Read.NEVER
    for status in range(400, 500):
        read = statuses.how_read(status)
        assert (status in statuses.READ_ON_EVIDENCE) is (
            read in (statuses.Read.ON_EVIDENCE, statuses.Read.WITH_PAYMENT_HEADER)
        )
    registry = http402.AdapterRegistry(http402.default_registry)
    json_type = {"content-type": "application/json"}.get
    for status in statuses.READ_ON_EVIDENCE - {401, 407}:
        assert registry.claims(status, "gateway.example", json_type), status


def test_a_disabled_subscription_on_409_is_a_gate_and_a_conflict_is_not() -> None:
    """Azure answers a disabled subscription with 409; a plain conflict stays a conflict."""
    gate = payload("azure-arm-readonly-disabled-subscription-409")["response"]
    payment = http402.classify(response(409, gate["body"]))
    assert payment is not None and payment.reason is Reason.SUBSCRIPTION_EXPIRED
    conflict = {"error": {"code": "Conflict", "message": "This subscription is already canceled."}}
    assert http402.classify(response(409, conflict)) is None


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        # Segmind documents 406 as its credits status; its content-type 406 is no gate.
        (406, {"error": "Insufficient credits"}, Reason.INSUFFICIENT_CREDITS),
        (406, {"error": "Invalid content type"}, None),
        (406, {"error": "Not Acceptable: application/xml is not supported"}, None),
        # Weak words (a bare quota) stay weak on 406, as on any status but 402.
        (406, {"error": "quota exceeded"}, None),
        # Statuses about a request's form, and not-found or gone, are never read.
        (404, {"error": "Insufficient credits"}, None),
        (410, {"error": "Insufficient credits"}, None),
        (413, {"error": "Insufficient credits"}, None),
        (415, {"error": "Insufficient credits"}, None),
    ],
)
def test_406_is_read_on_strong_evidence_and_a_requests_form_never(
    status: int, body: Any, expected: Reason | None
) -> None:
    """The statuses table's rows for 406 (a provider's own credits status) and for the
    statuses that stay unread (the request's form, a missing resource)."""
    payment = http402.classify(response(status, body))
    assert (payment.reason if payment else None) is expected


def test_an_apilayer_info_member_is_a_message() -> None:
    """apilayer's `error.info` (Weatherstack, Fixer) holds the error's words."""
    body = payload("weatherstack-function-access-restricted-105-subscription-plan-403")
    payment = http402.classify(response(403, body["response"]["body"]))
    assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
    assert payment.message is not None and payment.message.startswith("Access Restricted")
    invalid = {
        "success": False,
        "error": {
            "code": 101,
            "type": "invalid_access_key",
            "info": "You have not supplied a valid API Access Key.",
        },
    }
    assert http402.classify(response(403, invalid)) is None
    throttled = {
        "success": False,
        "error": {
            "code": 106,
            "type": "rate_limit_reached",
            "info": "Your plan allows 10 requests per minute.",
        },
    }
    assert http402.classify(response(429, throttled)) is None


def test_a_402_naming_a_per_request_payment_protocol_is_a_challenge_without_offers() -> None:
    """A 402 whose words name x402 or L402 asks for this request to be paid: no offer is
    built from words. Off a 402 the words are documentation."""
    words = {"error": "payment_required", "message": "This endpoint requires an x402 micropayment."}
    payment = http402.classify(response(402, words))
    assert payment is not None and payment.reason is Reason.PAYMENT_CHALLENGE
    assert payment.payment_options == ()
    assert http402.classify(response(403, words)) is None
    balance = {"message": "Insufficient USDC balance for the x402 payment."}
    payment = http402.classify(response(402, balance))
    assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (
            "Access restricted. Check credits balance or enter the correct API key.",
            Reason.INSUFFICIENT_CREDITS,
        ),
        ("Please check your account balance.", Reason.INSUFFICIENT_CREDITS),
        ("Invalid API key. Check your balance and your key.", None),
        ("Check the balance field: it must be a number.", None),
        ("Balance check failed.", None),
    ],
)
def test_a_remedy_naming_the_balance_is_a_top_up(message: str, expected: Reason | None) -> None:
    """WhoisXML's 403 asks to check the credits balance (under its plural `messages`)."""
    payment = http402.classify(response(403, {"code": 403, "messages": message}))
    assert (payment.reason if payment else None) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("This currency pair is for premium subscribers only.", Reason.PLAN_LIMIT_EXCEEDED),
        ("Historical data is restricted to Pro users.", Reason.PLAN_LIMIT_EXCEEDED),
        ("This endpoint is reserved for paid plans.", Reason.PLAN_LIMIT_EXCEEDED),
        ("This endpoint is for internal users only.", None),
        ("This field is restricted to admin users.", None),
        ("Premium users only: 10 requests per minute.", None),
    ],
)
def test_what_only_a_paid_tier_may_use_is_the_plans(message: str, expected: Reason | None) -> None:
    """API Ninjas' 400 'is for premium subscribers only' is the plan's feature; an
    authorisation's 'for admins only' and a paid tier's rate are not."""
    payment = http402.classify(response(400, {"error": message}))
    assert (payment.reason if payment else None) is expected


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # No tier named: no active subscription (Keywords Everywhere's 402).
        (
            {
                "message": "402 Subscription Required",
                "description": "A valid subscription is required to access this resource.",
            },
            Reason.SUBSCRIPTION_EXPIRED,
        ),
        (
            {"error": "Access to this endpoint requires an active subscription."},
            Reason.SUBSCRIPTION_EXPIRED,
        ),
        # A tier named: the plan's feature.
        (
            {
                "message": "402 Gold or Platinum subscription required",
                "description": "A Gold or Platinum Plan subscription is required to access "
                "this resource.",
            },
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        ({"error": "Pro subscription required"}, Reason.PLAN_LIMIT_EXCEEDED),
        (
            {"error": "This endpoint requires a subscription to the Pro plan."},
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        # Look-alikes: a subscription key, a subscription object's field.
        ({"error": "A subscription key is required."}, None),
        ({"error": "The subscription field is required."}, None),
    ],
)
def test_a_subscription_required_is_inactive_unless_a_tier_is_named(
    body: Any, expected: Reason | None
) -> None:
    """'A valid subscription is required' says the account has none active; 'a Gold
    subscription is required' names a tier the plan lacks."""
    payment = http402.classify(response(403, body))
    assert (payment.reason if payment else None) is expected


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        # A remedy that lifts the limit outweighs a retry asked for with no time.
        (
            "Usage limits for the provided API Key have been exceeded. Please try again later "
            "or contact support to increase your limits.",
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        (
            "Your usage limit has been exceeded. Try again later, or upgrade your plan.",
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        # Without one, "try again later" is a window's hint.
        ("Your usage limit has been exceeded. Please try again later.", None),
        ("Usage limits exceeded. Please try again later or contact support.", None),
        # A stated window vetoes whatever is asked.
        (
            "Your usage limit of 100 requests per minute has been exceeded. Please try again "
            "later or contact support to increase your limits.",
            None,
        ),
        # A bare quota with the provider's remedy stays weak on a non-402.
        ("Quota exceeded. Please try again later or contact us to increase your quota.", None),
    ],
)
def test_try_again_later_weighs_less_than_a_remedy_that_lifts_the_limit(
    message: str, expected: Reason | None
) -> None:
    """FullContact's 403: a used-up usage limit and 'try again later or contact support to
    increase your limits' is the plan's allowance; a retry hint alone is a window's."""
    payment = http402.classify(response(403, {"status": 403, "message": message}))
    assert (payment.reason if payment else None) is expected


def test_a_limit_raised_by_the_provider_is_the_plans_and_one_raised_by_the_account_money() -> None:
    """'Contact support to increase your limits' asks the provider to raise its allowance;
    'increase your cap' on the account's own page raises a cap it set."""
    provider = {"message": "Your usage limit has been reached. Contact support to increase it."}
    own = {"message": "Your usage limit has been reached. Increase your cap in the settings."}
    payment = http402.classify(response(402, provider))
    assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED
    payment = http402.classify(response(402, own))
    assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS


def test_a_debt_the_account_owes_outranks_a_balance() -> None:
    """Huawei OBS's 403 'In arrear or insufficient balance.' is the debt
    (`subscription_expired`); a balance alone stays money."""
    document = payload("huaweicloud-obs-inarrearorinsufficientbalance-xml-403")
    body = document["response"]["body"]
    payment = http402.classify(response(403, body, content_type="application/xml"))
    assert payment is not None and payment.reason is Reason.SUBSCRIPTION_EXPIRED
    assert payment.code == "InArrearOrInsufficientBalance"
    alone = body.replace("InArrearOrInsufficientBalance", "InsufficientBalance").replace(
        "In arrear or insufficient balance.", "Insufficient balance."
    )
    payment = http402.classify(response(403, alone, content_type="application/xml"))
    assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS
