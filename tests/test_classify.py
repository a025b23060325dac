"""`classify`: the common shapes, problem details, bad input, and what it accepts."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any, ClassVar

import attrs
import httpx
import pytest

import http402
from http402 import Reason
from http402._classify import classify_event, readers
from http402._classify import fields as fields_module
from http402._classify.fields import read_fields

from .conftest import load_payloads

GATEWAY = "http://localhost:4000/v1/chat/completions"


def load_payload(name: str) -> dict[str, Any]:
    return next(p for p in load_payloads() if p["id"] == name)


def gate(
    body: bytes | str | dict[str, Any] | list[Any],
    *,
    status: int = 402,
    headers: dict[str, str] | None = None,
    url: str = "https://api.example.com/v1/run",
) -> httpx.Response:
    content = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
    if isinstance(content, str):
        content = content.encode()
    return httpx.Response(
        status, headers=headers or {}, content=content, request=httpx.Request("POST", url)
    )


class TestCommonShapes:
    def test_nested_error_with_credit_counts(self) -> None:
        """`{"error": {...}}` with credits required and available and a top-up link."""
        payment = http402.classify(
            gate(
                {
                    "error": {
                        "code": "insufficient_credits",
                        "message": "You need 120 credits but have 20.",
                        "credits_required": 120,
                        "credits_available": 20,
                        "currency": "credits",
                        "top_up_url": "https://billing.example.com/top-up",
                    }
                }
            )
        )
        assert payment == http402.PaymentRequired(
            reason=Reason.INSUFFICIENT_CREDITS,
            provider="generic",
            code="insufficient_credits",
            message="You need 120 credits but have 20.",
            credits_required=120,
            credits_available=20,
            currency="credits",
            action_url="https://billing.example.com/top-up",
        )

    def test_flat_plan_limit(self) -> None:
        """A flat `{"error": "plan_limit_exceeded", ...}` with plans and an upgrade link."""
        payment = http402.classify(
            gate(
                {
                    "error": "plan_limit_exceeded",
                    "message": "Batch export is not available on the Free plan.",
                    "current_plan": "free",
                    "required_plan": "pro",
                    "upgrade_url": "https://example.com/pricing",
                }
            )
        )
        assert payment is not None
        assert payment.reason is Reason.PLAN_LIMIT_EXCEEDED
        assert payment.is_entitlement
        assert (payment.code, payment.current_plan, payment.required_plan) == (
            "plan_limit_exceeded",
            "free",
            "pro",
        )
        assert payment.message == "Batch export is not available on the Free plan."
        assert payment.action_url == "https://example.com/pricing"

    def test_synonyms_and_camel_case(self) -> None:
        """`balance`, `cost`, `tier`, `billingUrl`, `retryAfter` are read as their fields."""
        payment = http402.classify(
            gate(
                {
                    "status": "error",
                    "data": {
                        "balance": "0.25",
                        "cost": "1.10",
                        "tier": {"name": "starter"},
                        "billingUrl": "https://example.com/billing",
                        "retryAfter": 30,
                    },
                }
            )
        )
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS
        assert payment.credits_available == Decimal("0.25")
        assert payment.credits_required == Decimal("1.10")
        assert payment.current_plan == "starter"
        assert payment.action_url == "https://example.com/billing"
        assert payment.retry_after == 30.0

    def test_unsafe_link_in_the_body_is_dropped(self) -> None:
        """A `javascript:` or userinfo link never reaches `action_url`."""
        payment = http402.classify(
            gate({"error": "insufficient_credits", "top_up_url": "javascript:alert(1)"})
        )
        assert payment is not None
        assert payment.action_url is None

    def test_retry_after_header_is_honoured_and_capped(self) -> None:
        """`Retry-After` fills `retry_after`, an hour included; beyond a week it is said as a
        week (case 184: dropped, it had called the hook for the longest waits only)."""
        short = http402.classify(
            gate({"error": "insufficient_credits"}, headers={"Retry-After": "5"})
        )
        hour = http402.classify(
            gate({"error": "insufficient_credits"}, headers={"Retry-After": "3600"})
        )
        absurd = http402.classify(
            gate({"error": "insufficient_credits"}, headers={"Retry-After": "99999999"})
        )
        assert short is not None and short.retry_after == 5.0
        assert hour is not None and hour.retry_after == 3600.0
        assert absurd is not None and absurd.retry_after == 7 * 24 * 3600.0

    def test_request_id_from_headers(self) -> None:
        """`x-request-id` and `request-id` are read."""
        payment = http402.classify(gate({"error": "x"}, headers={"x-request-id": "req_123"}))
        assert payment is not None and payment.request_id == "req_123"


class TestProblemDetails:
    def test_problem_json_payment_type(self) -> None:
        """RFC 9457: `type` names the reason, `detail` is the message, extensions are read."""
        payment = http402.classify(
            gate(
                {
                    "type": "https://example.com/probs/out-of-credit",
                    "title": "You do not have enough credit.",
                    "detail": "Your current balance is 30, but that costs 50.",
                    "balance": 30,
                },
                headers={"content-type": "application/problem+json"},
            )
        )
        assert payment is not None
        assert payment.provider == "rfc9457"
        assert payment.reason is Reason.INSUFFICIENT_CREDITS
        assert payment.code == "https://example.com/probs/out-of-credit"
        assert (payment.credits_available, payment.credits_required) == (30, 50)

    def test_problem_403_that_is_not_about_payment_is_left_alone(self) -> None:
        """A problem+json 403 whose type says nothing of payment is no gate."""
        response = gate(
            {"type": "https://example.com/probs/forbidden", "title": "Not your credit report"},
            status=403,
            headers={"content-type": "application/problem+json"},
        )
        assert http402.classify(response) is None


class TestBadInput:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"error": ',
            b"[" * 50_000 + b"]" * 50_000,
            b'{"credits_required": 1' + b"0" * 6000 + b"}",
            b'{"balance": NaN}',
            b'{"balance": 1e999999}',
            b"\xff\xfe\x00{\x80\x81",
            b"",
            b"<html><body><h1>Error</h1></body></html>",
            b"\x00" * 1000,
            b'"just a string"',
            b"[1, 2, 3]",
            b"null",
        ],
        ids=[
            "malformed",
            "deep",
            "huge-int",
            "nan",
            "huge-exponent",
            "invalid-utf8",
            "empty",
            "html",
            "nul-bytes",
            "json-string",
            "json-list",
            "json-null",
        ],
    )
    def test_garbage_402_is_unknown_with_raw_kept(self, body: bytes) -> None:
        """Anything unreadable is `UNKNOWN`, never an exception, with the raw text kept."""
        payment = http402.classify(gate(body))
        assert payment is not None
        assert payment.reason is Reason.UNKNOWN
        if body and body != b"null":
            assert payment.raw is not None

    def test_raw_text_is_bounded(self) -> None:
        """A huge body is kept only up to `max_body_bytes`."""
        payment = http402.classify(gate(b"x" * 1_000_000), max_body_bytes=1000)
        assert payment is not None
        assert isinstance(payment.raw, str)
        assert len(payment.raw) == 1000

    def test_html_page_with_billing_words(self) -> None:
        """An HTML 402 that says what is wrong gets the reason and its title as message."""
        html = (
            "<html><head><title>Out of credits</title><script>var x='<b>'</script></head>"
            "<body><p>Your account has insufficient credits. Please top up.</p></body></html>"
        )
        payment = http402.classify(gate(html, headers={"content-type": "text/html"}))
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS
        assert payment.message == "Out of credits"

    def test_plain_text_402(self) -> None:
        """A plain-text 402 is read by its wording."""
        payment = http402.classify(gate("Your subscription has expired. Renew to continue."))
        assert payment is not None
        assert payment.reason is Reason.SUBSCRIPTION_EXPIRED

    def test_headers_alone_can_classify(self) -> None:
        """With an unusable body, a challenge header still gives the reason."""
        payment = http402.classify(
            gate(
                b"\xff\xff", headers={"www-authenticate": 'L402 macaroon="m", invoice="lnbc10n1x"'}
            )
        )
        assert payment is not None
        assert payment.reason is Reason.PAYMENT_CHALLENGE
        assert payment.payment_options[0].amount == Decimal(1000)
        assert payment.payment_options[0].unit == "msat"


class TestWhatClassifyAccepts:
    def test_a_non_gate_is_none(self) -> None:
        """A 200 or a plain 404 is not a payment gate."""
        assert http402.classify(gate({"ok": True}, status=200)) is None
        assert http402.classify(gate({"error": "insufficient_credits"}, status=404)) is None

    def test_an_exception_carrying_a_response(self) -> None:
        """SDK errors carry the response as `.response`."""

        class APIStatusError(Exception):
            def __init__(self, response: httpx.Response) -> None:
                super().__init__("boom")
                self.response = response

        error = APIStatusError(gate({"error": "insufficient_credits"}))
        payment = http402.classify(error)
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS

    def test_a_response_without_request(self) -> None:
        """A bare response (no request attached) still classifies."""
        response = httpx.Response(402, json={"error": {"code": "card_declined"}})
        payment = http402.classify(response)
        assert payment is not None and payment.reason is Reason.PAYMENT_FAILED

    def test_an_unread_streamed_response_is_judged_by_headers(self) -> None:
        """A stream that was never read is not read by `classify`."""

        class Stream(httpx.SyncByteStream):
            read = False

            def __iter__(self):  # type: ignore[no-untyped-def]
                Stream.read = True
                yield b'{"error": "insufficient_credits"}'

        response = httpx.Response(402, stream=Stream(), request=httpx.Request("GET", "https://a.b"))
        payment = http402.classify(response)
        assert payment is not None and payment.reason is Reason.UNKNOWN
        assert not Stream.read

    @pytest.mark.parametrize("thing", [None, 42, "402", object(), Exception("no response")])
    def test_anything_else_is_none(self, thing: object) -> None:
        """Objects that are not responses give `None`, not an error."""
        assert http402.classify(thing) is None


class TestReason:
    def test_values_are_lower_case_names(self) -> None:
        """Each value is its member's lower-case name."""
        assert [r.value for r in Reason] == [r.name.lower() for r in Reason]
        assert Reason("payment_challenge") is Reason.PAYMENT_CHALLENGE
        assert str(Reason.UNKNOWN) == "unknown"

    def test_only_plan_limits_are_entitlements(self) -> None:
        """Dashboards tell entitlement gates from payment gates."""
        assert {r for r in Reason if r.is_entitlement} == {Reason.PLAN_LIMIT_EXCEEDED}

    def test_payment_required_is_frozen_and_hashable(self) -> None:
        """The normalized answer cannot be changed and can be used as a key."""
        payment = http402.PaymentRequired(reason="unknown", provider="x", raw={"a": [1]})
        with pytest.raises(AttributeError):
            payment.reason = Reason.PAYMENT_FAILED  # type: ignore[misc]
        assert hash(payment) == hash(http402.PaymentRequired(reason="unknown", provider="x"))

    def test_amounts_never_take_floats_silently(self) -> None:
        """A float becomes the `Decimal` of its shortest repr; a bool is refused."""
        payment = http402.PaymentRequired(reason="unknown", provider="x", credits_required=0.1)
        assert payment.credits_required == Decimal("0.1")
        with pytest.raises(TypeError):
            http402.PaymentRequired(reason="unknown", provider="x", credits_required=True)


