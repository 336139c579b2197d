from django.urls import path

from . import views

app_name = "pages"

urlpatterns = [
    path("accounts/", views.account_list, name="account-list"),
    path("accounts/<int:pk>/", views.account_detail, name="account-detail"),
    path("accounts/<int:pk>/panels/<slug:key>/", views.account_panel, name="account-panel"),
    path("scoreboard/", views.scoreboard, name="scoreboard"),
    path("tasks/", views.task_inbox, name="tasks"),
]
