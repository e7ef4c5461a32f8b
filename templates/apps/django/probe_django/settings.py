"""stackgen probe app: minimal Django settings (no database, no templates, no middleware).

No middleware on purpose: CommonMiddleware would redirect to add slashes and a
sync-only middleware would push the async probe views onto a thread under ASGI."""

SECRET_KEY = "stackgen-probe-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "probe_django.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
TEMPLATES = []
USE_TZ = True
WSGI_APPLICATION = "probe_django.wsgi.application"
ASGI_APPLICATION = "probe_django.asgi.application"
# Body and field limits belong to the proxy under test, not to the probe app.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
DATA_UPLOAD_MAX_NUMBER_FIELDS = None
# Celery (probe_django.celery reads CELERY_* settings): a task is STARTED in the result
# backend once a worker runs it, which /__probe/task-state shows.
CELERY_TASK_TRACK_STARTED = True
