"""The comparator the doc-output tests use: it tolerates rounding noise and nothing more."""

from __future__ import annotations

import doctest

from hypothesis import given
from hypothesis import strategies as st

import printout
from printout import same_line, same_printout


def test_its_examples_run():
    assert doctest.testmod(printout).failed == 0


def test_error_estimates_are_noise_in_either_form():
    assert same_line("W (2, 3) 2.4e-10 0.0e+00 ok", "W (2, 3) 2.4e-10 3.1e-16 ok")
    assert same_line("rel err 1.5e-09", "rel err 1.6e-09")


def test_one_unit_in_the_last_digit_and_the_sign_of_zero_are_noise():
    assert same_line("0.731059", "0.73106") and same_line("[-0.5, -0. ]", "[-0.5,  0. ]")
    assert same_line("-0.000977061", "-0.000977062")


def test_real_differences_are_reported():
    assert not same_line("0.731059", "0.731061")  # two units
    assert not same_line("6/6 PASS", "5/6 PASS") and not same_line("exit 2", "exit 1")
    assert not same_line("da/dx0 = a*w0*(1 - a)", "da/dx0 = a*w1*(1 - a)")
    assert not same_line("ok", "FAIL") and not same_line("1.5e-09", "0.0015")
    assert same_printout("a b c", "a b") == "the page shows more: 'c'"


def test_column_padding_is_not_compared():
    assert same_line("x      (3,)    ok", "x  (3,)  ok")


@given(st.floats(-1e6, 1e6, allow_nan=False), st.integers(1, 8))
def test_a_number_printed_twice_at_one_precision_matches_itself_nudged(x, decimals):
    nudged = x + 0.4 * 10.0 ** -decimals
    assert same_line(f"{x:.{decimals}f}", f"{nudged:.{decimals}f}")
