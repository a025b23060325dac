"""A 402 whose header holds a payment request: the price of this request, encoded in the
payment method's own format, in a header of its own (`X-{payment_method}`).

Blossom's paid storage (BUD-07) answers `402` with `X-Lightning: lnbc30n1...` (a BOLT 11
invoice) or `X-Cashu: creqA...` (a Cashu payment request, NUT-18, as NUT-24 puts it on a
402), and no body: the client pays and replays with the proof in the same header. Whatever
the header is called, a value that *is* a payment request, checksum and all, is a challenge.

The formats are declared once (`REQUEST_FORMATS`), each with the values it must recognise
and the look-alikes it must not (`tests/test_payment_request.py`). An offer is built only
where the amount is stated exactly: a BOLT 11 invoice's, in millisatoshis (as L402 reads
it). A Cashu request's amount sits in CBOR beside its unit and its mints, and no offer is
built from it, so a spend policy pays none: the challenge is recognised, the hook sees it
only when it pays challenges without offers.

Specs: hzrd149/blossom buds/07.md; cashubtc/nuts 18.md, 24.md, 26.md; lightning/bolts
11-payment-encoding.md; BIP 173 and BIP 350 (bech32, bech32m)
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from decimal import Decimal

import attrs

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._untrusted import bounded_text

__all__ = [
    "REQUEST_FORMATS",
    "PaymentRequestAdapter",
    "PaymentRequestFormat",
    "bolt11_amount_msat",
    "recognise",
]

#: The longest header value read: a BOLT 11 invoice with routing hints runs to a few
#: hundred characters, a Cashu request with its mints and locking conditions to a few more.
_MAX_VALUE = 4096
#: How many headers are looked at, and how many requests become offers.
_MAX_HEADERS = 64
_MAX_OFFERS = 8
#: Headers that are some other protocol's (L402's invoice is the `l402` adapter's).
_NOT_A_METHOD = frozenset({"www-authenticate", "link", "location", "content-type"})


def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


@attrs.frozen
class PaymentRequestFormat:
    """One way to encode a payment request that a 402's header may hold.

    Args:
        name: Unique, for tests and the offer's `scheme`.
        protocol: The offer's `protocol` when one is built (`amount` states a price), else
            the challenge's only.
        shape: The value's form, matched whole (case-insensitively), before `check`.
        check: Whether a value of that form is one (its checksum, its encoding).
        amount: The price it states exactly, with its unit and asset, or `None`.
        examples: Values it must recognise.
        look_alikes: Values it must not.
        source: The specification.
    """

    name: str
    protocol: str
    shape: re.Pattern[str] = attrs.field(converter=_compiled)
    check: Callable[[str], bool] = attrs.field(repr=False)
    amount: Callable[[str], tuple[Decimal, str, str] | None] | None = attrs.field(
        default=None, repr=False
    )
    examples: tuple[str, ...] = attrs.field(default=(), repr=False)
    look_alikes: tuple[str, ...] = attrs.field(default=(), repr=False)
    source: str = attrs.field(default="", repr=False)

    def recognises(self, value: str) -> bool:
        """`True` if `value` (stripped) is a payment request of this format."""
        return self.shape.fullmatch(value) is not None and self.check(value)


class PaymentRequestAdapter:
    """A 402 with a header whose value is a payment request (`REQUEST_FORMATS`)."""

    name = "payment-request"
    priority = -180

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        found: list[tuple[str, str, PaymentRequestFormat]] = []
        for header, values in list(response.headers.items())[:_MAX_HEADERS]:
            if header in _NOT_A_METHOD:
                continue
            for value in values[:2]:
                recognised = recognise(value)
                if recognised is not None:
                    found.append((header, *recognised))
        if not found:
            return None
        options: list[PaymentOption] = []
        for header, request, form in found:
            option = _option(header, request, form)
            if option is not None and len(options) < _MAX_OFFERS:
                options.append(option)
        body = response.json
        message = bounded_text(body.get("message")) if isinstance(body, dict) else None
        # The requests as the headers hold them, so that a hook finds what to pay and where
        # to send the proof whether or not an offer was built (a Cashu request has none).
        requests = [
            {"header": header, "format": form.name, "request": request}
            for header, request, form in found[:_MAX_OFFERS]
        ]
        return PaymentRequired(
            reason=Reason.PAYMENT_CHALLENGE,
            provider=self.name,
            message=message,
            currency=next((option.asset for option in options), None),
            payment_options=options,
            raw=body if isinstance(body, dict) and body else {"payment_requests": requests},
        )


def recognise(value: str) -> tuple[str, PaymentRequestFormat] | None:
    """The payment request `value` holds (unquoted, without a `lightning:` scheme) and its
    format, or `None`."""
    if len(value) > _MAX_VALUE:
        return None
    request = value.strip().strip('"').strip()
    if request[:10].lower() == "lightning:":
        request = request[10:]
    lead = request[:4].lower()
    for form in REQUEST_FORMATS:
        if lead in _LEADS[form.name] and form.recognises(request):
            return request, form
    return None


def _option(header: str, request: str, form: PaymentRequestFormat) -> PaymentOption | None:
    """The offer `request` makes, when its format states its amount exactly; else `None`:
    no offer is invented."""
    stated = form.amount(request) if form.amount is not None else None
    if stated is None:
        return None
    amount, unit, asset = stated
    return PaymentOption(
        protocol=form.protocol,
        scheme=form.name,
        network="lightning",
        amount=amount,
        unit=unit,
        asset=asset,
        pay_to=request,
        raw={"header": header, "request": request},
    )


# --------------------------------------------------------------------------- BOLT 11

# BOLT 11: "ln" + currency prefix + optional amount and multiplier, then the separator "1".
_INVOICE_AMOUNT = re.compile(r"ln(?:bcrt|bc|tbs|tb|sb)([0-9]{1,20})([munp]?)1", re.IGNORECASE)
_MSAT_PER_BTC = Decimal(100_000_000_000)
_MULTIPLIERS = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "u": Decimal("0.000001"),
    "n": Decimal("0.000000001"),
    "p": Decimal("0.000000000001"),
}


def bolt11_amount_msat(invoice: str) -> Decimal | None:
    """The amount a BOLT 11 invoice asks for, in millisatoshis; `None` when it names none."""
    match = _INVOICE_AMOUNT.match(invoice.strip())
    if not match:
        return None
    digits, multiplier = match.groups()
    amount = Decimal(digits) * _MULTIPLIERS[multiplier.lower()] * _MSAT_PER_BTC
    # A pico-bitcoin amount that is not a whole millisatoshi is invalid by BOLT 11.
    return amount if amount == amount.to_integral_value() else None


# --------------------------------------------------------------------------- bech32

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_VALUES = {char: value for value, char in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
#: The checksum constants: bech32 (BIP 173, BOLT 11) and bech32m (BIP 350, NUT-26).
_BECH32, _BECH32M = 1, 0x2BC830A3


def _bech32_checksum(text: str) -> int | None:
    """The residue of `text`'s bech32 checksum (`_BECH32` or `_BECH32M` when valid), or
    `None` when it is no bech32 string (mixed case, no separator, a letter outside the set).
    BOLT 11 lifts BIP 173's 90-character bound; `_MAX_VALUE` bounds the work."""
    if text != text.lower() and text != text.upper():
        return None
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        return None
    hrp, data = text[:separator], text[separator + 1 :]
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    for char in data:
        value = _VALUES.get(char)
        if value is None:
            return None
        values.append(value)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for bit, generator in enumerate(_GENERATOR):
            if (top >> bit) & 1:
                check ^= generator
    return check


