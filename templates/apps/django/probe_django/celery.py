"""The probe's Celery app, as Celery's "First steps with Django" makes one: configured from
Django's settings (CELERY_* names), tasks.app of a probe stack: probe_django.celery:app.

Broker and result backend come from CELERY_BROKER_URL and CELERY_RESULT_BACKEND, which
stackgen writes into the web app's and the workers' units; Celery reads them first."""

import os
import time

import probe_contract as pc
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "probe_django.settings")

app = Celery("probe_django")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="stackgen_probe.slow")
def slow_task(ms):
    start = time.time()
    time.sleep(ms / 1000)
    return pc.task_payload(ms, start, time.time())
