from django.urls import path
from rest_framework.routers import SimpleRouter

from .timeline import AccountTimelineView
from .views import AccountArrViewSet, AccountViewSet, ContactViewSet, DealViewSet

router = SimpleRouter()
router.register("accounts", AccountViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("deals", DealViewSet, basename="deal")

urlpatterns = [
    *router.urls,
    path(
        "accounts/<int:account_pk>/arr/",
        AccountArrViewSet.as_view({"get": "list", "post": "create"}),
        name="account-arr",
    ),
    path("accounts/<int:pk>/timeline/", AccountTimelineView.as_view(), name="account-timeline"),
]
