"""The cost rules (tariffs.pricing): fee + energy + time, rounded once, half up, to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tariffs.pricing import Prices, cost, minor_unit

prices = st.decimals(min_value=0, max_value=1000, places=6, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["EUR", "USD", "JPY", "KWD", "CLF"])


def eur(energy: str = "0", time: str = "0", fee: str = "0", currency: str = "EUR") -> Prices:
    return Prices(currency, Decimal(energy), Decimal(time), Decimal(fee))


def test_fee_energy_and_time_add_up() -> None:
    # 0.50 + 12.345 kWh x 0.29 + 1.5 h x 2 = 7.08005: 7.08.
    assert cost(eur("0.29", "2", "0.50"), energy_wh=12345, charging_seconds=5400) == Decimal("7.08")


def test_half_a_cent_rounds_up() -> None:
    assert cost(eur("0.01"), energy_wh=500, charging_seconds=0) == Decimal("0.01")  # 0.005
    assert cost(eur("0.01"), energy_wh=499, charging_seconds=0) == Decimal("0.00")


def test_minor_units_of_iso_4217() -> None:
    assert [minor_unit(code) for code in ("EUR", "JPY", "KWD", "CLF", "XYZ")] == [2, 0, 3, 4, 2]
    assert cost(eur("45", currency="JPY"), energy_wh=1700, charging_seconds=0) == Decimal("77")
    assert cost(eur("0.1234", currency="KWD"), energy_wh=1000, charging_seconds=0) == Decimal("0.123")


def test_no_energy_or_energy_below_zero_costs_the_fee() -> None:
    for wh in (None, 0, -5000):
        assert cost(eur("1", "1", "0.75"), energy_wh=wh, charging_seconds=None) == Decimal("0.75")


@given(
    energy=prices,
    time=prices,
    fee=prices,
    currency=currencies,
    wh=st.integers(0, 10**9),
    seconds=st.integers(0, 10**7),
    more_wh=st.integers(0, 10**6),
    more_seconds=st.integers(0, 10**5),
)
def test_cost_is_the_exact_sum_rounded_and_never_falls_as_a_session_goes_on(
    energy: Decimal,
    time: Decimal,
    fee: Decimal,
    currency: str,
    wh: int,
    seconds: int,
    more_wh: int,
    more_seconds: int,
) -> None:
    tariff = Prices(currency, energy, time, fee)
    total = cost(tariff, energy_wh=wh, charging_seconds=seconds)
    exact = fee + Decimal(wh) / 1000 * energy + Decimal(seconds) / 3600 * time
    unit = Decimal(1).scaleb(-minor_unit(currency))
    assert -total.as_tuple().exponent == minor_unit(currency)  # type: ignore[operator]
    assert abs(total - exact) <= unit / 2
    assert cost(tariff, energy_wh=wh + more_wh, charging_seconds=seconds + more_seconds) >= total
