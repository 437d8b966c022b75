# ruff: noqa: F821 - the missing import is the bug this repository reproduces
"""Cart totals."""

from decimal import Decimal


def total_cents(prices):
    return sum(to_cents(Decimal(str(price))) for price in prices)
