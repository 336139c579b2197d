from rest_framework import permissions

from abx_site.common.models import ApiKey

SESSION_PERMISSIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class HasScope(permissions.BasePermission):
    """API keys need the view's scope; browser sessions need staff and model permissions.

    A view names `read_scope` (safe methods) and `write_scope` (the others). Logged-in
    staff act with their group permissions on the view's model instead.
    """

    def has_permission(self, request, view):
        scope = required_scope(request, view)
        if isinstance(request.auth, ApiKey):
            if scope is not None and request.auth.has_scope(scope):
                return True
            self.message = f"This API key lacks the '{scope}' scope."
            return False
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        model = getattr(getattr(view, "queryset", None), "model", None)
        if model is None:
            return True
        action = SESSION_PERMISSIONS[request.method]
        codename = f"{model._meta.app_label}.{action}_{model._meta.model_name}"
        self.message = f"Your account lacks the '{codename}' permission."
        return user.has_perm(codename)


def required_scope(request, view) -> str | None:
    if request.method in permissions.SAFE_METHODS:
        return getattr(view, "read_scope", None)
    return getattr(view, "write_scope", None)


class StaffOrAnyApiKey(permissions.BasePermission):
    """The OpenAPI schema and docs: any valid API key, or a logged-in staff member.

    The schema shows no data, but it maps the whole surface, so strangers do not get it;
    whoever may call some endpoint may read how all of them work.
    """

    def has_permission(self, request, view):
        if isinstance(request.auth, ApiKey):
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