def _is_bech32(text: str) -> bool:
    return _bech32_checksum(text) == _BECH32


def _is_bech32m(text: str) -> bool:
    return _bech32_checksum(text) == _BECH32M


def _bolt11_amount(invoice: str) -> tuple[Decimal, str, str] | None:
    amount = bolt11_amount_msat(invoice)
    return None if amount is None else (amount, "msat", "BTC")


def _is_cbor_map(text: str) -> bool:
    """`True` when the base64url after `creqA` decodes to a CBOR map (NUT-18's request)."""
    payload = text[5:]
    try:
        decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(decoded) > 1 and 0xA0 <= decoded[0] <= 0xBF


_BOLT11_EXAMPLE = (
    "lnbc30n1pnnmw3lpp57727jjq8zxctahfavqacymellq56l70f7lwfkmhxfjva6dgul2zqhp5w48l28v60yvyt"
    "hn6qvnpq0lez54422a042yaw4kq8arvd68a6n7qcqzzsxqyz5vqsp5sqezejdfaxx5hge83tf59a50h6gagwah"
    "59fjn9mw2d5mn278jkys9qxpqysgqt2q2lhjl9kgfaqz864mhlsspftzdyr642lf3zdt6ljqj6wmathdhtgcn0"
    "e6f4ym34jl0qkt6gwnllygvzkhdlpq64c6yv3rta2hyzlqp8k28pz"
)
_CREQA_EXAMPLE = (
    "creqApWF0gaNhdGVub3N0cmFheKlucHJvZmlsZTFxeTI4d3VtbjhnaGo3dW45ZDNzaGp0bnl2OWtoMnVld2Q5aHN"
    "6OW1od2RlbjV0ZTB3ZmprY2N0ZTljdXJ4dmVuOWVlaHFjdHJ2NWhzenJ0aHdkZW41dGUwZGVoaHh0bnZkYWtxcWd"
    "5ZGFxeTdjdXJrNDM5eWtwdGt5c3Y3dWRoZGh1NjhzdWNtMjk1YWtxZWZkZWhrZjBkNDk1Y3d1bmw1YWeBgmFuYjE3"
    "YWloYjdhOTAxNzZhYQphdWNzYXRhbYF4Imh0dHBzOi8vbm9mZWVzLnRlc3RudXQuY2FzaHUuc3BhY2U"
)

