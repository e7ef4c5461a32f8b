"""Minimal Django settings for the Celery example (no database)."""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Celery reads CELERY_* settings (shop/celery.py). The broker and result backend are not set
# here: stackgen writes CELERY_BROKER_URL and CELERY_RESULT_BACKEND into every unit, and
# Celery takes those first.
CELERY_TASK_TIME_LIMIT = 120