class _EveryFieldAdapter:
    """An adapter whose answer sets every field of `PaymentRequired`."""

    name = "every-field"

    def classify(self, response: http402.ResponseSnapshot) -> http402.PaymentRequired:
        return http402.PaymentRequired(
            reason=Reason.PLAN_LIMIT_EXCEEDED,
            provider=self.name,
            code="plan_limit",
            message="Upgrade your plan.",
            credits_required=Decimal("3"),
            credits_available=Decimal("1"),
            currency="USD",
            current_plan="free",
            required_plan="pro",
            action_url="https://every.example/billing",
            retry_after=5.0,
            request_id="req_1",
            payment_options=(http402.PaymentOption(protocol="x402", amount=Decimal("3")),),
            raw={"seen": True},
        )


def test_classify_keeps_every_field_an_adapter_sets() -> None:
    """No field of an adapter's answer is lost when classify completes it."""

    registry = http402.AdapterRegistry([_EveryFieldAdapter()])
    response = httpx.Response(
        402, content=b"{}", request=httpx.Request("GET", "https://every.example/")
    )
    payment = http402.classify(response, registry=registry)
    expected = _EveryFieldAdapter().classify(None)  # type: ignore[arg-type]
    assert payment is not None
    for field in attrs.fields(http402.PaymentRequired):
        assert getattr(payment, field.name) == getattr(expected, field.name), field.name


