import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scorecards_site.settings.base")

app = Celery("scorecards")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
