def price_with_discount(item):
    return item["price"] - item["discount"]
