"""Money in, money out: the one amount parser keeps every valid amount exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from rapport.sales.services import MAX_AMOUNT, clean_amount

cents = st.decimals(
    min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False
)


@given(cents)
def test_a_valid_amount_comes_back_exactly_and_parsing_again_changes_nothing(amount: Decimal):
    errors: dict = {}
    once = clean_amount(errors, str(amount))
    assert errors == {} and once == amount
    assert clean_amount(errors, str(once)) == once and str(once) == f"{once:.2f}"


@given(st.decimals(min_value=0, max_value=1000, places=3, allow_nan=False, allow_infinity=False))
def test_a_third_decimal_is_refused_never_rounded_away(amount: Decimal):
    errors: dict = {}
    result = clean_amount(errors, str(amount))
    if amount == amount.quantize(Decimal("0.01")):
        assert result == amount
    else:
        assert result is None and "amount" in errors
