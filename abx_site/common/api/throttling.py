"""Request rate limits for the API, counted in the Django cache.

With `REDIS_URL` set the cache is shared, so every web worker on every machine counts
against the same budget; without it each process counts alone (development).
"""

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from abx_site.common.models import ApiKey


class ApiRateThrottle(SimpleRateThrottle):
    """One budget per API key (by its public prefix), per staff user, or per address.

    The rate is read at request time from `ABX_API_THROTTLE_RATE` (for keys and staff)
    and `ABX_API_ANON_THROTTLE_RATE` (for callers with neither: refused logins, signed
    webhooks), so that an operator changes it through the environment alone.
    """

    cache_format = "abx-throttle:%(scope)s:%(ident)s"

    def __init__(self):
        # The rate depends on who calls; it is parsed per request in allow_request().
        pass

    def allow_request(self, request, view):
        self.scope, setting = self._scope_of(request)
        self.rate = getattr(settings, setting)
        if not self.rate:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = request.auth.prefix
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    @staticmethod
    def _scope_of(request) -> tuple[str, str]:
        if isinstance(request.auth, ApiKey):
            return "key", "ABX_API_THROTTLE_RATE"
        if request.user and request.user.is_authenticated:
            return "user", "ABX_API_THROTTLE_RATE"
        return "anon", "ABX_API_ANON_THROTTLE_RATE"
