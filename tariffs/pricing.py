"""What a session costs under a tariff: pure arithmetic on Decimals, no database.

cost = session fee + kWh delivered x price per kWh + hours charging x price per hour, rounded once, at the
end, half up, to the currency's minor unit (ISO 4217: EUR cents, JPY whole yen, KWD fils). Energy below
zero (a meter replaced mid-session) counts as none.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 currencies whose minor unit is not the hundredth; every other has two decimals.
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI"), 0),
    **dict.fromkeys(("VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    "CLF": 4,
    "UYW": 4,
}
_WH_PER_KWH = Decimal(1000)
_SECONDS_PER_HOUR = Decimal(3600)


def minor_unit(currency: str) -> int:
    """The currency's number of decimals (2 unless ISO 4217 says otherwise)."""
    return _MINOR_UNITS.get(currency, 2)


@dataclasses.dataclass(frozen=True)
class Prices:
    """A tariff's prices, as the session services read them (from a Tariff or from their own SQL)."""

    currency: str
    energy_price: Decimal  # per kWh
    time_price: Decimal  # per hour charging
    session_fee: Decimal


def cost(prices: Prices, *, energy_wh: int | None, charging_seconds: int | None) -> Decimal:
    """The session's cost so far (or final), rounded to the currency's minor unit."""
    wh = max(energy_wh or 0, 0)
    seconds = max(charging_seconds or 0, 0)
    exact = (
        prices.session_fee
        + Decimal(wh) / _WH_PER_KWH * prices.energy_price
        + Decimal(seconds) / _SECONDS_PER_HOUR * prices.time_price
    )
    return rounded(exact, prices.currency)


def rounded(amount: Decimal, currency: str) -> Decimal:
    """``amount`` to the currency's minor unit, half up (a stored 2.9000 EUR reads 2.90)."""
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


def wire(amount: Decimal) -> float:
    """The cost as OCPP's totalCost (a JSON number) spells it."""
    return float(amount)
