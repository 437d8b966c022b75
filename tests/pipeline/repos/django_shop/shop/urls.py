from catalog import views as catalog_views
from django.urls import path
from orders import views as order_views

urlpatterns = [
    path("products/<slug:slug>/", catalog_views.product_detail, name="product-detail"),
    path("orders/<int:pk>/", order_views.order_detail, name="order-detail"),
]
