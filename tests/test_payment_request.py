"""A 402 whose header holds a payment request (Blossom's BUD-07 `X-Lightning`, `X-Cashu`):
each format recognises its examples and not its look-alikes, an offer is built only from an
amount stated exactly, and nothing else becomes a challenge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

import http402
from http402 import Reason
from http402._amounts import why_unpayable
from http402._providers import payment_request
from http402._providers.payment_request import REQUEST_FORMATS, PaymentRequestFormat, recognise

from .conftest import load_payloads

INVOICE = next(f for f in REQUEST_FORMATS if f.name == "bolt11").examples[0]
CASHU = next(f for f in REQUEST_FORMATS if f.name == "cashu-creqA").examples[0]
# BOLT 11's own test vector of an invoice that names no amount ("Please make a donation of
# any amount ...", lightning/bolts 11-payment-encoding.md, Examples).
NO_AMOUNT = (
    "lnbc1pvjluezsp5zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zygspp5qqqsyqcyq5rqwzqfqqq"
    "syqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8q"
    "un0dfjkxaq9qrsgq357wnc5r2ueh7ck6q93dj32dlqnls087fxdwk8qakdyafkq3yap9us6v52vjjsrvywa6rt52"
    "cm9r9zqt8r2t7mlcwspyetp5h2tztugp9lfyql"
)


def response(
    status: int = 402, headers: dict[str, str] | None = None, body: str = ""
) -> httpx.Response:
    return httpx.Response(
        status,
        headers=headers or {},
        content=body.encode(),
        request=httpx.Request("PUT", "https://blossom.example.com/upload"),
    )


@pytest.mark.parametrize("form", REQUEST_FORMATS, ids=lambda f: f.name)
class TestFormats:
    def test_every_example_is_recognised_as_its_format(self, form: PaymentRequestFormat) -> None:
        """Each example is a payment request of its own format, quoted or not."""
        for example in form.examples:
            for spelled in (example, f'"{example}"', f" {example} "):
                found = recognise(spelled)
                assert found is not None and found[1] is form, spelled

    def test_no_look_alike_is_recognised(self, form: PaymentRequestFormat) -> None:
        """A failed checksum, a proof, a token or a node's name is no payment request."""
        for look_alike in form.look_alikes:
            assert recognise(look_alike) is None, look_alike


def test_the_blossom_payloads_are_challenges() -> None:
    """BUD-07's two examples, as recorded: an empty 402 with `X-Lightning` or `X-Cashu`."""
    payloads = {p["id"]: p for p in load_payloads()}
    for name in ("blossom-bud07-x-lightning-402", "blossom-bud07-x-cashu-402"):
        wire = payloads[name]["response"]
        payment = http402.classify(response(headers=wire["headers"], body=wire["body"]))
        assert payment is not None and payment.reason is Reason.PAYMENT_CHALLENGE, name
        assert payment.provider == "payment-request"


def test_an_invoice_with_an_amount_is_an_offer_in_millisatoshis() -> None:
    """`lnbc30n1...` asks 30 nano-bitcoins: 3000 msat, payable as L402's invoices are."""
    payment = http402.classify(response(headers={"X-Lightning": INVOICE}))
    assert payment is not None
    (offer,) = payment.payment_options
    assert (offer.protocol, offer.scheme, offer.network) == ("lightning", "bolt11", "lightning")
    assert (offer.amount, offer.unit, offer.asset) == (Decimal(3000), "msat", "BTC")
    assert offer.pay_to == INVOICE
    assert offer.raw == {"header": "x-lightning", "request": INVOICE}
    assert why_unpayable(offer) is None


def test_no_offer_is_invented() -> None:
    """An invoice that names no amount, and a Cashu request (its amount is in CBOR beside
    its unit and mints), are challenges with no offer: a spend policy pays none."""
    for headers in ({"X-Lightning": NO_AMOUNT}, {"X-Cashu": CASHU}):
        payment = http402.classify(response(headers=headers))
        assert payment is not None and payment.reason is Reason.PAYMENT_CHALLENGE, headers
        assert payment.payment_options == (), headers