class TestStreamEvents:
    """`classify_event`: an SSE `error` event's JSON payload, read strictly (issue 22's entry)."""

    #: Anthropic's documented mid-stream error event (docs.anthropic.com/en/api/messages-streaming,
    #: "Error events"): no gate.
    OVERLOADED = (
        b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}'
    )

    @staticmethod
    def body_of(name: str) -> bytes:
        return load_payload(name)["response"]["body"].encode()

    def test_a_billing_error_event_is_a_gate_named_for_the_host(self) -> None:
        """The error envelope of a body, sent as an event, is the same gate; the provider is
        the adapter of the host, else `generic`; the status is the stream's 200."""
        data = self.body_of("anthropic-credit-balance-too-low-400")
        own = classify_event(data, host="api.anthropic.com")
        relayed = classify_event(data, host="llm-gateway.corp.example")
        assert own is not None and relayed is not None
        assert own.reason is relayed.reason is Reason.INSUFFICIENT_CREDITS
        assert (own.provider, relayed.provider) == ("anthropic", "generic")
        assert own.status_code == 200
        assert own.message is not None and own.message.startswith("Your credit balance is too low")

    def test_an_overload_or_a_rate_limit_event_is_no_gate(self) -> None:
        """Anthropic's `overloaded_error` event, and a rate limit, stay errors of their own."""
        assert classify_event(self.OVERLOADED, host="api.anthropic.com") is None
        data = self.body_of("openai-rate-limit-rpm-billing-hint-429-negative")
        assert classify_event(data, host="api.openai.com") is None

    def test_strict_like_a_non_402(self) -> None:
        """Only strong evidence counts: fields alone, or a weak code, make no gate."""
        assert classify_event(b'{"balance": 0, "cost": 3}', host="x.example") is None
        assert classify_event(b'{"error": {"code": "quota_exceeded"}}', host="x.example") is None

    @pytest.mark.parametrize(
        "data",
        [b"", b"garbage", b"[1, 2]", b'"insufficient credits"', b"{" * 10_000, b"\xff\xfe{"],
    )
    def test_bad_input_is_none_never_an_exception(self, data: bytes) -> None:
        """An event that is no JSON object is no gate, and nothing raises."""
        assert classify_event(data, host="x.example") is None

    def test_an_oversized_event_is_not_read(self) -> None:
        """A payload beyond `MAX_EVENT_BYTES` is no gate."""
        data = json.dumps({"error": {"code": "insufficient_quota", "pad": "x" * 70_000}})
        assert classify_event(data.encode(), host="x.example") is None

    def test_the_request_credentials_are_scrubbed(self) -> None:
        """A key echoed in the message never reaches the answer."""
        data = b'{"error": {"code": "insufficient_quota", "message": "key sk-live-123456 is out"}}'
        payment = classify_event(data, host="x.example", secrets=("sk-live-123456",))
        assert payment is not None and payment.message is not None
        assert "sk-live-123456" not in payment.message

    @pytest.mark.parametrize(
        "payload",
        [p for p in load_payloads() if p["response"]["body"].lstrip()[:1] == "{"],
        ids=lambda p: p["id"],
    )
    def test_an_event_reads_as_a_non_402_body_does(self, payload: dict[str, Any]) -> None:
        """Every recorded JSON body, as an event, gets the answer of the same body on a 400
        from a gateway: the same fields and decision."""
        body = payload["response"]["body"]
        as_body = http402.classify(
            gate(body, status=400, headers={"content-type": "application/json"}, url=GATEWAY)
        )
        as_event = classify_event(body.encode(), host="localhost")
        assert (as_event and as_event.reason) == (as_body and as_body.reason)


