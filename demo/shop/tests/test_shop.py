from decimal import Decimal

from flask.testing import FlaskClient
from shop.catalog import CATALOGUE, average_rating, cart_total


def test_the_index_lists_every_product_with_its_price(client: FlaskClient) -> None:
    products = client.get("/").json["products"]
    assert [p["name"] for p in products] == ["Espresso cup", "Moka pot", "Milk frother"]
    assert products[1]["price"] == "34.00"


def test_a_reviewed_product_shows_its_reviews_and_average_rating(client: FlaskClient) -> None:
    response = client.get("/products/1")
    assert response.status_code == 200
    assert response.json["average_rating"] == 4.5
    assert [r["author"] for r in response.json["reviews"]] == ["ana", "ben"]


def test_average_rating_is_the_mean_of_the_stars() -> None:
    assert average_rating(CATALOGUE[2]) == 4.0


def test_an_unknown_product_is_a_404_that_says_so(client: FlaskClient) -> None:
    response = client.get("/products/99")
    assert response.status_code == 404
    assert response.json == {"error": "no product with id 99"}


def test_the_cart_total_adds_up_quantities_of_the_same_product(client: FlaskClient) -> None:
    items = [
        {"product_id": 1, "quantity": 2},
        {"product_id": 2, "quantity": 1},
        {"product_id": 1, "quantity": 1},
    ]
    response = client.post("/cart/total", json={"items": items})
    assert response.status_code == 200
    assert response.json == {"total": "59.50"}
    assert cart_total({1: 3, 2: 1}) == Decimal("59.50")


def test_a_bad_cart_is_a_400_naming_the_item(client: FlaskClient) -> None:
    response = client.post("/cart/total", json={"items": [{"product_id": 1, "quantity": 0}]})
    assert response.status_code == 400
    assert response.json == {"error": "items[0].quantity: must be a whole number of at least 1"}
    assert client.post("/cart/total", data="not json").status_code == 400


def test_the_health_check_answers(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
