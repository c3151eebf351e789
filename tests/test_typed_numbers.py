"""The one rule for numbers typed into the hub's forms (halric.web.numbers); the forms themselves are
tested in tests/calls/test_typed_numbers.py."""

from __future__ import annotations

import pytest

from halric.web.numbers import NumberError, normalise


@pytest.mark.parametrize(("typed", "read"), [
    ("6 500,50", "6500.50"), ("6\u00a0500,50", "6500.50"), ("1.234,50", "1234.50"), ("1,234.50", "1234.50"),
    ("1'000", "1000"), ("1.000.000", "1000000"), ("1,000,000", "1000000"), ("12,5", "12.5"), ("12.5", "12.5"),
    ("0,125", "0.125"), ("12.345", "12.345"), ("20.000", "20.000"), ("123456,789", "123456.789"), ("-3", "-3"), ("7000.10", "7000.10"), ("", ""),
])  # fmt: skip
def test_numbers_are_read_the_way_they_are_written(typed, read):
    assert normalise(typed) == read


@pytest.mark.parametrize("typed", ["1,500", "20,000", "999,000"])
def test_a_number_that_reads_two_ways_is_refused_with_both_readings(typed):
    with pytest.raises(NumberError) as err:
        normalise(typed)
    whole, frac = typed.replace(",", ".").split(".")
    assert f"{whole}{frac}" in str(err.value)


@pytest.mark.parametrize("typed", ["abc", "1,2,3", "1.2345,6", "12 parsecs", "--1"])
def test_text_that_is_no_number_says_how_to_write_one(typed):
    with pytest.raises(NumberError, match="not a number"):
        normalise(typed)


@pytest.mark.parametrize("typed", ["20.000", "1,500", "999.000"])
def test_money_with_three_decimals_reads_two_ways_and_is_refused(typed):
    with pytest.raises(NumberError, match="could mean"):
        normalise(typed, money=True)
    assert normalise("20.50", money=True) == "20.50" and normalise("0.125", money=True) == "0.125"
