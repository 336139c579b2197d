from django.urls import path

from .views import (
    AccountScoreboardView,
    CohortsView,
    FunnelView,
    RollupView,
    ScoreboardListView,
)

urlpatterns = [
    path(
        "accounts/<int:pk>/scoreboard/",
        AccountScoreboardView.as_view(),
        name="account-scoreboard",
    ),
    path("scoreboards/", ScoreboardListView.as_view(), name="scoreboard-list"),
    path("scoreboards/rollup/", RollupView.as_view(), name="scoreboard-rollup"),
    path("metrics/cohorts/", CohortsView.as_view(), name="metrics-cohorts"),
    path("metrics/funnel/", FunnelView.as_view(), name="metrics-funnel"),
]
