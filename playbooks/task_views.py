"""Task inbox actions: complete or dismiss one's own task (POST with CSRF).

Without JavaScript the form posts and the inbox opens again with a message; with htmx
the row is swapped out in place.
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from accounts.web.views import staff_required

from .choices_execution import OPEN_TASK_STATUSES, TaskStatus
from .models import Task
from .services_execution import task_update

ACTIONS = {
    "complete": (TaskStatus.DONE, "completed"),
    "dismiss": (TaskStatus.DISMISSED, "dismissed"),
}


@require_POST
@staff_required
def task_action(request, pk, action):
    if action not in ACTIONS:
        raise Http404("No such action.")
    # Only the assignee acts from the inbox; someone else's task is not found here.
    task = get_object_or_404(Task, pk=pk, assignee=request.user, status__in=OPEN_TASK_STATUSES)
    status, done = ACTIONS[action]
    task_update(task=task, data={"status": status})
    if request.htmx:
        return HttpResponse("")
    messages.success(request, f"Task {done}: {task.title}")
    return redirect("pages:tasks")
