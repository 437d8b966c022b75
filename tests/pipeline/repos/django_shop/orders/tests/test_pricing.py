from orders.services.pricing import summarise


def test_summarise_totals_lines(order):
    assert summarise(order).total > 0
