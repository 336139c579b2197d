from rest_framework.routers import SimpleRouter

from .views import ActivationViewSet, PlaybookViewSet

router = SimpleRouter()
router.register("playbooks", PlaybookViewSet, basename="playbook")
router.register("activations", ActivationViewSet, basename="activation")

urlpatterns = router.urls
