"""Dates in the common forms (issue 13): one parser for data-dictionary dates on every path."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapport.customers.normalize import date_order_for, full_year, parse_date

MARCH_12 = dt.date(1985, 3, 12)


@pytest.mark.parametrize(
    "text",
    [
        "1985-03-12", "1985/03/12", "1985-3-12", "19850312", "1985-03-12 00:00:00",
        "1985-03-12T10:30:00Z", "12.03.1985", "12.3.1985", "12 March 1985", "March 12, 1985",
        "12-Mar-1985", "Mar 12 1985", "12 mar 85", "  12   March 1985 ",
    ],
)  # fmt: skip
def test_the_common_forms_of_one_date_are_read_alike(text):
    assert parse_date(text) == MARCH_12


def test_slashes_are_read_by_the_order_where_both_parts_could_be_a_month():
    assert parse_date("12/03/1985", order="dmy") == MARCH_12
    assert parse_date("03/12/1985", order="mdy") == MARCH_12
    with pytest.raises(ValueError, match="could be 12 March or 3 December"):
        parse_date("12/03/1985")
    # A part over 12 can only be the day, whatever the order says.
    assert (
        parse_date("25/12/1985", order="mdy")
        == parse_date("12/25/1985", order="dmy")
        == dt.date(1985, 12, 25)
    )
    assert parse_date("07/07/1985") == dt.date(1985, 7, 7)
    assert date_order_for("US") == "mdy" and date_order_for("GB") == date_order_for("DE") == "dmy"


def test_two_digit_years_fall_in_the_hundred_years_ending_this_year():
    today = dt.date(2026, 6, 1)
    assert full_year(26, today=today) == 2026
    assert full_year(27, today=today) == 1927
    assert full_year(85, today=today) == 1985
    assert parse_date("12.03.85") == MARCH_12


def test_excel_serial_days_only_where_the_file_is_a_workbook():
    assert parse_date("31118", excel=True) == MARCH_12
    with pytest.raises(ValueError):
        parse_date("31118")


@pytest.mark.parametrize("text", ["0000-00-00", "00.00.0000", "00/00/0000", "00000000", ""])
def test_a_legacy_zero_date_is_no_date(text):
    assert parse_date(text) is None


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1985-02-30", "no day 30 in month 2"),
        ("31.04.1985", "no day 31 in month 4"),
        ("March 1985", "not a whole date"),
        ("soon", "is not a date"),
        ("12/13/14/15", "is not a date"),
    ],
)
def test_a_date_that_cannot_be_read_says_why(text, why):
    with pytest.raises(ValueError, match=why):
        parse_date(text)


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_every_date_reads_back_from_its_iso_compact_and_dotted_forms(day):
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%Y%m%d")) == day
    assert parse_date(f"{day.day}.{day.month}.{day.year}") == day
    assert parse_date(f"{day.day} {day.strftime('%B')} {day.year}") == day
