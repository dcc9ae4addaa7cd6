"""Test settings: PostgreSQL when DATABASE_URL says so (CI always does), fast hashing, eager Celery."""

import os

# Before base reads it: tests need no key of their own, and the processes they start inherit this one.
os.environ.setdefault("SECRET_KEY", "test-only-key-" + "x" * 50)

from .base import *  # noqa: E402, F403
from .base import DATA_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
GIT_CACHE_DIR = DATA_DIR / "test-git-cache" / str(os.getpid())