class TestReadingsKept:
    """A body read before, or one that differs from it only by its ids, is read once: the
    answer is the same as a fresh reading's, with this body's own message and ids."""

    @staticmethod
    def fresh(response: httpx.Response) -> http402.PaymentRequired | None:
        readers._READINGS.clear()
        readers._TEMPLATES.clear()
        return http402.classify(response)

    @pytest.mark.parametrize(
        "payload",
        [p for p in load_payloads() if re.search(r"[0-9]{6,}", p["response"]["body"])],
        ids=lambda p: p["id"],
    )
    def test_a_body_that_differs_by_its_ids_gets_a_fresh_readings_answer(
        self, payload: dict[str, Any]
    ) -> None:
        """Every recorded body with an id in it, read after another with other ids, gets
        exactly the answer a fresh reading gives it."""
        wire = payload["response"]
        request = httpx.Request(payload["request"]["method"], payload["request"]["url"])

        def response(body: str) -> httpx.Response:
            headers = list(wire["headers"].items())
            return httpx.Response(
                wire["status"], headers=headers, content=body.encode(), request=request
            )

        other = re.sub(r"[0-9]{6,}", lambda m: "7" * len(m.group()), wire["body"])
        self.fresh(response(wire["body"]))
        kept = http402.classify(response(other))
        assert kept == self.fresh(response(other))
        if kept is not None:
            assert (kept.message, kept.request_id) == (
                self.fresh(response(other)).message,  # type: ignore[union-attr]
                self.fresh(response(other)).request_id,  # type: ignore[union-attr]
            )

    def test_a_new_request_id_is_this_bodys_own(self) -> None:
        """The message and request id come from the body in hand, not the one read before."""
        template = (
            '{"error": {"message": "user quota is not enough (request id: %s)", '
            '"code": "insufficient_user_quota"}}'
        )
        answers = [
            http402.classify(
                gate(
                    template % rid,
                    status=403,
                    url=GATEWAY,
                    headers={"content-type": "application/json"},
                )
            )
            for rid in ("2024081922011112714735330169131", "2024081922011112714735330169999")
        ]
        assert [a.request_id for a in answers if a] == [
            "2024081922011112714735330169131",
            "2024081922011112714735330169999",
        ]

    @pytest.mark.parametrize(
        "payload",
        [p for p in load_payloads() if p["response"]["body"].lstrip()[:1] == "{"],
        ids=lambda p: p["id"],
    )
    def test_reading_a_body_again_at_the_same_places_gives_its_fields(
        self, payload: dict[str, Any]
    ) -> None:
        """The places a body's fields were read at lead to the same fields in it."""
        body = json.loads(payload["response"]["body"])
        fields = read_fields(body)
        if fields.sources is not None:
            assert fields.read_again(body) == fields

    @pytest.mark.parametrize("retry_after", [None, 30.0])
    def test_an_answer_made_for_one_response_is_completed_and_scrubbed(
        self, retry_after: float | None
    ) -> None:
        """A body read like one before it (its ids new) is read for its response alone, and
        its answer is made with that response's status and payload: it is still completed
        from the headers and scrubbed of the request's key, as any answer is."""
        key = "sk-live-0123456789abcdefghijklmnop"
        headers = {"content-type": "application/json"}
        if retry_after is not None:
            headers["retry-after"] = str(int(retry_after))

        def response(request_id: str) -> httpx.Response:
            body = {
                "error": {
                    "message": f"Insufficient credits for key {key} (request {request_id})",
                    "code": "insufficient_credits",
                }
            }
            return httpx.Response(
                403,
                headers=headers,
                json=body,
                request=httpx.Request("POST", GATEWAY, headers={"authorization": f"Bearer {key}"}),
            )

        self.fresh(response("1000001"))
        answer = http402.classify(response("2000002"))
        assert answer is not None
        assert (answer.status_code, answer.retry_after, answer.code) == (
            403,
            retry_after,
            "insufficient_credits",
        )
        assert answer.message == "Insufficient credits for key [redacted] (request 2000002)"
        assert answer.raw == {
            "error": {
                "message": f"Insufficient credits for key {key} (request 2000002)",
                "code": "insufficient_credits",
            }
        }
        assert answer == self.fresh(response("2000002"))

    @pytest.mark.parametrize(
        "key", [*fields_module._CODE_KEYS, *fields_module._MESSAGE_KEYS, "ErrorCode"]
    )
    @pytest.mark.parametrize(
        "stated",
        [
            "insufficient_quota",
            "  insufficient_quota ",
            "InsufficientBalanceError",
            "Insufficient balance",
            "None",
            "error",
            "402",
            " 21608 ",
            "021608",
            "1234567890123",
            "payment_required",
            "plan-limit/exceeded",
            "\tquota\u0001",
            "",
            21608,
            402,
            0,
            10**12,
            True,
            None,
            1.5,
        ],
    )
    def test_a_code_read_again_as_stated_is_the_code_it_was(self, key: str, stated: Any) -> None:
        """`read_again` keeps a template's code when the new body states that same text: it
        relies on a code read from its own value being that value."""
        code = fields_module._code_value(key, stated)
        if code is not None:
            assert fields_module._code_value(key, code) == code

    def test_a_body_whose_code_changed_is_read_with_its_own_code(self) -> None:
        """A body of a template's shape whose code is another is read with that code."""
        template = read_fields({"error": {"message": "No credits (id 1234567)", "code": "a_b"}})
        body = {"error": {"message": "No credits (id 7654321)", "code": "c_d"}}
        again = template.read_again(body)
        assert again is not None
        assert [(c.value, c.normalized, c.message) for c in again.codes] == [
            ("c_d", "c_d", "No credits (id 7654321)")
        ]


