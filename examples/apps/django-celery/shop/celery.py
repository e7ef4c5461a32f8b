"""The Celery app, as Celery's "First steps with Django" makes one (stack.yaml tasks.app:
shop.celery:app)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task
def add(x, y):
    return x + y
