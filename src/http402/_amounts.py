"""Amounts of money, exact: what a spend window stores and compares.

An offer's price is a `Decimal` in the unit its protocol states (x402 atomic units, L402
millisatoshis, the `Payment` scheme's base units of a currency, a currency). Whether that
unit is indivisible, so that a fraction of it can never be paid, is decided in one place
(`indivisible_unit`), from what the offer's protocol says it counts.

Spend windows count a price as an integer number of *units*, each 10^-18 of the stated
unit, so an 18-decimal token's atomic amounts, millisatoshis and cents are all whole numbers
and sums never round (Python integers in a process, decimal digit strings in Redis's Lua,
which has only doubles). What cannot be represented exactly (more
than 18 decimals, more than 78 integer digits: past any uint256) is refused, never rounded.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from ._models import PaymentOption

__all__ = [
    "BITCOIN",
    "CURRENCY_EXPONENTS",
    "PROTOCOL_UNITS",
    "SCALE",
    "amount_of",
    "asset_key",
    "canonical_address",
    "canonical_network",
    "canonical_offer",
    "counted",
    "indivisible_unit",
    "limit_of",
    "units",
    "why_unpayable",
]

#: Decimals kept below a stated unit.
SCALE = 18
#: Most integer digits of an amount: a uint256 has 78.
_MAX_INTEGER_DIGITS = 78

#: What the `amount` of each protocol's offers counts, when that is an indivisible unit (a
#: fraction of it can never be paid), or `None` where it is a decimal amount of a currency.
#: Every parser's protocol has a row (`tests/test_spend.py` checks it over every payload).
PROTOCOL_UNITS: dict[str, str | None] = {
    # x402 v1 `maxAmountRequired` and v2 `amount`: atomic units of the asset (the
    # specification's PaymentRequirements; a uint256 string).
    "x402": "atomic units",
    # L402 / LSAT: the BOLT 11 invoice's amount, read in millisatoshis (BOLT 11 invalidates
    # a pico-bitcoin amount that is not a whole millisatoshi).
    "l402": "millisatoshis",
    # The `Payment` HTTP authentication scheme: `amount` "in base units (smallest
    # denomination)" of `currency`: cents for "usd", a token's atomic units, sats for "sat"
    # (draft-payment-intent-charge-00, Required Fields; the session intent requires
    # `^[1-9][0-9]*$`).
    "payment": "base units",
    # Cloudflare pay per crawl: `crawler-price: USD 0.01`, a decimal amount of a currency.
    "pay-per-crawl": None,
    # A BOLT 11 invoice in a 402's header of its own (Blossom's `X-Lightning`): its amount,
    # read in millisatoshis as L402's is.
    "lightning": "millisatoshis",
}
#: The ISO 4217 currencies and the exponent of their minor unit (how many decimals of the
#: major unit one base unit is: cents of a dollar, 2; yen, 0; fils of a dinar, 3). Source:
#: ISO 4217 List One, "Current currency & funds code list" (SIX Group, the maintenance
#: agency), column "Minor unit"; the codes whose minor unit is "N.A." (gold, SDR...) are not
#: here. A spend policy counts every amount of these currencies in the minor unit, whatever
#: protocol states it (`counted`).
_EXPONENT_0 = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_EXPONENT_3 = "BHD IQD JOD KWD LYD OMR TND"
_EXPONENT_4 = "CLF UYW"
_EXPONENT_2 = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN "
    "BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB "
    "EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS "
    "KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN "
    "MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD "
    "SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS "
    "UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG"
)
CURRENCY_EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in ((0, _EXPONENT_0), (2, _EXPONENT_2), (3, _EXPONENT_3), (4, _EXPONENT_4))
    for code in codes.split()
}

#: Units that are indivisible whatever protocol names them (an adapter or a hook of the
#: application's own making an offer).
_INDIVISIBLE_UNITS = {"atomic": "atomic units", "msat": "millisatoshis", "base": "base units"}


#: An EVM address: `0x` and 40 hex digits. Its letters' case is only EIP-55's checksum, so
#: one address written in any case is one address.
_EVM_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
#: x402 v1 network names and the CAIP-2 ids x402 v2 names the same networks by. Source:
#: coinbase/x402, python/x402/mechanisms/evm/v1/constants.py (`V1_NETWORK_CHAIN_IDS`, and
#: its `NETWORK_ALIASES`: "base-mainnet", "mainnet") and python/x402/mechanisms/svm/
#: constants.py (`V1_TO_V2_NETWORK_MAP`).
X402_V1_NETWORKS: dict[str, str] = {
    **{
        name: f"eip155:{chain}"
        for name, chain in {
            "base": 8453,
            "base-mainnet": 8453,
            "base-sepolia": 84532,
            "ethereum": 1,
            "mainnet": 1,
            "polygon": 137,
            "polygon-amoy": 80002,
            "avalanche": 43114,
            "avalanche-fuji": 43113,
            "abstract": 2741,
            "abstract-testnet": 11124,
            "iotex": 4689,
            "sei": 1329,
            "sei-testnet": 713715,
            "peaq": 3338,
            "story": 1513,
            "educhain": 656476,
            "skale-base-sepolia": 1444673419,
            "megaeth": 4326,
            "monad": 143,
        }.items()
    },
    "solana": "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
    "solana-devnet": "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
    "solana-testnet": "solana:4uhcVJyU9pJkvQyS88uRDiswHXSCkY3z",
}


def canonical_address(value: str | None) -> str | None:
    """An address as offers are compared by: an EVM address (`0x` and 40 hex digits) in
    lower case, however its checksum cased it; anything else as written (a Solana mint or
    account is base58, whose case is part of the address)."""
    if value is not None and len(value) == 42 and _EVM_ADDRESS.fullmatch(value):
        return value.lower()
    return value


def canonical_network(network: str | None) -> str | None:
    """A network as offers are compared by: its CAIP-2 id (`"eip155:8453"`), where x402 v1
    names it (`"base"`, any case; `X402_V1_NETWORKS`); any other as written."""
    if network is None:
        return None
    return X402_V1_NETWORKS.get(network.strip().lower(), network)


def canonical_offer(offer: PaymentOption) -> PaymentOption:
    """`offer` as it is keyed and compared (a hold's key, a spend policy's limits, its
    allowed networks, assets and payees, the offer a hook says it paid): its network by its
    CAIP-2 id, its asset and payee by `canonical_address`. Two replicas that spell one offer
    two ways (a checksummed address and a lower-case one, x402 v1's `"base"` and v2's
    `"eip155:8453"`) make one offer; the offer itself, as the hook sees and pays it, is not
    changed."""
    network = canonical_network(offer.network)
    asset = canonical_address(offer.asset)
    pay_to = canonical_address(offer.pay_to)
    if network == offer.network and asset == offer.asset and pay_to == offer.pay_to:
        return offer
    return attrs.evolve(offer, network=network, asset=asset, pay_to=pay_to)


def units(amount: Decimal | int | str) -> int:
    """`amount` as an exact integer of 10^-18 units; `ValueError` when that is not exact
    (not finite, too many decimals or digits)."""
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except InvalidOperation:
        raise ValueError(f"not an amount: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    number = int("".join(map(str, digits)) or "0")
    if number and len(digits) + exponent > _MAX_INTEGER_DIGITS:
        raise ValueError(f"{amount} has more than {_MAX_INTEGER_DIGITS} integer digits")
    shift = exponent + SCALE
    if shift >= 0:
        number *= 10**shift
    elif number:
        # Only trailing zeros may be dropped; a digit below 10^-18 cannot be kept.
        if -shift > len(digits) or number % 10**-shift:
            raise ValueError(f"{amount} has more than {SCALE} decimals")
        number //= 10**-shift
    return -number if sign else number


def amount_of(count: int) -> Decimal:
    """The `Decimal` that `units` turned into `count`, exactly."""
    sign = "-" if count < 0 else ""
    text = str(abs(count)).rjust(SCALE + 1, "0")
    whole, fraction = text[:-SCALE], text[-SCALE:].rstrip("0")
    return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")


def indivisible_unit(protocol: str, unit: str | None) -> str | None:
    """The indivisible unit an offer's amount counts (`"atomic units"`, `"millisatoshis"`,
    `"base units"`), or `None` where it is a decimal amount of a currency: what the offer's
    protocol says (`PROTOCOL_UNITS`), whatever its `unit` is labelled; for a protocol of the
    application's own, what its `unit` says (`"atomic"`, `"msat"`, `"base"`)."""
    if protocol in PROTOCOL_UNITS:
        return PROTOCOL_UNITS[protocol]
    return _INDIVISIBLE_UNITS.get(unit or "")


