from django.urls import path

from .task_views import task_action

urlpatterns = [
    path(
        "tasks/<int:pk>/<slug:action>/",
        task_action,
        name="task-action",
    ),
]
