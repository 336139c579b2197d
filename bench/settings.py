"""Settings for benchmark runs: production-like (no debug query log), on loopback."""

from abx_site.settings.base import *  # noqa: F403
from abx_site.settings.base import LOGGING

# With DEBUG on, Django keeps every query in memory: timings and peak memory would lie.
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
SECURE_SSL_REDIRECT = False
ROOT_URLCONF = "bench.urls"
LOGGING = {**LOGGING, "root": {**LOGGING["root"], "level": "WARNING"}}

# The static files are not collected for a benchmark run; no page here needs them.
WHITENOISE_AUTOREFRESH = True