class TestFieldsByFamily:
    """A provider names its fields its own way: a message is read under any key of the
    message family, a field's text in an `errors` object keyed by field, a constant's code in
    a field of no known name, an error inside envelopes of no known name. These bodies came
    on a 200 or 201 (never read: DESIGN), so the kinds are held here, each body as its
    source recorded it (research/payloads6), given the status that a billing gate has."""

    # (id in research/payloads6, body, reason)
    BODIES: ClassVar[list[tuple[str, str, Reason]]] = [
        # Alpha Vantage: a client test's recorded answer to a free-tier key.
        (
            "alphavantage-premium-endpoint-information-200",
            '{"Information":"Thank you for using Alpha Vantage! This is a premium endpoint. '
            "You may subscribe to any of the premium plans at https://www.alphavantage.co/"
            'premium/ to instantly unlock all premium endpoints"}',
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        # API-Football: an `errors` object keyed by the field at fault.
        (
            "api-football-errors-plan-free-season-200",
            '{"errors":{"plan":"Free plans do not have access to this season, try from 2022 to '
            '2024."},"response":[]}',
            Reason.PLAN_LIMIT_EXCEEDED,
        ),
        # 2Captcha's legacy endpoint: the code in `request`, a field of no known name.
        (
            "2captcha-legacy-in-php-error-zero-balance-200",
            '{"status":0,"request":"ERROR_ZERO_BALANCE"}',
            Reason.INSUFFICIENT_CREDITS,
        ),
        # RuCaptcha: `errorDescription` in Russian, the same code in `errorCode`.
        (
            "rucaptcha-v2-error-zero-balance-russian-200",
            '{"errorId":1,"errorCode":"ERROR_ZERO_BALANCE","errorDescription":"Нулевой баланс"}',
            Reason.INSUFFICIENT_CREDITS,
        ),
        # Infobip: a per-message status object inside a list under `messages`.
        (
            "infobip-rejected-not-enough-credits-message-status-200",
            '{"bulkId":"BULK_ID_REMOVED","messages":[{"to":"PHONE_REMOVED","status":{"groupId":5,'
            '"groupName":"REJECTED","id":12,"name":"REJECTED_NOT_ENOUGH_CREDITS","description":'
            '"Not enough credits"},"smsCount":1,"messageId":"MESSAGE_ID_REMOVED"}]}',
            Reason.INSUFFICIENT_CREDITS,
        ),
        # Africa's Talking: a per-recipient status under envelopes of no known name.
        (
            "africastalking-insufficientbalance-recipient-405-in-201",
            '{"SMSMessageData":{"Message":"Sent to 0/1 Total Cost: 0","Recipients":[{"statusCode"'
            ':405,"number":"PHONE_REMOVED","status":"InsufficientBalance","cost":"0","messageId":'
            '"None"}]}}',
            Reason.INSUFFICIENT_CREDITS,
        ),
        # Authorize.Net: a decline's `errorText` under `transactionResponse`.
        (
            "authorize-net-transaction-declined-resultcode-ok-200",
            '{"transactionResponse":{"responseCode":"2","authCode":"","transId":"TRANSACTION_ID_'
            'REMOVED","accountNumber":"XXXX0001","accountType":"Visa","errors":[{"errorCode":"2",'
            '"errorText":"This transaction has been declined."}]},"messages":{"resultCode":"Ok",'
            '"message":[{"code":"I00001","text":"Successful."}]}}',
            Reason.PAYMENT_FAILED,
        ),
        # TianAPI: "API calls available: insufficient", a prepaid count (JUDGEMENT CASE:
        # by the family table a count the account holds, with no plan, period or free tier
        # named, is money).
        (
            "tianapi-code-150-api-keyong-cishu-buzu-chinese-200",
            '{"code":150,"msg":"API可用次数不足"}',
            Reason.INSUFFICIENT_CREDITS,
        ),
    ]

    @pytest.mark.parametrize(("name", "body", "reason"), BODIES, ids=[b[0] for b in BODIES])
    def test_a_gate_named_its_own_way_is_read_on_a_402(
        self, name: str, body: str, reason: Reason
    ) -> None:
        """Each body, as a 402, gives its gate's reason."""
        payment = http402.classify(gate(body, headers={"content-type": "application/json"}))
        assert payment is not None and payment.reason is reason, (name, payment)

    def test_a_key_of_the_message_family_holds_a_message(self) -> None:
        """`errorText`, `status_message`, `errorDescription`, `Information`: messages; a key
        that only holds an id of a message (`messageId`) does not."""
        for key in ("errorText", "status_message", "errorDescription", "Information", "msg"):
            assert read_fields({key: "Your credit balance is too low."}).message, key
        assert read_fields({"messageId": "Your credit balance is too low."}).message is None
        assert read_fields({"message_to_purchaser": "Card declined"}).message is None

    def test_a_fields_name_in_an_errors_object_is_not_a_plan(self) -> None:
        """`{"errors": {"plan": "..."}}` is a message about the plan, not the plan's name."""
        fields = read_fields({"errors": {"plan": "Free plans do not have access to this season."}})
        assert fields.message == "Free plans do not have access to this season."
        assert fields.values.get("current_plan") is None

    def test_a_constant_under_a_key_of_no_role_is_a_code_shown_only_when_it_decides(
        self,
    ) -> None:
        """A constant in an unknown field is read for its words; an id's field is not."""
        fields = read_fields({"request": "ERROR_ZERO_BALANCE", "bulk_id": "BULK_ID_REMOVED"})
        assert [code.value for code in fields.codes] == ["ERROR_ZERO_BALANCE"]
        assert fields.codes[0].aux

    def test_envelopes_of_no_known_name_are_left_once_a_code_is_named(self) -> None:
        """Superpayments' decline details sit under `extensions.issues`: its problem `type`
        names the error, so its constants elsewhere are not read as its codes."""
        body = load_payload("superpayments-payment-required-decline-problem-402")["response"]
        fields = read_fields(json.loads(body["body"]))
        assert [code.value for code in fields.codes] == [
            "https://api.superpayments.com/errors/payment_required"
        ]

    def test_a_large_object_is_read_by_the_tables_alone(self) -> None:
        """An object of more keys than the family reading looks at costs one lookup per
        known spelling: none of its keys is read by family (a hostile body stays linear)."""
        body = {f"field{index}Message": "Your credit balance is too low." for index in range(40)}
        assert read_fields(body).messages == []
        small = dict(list(body.items())[:3])
        assert read_fields(small).message == "Your credit balance is too low."


class TestX402VersionDeclared:
    def test_a_declared_version_without_accepts_is_a_challenge_with_no_offer(self) -> None:
        """A 402 body that declares its x402 version but prices itself in a shape of its own
        (Creance's problem+json `price` and `pay_to`) is a challenge whose offers stay empty:
        none is built from a shape the spec does not define."""
        document = load_payload("creance-x402-v2-problem-json-price-hedera-402")
        payment = http402.classify(gate(document["response"]["body"]))
        assert payment is not None
        assert payment.reason is Reason.PAYMENT_CHALLENGE
        assert payment.provider == "x402"
        assert payment.payment_options == ()

    @pytest.mark.parametrize("version", ["2", True, 0, None])
    def test_a_version_that_is_no_small_integer_declares_nothing(self, version: object) -> None:
        """Only an integer version (`"x402_version": 2`) makes a body without `accepts`
        x402's; a 402 that only mentions the key is read by the other rules."""
        payment = http402.classify(gate({"x402_version": version, "error": "Payment required"}))
        assert payment is not None
        assert payment.provider != "x402"


class TestPricedChallengeOfNoProtocol:
    """A 402 body that states a price and where or how to pay it, in a shape of no known
    protocol, is a challenge: ClawStack's `price_usdc` with Solana `payment_options`
    (research/payloads9). Its offers stay empty, as for a declared x402 version in a shape of
    its own: none is built from a shape no spec defines, so no money moves."""

    def test_a_price_and_where_to_pay_is_a_challenge_with_no_offer(self) -> None:
        document = load_payload("clawstack-paid-post-solana-usdc-payment-options-402")
        payment = http402.classify(gate(document["response"]["body"]))
        assert payment is not None
        assert payment.reason is Reason.PAYMENT_CHALLENGE
        assert payment.payment_options == ()

    @pytest.mark.parametrize(
        "body",
        [
            {"error": "payment_required", "price": "0.25", "pay_to": "ADDRESS"},
            {"amount_usdc": "1.00", "recipient": "ADDRESS", "chain": "base"},
            {"price": 5, "payment_options": [{"network": "lightning"}]},
        ],
    )
    def test_each_spelling_of_the_family(self, body: dict[str, Any]) -> None:
        payment = http402.classify(gate(body))
        assert payment is not None and payment.reason is Reason.PAYMENT_CHALLENGE

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            # Credits that state a cost and a balance: the account's credits, not a price.
            ({"credits_required": 5, "credits_available": 1}, Reason.INSUFFICIENT_CREDITS),
            ({"error": "payment_required", "price": "0.25"}, Reason.INSUFFICIENT_CREDITS),
            # Where to pay with no price, or an empty list of ways: nothing priced.
            ({"error": "Payment required", "recipient": "ADDRESS"}, Reason.UNKNOWN),
            ({"price": 1, "payment_options": []}, Reason.INSUFFICIENT_CREDITS),
            # Words that name what happened decide before the fields.
            (
                {"error": "insufficient balance", "price": 1, "pay_to": "A"},
                Reason.INSUFFICIENT_CREDITS,
            ),
        ],
    )
    def test_look_alikes_keep_their_reason(self, body: dict[str, Any], expected: Reason) -> None:
        payment = http402.classify(gate(body))
        assert payment is not None and payment.reason is expected

    def test_off_a_402_it_is_no_gate(self) -> None:
        body = {"error": "payment_required", "price": "0.25", "pay_to": "ADDRESS"}
        assert http402.classify(gate(body, status=403)) is None


