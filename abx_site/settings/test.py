"""Test settings: the base settings with fast hashing and tasks run in-process."""

import os
import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, Q_CLUSTER

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# `sync` runs each queued task inline, through the same code path as the worker.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
WHITENOISE_AUTOREFRESH = True
# Webhook tests call a real receiver on this machine.
ABX_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real worker process can share the test database;
    # one per test run, so that runs side by side do not meet.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"abx-test-{os.getpid()}.sqlite3")
    }
