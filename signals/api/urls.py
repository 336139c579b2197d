from django.urls import path

from .views import AccountResolveView, SignalListCreateView

# Included before the accounts API so that `accounts/resolve/` is not read as an id.
urlpatterns = [
    path("signals/", SignalListCreateView.as_view(), name="signal-list"),
    path("accounts/resolve/", AccountResolveView.as_view(), name="account-resolve"),
]
