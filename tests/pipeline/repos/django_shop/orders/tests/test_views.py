from django.urls import reverse


def test_order_detail_shows_average(client, order):
    response = client.get(reverse("order-detail", args=[order.pk]))
    assert response.status_code == 200
