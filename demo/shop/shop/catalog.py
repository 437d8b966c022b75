"""The shop's catalogue: products and their reviews, kept in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Review:
    author: str
    stars: int
    text: str = ""


@dataclass(frozen=True)
class Product:
    id: int
    name: str
    price: Decimal
    reviews: tuple[Review, ...] = field(default=())


CATALOGUE: dict[int, Product] = {
    product.id: product
    for product in (
        Product(
            1,
            "Espresso cup",
            Decimal("8.50"),
            (Review("ana", 5, "Keeps the crema."), Review("ben", 4, "A little small.")),
        ),
        Product(
            2,
            "Moka pot",
            Decimal("34.00"),
            (Review("chloe", 5), Review("dev", 5), Review("eli", 2, "The handle got loose.")),
        ),
        Product(3, "Milk frother", Decimal("59.90")),  # new in stock: nobody has reviewed it yet
    )
}


def find_product(product_id: int) -> Product | None:
    return CATALOGUE.get(product_id)


def average_rating(product):
    ratings = [review.stars for review in product.reviews]
    return sum(ratings) / len(ratings)


def cart_total(quantities: dict[int, int]) -> Decimal:
    """Price of ``{product id: quantity}``; unknown products raise ``KeyError``."""
    return sum((CATALOGUE[pid].price * qty for pid, qty in quantities.items()), Decimal("0.00"))
