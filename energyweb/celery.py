import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "energyweb.settings")

app = Celery("energyweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
