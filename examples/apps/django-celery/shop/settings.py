"""Minimal Django settings for the Celery example (no database)."""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = False
# The stack serves this one name (stack.yaml proxy.server_name); Django refuses any other.
ALLOWED_HOSTS = ["shop.example"]
ROOT_URLCONF = "shop.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# proxy.max_body is 10m: accept every non-file body nginx lets through.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Celery reads CELERY_* settings (shop/celery.py). The broker and result backend are not set
# here: stackgen writes CELERY_BROKER_URL and CELERY_RESULT_BACKEND into every unit, and
# Celery takes those first.
CELERY_TASK_TIME_LIMIT = 120
