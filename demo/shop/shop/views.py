"""The shop's HTTP API."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, jsonify, request
from werkzeug.exceptions import BadRequest

from shop.catalog import CATALOGUE, average_rating, cart_total, find_product

bp = Blueprint("shop", __name__)


@bp.get("/")
def index():
    return jsonify(products=[{"id": p.id, "name": p.name, "price": str(p.price)} for p in CATALOGUE.values()])


@bp.get("/products/<int:product_id>")
def product_detail(product_id: int):
    product = find_product(product_id)
    if product is None:
        abort(404, description=f"no product with id {product_id}")
    return jsonify(
        id=product.id,
        name=product.name,
        price=str(product.price),
        reviews=[{"author": r.author, "stars": r.stars, "text": r.text} for r in product.reviews],
        average_rating=average_rating(product),
    )


@bp.post("/cart/total")
def total():
    quantities = parse_cart(request.get_json(silent=True))
    return jsonify(total=str(cart_total(quantities)))


def parse_cart(body: Any) -> dict[int, int]:
    """``{"items": [{"product_id": 1, "quantity": 2}, …]}`` → ``{1: 2}``, or a 400 naming the problem."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        raise BadRequest('expected a JSON object like {"items": [{"product_id": 1, "quantity": 2}]}')
    quantities: dict[int, int] = {}
    for index, item in enumerate(body["items"]):
        pid = item.get("product_id") if isinstance(item, dict) else None
        qty = item.get("quantity") if isinstance(item, dict) else None
        if type(pid) is not int or pid not in CATALOGUE:
            raise BadRequest(f"items[{index}].product_id: no product with id {pid!r}")
        if type(qty) is not int or qty < 1:
            raise BadRequest(f"items[{index}].quantity: must be a whole number of at least 1")
        quantities[pid] = quantities.get(pid, 0) + qty
    return quantities


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.app_errorhandler(400)
@bp.app_errorhandler(404)
def client_error(error):
    return jsonify(error=error.description), error.code