def why_unpayable(offer: PaymentOption) -> str | None:
    """Why `offer` must never be paid, or `None`: no price, a price at or below zero, a
    fraction of an indivisible unit (`indivisible_unit`), or a price that cannot be counted
    exactly."""
    amount = offer.amount
    if amount is None:
        written = _written_amount(offer.raw)
        if written is not None:
            return (
                f"the price {written!r} cannot be read: a comma in it may be a decimal comma "
                "or a thousands separator"
            )
        return "the offer states no amount"
    if not amount.is_finite():
        return f"the price {amount} is not a number"
    if amount <= 0:
        return f"the price {amount} is not above zero"
    indivisible = indivisible_unit(offer.protocol, offer.unit)
    if indivisible is not None and amount != amount.to_integral_value():
        return f"the price {amount} is not a whole number of {indivisible}"
    try:
        units(amount)
    except ValueError as exc:
        return f"the price cannot be counted exactly ({exc})"
    return None


#: Where a protocol's offer writes its price (x402 v1 and v2, the `Payment` scheme's request).
_PRICE_NAMES = ("maxAmountRequired", "amount", "price")


def _written_amount(raw: object) -> str | None:
    """The price an offer's payload writes with a comma `as_amount` refused (`"0,50"`), to
    say why the offer has no amount; `None` when it writes none such."""
    from ._untrusted import ambiguous_amount  # the reader's own test of such a comma

    for place in (raw, raw.get("request") if isinstance(raw, dict) else None):
        if isinstance(place, dict):
            for name in _PRICE_NAMES:
                if ambiguous_amount(place.get(name)):
                    return str(place[name])[:64]
    return None


