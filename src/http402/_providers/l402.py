"""L402 (formerly LSAT): `WWW-Authenticate: L402 macaroon="...", invoice="lnbc..."`, in any
parameter order and among other challenges. Each challenge becomes one payment option whose
amount is read from the BOLT 11 invoice, in millisatoshis.

Specs: lightning/blips blip-0026.md; lightninglabs/L402 protocol-specification.md
"""

from __future__ import annotations

import re
from decimal import Decimal

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._untrusted import bounded_text

__all__ = ["L402Adapter", "bolt11_amount_msat"]

_SCHEMES = frozenset({"l402", "lsat"})
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


class L402Adapter:
    name = "l402"
    priority = -160

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        options = tuple(
            _option(scheme, params)
            for scheme, params in response.challenges
            if scheme.lower() in _SCHEMES and ("invoice" in params)
        )
        if not options:
            return None
        body = response.json
        message = bounded_text(body.get("message")) if isinstance(body, dict) else None
        return PaymentRequired(
            reason=Reason.PAYMENT_CHALLENGE,
            provider=self.name,
            message=message,
            payment_options=options,
        )


def _option(scheme: str, params: dict[str, str]) -> PaymentOption:
    invoice = params["invoice"]
    amount = bolt11_amount_msat(invoice)
    return PaymentOption(
        protocol="l402",
        scheme=scheme.upper(),
        network="lightning",
        amount=amount,
        unit="msat" if amount is not None else None,
        asset="BTC",
        pay_to=bounded_text(invoice, 4000),
        raw=dict(params),
    )


def bolt11_amount_msat(invoice: str) -> Decimal | None:
    """The amount a BOLT 11 invoice asks for, in millisatoshis; `None` when it names none."""
    match = _INVOICE_AMOUNT.match(invoice.strip())
    if not match:
        return None
    digits, multiplier = match.groups()
    amount = Decimal(digits) * _MULTIPLIERS[multiplier.lower()] * _MSAT_PER_BTC
    # A pico-bitcoin amount that is not a whole millisatoshi is invalid by BOLT 11.
    return amount if amount == amount.to_integral_value() else None