_JSON = {"content-type": "application/json"}


class TestBlindSetSevenKinds:
    """Kinds first met in research/payloads7, each read by a declared record (a status other
    than 402 is read only with a JSON body's content type)."""

    @staticmethod
    def mathpix(limit_name: str, count: int) -> dict[str, Any]:
        return {
            "error": "Too many requests",
            "error_info": {
                "id": "http_max_requests",
                "message": "Too many requests",
                "limit_name": limit_name,
                "limit_value": 5000,
                "count": count,
            },
        }

    def test_a_used_up_monthly_limit_outvotes_the_throttle_category(self) -> None:
        """A limit object whose count reached its value and whose name is a monthly volume is
        a finer code than "Too many requests", as Anthropic's `details.error_code` is."""
        payment = http402.classify(
            gate(self.mathpix("page_monthly_limit", 5001), status=429, headers=_JSON)
        )
        assert payment is not None
        assert payment.reason is Reason.PLAN_LIMIT_EXCEEDED
        assert payment.code == "page_monthly_limit"

    @pytest.mark.parametrize(
        ("limit_name", "count"),
        [("page_monthly_limit", 4000), ("requests_per_minute_limit", 5001)],
    )
    def test_a_limit_not_reached_or_a_window_stays_a_throttle(
        self, limit_name: str, count: int
    ) -> None:
        """A count below its limit names nothing used up, and a per-minute limit's name is a
        throttle's: "Too many requests" stays a rate limit."""
        assert (
            http402.classify(gate(self.mathpix(limit_name, count), status=429, headers=_JSON))
            is None
        )

    def test_a_stated_balance_requirement_is_insufficient_credits_on_429(self) -> None:
        """'requires account balance greater than $N' states what the account lacks."""
        body = {
            "error": {
                "message": "Free model requires account balance greater than $4.999999.",
                "type": "infron_ai_error",
            }
        }
        payment = http402.classify(gate(body, status=429, headers=_JSON))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS

    def test_a_lifetime_quota_is_the_plans_allowance_not_a_window(self) -> None:
        """A lifetime (trial) allowance is no time window: a 429 saying it is used up is a
        plan limit."""
        payment = http402.classify(
            gate({"error": "Exceeded User lifetime quota)"}, status=429, headers=_JSON)
        )
        assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED

    _WECHAT = (
        "<Error>\n<Code>PaymentRequired</Code>\n<Message>The action performed on your resource "
        "is not allowed for now, please check the quota of your package.</Message>\n</Error>"
    )

    def test_a_402_that_asks_to_check_a_packages_quota_is_a_plan_limit(self) -> None:
        """A package (a plan bundle) grants the quota a 402 points at."""
        response = gate(self._WECHAT, headers={"content-type": "application/xml"})
        payment = http402.classify(response)
        assert payment is not None and payment.reason is Reason.PLAN_LIMIT_EXCEEDED

    def test_the_package_wording_is_weak_off_a_402(self) -> None:
        """On a 403 from a host with no adapter the same words are no gate."""
        response = gate(self._WECHAT, status=403, headers={"content-type": "application/xml"})
        assert http402.classify(response) is None

    def test_capacity_used_up_on_a_402_is_insufficient_credits(self) -> None:
        """Something used up with nothing to say whose is a bare quota: money, by the family
        table (a Docker registry mirror's `errors[]`)."""
        body = {"errors": [{"code": "PAYMENT_REQUIRED", "message": "capacity has use up"}]}
        payment = http402.classify(gate(body))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS
        assert http402.classify(gate(body, status=429, headers=_JSON)) is None


