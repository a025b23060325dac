"""L402 (formerly LSAT): `WWW-Authenticate: L402 macaroon="...", invoice="lnbc..."`, in any
parameter order and among other challenges. Each challenge becomes one payment option whose
amount is read from the BOLT 11 invoice, in millisatoshis.

A 402 may carry the same challenge in its JSON body only, its macaroon and invoice under an
`l402` (or `lsat`) object or at the top (Lightning Enable's L402 proxy: `{"message": "Pay the
Lightning invoice to access this resource", "l402": {"macaroon": ..., "invoice": ...,
"amount_sats": 10}}`). Such a body is an offer only when its invoice *is* a BOLT 11 invoice,
checksum and all (`payment_request.recognise`), that states its amount, and any amount the
body states beside it agrees: a truncated or placeholder invoice ("lnbc100n1pnxyz...") or a
disagreeing `amount_sats` builds no offer, and the body is left to the generic rules, which
read it as a challenge with no offer.

Specs: lightning/blips blip-0026.md; lightninglabs/L402 protocol-specification.md
"""

from __future__ import annotations

from typing import Any

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._untrusted import as_amount, bounded_text
from .payment_request import bolt11_amount_msat, recognise

__all__ = ["L402Adapter", "bolt11_amount_msat"]

_SCHEMES = frozenset({"l402", "lsat"})


class L402Adapter:
    name = "l402"
    priority = -160

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        options = tuple(
            _option(scheme, params)
            for scheme, params in response.challenges
            if scheme.lower() in _SCHEMES and ("invoice" in params)
        )
        if not options and response.status_code == 402:
            option = _body_option(response.json)
            options = () if option is None else (option,)
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


#: Where a body holds its challenge: under the protocol's name, else at its top.
_BODY_KEYS = (("l402", "L402"), ("lsat", "LSAT"))
#: The amounts a body may state beside its invoice, and the millisatoshis in one of each.
_STATED_AMOUNTS = {
    "amount_sats": 1000,
    "amountSats": 1000,
    "amount_sat": 1000,
    "amount_msat": 1,
    "amountMsat": 1,
    "amount_msats": 1,
}


def _body_option(body: Any) -> PaymentOption | None:
    """The offer of an L402 challenge a 402's JSON body holds (the module), or `None`."""
    if not isinstance(body, dict):
        return None
    for key, scheme in _BODY_KEYS:
        challenge = body.get(key)
        if isinstance(challenge, dict):
            return _offer_in(challenge, scheme)
    return _offer_in(body, "L402")


def _offer_in(challenge: dict[str, Any], scheme: str) -> PaymentOption | None:
    macaroon, invoice = challenge.get("macaroon"), challenge.get("invoice")
    if not isinstance(macaroon, str) or not macaroon.strip() or not isinstance(invoice, str):
        return None
    found = recognise(invoice)  # BOLT 11, checksum and all
    if found is None or found[1].name != "bolt11":
        return None  # truncated, a placeholder, or no invoice: no offer is invented
    request = found[0]
    amount = bolt11_amount_msat(request)
    if amount is None:
        return None
    for name, msat in _STATED_AMOUNTS.items():
        if name in challenge and as_amount(challenge[name]) != amount / msat:
            return None  # the body and its invoice disagree: which would be paid?
    return PaymentOption(
        protocol="l402",
        scheme=scheme,
        network="lightning",
        amount=amount,
        unit="msat",
        asset="BTC",
        pay_to=request,
        raw={"macaroon": macaroon, "invoice": request},
    )
