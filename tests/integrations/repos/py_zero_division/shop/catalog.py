def average_rating(product):
    ratings = [review.stars for review in product.reviews]
    return sum(ratings) / len(ratings)


def share_percent(part, total):
    ratio = part / total
    return round(ratio * 100, 1)
