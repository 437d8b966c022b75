from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def format_money(amount: Decimal, currency: str = "EUR") -> str:
    return f"{amount.quantize(CENT, rounding=ROUND_HALF_UP)} {currency}"