def test_the_challenge_says_where_each_request_is() -> None:
    """A hook finds each payment request, its format and the header to answer in, in the
    challenge's `raw`, offer or none (a new user found a Cashu challenge naming nothing)."""
    payment = http402.classify(response(headers={"X-Cashu": CASHU}))
    assert payment is not None and payment.raw is not None
    assert payment.raw["payment_requests"] == [
        {"header": "x-cashu", "format": "cashu-creqA", "request": CASHU}
    ]
    payment = http402.classify(response(headers={"X-Lightning": INVOICE}))
    assert payment is not None and payment.raw is not None
    [found] = payment.raw["payment_requests"]
    assert (found["header"], found["format"]) == ("x-lightning", "bolt11")


def test_the_header_may_have_any_name() -> None:
    """BUD-07 names the header after the method (`X-{payment_method}`): the value decides,
    with or without a `lightning:` scheme."""
    for name in ("X-Lightning", "Lightning-Invoice", "X-Payment-Request"):
        for value in (INVOICE, "lightning:" + INVOICE):
            payment = http402.classify(response(headers={name: value}))
            assert payment is not None and payment.payment_options, (name, value)


def test_only_a_402_is_read() -> None:
    """BUD-07 answers a proof that failed with a 400 and an `X-Reason`: no challenge, and a
    payment request on any other status is no gate."""
    for status in (200, 400, 401, 403, 429):
        assert http402.classify(response(status, {"X-Lightning": INVOICE})) is None, status


def test_a_402_without_a_request_is_left_to_the_other_rules() -> None:
    """A checksum that fails, a preimage, a Cashu token: the 402 is still a gate, `unknown`,
    not a challenge with a made-up offer."""
    broken = INVOICE[:-1] + ("q" if INVOICE[-1] != "q" else "p")
    for value in (broken, "966fcb8f153339372f9a187f725384ff4ceae0047c25b9ce607488d7c7e93bba"):
        payment = http402.classify(response(headers={"X-Lightning": value}))
        assert payment is not None and payment.reason is Reason.UNKNOWN, value


def test_an_l402_challenge_stays_l402s() -> None:
    """An invoice inside `WWW-Authenticate: L402` is the `l402` adapter's."""
    challenge = f'L402 macaroon="AGIAJEemVQUTEyNCR0exk7ek90Cg==", invoice="{INVOICE}"'
    payment = http402.classify(response(headers={"WWW-Authenticate": challenge}))
    assert payment is not None and payment.provider == "l402"


def test_words_in_the_body_do_not_outvote_the_price() -> None:
    """A 402 that prices the request in a header is a challenge whatever its body says."""
    payment = http402.classify(
        response(headers={"X-Lightning": INVOICE}, body='{"message": "Payment required"}')
    )
    assert payment is not None and payment.reason is Reason.PAYMENT_CHALLENGE
    assert payment.message == "Payment required"


def test_hostile_headers_cost_little(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hundreds of long headers shaped like invoices: each is bounded, few are looked at.
    The work is counted, not timed (a timed test fails on a loaded machine): at most
    `_MAX_HEADERS` headers are read, and no value past `_MAX_VALUE` is decoded."""
    fake = "lnbc1" + "q" * 4000
    headers = [(f"X-H{i}", fake) for i in range(500)] + [("X-Long", "lnbc1" + "q" * 9000)]
    hostile = httpx.Response(
        402, headers=headers, request=httpx.Request("GET", "https://example.com/")
    )
    read: list[int] = []
    checked: list[int] = []
    recognise, checksum = payment_request.recognise, payment_request._bech32_checksum

    def counting_recognise(value: str) -> Any:
        read.append(len(value))
        return recognise(value)

    def counting_checksum(text: str) -> Any:
        checked.append(len(text))
        return checksum(text)

    monkeypatch.setattr(payment_request, "recognise", counting_recognise)
    monkeypatch.setattr(payment_request, "_bech32_checksum", counting_checksum)
    payment = http402.classify(hostile)
    assert payment is not None and payment.reason is Reason.UNKNOWN
    assert 0 < len(read) <= payment_request._MAX_HEADERS
    assert all(length <= payment_request._MAX_VALUE + 16 for length in checked)
