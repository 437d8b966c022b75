"""What a project's fix models spend, per UTC day, and the caps that stop new model calls.

Each attempt's usage is added to the project's row for the day with atomic increments, so concurrent
workers never lose a count. Before a model is asked for a fix, ``check_caps`` compares the day's and the
month's sums with the project's caps: in tokens always, in money where the project sets prices. A call
already under way may go past a cap; none starts once it is reached, until the next UTC day or month.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from bugstack.models import Project
from integrations.models import ModelSpend

MILLION = Decimal(1_000_000)
INPUT_KINDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


class SpendCapReached(Exception):
    """A cap of the project is reached: no model call starts before ``resets_at``."""

    def __init__(self, cap: str, resets_at: datetime) -> None:
        super().__init__(f"the project's {cap} is reached; it resets at {resets_at:%Y-%m-%d %H:%M} UTC")
        self.cap = cap
        self.resets_at = resets_at


def record(project: Project, usage: Mapping[str, int], at: datetime | None = None) -> None:
    """Add one attempt's usage (``FixAttempt.usage``) to the project's spend for the UTC day."""
    input_tokens = sum(int(usage.get(kind) or 0) for kind in INPUT_KINDS)
    output_tokens = int(usage.get("output_tokens") or 0)
    if not input_tokens and not output_tokens:
        return  # the offline rules, or a server that reports no usage
    day = utc_now(at).date()
    with transaction.atomic():
        ModelSpend.objects.get_or_create(project=project, day=day)
        ModelSpend.objects.filter(project=project, day=day).update(
            calls=F("calls") + 1,
            input_tokens=F("input_tokens") + input_tokens,
            output_tokens=F("output_tokens") + output_tokens,
            cost=F("cost") + cost(project, input_tokens, output_tokens),
        )


def cost(project: Project, input_tokens: int, output_tokens: int) -> Decimal:
    """The price of the tokens at the project's prices; 0 for a price not set."""
    input_price = project.price_per_million_input_tokens or Decimal(0)
    output_price = project.price_per_million_output_tokens or Decimal(0)
    return (input_tokens * input_price + output_tokens * output_price) / MILLION


def charges_money(project: Project) -> bool:
    return project.price_per_million_input_tokens is not None or (
        project.price_per_million_output_tokens is not None
    )


def check_caps(project: Project, at: datetime | None = None) -> None:
    """Raise ``SpendCapReached`` for the reached cap that resets last; return when none is reached."""
    now = utc_now(at)
    today = now.date()
    first_of_month = today.replace(day=1)
    periods = [
        ("daily", today, next_day(today), project.daily_token_cap, project.daily_spend_cap),
        (
            "monthly",
            first_of_month,
            next_month(first_of_month),
            project.monthly_token_cap,
            project.monthly_spend_cap,
        ),
    ]
    reached = None
    for period, start, end, token_cap, money_cap in periods:
        if token_cap is None and (money_cap is None or not charges_money(project)):
            continue
        spent = totals(project, start, end)
        resets_at = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
        if token_cap is not None and spent["tokens"] >= token_cap:
            reached = SpendCapReached(f"{period} token cap ({token_cap:,} tokens)", resets_at)
        elif money_cap is not None and charges_money(project) and spent["cost"] >= money_cap:
            reached = SpendCapReached(f"{period} spend cap ({money_cap})", resets_at)
    if reached is not None:
        raise reached


def totals(project: Project, start: date, end: date) -> dict:
    """Tokens and cost the project's models used on the days from ``start`` up to ``end``."""
    sums = ModelSpend.objects.filter(project=project, day__gte=start, day__lt=end).aggregate(
        input=Sum("input_tokens"), output=Sum("output_tokens"), cost=Sum("cost")
    )
    return {
        "tokens": (sums["input"] or 0) + (sums["output"] or 0),
        "cost": sums["cost"] or Decimal(0),
    }


def current_spend(project: Project, at: datetime | None = None) -> dict[str, dict]:
    """Today's and this month's tokens and cost, for people."""
    today = utc_now(at).date()
    first_of_month = today.replace(day=1)
    return {
        "today": totals(project, today, next_day(today)),
        "month": totals(project, first_of_month, next_month(first_of_month)),
    }


def utc_now(at: datetime | None) -> datetime:
    return (at or timezone.now()).astimezone(UTC)


def next_day(day: date) -> date:
    return day + timedelta(days=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
