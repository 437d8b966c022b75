def first_item_name(cart):
    items = cart["items"]
    first = items[0]
    return first["name"] if first else ""


def newest(orders):
    return orders[-1]
