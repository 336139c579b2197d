from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

api_v1 = [
    path("", include("signals.api.urls")),
    path("", include("accounts.api.urls")),
    path("", include("metrics.api.urls")),
    path("", include("playbooks.api_execution.urls")),
    path("", include("playbooks.api.urls")),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="pages:account-list", permanent=False)),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include("accounts.web.urls")),
    path("", include("playbooks.task_urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The docs pages are for people: a visitor who is not logged in is sent to log in.
    path(
        "api/docs/",
        staff_member_required(SpectacularSwaggerView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path(
        "api/redoc/",
        staff_member_required(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]

admin.site.site_header = "ABX Ops"
admin.site.site_title = "ABX Ops"
admin.site.index_title = "Accounts, signals, scores and playbooks"
