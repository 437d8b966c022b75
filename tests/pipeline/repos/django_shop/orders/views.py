from django.shortcuts import get_object_or_404, render
from shop.utils.money import format_money

from .models import Order
from .services import pricing


def order_detail(request, pk):
    order = get_object_or_404(Order, pk=pk)
    summary = pricing.summarise(order)
    return render(request, "orders/detail.html", {"order": order, "average": format_money(summary.average)})