class TestA402ThatSaysSomethingElse:
    """A 402 whose words plainly state a refusal no payment lifts (bad credentials) and no
    billing at all is no gate, and passes through: a top-up cannot fix a key (issue 19,
    research/payloads9 Plaid's legacy 402, research/payloads7 Blockchair's). Any billing word
    or code, or a challenge, keeps it a gate; a wordless 402 stays `unknown`."""

    @staticmethod
    def _402(body: Any, content_type: str = "application/json") -> httpx.Response:
        content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return httpx.Response(
            402,
            headers={"content-type": content_type},
            content=content,
            request=httpx.Request("GET", "https://api.example.com/v1/x"),
        )

    @pytest.mark.parametrize(
        "body",
        [
            {
                "code": 1200,
                "message": "invalid credentials",
                "resolve": "The username or password provided is not correct.",
            },
            {"data": None, "context": {"code": 402, "error": "Invalid API token."}},
            {"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}},
            {"code": "invalid_api_key"},
            {"error": "Chave de API inválida"},
            "Invalid API key",
            {"error": "Concurrency limit exceeded"},
            {"error": "Too many requests per minute"},
        ],
    )
    def test_only_a_look_alike_is_no_gate(self, body: Any) -> None:
        content_type = "text/plain" if isinstance(body, str) else "application/json"
        assert http402.classify(self._402(body, content_type)) is None

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            ({"error": "Invalid API key or insufficient credits"}, Reason.INSUFFICIENT_CREDITS),
            ({"error": "Invalid API key. Please upgrade your plan."}, Reason.PLAN_LIMIT_EXCEEDED),
            ({"error": "Payment Required"}, Reason.UNKNOWN),
            ({}, Reason.UNKNOWN),
            ({"x402Version": 1, "error": "invalid token", "accepts": []}, Reason.PAYMENT_CHALLENGE),
        ],
    )
    def test_any_billing_evidence_keeps_it_a_gate(self, body: Any, expected: Reason) -> None:
        payment = http402.classify(self._402(body))
        assert payment is not None and payment.reason is expected

    def test_the_hook_is_not_run_for_a_bad_key_and_is_for_a_wordless_402(self) -> None:
        """The money side: a plain top-up hook answers `unknown`; a bad key's 402 passes
        through to the application untouched and buys nothing, a wordless 402 still runs it."""
        bodies = {
            "/key": {"message": "invalid credentials"},
            "/wordless": {},
        }
        called: list[Reason] = []

        def hook(error: http402.PaymentRequiredError) -> None:
            called.append(error.reason)

        client = http402.wrap(
            httpx.Client(
                base_url="https://api.example.com",
                transport=httpx.MockTransport(
                    lambda request: httpx.Response(402, json=bodies[request.url.path])
                ),
            ),
            on_payment_required=hook,
        )
        assert client.get("/key").status_code == 402
        assert called == []
        with pytest.raises(http402.PaymentRequiredError):
            client.get("/wordless")
        assert called == [Reason.UNKNOWN]


