"""Test settings: PostgreSQL when DATABASE_URL says so (CI always does), fast hashing, eager Celery."""

import os

from .base import *  # noqa: F403
from .base import DATA_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
GIT_CACHE_DIR = DATA_DIR / "test-git-cache" / str(os.getpid())