#: Bitcoin is counted in millisatoshis (L402's unit: BOLT 11 amounts) under `"BTC"`, however an
#: offer names it: the `Payment` scheme's `"sat"` (or `"BTC"`) counts satoshis, its base
#: unit ("sats for "sat"", draft-payment-intent-charge-00), a decimal amount counts bitcoins.
BITCOIN = "BTC"
_BITCOIN_NAMES = {"btc": 0, "sat": 3}  # a limit written under the name: decimals to msat
_SATS_TO_MSAT = 3
_BTC_TO_MSAT = 11


def asset_key(asset: str) -> str:
    """The key a spend policy knows `asset` by: an ISO 4217 currency by its upper-case code
    (`"usd"` and `"USD"` are one currency, counted in one unit), bitcoin by `"BTC"` (`"sat"`
    too); any other asset by `canonical_address` (an EVM token's address in lower case, a
    Solana mint as written)."""
    upper = asset.upper()
    if upper in CURRENCY_EXPONENTS:
        return upper
    if asset.lower() in _BITCOIN_NAMES:
        return BITCOIN
    return canonical_address(asset) or asset


def limit_of(asset: str, limit: Decimal) -> tuple[str, Decimal]:
    """A policy's limit written under `asset`, as the key and unit offers are counted in: a
    limit under `"sat"` counts satoshis (as the `Payment` scheme states them), so `"BTC"`
    millisatoshis a thousand times it; any other limit as it is written."""
    key = asset_key(asset)
    if key == BITCOIN:
        return key, limit.scaleb(_BITCOIN_NAMES[asset.lower()])
    return key, limit


def counted(offer: PaymentOption) -> tuple[str, Decimal] | None:
    """The key and amount a spend policy counts `offer` in: one key, one unit, whatever
    protocol states the price. An ISO 4217 currency is counted in its minor unit (base
    units: cents of `"USD"`, yen of `"JPY"`, fils of `"KWD"`) under its upper-case code, the
    unit the `Payment` scheme states (`{"amount": "1000", "currency": "USD"}` is 1000 cents)
    and the one its limits were always written in: pay per crawl's decimal amount of the
    currency (`crawler-price: USD 0.01`) is multiplied by 10 to the currency's exponent (1
    cent). Bitcoin is counted in millisatoshis under `"BTC"`, as L402 states it: the
    `Payment` scheme's satoshis (`"sat"`, or `"BTC"` in base units) times 1000. Any other
    asset is counted in the unit its protocol states (x402 atomic units of a token, the
    `Payment` scheme's atomic units of a token). `None` without an asset or amount.

    Exact: a `Decimal` shifted by a power of ten, never a float, never rounded."""
    asset, amount = offer.asset, offer.amount
    if asset is None or amount is None:
        return None
    key = asset_key(asset)
    indivisible = indivisible_unit(offer.protocol, offer.unit)
    if key == BITCOIN:
        if indivisible == "millisatoshis":
            return key, amount
        return key, amount.scaleb(_SATS_TO_MSAT if indivisible else _BTC_TO_MSAT)
    exponent = CURRENCY_EXPONENTS.get(key)
    if exponent is not None and indivisible is None:
        return key, amount.scaleb(exponent)  # a decimal amount of the currency: to base units
    return key, amount