class TestBlindSetElevenKinds:
    """Kinds first met in research/payloads11 (issue 19's last blind set), each read by a
    declared record or rule: a throttle that names no cause beside a budget reached, a price
    in a 402's headers, a card's verification that failed, a payment the account makes, and
    "Payment Required" as a 4xx's whole message."""

    def test_a_throttle_that_names_no_cause_gives_way_to_the_budget_it_states(self) -> None:
        """Scrapfly's 429 `ERR::THROTTLE::MAX_API_CREDIT_BUDGET_EXCEEDED` deep under
        `result.error`: "throttled" names no cause, the budget reached does (a spend cap)."""
        document = load_payload("scrapfly-api-credit-budget-exceeded-429")
        wire = document["response"]
        payment = http402.classify(gate(wire["body"], status=429, headers=_JSON))
        assert payment is not None
        assert payment.reason is Reason.INSUFFICIENT_CREDITS
        assert payment.code == "ERR::THROTTLE::MAX_API_CREDIT_BUDGET_EXCEEDED"

    @pytest.mark.parametrize(
        "message",
        [
            "Your scrape request as been throttle. Too much request during the 1m window.",
            "Requests are throttled.",
            "Your request was throttled. Upgrade your plan for higher limits.",
            "Throttled: quota exceeded.",
            "You have been throttled: your daily budget is exhausted.",
            "Throttled: too many requests. Budget reached.",
        ],
    )
    def test_a_throttle_with_a_cause_of_its_own_or_no_gate_stays_a_throttle(
        self, message: str
    ) -> None:
        body = {"result": {"error": {"code": "ERR::THROTTLE::X", "message": message}}}
        assert http402.classify(gate(body, status=429, headers=_JSON)) is None

    def test_a_throttle_category_code_gives_way_to_a_budget_code(self) -> None:
        """A code that names the throttle and the budget outvotes words that say only
        "throttled"; a code that names a rate does not."""
        body = {"error": {"code": "ERR::THROTTLE::MAX_API_CREDIT_BUDGET_EXCEEDED"}}
        body["error"]["message"] = "Your request has been throttled."
        payment = http402.classify(gate(body, status=429, headers=_JSON))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS
        body["error"]["code"] = "ERR::THROTTLE::MAX_REQUEST_RATE_EXCEEDED"
        assert http402.classify(gate(body, status=429, headers=_JSON)) is None

    PRICED: ClassVar[dict[str, str]] = {
        "content-type": "application/json",
        "x-x402-price": "0.005",
        "x-x402-currency": "USDC",
        "x-x402-wallet": "0x71C7656EC7ab88b098defB751B7401B5f6d8976F",
        "x-x402-invoice": "inv_7f9b8c8d8a7c29be",
    }

    def test_a_price_and_a_payee_in_a_402s_headers_is_a_challenge_with_no_offer(self) -> None:
        """Botspeak's empty 402 with `X-X402-Price`, `-Currency`, `-Wallet`, `-Invoice`: the
        evidence a body's price and payee give, read from the headers' names."""
        payment = http402.classify(gate(b"", headers=self.PRICED))
        assert payment is not None
        assert payment.reason is Reason.PAYMENT_CHALLENGE
        assert payment.payment_options == ()
        assert payment.currency == "USDC"
        for spelling in ({"x-price": "1", "x-pay-to": "A"}, {"price": "1", "invoice": "lnbc1"}):
            priced = http402.classify(gate(b"", headers=spelling))
            assert priced is not None and priced.reason is Reason.PAYMENT_CHALLENGE

    @pytest.mark.parametrize(
        ("status", "body", "headers", "expected"),
        [
            # A price with no payee, or a payee with no price: nothing priced.
            (402, b"", {"x-x402-price": "0.005"}, Reason.UNKNOWN),
            (402, b"", {"x-x402-wallet": "0xabc"}, Reason.UNKNOWN),
            # Words that name what happened decide before the headers.
            (402, {"error": "insufficient balance"}, PRICED, Reason.INSUFFICIENT_CREDITS),
            (402, "Your card was declined.", {**PRICED, "content-type": "text/plain"}, None),
            # Off a 402 the headers are no evidence.
            (403, b"", PRICED, None),
            (429, {"error": "Too many requests"}, PRICED, None),
        ],
    )
    def test_headers_are_read_only_where_nothing_else_says_why(
        self, status: int, body: Any, headers: dict[str, str], expected: Reason | None
    ) -> None:
        payment = http402.classify(gate(body, status=status, headers=headers))
        if expected is None and status == 402:
            assert payment is not None and payment.reason is Reason.PAYMENT_FAILED
        elif expected is None:
            assert payment is None
        else:
            assert payment is not None and payment.reason is expected

    def test_a_wallet_object_is_the_accounts_state_not_a_payee(self) -> None:
        """`wallet` names a payee as an address only: an object under it holds a balance."""
        fields = read_fields({"amount": 5, "wallet": {"balance": 0}})
        assert "pay_to" not in fields.values

    def test_a_card_verification_that_failed_is_a_decline(self) -> None:
        """Nexio's 400 `{"error": 435, "message": "Declined for CVV failure"}`: the
        `instrument_declined` family, as Square's `CVV_FAILURE` code is; its integer `error`
        is its code."""
        document = load_payload("nexio-gateway-decline-cvv-400")
        payment = http402.classify(gate(document["response"]["body"], status=400, headers=_JSON))
        assert payment is not None
        assert payment.reason is Reason.PAYMENT_FAILED
        assert payment.code == "435"

    @pytest.mark.parametrize(
        ("body", "code"),
        [
            ({"error": 435, "message": "m"}, ["435"]),
            ({"error": "435", "message": "m"}, ["435"]),
            # A flag, and the HTTP status restated, are no codes.
            ({"error": 1, "message": "m"}, []),
            ({"error": 402, "message": "m"}, []),
        ],
    )
    def test_an_integer_error_is_a_code(self, body: dict[str, Any], code: list[str]) -> None:
        assert [found.value for found in read_fields(body).codes] == code

    @pytest.mark.parametrize(
        "message",
        [
            "Você não possui saldo o suficiente para realizar esse pagamento",
            "You do not have enough balance to make this payment",
        ],
    )
    def test_a_payment_the_account_makes_without_balance_is_no_gate(self, message: str) -> None:
        """Woovi's 400 on `/api/v1/payment/approve`, in Portuguese and in its docs' English:
        the account's own outgoing payment, as a payout is."""
        body = {"error": message}
        assert http402.classify(gate(body, status=400, headers=_JSON)) is None

    @pytest.mark.parametrize(
        "message",
        [
            "Insufficient balance to complete this request.",
            "Insufficient balance, make a payment to continue.",
            "Insufficient balance to make the payment for this request.",
        ],
    )
    def test_a_balance_the_api_bills_stays_a_gate(self, message: str) -> None:
        payment = http402.classify(gate({"error": message}, status=400, headers=_JSON))
        assert payment is not None and payment.reason is Reason.INSUFFICIENT_CREDITS

    @pytest.mark.parametrize(
        ("body", "content_type"),
        [
            ({"status": "fail", "data": {"message": "Payment Required"}}, "application/json"),
            ({"error": "402 Payment Required."}, "application/json"),
            ("Payment Required", "text/plain"),
        ],
    )
    def test_payment_required_as_a_4xxs_whole_message_is_a_gate_of_no_reason(
        self, body: Any, content_type: str
    ) -> None:
        """IQAir AirVisual's 403 (pyairvisual's fixture): the phrase alone says the server
        wants paying, not why: `unknown`, as a bare 402 is."""
        for status in (400, 403, 429):
            payment = http402.classify(
                gate(body, status=status, headers={"content-type": content_type})
            )
            assert payment is not None and payment.reason is Reason.UNKNOWN, status

    @pytest.mark.parametrize(
        "body",
        [
            {"error": {"message": "Payment Required", "code": "rate_limit_exceeded"}},
            {"error": {"message": "Payment Required", "code": "invalid_api_key"}},
            {"error": "Payment required to view this invoice's attachments"},
            {"error": "Forbidden"},
        ],
    )
    def test_payment_required_beside_another_refusal_or_in_a_sentence_is_not(
        self, body: Any
    ) -> None:
        assert http402.classify(gate(body, status=403, headers=_JSON)) is None
