from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import CampaignAudienceView, PersonalizationView, TaskViewSet

router = SimpleRouter()
router.register("tasks", TaskViewSet, basename="task")

urlpatterns = [
    *router.urls,
    path(
        "campaigns/<int:campaign_id>/audience/",
        CampaignAudienceView.as_view({"get": "list"}),
        name="campaign-audience",
    ),
    path("personalization/", PersonalizationView.as_view(), name="personalization"),
]
