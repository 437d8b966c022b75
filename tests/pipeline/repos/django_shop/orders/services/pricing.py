from dataclasses import dataclass
from decimal import Decimal

from shop import legacy

from ..models import OrderLine


@dataclass(frozen=True)
class Summary:
    total: Decimal
    average: Decimal
    label: str


def summarise(order) -> Summary:
    lines = list(OrderLine.objects.filter(order=order))
    total = sum((line.unit_price * line.quantity for line in lines), Decimal(0))
    return Summary(total=total, average=total / len(lines), label=legacy.LABELS["total"])
