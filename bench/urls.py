"""The product's URLs plus the naive baseline endpoint, for benchmark runs only."""

from django.urls import path

from abx_site.urls import urlpatterns as product_urlpatterns

from .naive import MinimalAccountView, NaiveSignalCreateView

urlpatterns = [
    *product_urlpatterns,
    path("bench/naive-signals/", NaiveSignalCreateView.as_view(), name="bench-naive-signals"),
    path("bench/minimal-account/<int:pk>/", MinimalAccountView.as_view(), name="bench-account"),
]
