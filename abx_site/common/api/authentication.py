from datetime import timedelta

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions

from abx_site.common.models import ApiKey

KEYWORD = "Api-Key"
# Recording every use would turn each read into a write; once a minute is enough to
# show in the admin which keys are alive.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Api-Key <key>`; `request.auth` is the ApiKey.

    `request.user` is the key's bound user, or an anonymous user for an unbound key.
    """

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        keyword, _, key = header.partition(" ")
        if keyword != KEYWORD:
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("No API key given after 'Api-Key'.")
        try:
            api_key = ApiKey.objects.get_from_key(key)
        except ApiKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.") from None
        if api_key.has_expired:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        if api_key.user is not None and not api_key.user.is_active:
            raise exceptions.AuthenticationFailed("This API key's user is inactive.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return (api_key.user or AnonymousUser(), api_key)

    def authenticate_header(self, request):
        return KEYWORD
