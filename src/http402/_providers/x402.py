"""x402: a price for this request, in the JSON body (v1, `accepts`) or base64 JSON in the
`PAYMENT-REQUIRED` header (v2). A 402 that answers a payment carries the settlement result in
`X-PAYMENT-RESPONSE` (v1) or `PAYMENT-RESPONSE` (v2); `success: false` there is a failed
payment, not a new price.

Specs: coinbase/x402 specs/x402-specification-v1.md, specs/transports-v2/http.md
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .._adapters import ResponseSnapshot
from .._models import PaymentOption, PaymentRequired, Reason
from .._untrusted import as_amount, bounded_text, decode_base64_json

__all__ = ["X402Adapter"]

_MAX_OFFERS = 16


class X402Adapter:
    name = "x402"
    priority = -150

    def classify(self, response: ResponseSnapshot) -> PaymentRequired | None:
        requirements = _requirements(response)
        settlement = _settlement(response)
        if requirements is None and settlement is None:
            return None
        offers = requirements.get("accepts") if requirements else None
        options = tuple(
            _option(offer, requirements or {})
            for offer in (offers if isinstance(offers, list) else [])[:_MAX_OFFERS]
            if isinstance(offer, dict)
        )
        message = code = None
        if requirements:
            # The spec's `error`; a problem document's `detail` or `title` and its `code`.
            message = bounded_text(
                requirements.get("error") or requirements.get("detail") or requirements.get("title")
            )
            code = bounded_text(requirements.get("code"), 100)
        if settlement is not None:
            failure = bounded_text(settlement.get("errorReason"), 200)
            return PaymentRequired(
                reason=Reason.PAYMENT_FAILED,
                provider=self.name,
                code=failure,
                message=message or failure,
                payment_options=options,
                raw={"requirements": requirements, "settlement": settlement},
            )
        return PaymentRequired(
            reason=Reason.PAYMENT_CHALLENGE,
            provider=self.name,
            code=code,
            message=message,
            payment_options=options,
            raw=requirements,
        )


def _requirements(response: ResponseSnapshot) -> dict[str, Any] | None:
    header = response.header("payment-required")
    if header:
        decoded = decode_base64_json(header)
        if isinstance(decoded, dict) and isinstance(decoded.get("accepts"), list):
            return decoded
    body = response.json
    if not isinstance(body, dict):
        return None
    accepts = body.get("accepts")
    # An empty `accepts` is still x402 when the body says which version it speaks.
    if isinstance(accepts, list) and (accepts or "x402Version" in body):
        return body
    # A body that declares the x402 version it speaks is a challenge even when no offer can
    # be read from a standard `accepts` (an empty one, or a server's own shape: Creance's
    # problem+json puts `price`, `scheme` and `pay_to` at the top). Its offers stay empty:
    # an offer is never built from a shape the spec does not define, so no money moves.
    if any(_is_version(body.get(key)) for key in _VERSION_KEYS):
        return body
    return None


#: Where a body states its x402 version: the spec's key, and the snake case servers write.
_VERSION_KEYS = ("x402Version", "x402_version")


def _is_version(value: object) -> bool:
    return type(value) is int and 0 < value < 100


def _settlement(response: ResponseSnapshot) -> dict[str, Any] | None:
    header = response.header("payment-response") or response.header("x-payment-response")
    if not header:
        return None
    decoded = decode_base64_json(header)
    if isinstance(decoded, dict) and decoded.get("success") is False:
        return decoded
    return None


def _option(offer: dict[str, Any], requirements: dict[str, Any]) -> PaymentOption:
    amount = _signed_amount(offer, requirements.get("x402Version"))
    resource = offer.get("resource", requirements.get("resource"))
    if isinstance(resource, dict):
        resource = resource.get("url")
    timeout = offer.get("maxTimeoutSeconds")
    return PaymentOption(
        protocol="x402",
        scheme=bounded_text(offer.get("scheme"), 100),
        network=bounded_text(offer.get("network"), 200),
        amount=amount,
        unit="atomic" if amount is not None else None,
        asset=bounded_text(offer.get("asset"), 200),
        pay_to=bounded_text(offer.get("payTo"), 200),
        resource=bounded_text(resource, 2000),
        description=bounded_text(offer.get("description"), 500),
        max_timeout_seconds=timeout if isinstance(timeout, int) and timeout >= 0 else None,
        raw=offer,
    )


#: The price field each version's signer authorizes: v1's `PaymentRequirementsV1` has
#: `maxAmountRequired` and no other price, v2's `PaymentRequirements` has `amount`
#: (coinbase/x402 python/x402/schemas/v1.py and payments.py: `get_amount()` of each).
_PRICE_FIELD = {1: "maxAmountRequired", 2: "amount"}


def _signed_amount(offer: dict[str, Any], version: object) -> Decimal | None:
    """The price a wallet of the challenge's version signs: `maxAmountRequired` for v1,
    `amount` for v2 (the resource moved to the top level there too).

    An offer whose two price fields disagree has no price (`None`, never paid): a v1 server
    adding a decoy `amount` of 1 beside `maxAmountRequired` would otherwise be screened at
    1 unit while the wallet signs the other. So does one that lacks its version's field.
    Without a version, the one field given is the price."""
    prices = {name: as_amount(offer.get(name)) for name in _PRICE_FIELD.values() if name in offer}
    if len(set(prices.values())) > 1:
        return None
    field = _PRICE_FIELD.get(version) if type(version) is int else None
    if field is not None:
        return prices.get(field)
    return next(iter(prices.values()), None)
