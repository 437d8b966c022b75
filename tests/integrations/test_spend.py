"""Model spend per project and UTC day, and the caps that stop new model calls until they reset."""

from datetime import UTC, datetime
from decimal import Decimal
from threading import Thread

import pytest
from django.db import connection

from integrations.models import ModelSpend
from integrations.providers.spend import SpendCapReached, check_caps, current_spend, record

NOON = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
USAGE = {"input_tokens": 600, "cache_read_input_tokens": 400, "output_tokens": 250}


def with_caps(project, **fields):
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    return project


def test_usage_adds_up_per_project_and_day_with_its_cost(project):
    with_caps(project, price_per_million_input_tokens=Decimal(3), price_per_million_output_tokens=Decimal(15))

    record(project, USAGE, at=NOON)
    record(project, USAGE, at=NOON)
    record(project, USAGE, at=datetime(2026, 4, 1, 0, 0, tzinfo=UTC))

    march, april = ModelSpend.objects.filter(project=project).order_by("day")
    assert (march.day.isoformat(), march.calls, march.input_tokens, march.output_tokens) == (
        "2026-03-31",
        2,
        2000,
        500,
    )
    assert march.cost == Decimal("0.013500")  # 2,000 × 3 + 500 × 15 per million
    assert (april.calls, april.tokens) == (1, 1250)
    assert current_spend(project, at=NOON) == {
        "today": {"tokens": 2500, "cost": Decimal("0.013500")},
        "month": {"tokens": 2500, "cost": Decimal("0.013500")},
    }


def test_usage_without_tokens_is_not_recorded(project):
    record(project, {"input_tokens": 0, "output_tokens": 0}, at=NOON)

    assert not ModelSpend.objects.exists()


def test_a_daily_token_cap_stops_calls_until_the_next_utc_day(project):
    with_caps(project, daily_token_cap=2000)
    record(project, USAGE, at=NOON)
    check_caps(project, at=NOON)  # 1,250 of 2,000: calls go on

    record(project, USAGE, at=NOON)
    with pytest.raises(SpendCapReached) as reached:
        check_caps(project, at=NOON)

    assert reached.value.resets_at == datetime(2026, 4, 1, tzinfo=UTC)
    assert str(reached.value) == (
        "the project's daily token cap (2,000 tokens) is reached; it resets at 2026-04-01 00:00 UTC"
    )
    check_caps(project, at=datetime(2026, 4, 1, 0, 0, 1, tzinfo=UTC))


def test_a_monthly_money_cap_counts_only_where_prices_are_set_and_resets_next_month(project):
    with_caps(project, monthly_spend_cap=Decimal("0.01"))
    record(project, USAGE, at=NOON)
    check_caps(project, at=NOON)  # no prices: nothing is charged, the money cap cannot be reached

    with_caps(
        project, price_per_million_input_tokens=Decimal(10), price_per_million_output_tokens=Decimal(30)
    )
    record(project, USAGE, at=NOON)
    with pytest.raises(SpendCapReached, match=r"monthly spend cap \(0.01\)") as reached:
        check_caps(project, at=NOON)

    assert reached.value.resets_at == datetime(2026, 4, 1, tzinfo=UTC)


def test_when_both_caps_are_reached_the_run_waits_for_the_later_reset(project):
    with_caps(project, daily_token_cap=100, monthly_token_cap=100)
    record(project, USAGE, at=datetime(2026, 2, 10, tzinfo=UTC))

    with pytest.raises(SpendCapReached, match="monthly token cap") as reached:
        check_caps(project, at=datetime(2026, 2, 10, 9, tzinfo=UTC))

    assert reached.value.resets_at == datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_concurrent_records_lose_no_count(project):
    def add() -> None:
        try:
            for _ in range(5):
                record(project, USAGE, at=NOON)
        finally:
            connection.close()

    workers = [Thread(target=add) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    spend = ModelSpend.objects.get(project=project)
    assert (spend.calls, spend.tokens) == (20, 20 * 1250)


def test_admin_lists_spend_per_project_per_day(admin_client, project):
    record(project, USAGE, at=NOON)

    page = admin_client.get("/admin/integrations/modelspend/").content.decode()

    assert "March 31, 2026</a>" in page and f'"field-project nowrap">{project.name}<' in page
    assert '<td class="field-total_tokens">1250</td>' in page
