from django.urls import path

from .views import AccountResolveView, SignalListCreateView, SignalWebhookView

# Included before the accounts API so that `accounts/resolve/` is not read as an id.
urlpatterns = [
    path("signals/", SignalListCreateView.as_view(), name="signal-list"),
    path("signals/webhook/<slug:source>/", SignalWebhookView.as_view(), name="signal-webhook"),
    path("accounts/resolve/", AccountResolveView.as_view(), name="account-resolve"),
]