#: Every format a 402's header may hold a payment request in.
REQUEST_FORMATS: tuple[PaymentRequestFormat, ...] = (
    PaymentRequestFormat(
        "bolt11",
        "lightning",
        r"ln(?:bcrt|bc|tbs|tb|sb)[0-9]*[munp]?1[" + _CHARSET + r"]{7,}",
        _is_bech32,
        amount=_bolt11_amount,
        examples=(_BOLT11_EXAMPLE, "lightning:" + _BOLT11_EXAMPLE.upper()),
        look_alikes=(
            _BOLT11_EXAMPLE[:-1] + "q",  # a checksum that fails
            "966fcb8f153339372f9a187f725384ff4ceae0047c25b9ce607488d7c7e93bba",  # a preimage
            "lnurl1dp68gurn8ghj7um9wfmxjcm99e3k7mf0v9cxj0m385ekvcenxc6r2c35xvukxefcv5mkvv34x5",
            "ln-node-03a1b2",
        ),
        source="https://github.com/hzrd149/blossom buds/07.md (X-Lightning); "
        "https://github.com/lightning/bolts 11-payment-encoding.md",
    ),
    PaymentRequestFormat(
        "cashu-creqA",
        "cashu",
        r"creqA[A-Za-z0-9_-]{8,}={0,2}",
        _is_cbor_map,
        examples=(_CREQA_EXAMPLE,),
        look_alikes=(
            # A Cashu token (the proof a client replays with), not a request.
            "cashuBo2F0gqJhaUgA_9SLj17PgGFwgaNhYQFhc3hAYWNjMTI0MzVlN2I4NDg0YzNjZjE4NTAxNDkyMThh",
            "creqA-not-base64!",
            "creqAaGVsbG8gd29ybGQ",  # base64url of text, not a CBOR map
        ),
        source="https://github.com/hzrd149/blossom buds/07.md (X-Cashu); "
        'https://github.com/cashubtc/nuts 18.md ("creq" + "A" + base64_urlsafe(CBOR)), 24.md',
    ),
    PaymentRequestFormat(
        "cashu-creqB",
        "cashu",
        r"creqb1[" + _CHARSET + r"]{7,}",
        _is_bech32m,
        examples=(
            "CREQB1QYQQSDMXX3SNYC3N8YPSQQGQQ5QPS6R5W3C8XW309AKKJMN59EJHSCTDWPKX2TNRDAKSYP0LHG",
        ),
        look_alikes=(
            "CREQB1QYQQSDMXX3SNYC3N8YPSQQGQQ5QPS6R5W3C8XW309AKKJMN59EJHSCTDWPKX2TNRDAKSYP0LHQ",
        ),
        source="https://github.com/cashubtc/nuts 26.md and tests/26-test.md (bech32m), 24.md "
        "(wallets MUST support creqA and creqB)",
    ),
)
#: The first four characters (lower case) each format's values start with.
_LEADS = {
    "bolt11": frozenset({"lnbc", "lntb", "lnsb"}),
    "cashu-creqA": frozenset({"creq"}),
    "cashu-creqB": frozenset({"creq"}),
}
